"""``brandpulse youtube``: the channels and videos of ``[youtube]`` through the shared connector
runtime, with the quota budget's gauges next to the usual connector metrics."""

from __future__ import annotations

from typing import Final

from brandpulse.config import Config
from brandpulse.errors import BrandpulseError, UsageError
from connectors.metrics import ConnectorStats, serve_metrics
from connectors.runtime import MissingCredential, require_env, run_connector
from connectors.youtube.api import Api
from connectors.youtube.mapping import BrandChannel
from connectors.youtube.quota import QuotaBudget, QuotaCollector
from connectors.youtube.source import Stream, YouTubeSource

KEY_ENV: Final = "YOUTUBE_API_KEY"


def run_youtube(config: Config, *, once: bool = False) -> int:
    """Poll the configured channels and videos until SIGTERM (or, with ``once``, walk each up to
    now once); returns the number of events published. A one-shot run fails if a stream could
    not be read. No key, or nothing to read, is a usage error (exit status 2)."""
    settings = config.youtube
    found = streams(config)
    try:
        key = require_env(KEY_ENV)
    except MissingCredential as exc:
        raise UsageError(str(exc)) from None
    stats = ConnectorStats("youtube")
    budget = QuotaBudget(settings.daily_quota)
    api = Api(settings.base_url, key, settings.timeout, budget)
    channels = {b.channel_id: b.brand for b in settings.brands if b.channel_id}
    source = YouTubeSource(settings, api, found, channels, stats, once=once)
    quota = QuotaCollector(stats.connector, "youtube", budget)
    serve_metrics(stats, settings.metrics_host, settings.metrics_port, [quota])
    published = run_connector(source, config, stats)
    if once and (failed := source.failed()):
        raise BrandpulseError("could not read " + "; ".join(failed))
    return published


def streams(config: Config) -> list[Stream]:
    """Per configured brand: every thread of its channel and of each of its videos."""
    brands = {brand.name: brand for brand in config.brands}
    entries = config.youtube.brands
    unknown = sorted({e.brand for e in entries} - set(brands))
    if unknown:
        raise UsageError(f"[youtube] names brands that are not configured: {unknown}")
    if config.youtube.daily_quota <= 0:
        raise UsageError("[youtube] daily_quota must be positive")
    found: list[Stream] = []
    for entry in entries:
        handles = brands[entry.brand].accounts.get("youtube", [])
        brand = BrandChannel(
            entry.brand, entry.channel_id, frozenset(h.lower().lstrip("@") for h in handles)
        )
        if entry.channel_id:
            key = f"{entry.brand}/channel/{entry.channel_id}"
            found.append(Stream(key, brand, ("allThreadsRelatedToChannelId", entry.channel_id)))
        for video in dict.fromkeys(entry.video_ids):
            found.append(Stream(f"{entry.brand}/video/{video}", brand, ("videoId", video)))
    if not found:
        raise UsageError(
            "nothing to read: add brands with a channel_id or video_ids to [youtube] brands"
        )
    return found
