"""The ``brandpulse`` command: one entry point, a subcommand per job."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from brandpulse import __version__
from brandpulse.archive.cli import add_archive_command
from brandpulse.config import Config, ConfigError, load_config
from brandpulse.connector_commands import add_connector_commands, log_connector
from brandpulse.errors import BrandpulseError, UsageError

if TYPE_CHECKING:
    from brandpulse.replay import TimeRange
from dashboards.cli import add_dashboards_command

Handler = Callable[[argparse.Namespace, Config], int]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        config = load_config(args.config)
        return int(args.handler(args, config))
    except ConfigError as exc:
        print(f"brandpulse: configuration error: {exc}", file=sys.stderr)
        return 2
    except BrandpulseError as exc:
        print(f"brandpulse: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("brandpulse: interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="brandpulse",
        description="Real-time social media monitoring for brand teams.",
        epilog="Configuration: brandpulse.toml (or --config / $BRANDPULSE_CONFIG), overridden "
        "by BRANDPULSE_<SECTION>__<KEY> environment variables. See README.md.",
    )
    parser.add_argument("--version", action="version", version=f"brandpulse {__version__}")
    parser.add_argument("--config", metavar="FILE", help="config file (default: ./brandpulse.toml)")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_run(commands)
    _add_stack(commands)
    _add_worker(commands)
    _add_synthetic(commands)
    _add_import(commands)
    _add_replay(commands)
    _add_audit(commands)
    _add_sentiment(commands)
    add_connector_commands(commands, _command)
    _add_webhooks(commands)
    add_dashboards_command(commands, _command)
    add_archive_command(commands, _command)
    return parser


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    handler: Handler,
    description: str | None = None,
) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=summary, description=description or summary)
    parser.set_defaults(handler=handler)
    return parser


def _add_run(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = _command(
        commands,
        "run",
        "run the whole system locally: stack, worker and synthetic traffic",
        _run,
        "Start the local stack (Kafka, Prometheus, Alertmanager) if it is not running, then the "
        "worker and the synthetic connector. Ctrl-C stops the worker and the connector; the "
        "stack stays up until `brandpulse stack down`.",
    )
    parser.add_argument(
        "--duration",
        type=float,
        metavar="SECONDS",
        help="stop after this long (default: run until Ctrl-C)",
    )
    _add_synthetic_options(parser)


def _add_stack(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = _command(
        commands,
        "stack",
        "start, stop or inspect the local Kafka, Prometheus and Alertmanager",
        _stack,
        "Manage the local stack on loopback. `up` starts what is not running and waits until "
        "each service is healthy (running it twice is fine); `down` stops exactly the processes "
        "`up` started; `status` prints a table and exits 0 only if all are healthy (3 if not).",
    )
    parser.add_argument("action", choices=["up", "down", "status"])


def _add_worker(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = _command(
        commands,
        "worker",
        "run the stream worker (Faust) in the foreground",
        _worker,
        "Consume the raw topic, validate and count events, dead-letter invalid ones, and serve "
        "Prometheus metrics at http://WEB_HOST:WEB_PORT/metrics.",
    )
    parser.add_argument("--loglevel", default="info", choices=["debug", "info", "warning", "error"])


def _add_synthetic(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = _command(
        commands,
        "synthetic",
        "publish seeded synthetic traffic to Kafka",
        _synthetic,
        "Publish a realistic, reproducible mix of events for the configured brands. Stops after "
        "--count events or --duration seconds of event time, else runs until Ctrl-C.",
    )
    limit = parser.add_mutually_exclusive_group()
    limit.add_argument("--count", type=int, metavar="N", help="stop after N events")
    limit.add_argument(
        "--duration",
        type=float,
        metavar="SECONDS",
        help="stop after this many seconds of event time",
    )
    parser.add_argument(
        "--start",
        type=_timestamp,
        metavar="TIME",
        help="event time of the first event, RFC 3339 (default: now)",
    )
    parser.add_argument(
        "--no-pace", action="store_true", help="publish as fast as possible instead of in real time"
    )
    _add_synthetic_options(parser)


def _add_synthetic_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rate",
        type=float,
        metavar="EVENTS_PER_S",
        help="base event rate (default: [synthetic] rate)",
    )
    parser.add_argument("--seed", type=int, help="random seed (default: [synthetic] seed)")
    parser.add_argument(
        "--scenario",
        choices=["none", "negative-burst", "slow-care"],
        help="trouble to inject (default: [synthetic] scenario)",
    )
    parser.add_argument("--scenario-brand", metavar="BRAND", help="the brand the scenario hits")


def _add_import(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = _command(
        commands,
        "import",
        "publish events from a JSON-lines file",
        _import,
        "Read one event per line (`-` for stdin), publish valid ones and send each invalid line "
        "to the dead-letter topic with its reason; invalid lines are named on stderr. "
        "Exit status: 0 when every line was handled, 1 with --strict if any was invalid.",
    )
    parser.add_argument("file", type=Path, help="JSON-lines file, or - for stdin")
    parser.add_argument("--dry-run", action="store_true", help="validate only, publish nothing")
    parser.add_argument("--strict", action="store_true", help="exit 1 if any line was invalid")


def _add_replay(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = _command(
        commands,
        "replay",
        "run the analytics offline over a file, a range of the raw topic, or an archive",
        _replay,
        "Run the same analytics as the worker over events read from a JSON-lines file "
        "(--input), from the raw Kafka topic (--from-kafka) or from an archive of it "
        "(--from-archive), and write window records (windows.jsonl), alerts (alerts.jsonl), "
        "share of voice (share_of_voice.jsonl), rejected lines (rejected.jsonl) and a summary "
        "with provenance (summary.json: version, config hash, input checksums or offsets) to "
        "--out. With --start/--end only windows and alerts of event time in [start, end) are "
        "written; the analytics also see the --warmup before start. Kafka is read outside any "
        "consumer group and nothing is committed. Deterministic: the same input and config "
        "give the same bytes. A range without events exits 0 and says so.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--input", type=Path, metavar="FILE", help="events, one JSON object per line"
    )
    source.add_argument(
        "--from-kafka",
        action="store_true",
        help="the raw topic, by Kafka timestamp (needs --start and --end)",
    )
    source.add_argument(
        "--from-archive",
        type=Path,
        metavar="DIR",
        help="an archive written by `brandpulse archive run` (needs --start and --end)",
    )
    _add_range_options(parser, required=False)
    parser.add_argument(
        "--drain",
        action="store_true",
        help="at the end, also close the minutes still within the allowed "
        "lateness (the live worker would close them when newer events arrive)",
    )


def _add_audit(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = _command(
        commands,
        "audit",
        "replay a range of the raw topic and compare it with what the live worker recorded",
        _audit,
        "Replay [--start, --end) from the raw Kafka topic (or --from-archive) into OUT/replay/ "
        "and compare it with the live worker's records of the same event-time range on the "
        "alerts and windows topics (read whole, outside any consumer group; identical repeats "
        "left by a worker crash count once). Alerts are paired by brand, platform, signal and "
        "state, nearest event time first: each is matched, missing in replay or extra in "
        "replay, with timing and severity differences. Per-brand totals of mentions, negative "
        "mentions and interactions (one-minute windows, all platforms) and the window records "
        "that differ are compared too. Writes OUT/audit.html (self-contained, with a chart per "
        "brand and the alerts drawn on it) and OUT/audit.json, and prints a summary. The "
        "replay reads the --warmup before --start: for the same alerts it must cover the "
        "history the live detectors learnt from. Exit status: 0 live and replay agree, "
        "4 they differ, 1 failure, 2 usage error, 3 Kafka unreachable.",
    )
    parser.add_argument(
        "--from-archive",
        type=Path,
        metavar="DIR",
        help="replay from an archive written by `brandpulse archive run` instead of Kafka",
    )
    _add_range_options(parser, required=True)
    parser.add_argument(
        "--tolerance",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="paired alerts this far apart still agree (default: 0, exact)",
    )


def _add_range_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    """The output folder and the event-time range shared by ``replay`` and ``audit``."""
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    parser.add_argument(
        "--start",
        type=_timestamp,
        required=required,
        metavar="TIME",
        help="range start, ISO 8601 with time zone",
    )
    parser.add_argument(
        "--end",
        type=_timestamp,
        required=required,
        metavar="TIME",
        help="range end (excluded), ISO 8601",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        metavar="SECONDS",
        help="events read before --start to prime windows and detectors, not written "
        "(default: 172800 = 48 h, the 24 h window and the one before it)",
    )
    parser.add_argument("--brand", metavar="NAME", help="apply only this brand's events")


def _span(args: argparse.Namespace) -> TimeRange | None:
    """The range asked for, with its warm-up; None when neither --start nor --end is given."""
    from brandpulse.replay import DEFAULT_WARMUP, TimeRange

    if (args.start is None) != (args.end is None):
        raise UsageError("give both --start and --end, or neither")
    if args.start is None:
        return None
    warmup = DEFAULT_WARMUP if args.warmup is None else timedelta(seconds=args.warmup)
    return TimeRange(args.start, args.end, warmup)


def _add_sentiment(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _command(
        commands,
        "sentiment",
        "score texts: JSON lines from stdin to stdout",
        _sentiment,
        'Read {"text": ..., "lang": "en"|"de"} lines from stdin and write {"score", "label"} '
        'lines to stdout, one per input line; a bad line gives an {"error"} line instead. '
        "Exit status 1 if any line was bad.",
    )


def _add_webhooks(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _command(
        commands,
        "webhooks",
        "receive Facebook, Instagram, Shopify and signed generic webhooks",
        _webhooks,
        "Serve /meta (Meta Graph webhooks: Facebook Page feed, Instagram comments and mentions), "
        "/shopify (orders/create) and /hooks/generic (JSON signed with X-Brandpulse-Signature) "
        "on [webhooks] host:port. Each request's HMAC-SHA256 signature is checked over the raw "
        "body; a request is answered 200 only once Kafka acknowledged what it carried (503 if "
        "not, so the sender retries). Secrets from the environment only: META_APP_SECRET, "
        "META_VERIFY_TOKEN, SHOPIFY_WEBHOOK_SECRET, BRANDPULSE_WEBHOOK_SECRET; a path without "
        "its secret is off, and exit status 2 if all are. SIGTERM finishes requests in progress.",
    )


def _timestamp(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an RFC 3339 time: {text!r}") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give a time zone, e.g. {text}Z")
    return value


def _with_synthetic_options(args: argparse.Namespace, config: Config) -> Config:
    overrides = {
        key: getattr(args, key)
        for key in ("rate", "seed", "scenario", "scenario_brand")
        if getattr(args, key, None) is not None
    }
    if overrides.get("rate", 1) <= 0:
        raise UsageError("--rate must be positive")
    if "scenario_brand" in overrides and overrides["scenario_brand"] not in config.brand_names:
        raise UsageError(f"--scenario-brand {overrides['scenario_brand']!r} is not configured")
    synthetic = msgspec.structs.replace(config.synthetic, **overrides)
    return msgspec.structs.replace(config, synthetic=synthetic)


def _terminate_as_interrupt() -> None:
    """Let SIGTERM unwind like Ctrl-C, so connectors flush their producer on the way out."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)


