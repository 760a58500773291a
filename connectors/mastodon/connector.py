"""``brandpulse mastodon``: the timelines and accounts of ``[mastodon]`` through the shared
connector runtime."""

from __future__ import annotations

import urllib.parse
from typing import Final

from brandpulse.config import BrandConfig, Config, MastodonBrandConfig
from brandpulse.errors import BrandpulseError, UsageError
from connectors.mastodon.api import Api
from connectors.mastodon.mapping import NOTIFICATION_TYPES, BrandAccount
from connectors.mastodon.source import MastodonSource, Timeline
from connectors.metrics import ConnectorStats, serve_metrics
from connectors.rss.mapping import BrandMatcher
from connectors.runtime import MissingCredential, require_env, run_connector

TOKEN_ENV: Final = "MASTODON_ACCESS_TOKEN"


def run_mastodon(config: Config, *, once: bool = False) -> int:
    """Follow the configured timelines until SIGTERM (or, with ``once``, read each up to now
    over REST); returns the number of events published. A one-shot run fails if a timeline
    could not be read. A missing instance or token is a usage error (exit status 2)."""
    settings = config.mastodon
    if not settings.instance:
        raise UsageError("no Mastodon instance: set [mastodon] instance in the config file")
    try:
        token = require_env(TOKEN_ENV)
    except MissingCredential as exc:
        raise UsageError(str(exc)) from None
    stats = ConnectorStats("mastodon")
    api = Api(settings.instance, settings.streaming_url, token, settings.timeout)
    followers = [(b.brand, b.account_id) for b in settings.brands if b.account_id]
    source = MastodonSource(settings, api, timelines(config), followers, stats, once=once)
    serve_metrics(stats, settings.metrics_host, settings.metrics_port)
    published = run_connector(source, config, stats)
    if failed := source.failed():
        raise BrandpulseError("could not read " + "; ".join(failed))
    return published


def timelines(config: Config) -> list[Timeline]:
    """Per configured brand: its hashtags, the public timeline if asked for, its account's own
    statuses; and the notifications of the token's account."""
    brands = {brand.name: brand for brand in config.brands}
    entries = {entry.brand: entry for entry in config.mastodon.brands}
    unknown = sorted({*entries, config.mastodon.notifications_brand} - {*brands, ""})
    if unknown:
        raise UsageError(f"[mastodon] names brands that are not configured: {unknown}")
    found = [t for entry in entries.values() for t in _brand(entry, brands[entry.brand])]
    if name := config.mastodon.notifications_brand:
        entry = entries.get(name, MastodonBrandConfig(brand=name))
        account = _account(entry, brands[name])
        types = tuple(("types[]", kind) for kind in NOTIFICATION_TYPES)
        stream = "/api/v1/streaming/user/notification"
        found.append(
            Timeline(
                f"{name}/notifications", account, "/api/v1/notifications", types, stream, (), True
            )
        )
    if not found:
        raise UsageError("nothing to follow: add brands (hashtags, ...) to [mastodon] brands")
    return found


def _brand(entry: MastodonBrandConfig, brand: BrandConfig) -> list[Timeline]:
    account = _account(entry, brand)
    found = [
        Timeline(
            f"{brand.name}/tag/{tag}",
            account,
            f"/api/v1/timelines/tag/{urllib.parse.quote(tag, safe='')}",
            stream_path="/api/v1/streaming/hashtag",
            stream_params=(("tag", tag),),
        )
        for tag in (t.lstrip("#") for t in entry.hashtags)
    ]
    if entry.public:
        matcher = BrandMatcher.of(brand)
        if matcher is None:
            raise UsageError(f"brand {brand.name} has no keywords to filter the public timeline")
        public = BrandAccount(account.brand, account.account_id, account.handles, matcher)
        found.append(
            Timeline(
                f"{brand.name}/public",
                public,
                "/api/v1/timelines/public",
                (),
                "/api/v1/streaming/public",
            )
        )
    if entry.account_id:
        path = f"/api/v1/accounts/{urllib.parse.quote(entry.account_id, safe='')}/statuses"
        found.append(Timeline(f"{brand.name}/account", account, path))
    return found


def _account(entry: MastodonBrandConfig, brand: BrandConfig) -> BrandAccount:
    handles = frozenset(h.lower().lstrip("@") for h in brand.accounts.get("mastodon", []))
    return BrandAccount(brand.name, entry.account_id, handles)
