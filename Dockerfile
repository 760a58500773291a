# The brandpulse image: the worker and the connectors (the command picks which).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md brandpulse.toml ./
COPY brandpulse ./brandpulse
COPY connectors ./connectors
COPY streams ./streams
COPY dashboards ./dashboards
RUN URLLIB3_NO_OVERRIDE=true pip install --no-cache-dir . \
    && useradd --system --uid 10001 brandpulse \
    && mkdir -p /var/lib/brandpulse && chown brandpulse /var/lib/brandpulse
# The worker keeps its state snapshots below the state folder: mount a volume there.
ENV BRANDPULSE_CONFIG=/app/brandpulse.toml \
    BRANDPULSE_STACK__STATE_DIR=/var/lib/brandpulse
VOLUME /var/lib/brandpulse
USER brandpulse
ENTRYPOINT ["brandpulse"]
CMD ["--help"]
