# The brandpulse image: the worker and the connectors (the command picks which).
# Stage 1 builds the Rust sentiment scorer (native/) into a wheel; the image itself has no Rust.
FROM python:3.11-slim AS native
RUN apt-get update && apt-get install -y --no-install-recommends curl gcc libc6-dev \
    && curl --proto '=https' -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
COPY native /native
RUN PATH="/root/.cargo/bin:$PATH" pip wheel --no-cache-dir --wheel-dir /wheels /native

FROM python:3.11-slim
WORKDIR /app
COPY --from=native /wheels /wheels
COPY pyproject.toml README.md brandpulse.toml ./
COPY brandpulse ./brandpulse
COPY connectors ./connectors
COPY streams ./streams
COPY dashboards ./dashboards
RUN URLLIB3_NO_OVERRIDE=true pip install --no-cache-dir . /wheels/*.whl \
    && useradd --system --uid 10001 brandpulse \
    && mkdir -p /var/lib/brandpulse && chown brandpulse /var/lib/brandpulse
# The worker keeps its state snapshots below the state folder: mount a volume there.
ENV BRANDPULSE_CONFIG=/app/brandpulse.toml \
    BRANDPULSE_STACK__STATE_DIR=/var/lib/brandpulse
VOLUME /var/lib/brandpulse
USER brandpulse
ENTRYPOINT ["brandpulse"]
CMD ["--help"]