def _run(args: argparse.Namespace, config: Config) -> int:
    from brandpulse.local_run import run_local

    _terminate_as_interrupt()
    return run_local(
        _with_synthetic_options(args, config), duration=args.duration, config_file=args.config
    )


def _stack(args: argparse.Namespace, config: Config) -> int:
    from brandpulse.stack import Stack, format_status

    stack = Stack(config)
    if args.action == "up":
        stack.up()
    elif args.action == "down":
        stack.down()
    else:
        statuses = stack.status()
        print(format_status(statuses))
        return 0 if all(s.state == "healthy" for s in statuses) else 3
    return 0


def _worker(args: argparse.Namespace, config: Config) -> int:
    from streams.app import run_worker

    run_worker(config, args.loglevel)
    return 0


def _synthetic(args: argparse.Namespace, config: Config) -> int:
    from connectors.synthetic.connector import run_synthetic

    _terminate_as_interrupt()
    if args.count is not None and args.count < 0:
        raise UsageError("--count must not be negative")
    run_synthetic(
        _with_synthetic_options(args, config),
        count=args.count,
        duration=args.duration,
        pace=not args.no_pace,
        start=args.start,
    )
    return 0


def _import(args: argparse.Namespace, config: Config) -> int:
    from connectors.jsonl import import_file

    _terminate_as_interrupt()
    result = import_file(config, args.file, dry_run=args.dry_run)
    return 1 if args.strict and result.dead_lettered else 0


