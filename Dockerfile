# The brandpulse image: the worker and the connectors (the command picks which).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md brandpulse.toml ./
COPY brandpulse ./brandpulse
COPY connectors ./connectors
COPY streams ./streams
COPY dashboards ./dashboards
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 brandpulse
ENV BRANDPULSE_CONFIG=/app/brandpulse.toml
USER brandpulse
ENTRYPOINT ["brandpulse"]
CMD ["--help"]
