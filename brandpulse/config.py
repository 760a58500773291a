"""Configuration: one TOML file, overridden key by key from the environment.

``BRANDPULSE_<SECTION>__<KEY>`` overrides ``[section] key`` (``BRANDPULSE_KAFKA__BOOTSTRAP``).
Secrets never live here: connectors read them from their own environment variables.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal

import msgspec

from brandpulse.analytics.settings import AnalyticsSettings
from brandpulse.contract import BrandName, Platform
from brandpulse.spikes import DetectorSettings

ENV_PREFIX: Final = "BRANDPULSE_"
CONFIG_ENV: Final = "BRANDPULSE_CONFIG"
BRANDS_ENV: Final = "BRANDPULSE_BRANDS"
"""The ``[[brands]]`` entries as a JSON list, replacing those of the file."""
DEFAULT_FILE: Final = "brandpulse.toml"


class ConfigError(ValueError):
    """The configuration cannot be used; the message names the file, key or variable."""


class Section(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class KafkaConfig(Section):
    bootstrap: str = ""
    """Comma-separated host:port list; empty means the local stack's broker."""
    raw_topic: str = "brandpulse.events"
    dead_letter_topic: str = "brandpulse.deadletter"
    windows_topic: str = "brandpulse.windows"
    alerts_topic: str = "brandpulse.alerts"
    partitions: int = 6
    replication_factor: int = 1


class WorkerConfig(Section):
    app_id: str = "brandpulse-worker"
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    snapshot_interval: float = 5.0
    """Seconds between state snapshots; Kafka offsets are committed only up to a snapshot."""


class AlertingConfig(Section):
    alertmanager_url: str = ""
    """Where the worker pushes alerts (v2 API); empty means the local stack's Alertmanager."""
    push: bool = True
    early_warnings: bool = True
    """Push a spike alert as soon as its minute's admitted count reaches the count that opens
    it, up to the platform's allowed lateness before the minute closes (README: Early warnings)."""
    resend_interval: float = 60.0
    """Firing alerts are pushed again this often, so Alertmanager keeps them active."""
    webhook_url: str = "http://127.0.0.1:5001/alerts"
    """Where the local stack's Alertmanager sends every notification (all receivers share it).

    Port 5001 is that of Alertmanager's example webhook receiver and of no stack service; until a
    receiver listens there, Alertmanager logs the failed notifications and alerts show in its UI.
    """


class StackConfig(Section):
    state_dir: str = ".brandpulse"
    """Configs, data, logs and pid files of the local services."""
    cache_dir: str = ".brandpulse/cache"
    """Downloads kept across stacks (Kafka's jars)."""
    kafka_port: int = 9092
    kafka_controller_port: int = 9097
    kafka_heap: str = "1g"
    prometheus_port: int = 9090
    alertmanager_port: int = 9093
    scrape_interval: str = "5s"
    start_timeout: float = 90.0


class SyntheticConfig(Section):
    seed: int = 42
    rate: float = 50.0
    """Events per second of event time; with ``pace`` the connector also sends at this rate."""
    scenario: Literal["none", "negative-burst", "slow-care"] = "none"
    scenario_brand: str = ""
    """The brand the scenario hits; empty means the first configured brand."""
    scenario_start: float = 60.0
    """Seconds of event time after the start at which the scenario begins."""
    scenario_duration: float = 300.0
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 6070
    """Where the connector serves ``/metrics``; 0 turns it off."""


class FeedConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    url: str
    interval: float = 300.0
    """Seconds between polls of this feed; conditional GET makes an unchanged feed cheap."""


class RssConfig(Section):
    feeds: list[FeedConfig] = []
    user_agent: str = "brandpulse-rss/0.1"
    timeout: float = 30.0
    """Seconds an HTTP request may take before it counts as failed and is retried."""
    retry_initial: float = 1.0
    """Upper bound of the first retry delay; it doubles per failure, with full jitter."""
    retry_max: float = 600.0
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 6071
    """Where the connector serves ``/metrics``; 0 turns it off."""


