"""``brandpulse rss|mastodon|x|bluesky|reddit|youtube``: the platform connectors' subcommands.

They all run the same way (``--once`` or until SIGTERM, then say how many events they
published), so they are one table here; each connector's module is imported only when its
command runs, so ``brandpulse --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Final

from brandpulse.config import Config

if TYPE_CHECKING:
    from brandpulse.cli import Handler

    Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]
    AddCommand = Callable[[Subcommands, str, str, Handler, str | None], argparse.ArgumentParser]

WHERE: Final = (
    "Checkpoint in STATE_DIR/connectors/{name}/; metrics at "
    "http://METRICS_HOST:METRICS_PORT/metrics. SIGTERM or Ctrl-C finishes the current poll, "
    "flushes and saves the checkpoint."
)


@dataclass(frozen=True)
class ConnectorCommand:
    """A connector's subcommand; it runs ``connectors.<name>.connector.run_<name>``."""

    name: str
    summary: str
    description: str
    """What it reads and publishes; ``WHERE`` and ``exit`` follow it in ``--help``."""
    exit: str
    once: str
    """What ``--once`` does."""
    credentials: tuple[str, ...] = ()
    """The environment variables it reads secrets from (docker-compose.yml passes them)."""


CONNECTORS: Final = (
    ConnectorCommand(
        "rss",
        "publish news and blog posts that mention a brand, from RSS/Atom feeds",
        "Poll the feeds of [rss] (each on its own interval, with conditional GET), and publish "
        "each item whose title or summary contains a brand's keywords as a `mention` on "
        "platform `blog`, exactly once: the checkpoint survives restarts and crashes. Failing "
        "feeds are retried with backoff; rate limits are honoured.",
        "Exit status with --once: 1 if a feed could not be read.",
        "read every feed once, then exit (for cron jobs)",
    ),
    ConnectorCommand(
        "mastodon",
        "publish Mastodon hashtags, keyword matches, notifications and follower counts",
        "Follow the timelines of [mastodon] (hashtags, the public timeline filtered by the "
        "brands' keywords, the brand accounts' statuses and the token's notifications): caught "
        "up over REST on start and after a dropped stream, then followed over the streaming "
        "API; publish each status or notification once on platform `mastodon`, plus the "
        "brand accounts' follower counts. The token comes from MASTODON_ACCESS_TOKEN.",
        "Exit status 2 without an instance or token; with --once, 1 if a timeline could not "
        "be read.",
        "catch up over REST once, then exit (no streaming)",
        ("MASTODON_ACCESS_TOKEN",),
    ),
    ConnectorCommand(
        "x",
        "publish X posts matching the brands' filtered-stream rules, and follower counts",
        "Keep the filtered stream's rules equal to one rule per brand (tag = brand name; "
        "built from its keywords and accounts.x handles, or [x] brands), follow the stream, "
        "and catch up every gap (start, restart, crash, dropped or stalled stream) with "
        "recent search from the newest published post id; publish each post once on platform "
        "`x`, plus the brand handles' follower counts. Reconnects on X's backoff schedule and "
        "honours x-rate-limit-reset. The bearer token comes from X_BEARER_TOKEN.",
        "Exit status 2 without a token; with --once, 1 if a rule could not be searched.",
        "catch up with recent search once, then exit (no stream, rules left alone)",
        ("X_BEARER_TOKEN",),
    ),
    ConnectorCommand(
        "bluesky",
        "publish Bluesky mentions, replies, likes, reposts and follower counts",
        "Follow Jetstream (posts, likes, reposts, follows) for the brands of [bluesky]: posts "
        "with a brand's keywords, @handle or a mention of its DID, the brand account's posts "
        "and the replies, likes and reposts of them; publish each once on platform `bluesky`, "
        "plus follower counts from the public AppView. Resumes from the Jetstream cursor kept "
        "in the checkpoint.",
        "Exit status 2 without brands; with --once, 1 if the stream or a profile could not be "
        "read.",
        "replay from the saved cursor up to now, count followers once, then exit",
    ),
    ConnectorCommand(
        "reddit",
        "publish new Reddit posts and comments of subreddits, searches and subscriber counts",
        "Poll the listings of [reddit] brands (new posts and comments of subreddits, searches "
        "sorted by new) over OAuth2, within Reddit's request budget (X-Ratelimit-* headers); "
        "publish each post or comment once on platform `reddit`, plus subscriber counts of "
        "each follower_subreddit. App credentials come from REDDIT_CLIENT_ID and "
        "REDDIT_CLIENT_SECRET (REDDIT_USERNAME and REDDIT_PASSWORD add the password grant).",
        "Exit status 2 without credentials or listings; with --once, 1 if a listing could not "
        "be read.",
        "read each listing once, then exit",
        ("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET", "REDDIT_USERNAME", "REDDIT_PASSWORD"),
    ),
    ConnectorCommand(
        "youtube",
        "publish YouTube comments on the brand channels and videos, and subscriber counts",
        "Poll the comment threads of [youtube] (each brand's channel, everything on it and its "
        "videos, and further video_ids) with the Data API v3, newest first down to where the "
        "last read ended, and publish each comment once on platform `youtube` (the brand "
        "channel's replies as `reply`), plus the channels' subscriber counts. Every call is "
        "paid from daily_quota units per Google day (midnight Pacific Time): polling slows "
        "down so they last, and stops until midnight Pacific when they are spent or Google "
        "answers quotaExceeded (the metrics show quota used and remaining). The key comes from "
        "YOUTUBE_API_KEY.",
        "Exit status 2 without a key or anything to read; with --once, 1 if a channel or video "
        "could not be read.",
        "read every channel and video once, then exit",
        ("YOUTUBE_API_KEY",),
    ),
)


def add_connector_commands(commands: Subcommands, command: AddCommand) -> None:
    """Add a subcommand per connector; ``command`` is ``brandpulse.cli``'s parser factory."""
    for spec in CONNECTORS:
        description = f"{spec.description} {WHERE.format(name=spec.name)} {spec.exit}"
        parser = command(commands, spec.name, spec.summary, partial(_run, spec), description)
        parser.add_argument("--once", action="store_true", help=spec.once)


def log_connector() -> None:
    """Connectors log a line per poll, reconnect and failure; kafka-python's chatter is muted."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr
    )
    logging.getLogger("kafka").setLevel(logging.WARNING)


def _run(spec: ConnectorCommand, args: argparse.Namespace, config: Config) -> int:
    """Run the connector (``--once`` or until SIGTERM) and say how many events it published."""
    module = importlib.import_module(f"connectors.{spec.name}.connector")
    run: Callable[..., int] = getattr(module, f"run_{spec.name}")
    log_connector()
    count = run(config, once=args.once)
    print(f"{spec.name}: {count:,} events published", file=sys.stderr)
    return 0
