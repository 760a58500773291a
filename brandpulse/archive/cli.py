"""``brandpulse archive run|verify``: the subcommand, wired into ``brandpulse.cli``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final

from brandpulse.archive.verify import verify_archive
from brandpulse.config import Config
from brandpulse.errors import UsageError

if TYPE_CHECKING:
    from brandpulse.cli import Handler

    Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]
    AddCommand = Callable[[Subcommands, str, str, Handler, str | None], argparse.ArgumentParser]

DEFAULT_MAX_OPEN_SECONDS: Final = 600.0


def add_archive_command(commands: Subcommands, command: AddCommand) -> None:
    """Add ``archive`` with its actions; ``command`` is ``brandpulse.cli``'s parser factory."""
    parser = commands.add_parser(
        "archive",
        help="copy the raw topic into compressed segment files, and verify them",
        description="Keep the raw topic beyond Kafka's retention: immutable gzip segment files "
        "(one per partition and hour) and a manifest of offsets, counts and SHA-256 sums.",
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", dest="action", required=True)
    run = command(
        actions,
        "run",
        "archive the raw topic, resuming where the archive ends",
        _run,
        "Copy the raw topic's messages, byte for byte, into --dir. Each partition resumes after "
        "its last archived message (the manifest is the only record of that; no consumer group "
        "is used), so a crash at any moment leaves no gap and no duplicate. SIGTERM or Ctrl-C "
        "closes the open segments and exits 0.",
    )
    _add_dir(run)
    run.add_argument(
        "--until-caught-up",
        action="store_true",
        help="stop (exit 0) once the end offsets seen at start are archived, e.g. from cron",
    )
    run.add_argument(
        "--max-open",
        type=float,
        default=DEFAULT_MAX_OPEN_SECONDS,
        metavar="SECONDS",
        help="close a segment after it has been open this long, so a quiet stream does not "
        "keep data in an unfinished file (default: %(default).0f)",
    )
    verify = command(
        actions,
        "verify",
        "re-check every segment's checksum, counts and offsets",
        _verify,
        "Recompute every segment's SHA-256, re-read and recount its messages and events, and "
        "check that each partition's offsets continue without gap or overlap. Prints a line per "
        "bad segment; exit status 1 if any, else 0 with a one-line summary.",
    )
    _add_dir(verify)


def _add_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir",
        type=Path,
        metavar="DIR",
        help="the archive folder (default: <stack.state_dir>/archive)",
    )


def _folder(args: argparse.Namespace, config: Config) -> Path:
    return args.dir or Path(config.stack.state_dir) / "archive"


def _run(args: argparse.Namespace, config: Config) -> int:
    # Kafka is imported only when archiving, so `brandpulse --help` stays fast.
    from brandpulse.archive.sink import run_archive  # noqa: PLC0415

    if args.max_open <= 0:
        raise UsageError("--max-open must be positive")
    run_archive(
        config,
        _folder(args, config),
        until_caught_up=args.until_caught_up,
        max_open_seconds=args.max_open,
    )
    return 0


def _verify(args: argparse.Namespace, config: Config) -> int:
    report = verify_archive(_folder(args, config))
    for line in report.lines():
        print(line)
    print(report.summary())
    return 0 if report.ok else 1