class WebhooksConfig(Section):
    """``brandpulse webhooks``: Meta, Shopify and generic signed webhooks (secrets: env only)."""

    host: str = "127.0.0.1"
    port: int = 8088
    max_body_bytes: int = 1024 * 1024
    """Larger requests are refused with 413 before their body is read."""
    meta_pages: dict[str, BrandName] = {}
    """Facebook page id or Instagram account id -> brand."""
    shopify_shops: dict[str, BrandName] = {}
    """Shop domain (``acme.myshopify.com``) -> brand."""
    graph_url: str = "https://graph.facebook.com/v21.0"
    """The Graph API (with its version) asked for an Instagram mention's text, which Meta's
    webhook leaves out; only with ``META_PAGE_ACCESS_TOKEN`` set."""
    graph_timeout: float = 5.0
    """Seconds a mention's lookup may take: Meta wants a quick answer to a delivery, and a
    mention whose lookup fails is published without its text."""
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 6072
    """Where the receiver serves ``/metrics``; 0 turns it off."""


class MastodonBrandConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    brand: BrandName
    account_id: str = ""
    """The brand account's id on the instance: its statuses are the brand's posts and replies,
    replies to it are care items, its followers are polled. Empty: none of that."""
    hashtags: list[str] = []
    """Every status with one of these hashtags (without ``#``) is a mention of the brand."""
    public: bool = False
    """Also read the instance's public timeline, keeping statuses with the brand's keywords."""


class MastodonConfig(Section):
    """``brandpulse mastodon`` (token: ``MASTODON_ACCESS_TOKEN``, env only)."""

    instance: str = ""
    """``https://mastodon.example``; empty: the connector refuses to start."""
    streaming_url: str = ""
    """Where ``/api/v1/streaming`` is served, if not at ``instance``; empty: ``instance``."""
    notifications_brand: str = ""
    """The brand whose account the token belongs to (its notifications); empty: none read."""
    brands: list[MastodonBrandConfig] = []
    poll_interval: float = 60.0
    """Seconds between REST catch-ups of a timeline (the stream delivers in between)."""
    follower_interval: float = 900.0
    timeout: float = 30.0
    stream_timeout: float = 60.0
    """A stream silent this long (servers send a heartbeat every 15 s) is reconnected."""
    retry_initial: float = 1.0
    retry_max: float = 600.0
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 6073


class YouTubeBrandConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    brand: BrandName
    channel_id: str = ""
    """The brand's channel (``UC...``): every comment thread on it and its videos is read, its
    own comments are the brand's (replies: care answers), its subscribers are counted."""
    video_ids: list[str] = []
    """Further videos (reviews, collaborations) whose comment threads are read too."""


class YouTubeConfig(Section):
    """``brandpulse youtube`` (API key: ``YOUTUBE_API_KEY``, env only), within a daily quota."""

    base_url: str = "https://www.googleapis.com/youtube/v3"
    brands: list[YouTubeBrandConfig] = []
    poll_interval: float = 60.0
    """Shortest seconds between reads of a channel's or video's comment threads; longer when
    the quota left until midnight Pacific would not last at this pace."""
    subscriber_interval: float = 3600.0
    """Seconds between subscriber counts of the brand channels (one call for all)."""
    daily_quota: int = 10000
    """Quota units the connector may spend per day (Google's day: midnight to midnight Pacific
    Time); it stops calling when they are spent and resumes after midnight Pacific."""
    reply_window: float = 86400.0
    """Threads started this many seconds before the newest one read are read again, so replies
    (the brand's answers) to them are found; older threads are not looked at again."""
    timeout: float = 30.0
    retry_initial: float = 1.0
    retry_max: float = 600.0
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 6077


class BlueskyBrandConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    brand: BrandName
    did: str = ""
    """The brand account's DID (``did:plc:...``): its posts are the brand's posts and replies;
    replies to, likes and reposts of its posts and mentions of it count for the brand; its
    followers are polled. Empty: only the brand's keywords and handle are matched."""
    handle: str = ""
    """The account's handle (``acme.bsky.social``): ``@handle`` in a post's text is a mention
    (as are the brand's ``[[brands]] accounts.bluesky`` handles)."""


