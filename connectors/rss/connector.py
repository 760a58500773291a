"""``brandpulse rss``: the feeds of ``[rss]`` through the shared connector runtime."""

from __future__ import annotations

from brandpulse.config import Config
from brandpulse.errors import BrandpulseError
from connectors.metrics import ConnectorStats, serve_metrics
from connectors.rss.mapping import matchers
from connectors.rss.source import RssSource
from connectors.runtime import redact_url, run_connector


def run_rss(config: Config, *, once: bool = False) -> int:
    """Poll the feeds until SIGTERM (or, with ``once``, until each was read once); returns the
    number of events published. A one-shot run fails if a feed could not be read."""
    brands = matchers(config.brands)
    if not brands:
        raise BrandpulseError("no brand has keywords: add keywords to [[brands]] to match feeds")
    stats = ConnectorStats("rss")
    source = RssSource(config.rss, brands, stats, once=once)
    serve_metrics(stats, config.rss.metrics_host, config.rss.metrics_port)
    published = run_connector(source, config, stats)
    failed = source.failed() if once else []
    if failed:
        raise BrandpulseError(
            "could not read "
            + "; ".join(f"{redact_url(f.config.url)} ({f.last_error})" for f in failed)
        )
    return published
