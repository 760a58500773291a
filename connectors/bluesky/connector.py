"""``brandpulse bluesky``: the brands of ``[bluesky]`` on Jetstream and the public AppView,
through the shared connector runtime."""

from __future__ import annotations

from brandpulse.config import BlueskyBrandConfig, BrandConfig, Config
from brandpulse.errors import BrandpulseError, UsageError
from connectors.bluesky.appview import AppView
from connectors.bluesky.mapping import BrandAccount
from connectors.bluesky.source import BlueskySource
from connectors.metrics import ConnectorStats, serve_metrics
from connectors.rss.mapping import BrandMatcher
from connectors.runtime import run_connector


def run_bluesky(config: Config, *, once: bool = False) -> int:
    """Follow Jetstream until SIGTERM (or, with ``once``, replay from the cursor up to now and
    count followers once); returns the number of events published. A one-shot run fails if
    the stream or a profile could not be read. Nothing to follow is a usage error (exit 2)."""
    settings = config.bluesky
    brands = brand_accounts(config)
    stats = ConnectorStats("bluesky")
    appview = AppView(settings.appview_url, settings.timeout)
    source = BlueskySource(settings, brands, appview, stats, once=once)
    serve_metrics(stats, settings.metrics_host, settings.metrics_port)
    try:
        published = run_connector(source, config, stats)
    finally:
        source.close()
    if failed := source.failed():
        raise BrandpulseError("could not read " + "; ".join(failed))
    return published


def brand_accounts(config: Config) -> list[BrandAccount]:
    """Per ``[bluesky] brands`` entry: the account's DID, its handles (the entry's and the
    brand's ``accounts.bluesky``) and the brand's keywords."""
    brands = {brand.name: brand for brand in config.brands}
    entries = config.bluesky.brands
    unknown = sorted({entry.brand for entry in entries} - set(brands))
    if unknown:
        raise UsageError(f"[bluesky] names brands that are not configured: {unknown}")
    if not entries:
        raise UsageError("nothing to follow: add brands (did, handle) to [bluesky] brands")
    return [_account(entry, brands[entry.brand]) for entry in entries]


def _account(entry: BlueskyBrandConfig, brand: BrandConfig) -> BrandAccount:
    if entry.did and not entry.did.startswith("did:"):
        raise UsageError(
            f"[bluesky] brand {brand.name}: did must look like did:plc:..., got {entry.did!r}"
        )
    handles = [entry.handle, *brand.accounts.get("bluesky", [])]
    account = BrandAccount.of(brand.name, entry.did, handles, BrandMatcher.of(brand))
    if not (account.did or account.handles or account.matcher):
        raise UsageError(f"brand {brand.name} has no DID, handle or keywords to match on Bluesky")
    return account