class BlueskyConfig(Section):
    """``brandpulse bluesky``: Jetstream and the public AppView (public data, no credentials)."""

    jetstream_url: str = "wss://jetstream2.us-east.bsky.network/subscribe"
    """Jetstream's ``/subscribe`` endpoint (any instance: cursors are times, valid on all)."""
    appview_url: str = "https://public.api.bsky.app/xrpc"
    """Where ``app.bsky.actor.getProfile`` is asked for follower counts."""
    brands: list[BlueskyBrandConfig] = []
    wanted_dids: list[str] = []
    """Only these accounts' records (Jetstream ``wantedDids``); empty: the whole network."""
    follower_interval: float = 900.0
    """Seconds between follower counts of each brand DID (a new follow brings one forward)."""
    timeout: float = 30.0
    """Seconds an HTTP request or the WebSocket handshake may take."""
    stream_timeout: float = 60.0
    """A stream silent this long counts as dead and is reconnected from the cursor."""
    cursor_rewind: float = 5.0
    """Seconds the cursor is moved back on reconnecting, as Jetstream recommends; the
    replayed overlap is dropped by event id."""
    retry_initial: float = 1.0
    """Upper bound of the first retry delay; it doubles per failure, with full jitter."""
    retry_max: float = 600.0
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 6074
    """Where the connector serves ``/metrics``; 0 turns it off."""


class RedditBrandConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    brand: BrandName
    subreddits: list[str] = []
    """Subreddits (without ``r/``) whose new posts and comments are read: the brand accounts'
    own are ``post``/``reply``, answers to them ``comment``, the rest ``mention``."""
    keywords_only: bool = False
    """Keep only those subreddit posts and comments by others that contain the brand's
    keywords (answers to the brand are always kept); false: everything in them counts."""
    search: list[str] = []
    """Search terms (Reddit's search syntax); each new matching post is a ``mention``."""
    search_in: list[str] = []
    """Search only these subreddits (``restrict_sr``) for the terms; empty: all of Reddit."""
    follower_subreddit: str = ""
    """The brand's own subreddit: its subscriber count is polled as ``follower_count``."""


class RedditConfig(Section):
    """``brandpulse reddit`` (app credentials: ``REDDIT_CLIENT_ID``, ``REDDIT_CLIENT_SECRET``;
    optionally ``REDDIT_USERNAME``/``REDDIT_PASSWORD`` for the password grant; env only)."""

    token_url: str = "https://www.reddit.com/api/v1/access_token"
    """Where OAuth2 access tokens are requested (HTTP Basic auth with the app's id and secret)."""
    api_url: str = "https://oauth.reddit.com"
    """Where the API is called with the token."""
    user_agent: str = "python:brandpulse:0.1 (self-hosted brand monitoring)"
    """Reddit throttles generic user agents; use ``<platform>:<app id>:<version> (by /u/you)``."""
    brands: list[RedditBrandConfig] = []
    poll_interval: float = 60.0
    """Seconds between reads of each listing (new posts, new comments, a search)."""
    overlap: float = 120.0
    """Seconds before the newest item read that every read looks at again, so items that show
    up late in a listing (search indexing, spam-filter approvals) are not missed."""
    follower_interval: float = 3600.0
    """Seconds between subscriber counts of each ``follower_subreddit``."""
    rate_limit_reserve: float = 0.0
    """Requests left unused: when ``X-Ratelimit-Remaining`` falls to this, wait for the reset."""
    timeout: float = 30.0
    """Seconds an HTTP request may take before it counts as failed and is retried."""
    retry_initial: float = 1.0
    """Upper bound of the first retry delay; it doubles per failure, with full jitter."""
    retry_max: float = 600.0
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 6075
    """Where the connector serves ``/metrics``; 0 turns it off."""


class XBrandConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    brand: BrandName
    rule: str = ""
    """The filtered-stream rule (X's query syntax) for this brand; empty: built from the brand's
    keywords and ``accounts.x`` handles (``acme OR @acme OR from:acme OR to:acme``)."""


