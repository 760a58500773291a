"""`brandpulse dashboards ACTION`: the command group for the Grafana boards.

``brandpulse.cli`` calls :func:`add_dashboards_command`, which adds ``generate`` (boards and rules
from the mixin) and ``push`` (boards to a Grafana).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Callable

    from brandpulse.cli import Handler
    from brandpulse.config import Config

    Commands = argparse._SubParsersAction[argparse.ArgumentParser]
    MakeCommand = Callable[[Commands, str, str, Handler, str | None], argparse.ArgumentParser]

PROMETHEUS_URL_ENV: Final = "BRANDPULSE_GRAFANA_PROMETHEUS_URL"
BOARDS_DIR: Final = Path(__file__).parent / "grafana" / "boards"
"""Where ``generate`` writes the boards and ``push`` reads them from."""


def add_dashboards_command(commands: Commands, make_command: MakeCommand) -> Commands:
    """Add ``dashboards`` to ``commands`` and return its actions, for more to be added."""
    group = commands.add_parser(
        "dashboards",
        help="manage the Grafana boards",
        description="Grafana boards as code: the JSON files in dashboards/grafana/boards.",
    )
    actions = group.add_subparsers(title="actions", metavar="ACTION", required=True)
    _add_generate(actions, make_command)
    _add_push(actions, make_command)
    return actions


def _add_generate(actions: Commands, make_command: MakeCommand) -> None:
    parser = make_command(
        actions,
        "generate",
        "write the boards, rules and compose Prometheus config from the mixin",
        _generate,
        "Write dashboards/grafana/boards/*.json, dashboards/prometheus/rules/brandpulse.rules.yml "
        "and dashboards/prometheus/compose.yml from the mixin in dashboards/mixin (the one source "
        "of panels, recording rules and alerts). Only files whose content changes are written.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if a committed file differs from what the mixin makes",
    )


def _generate(args: argparse.Namespace, config: Config) -> int:
    from dashboards.generate import run  # noqa: PLC0415  # grafana-foundation-sdk: only here

    return run(check=args.check)


def _add_push(actions: Commands, make_command: MakeCommand) -> None:
    parser = make_command(
        actions,
        "push",
        "upload the boards to an existing Grafana",
        _push,
        "Upload the boards into the folder with uid 'brandpulse' of the Grafana at $GRAFANA_URL, "
        "logging in with $GRAFANA_TOKEN (a service account token; or $GRAFANA_USER and "
        "$GRAFANA_PASSWORD). Creates the folder and the Prometheus datasource (uid "
        "brandpulse-prometheus) if they are missing, never changes an existing datasource, and "
        "overwrites the boards, so running it again is safe.",
    )
    parser.add_argument(
        "--boards",
        metavar="DIR",
        type=Path,
        default=BOARDS_DIR,
        help="folder of dashboard JSON files (default: %(default)s)",
    )
    parser.add_argument(
        "--prometheus-url",
        metavar="URL",
        help="where Grafana reaches Prometheus, used only when creating the datasource "
        f"(default: ${PROMETHEUS_URL_ENV}, else the local stack's, "
        "http://127.0.0.1:<stack.prometheus_port>)",
    )
    parser.add_argument(
        "--folder-title",
        metavar="TITLE",
        default="brandpulse",
        help="title of the folder, used only when creating it (default: %(default)s)",
    )


def _push(args: argparse.Namespace, config: Config) -> int:
    # grafana-client takes a fifth of a second to import: load it only when pushing.
    from dashboards.push import credentials_from_env, load_boards, push_boards  # noqa: PLC0415

    credentials = credentials_from_env(os.environ)
    boards = load_boards(args.boards)
    prometheus_url = (
        args.prometheus_url
        or os.environ.get(PROMETHEUS_URL_ENV)
        or f"http://127.0.0.1:{config.stack.prometheus_port}"
    )
    push_boards(credentials, boards, prometheus_url=prometheus_url, folder_title=args.folder_title)
    return 0
