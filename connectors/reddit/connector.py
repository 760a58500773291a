"""``brandpulse reddit``: the subreddits and searches of ``[reddit]`` through the shared
connector runtime."""

from __future__ import annotations

import os
import re
from typing import Final

from brandpulse.config import BrandConfig, Config, RedditBrandConfig
from brandpulse.errors import BrandpulseError, UsageError
from connectors.metrics import ConnectorStats, serve_metrics
from connectors.reddit.api import Api
from connectors.reddit.auth import Credentials, Tokens
from connectors.reddit.mapping import BrandView
from connectors.reddit.quota import Quota
from connectors.reddit.source import RedditSource, Stream, Subscribers
from connectors.rss.mapping import BrandMatcher
from connectors.runtime import MissingCredential, require_env, run_connector

CLIENT_ID_ENV: Final = "REDDIT_CLIENT_ID"
CLIENT_SECRET_ENV: Final = "REDDIT_CLIENT_SECRET"
USERNAME_ENV: Final = "REDDIT_USERNAME"
PASSWORD_ENV: Final = "REDDIT_PASSWORD"
SUBREDDIT: Final = re.compile(r"^[A-Za-z0-9_]+(?:\+[A-Za-z0-9_]+)*$")
"""A subreddit name, or several joined by ``+`` (Reddit reads them as one listing)."""


def run_reddit(config: Config, *, once: bool = False) -> int:
    """Poll the configured listings until SIGTERM (or, with ``once``, read each up to now);
    returns the number of events published. A one-shot run fails if a listing could not be
    read. Missing credentials or nothing to read is a usage error (exit status 2)."""
    settings = config.reddit
    credentials = credentials_from_env()
    streams, subscribers = plan(config)
    stats = ConnectorStats("reddit")
    quota = Quota(settings.rate_limit_reserve)
    tokens = Tokens(settings.token_url, credentials, settings.user_agent, settings.timeout)
    api = Api(settings.api_url, tokens, quota, settings.user_agent, settings.timeout)
    source = RedditSource(settings, api, streams, subscribers, stats, once=once)
    serve_metrics(stats, settings.metrics_host, settings.metrics_port)
    published = run_connector(source, config, stats)
    if once and (failed := source.failed()):
        raise BrandpulseError("could not read " + "; ".join(failed))
    return published


def credentials_from_env(env: dict[str, str] | None = None) -> Credentials:
    """The app's id and secret, and a user for the password grant if both halves are set."""
    env = dict(os.environ) if env is None else env
    try:
        client_id = require_env(CLIENT_ID_ENV, env)
        secret = require_env(CLIENT_SECRET_ENV, env)
        username, password = env.get(USERNAME_ENV, ""), env.get(PASSWORD_ENV, "")
        if username or password:
            username, password = require_env(USERNAME_ENV, env), require_env(PASSWORD_ENV, env)
    except MissingCredential as exc:
        raise UsageError(str(exc)) from None
    return Credentials(client_id, secret, username, password)


def plan(config: Config) -> tuple[list[Stream], list[Subscribers]]:
    """Per configured brand: the new posts and comments of its subreddits, its searches (all
    of Reddit, or ``search_in``), and its subreddit's subscriber count."""
    brands = {brand.name: brand for brand in config.brands}
    entries = config.reddit.brands
    if unknown := sorted({entry.brand for entry in entries} - set(brands)):
        raise UsageError(f"[reddit] names brands that are not configured: {unknown}")
    streams = [s for entry in entries for s in _streams(entry, brands[entry.brand])]
    subscribers = [
        Subscribers(entry.brand, _subreddit(entry.follower_subreddit))
        for entry in entries
        if entry.follower_subreddit
    ]
    if not streams and not subscribers:
        raise UsageError("nothing to read: add subreddits or search terms to [reddit] brands")
    return streams, subscribers


def _streams(entry: RedditBrandConfig, brand: BrandConfig) -> list[Stream]:
    handles = frozenset(_handle(h) for h in brand.accounts.get("reddit", []))
    view = BrandView(brand.name, handles)
    listed = view
    if entry.keywords_only:
        if (matcher := BrandMatcher.of(brand)) is None:
            raise UsageError(f"brand {brand.name} has no keywords for keywords_only")
        listed = BrandView(brand.name, handles, matcher)
    found: list[Stream] = []
    for sub in map(_subreddit, entry.subreddits):
        found.append(Stream(f"{brand.name}/r/{sub}/new", listed, f"/r/{sub}/new"))
        found.append(Stream(f"{brand.name}/r/{sub}/comments", listed, f"/r/{sub}/comments"))
    for term in entry.search:
        query = (("q", term), ("sort", "new"), ("type", "link"))
        if not entry.search_in:
            found.append(Stream(f"{brand.name}/search/{term}", view, "/search", query))
        for sub in map(_subreddit, entry.search_in):
            path, restricted = f"/r/{sub}/search", (*query, ("restrict_sr", "1"))
            found.append(Stream(f"{brand.name}/r/{sub}/search/{term}", view, path, restricted))
    return found


def _subreddit(name: str) -> str:
    bare = name.strip().removeprefix("/").removeprefix("r/")
    if not SUBREDDIT.match(bare):
        raise UsageError(f"[reddit] {name!r} is not a subreddit name")
    return bare


def _handle(name: str) -> str:
    return name.strip().removeprefix("/").removeprefix("u/").lower()