class XConfig(Section):
    """``brandpulse x``: the v2 filtered stream (bearer token: ``X_BEARER_TOKEN``, env only).

    The backoff keys follow X's reconnection guide: linear for network errors, exponential for
    HTTP errors and, from a longer start, for 429s (which also wait for ``x-rate-limit-reset``).
    """

    base_url: str = "https://api.x.com"
    brands: list[XBrandConfig] = []
    """Brands to follow, each with an optional own rule; empty: every configured brand that has
    keywords or X handles, with the built rule. The rule's tag is the brand's name."""
    max_rule_length: int = 512
    """X's limit on a rule's length for the project's access level (512 Basic, 1024 Pro)."""
    backfill_minutes: int = 0
    """Ask the stream to replay this many missed minutes on reconnect (Pro/Enterprise only;
    0: none). The recent-search catch-up covers gaps on every access level anyway."""
    search_max_results: int = 100
    """Posts per page of the recent-search catch-up (X allows 10 to 100)."""
    search_max_pages: int = 10
    """Pages per rule and poll; a longer backlog continues in the next poll."""
    catchup_overlap: float = 30.0
    """Seconds before the newest published post that a catch-up searches again, for posts the
    stream delivered out of order; what was already published is dropped by id."""
    first_lookback: float = 3600.0
    """Seconds of past posts the first catch-up of a rule (no cursor yet) publishes; 0: only
    the newest page. Recent search reaches back 7 days at most."""
    follower_interval: float = 900.0
    """Seconds between follower counts of each brand handle."""
    timeout: float = 30.0
    """Seconds a REST request (and the stream's connection) may take."""
    stall_timeout: float = 90.0
    """A stream silent this long (X sends a keep-alive every 20 s) is reconnected."""
    network_backoff_step: float = 0.25
    """Network errors: the wait grows by this many seconds per failure ..."""
    network_backoff_max: float = 16.0
    """... up to this."""
    http_backoff_initial: float = 5.0
    """HTTP errors: the first wait in seconds, doubling per failure ..."""
    http_backoff_max: float = 320.0
    """... up to this."""
    rate_limit_backoff_initial: float = 60.0
    """429 Too Many Requests: the first wait, doubling per failure (and at least until
    ``x-rate-limit-reset``) ..."""
    rate_limit_backoff_max: float = 960.0
    """... up to this."""
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 6076
    """Where the connector serves ``/metrics``; 0 turns it off."""


class BrandConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: BrandName
    keywords: list[str] = []
    competitors: list[BrandName] = []
    accounts: dict[Platform, list[str]] = {}
    """The brand's own account handles per platform (its replies count as care answers)."""

    def handle_on(self, platform: str) -> str:
        """The brand's main handle on a platform, or its name where none is configured."""
        handles = self.accounts.get(platform)  # type: ignore[call-overload]
        return str(handles[0]) if handles else self.name


def _demo_brands() -> list[BrandConfig]:
    return [
        BrandConfig(
            name="acme",
            keywords=["acme"],
            competitors=["globex"],
            accounts={"x": ["acme", "acme_help"], "mastodon": ["acme"], "facebook": ["acme"]},
        ),
        BrandConfig(
            name="globex",
            keywords=["globex"],
            competitors=["acme"],
            accounts={"x": ["globex"], "instagram": ["globex"], "reddit": ["globex_team"]},
        ),
        BrandConfig(
            name="kaffeehaus",
            keywords=["kaffeehaus"],
            accounts={"x": ["kaffeehaus_de"], "instagram": ["kaffeehaus"], "bluesky": ["kh"]},
        ),
    ]