def _replay(args: argparse.Namespace, config: Config) -> int:
    from brandpulse.replay import FileSource, ReplaySource, replay
    from brandpulse.sentiment import default_scorer

    span = _span(args)
    source: ReplaySource
    if args.input is not None:
        source = FileSource(args.input)
    elif span is None:
        raise UsageError("--from-kafka and --from-archive need --start and --end")
    else:
        from brandpulse.replay_sources import archive_source, kafka_source

        if args.from_kafka:
            source = kafka_source(config, span)
        else:
            source = archive_source(args.from_archive, span)
    summary = replay(
        config, source, args.out, default_scorer(), drain=args.drain, span=span, brand=args.brand
    )
    if span is not None and summary.events == summary.warmup_events:
        print(
            f"brandpulse: no events between {span.start.isoformat()} and {span.end.isoformat()}"
            f" (read {summary.warmup_events:,} warm-up events); outputs are empty",
            file=sys.stderr,
        )
    return 0


def _audit(args: argparse.Namespace, config: Config) -> int:
    from brandpulse.audit.command import AuditOptions, run_audit

    if args.tolerance < 0:
        raise UsageError("--tolerance must not be negative")
    span = _span(args)
    assert span is not None  # --start and --end are required
    options = AuditOptions(span, args.out, args.from_archive, args.brand, args.tolerance)
    return run_audit(config, options)


def _webhooks(args: argparse.Namespace, config: Config) -> int:
    from connectors.webhooks.server import run_webhooks

    log_connector()
    run_webhooks(config)
    return 0


def _sentiment(args: argparse.Namespace, config: Config) -> int:
    from brandpulse.sentiment import default_scorer
    from brandpulse.sentiment.cli import score_lines

    return 1 if score_lines(sys.stdin, sys.stdout, default_scorer()) else 0


if __name__ == "__main__":
    sys.exit(main())