class Config(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    kafka: KafkaConfig = msgspec.field(default_factory=KafkaConfig)
    worker: WorkerConfig = msgspec.field(default_factory=WorkerConfig)
    stack: StackConfig = msgspec.field(default_factory=StackConfig)
    synthetic: SyntheticConfig = msgspec.field(default_factory=SyntheticConfig)
    analytics: AnalyticsSettings = msgspec.field(default_factory=AnalyticsSettings)
    spikes: DetectorSettings = msgspec.field(default_factory=DetectorSettings)
    alerting: AlertingConfig = msgspec.field(default_factory=AlertingConfig)
    rss: RssConfig = msgspec.field(default_factory=RssConfig)
    mastodon: MastodonConfig = msgspec.field(default_factory=MastodonConfig)
    youtube: YouTubeConfig = msgspec.field(default_factory=YouTubeConfig)
    bluesky: BlueskyConfig = msgspec.field(default_factory=BlueskyConfig)
    reddit: RedditConfig = msgspec.field(default_factory=RedditConfig)
    x: XConfig = msgspec.field(default_factory=XConfig)
    webhooks: WebhooksConfig = msgspec.field(default_factory=WebhooksConfig)
    brands: list[BrandConfig] = msgspec.field(default_factory=_demo_brands)

    @property
    def bootstrap(self) -> str:
        return self.kafka.bootstrap or f"127.0.0.1:{self.stack.kafka_port}"

    @property
    def alertmanager_url(self) -> str:
        return self.alerting.alertmanager_url or f"http://127.0.0.1:{self.stack.alertmanager_port}"

    @property
    def brand_names(self) -> frozenset[str]:
        return frozenset(brand.name for brand in self.brands)


_SECTIONS: Final = {
    "kafka": KafkaConfig.__struct_fields__,
    "worker": WorkerConfig.__struct_fields__,
    "stack": StackConfig.__struct_fields__,
    "synthetic": SyntheticConfig.__struct_fields__,
    "analytics": AnalyticsSettings.__struct_fields__,
    "alerting": AlertingConfig.__struct_fields__,
    "rss": RssConfig.__struct_fields__,
    "mastodon": MastodonConfig.__struct_fields__,
    "youtube": YouTubeConfig.__struct_fields__,
    "bluesky": BlueskyConfig.__struct_fields__,
    "reddit": RedditConfig.__struct_fields__,
    "x": XConfig.__struct_fields__,
    "webhooks": WebhooksConfig.__struct_fields__,
    "spikes": tuple(f.name for f in dataclasses.fields(DetectorSettings)),
}
"""The sections and keys that environment variables may override."""


def load_config(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read the config file (if any), apply environment overrides, and validate the result.

    The file is ``path``, else ``$BRANDPULSE_CONFIG``, else ``./brandpulse.toml`` if it exists;
    with none of them the built-in defaults apply.
    """
    env = os.environ if env is None else env
    source, data = _read_file(path or env.get(CONFIG_ENV))
    if _apply_overrides(data, env):
        source += " with environment overrides"
    try:
        config = msgspec.convert(data, Config, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    _check(config, source)
    return config


def _read_file(path: str | Path | None) -> tuple[str, dict[str, Any]]:
    if path is None:
        if not Path(DEFAULT_FILE).exists():
            return "built-in defaults", {}
        path = DEFAULT_FILE
    try:
        with Path(path).open("rb") as handle:
            return str(path), tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _apply_overrides(data: dict[str, Any], env: Mapping[str, str]) -> bool:
    """Put the ``BRANDPULSE_<SECTION>__<KEY>`` variables (and ``BRANDPULSE_BRANDS``) into
    ``data``. Scalars stay strings for msgspec to convert; lists and tables are JSON, so a
    container can be configured from its environment alone."""
    applied = False
    defaults = Config()
    for name, value in env.items():
        if name == BRANDS_ENV:
            data["brands"] = _json(name, value)
        elif name.startswith(ENV_PREFIX) and "__" in name:
            section, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
            if key not in _SECTIONS.get(section, ()):
                raise ConfigError(f"environment variable {name} names no setting")
            structured = isinstance(getattr(getattr(defaults, section), key), list | tuple | dict)
            data.setdefault(section, {})[key] = _json(name, value) if structured else value
        else:
            continue
        applied = True
    return applied


def _json(name: str, value: str) -> Any:
    try:
        return msgspec.json.decode(value)
    except msgspec.DecodeError as exc:
        raise ConfigError(
            f"environment variable {name} must be JSON (a list or a table): {exc}"
        ) from None


def _check(config: Config, source: str) -> None:
    if not config.brands:
        raise ConfigError(f"{source}: configure at least one [[brands]] entry")
    names = [brand.name for brand in config.brands]
    if len(set(names)) != len(names):
        raise ConfigError(f"{source}: brand names must be unique, got {names}")
    unknown = {c for b in config.brands for c in b.competitors} - set(names)
    if unknown:
        raise ConfigError(f"{source}: competitors {sorted(unknown)} are not configured brands")
