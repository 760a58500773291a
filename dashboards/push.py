"""Upload the Grafana boards to an existing Grafana (`brandpulse dashboards push`).

Pushing is idempotent by construction: the folder and the datasource are looked up by their fixed
uids and created only when missing, and dashboards are saved by uid with overwrite. An existing
datasource is never changed: whoever runs the Grafana may have pointed it elsewhere on purpose.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeVar
from urllib.parse import urljoin, urlparse

from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException, GrafanaTimeoutError
from niquests.exceptions import RequestException

from brandpulse import __version__
from brandpulse.errors import BrandpulseError, UsageError

FOLDER_UID: Final = "brandpulse"
DATASOURCE_UID: Final = "brandpulse-prometheus"
"""The uid every board's panels name as their datasource."""

Board = dict[str, Any]
T = TypeVar("T")


class GrafanaError(BrandpulseError):
    """Grafana answered, but refused or failed a request; the message names which and why."""


class GrafanaUnreachable(BrandpulseError):
    """No answer at all (refused, unknown host, timeout): exit 3, as for an unreachable Kafka."""

    exit_code = 3


@dataclass(frozen=True)
class Credentials:
    """Where Grafana is and how to log in; ``secret`` is kept out of the repr, and so of logs."""

    url: str
    secret: str | tuple[str, str] = field(repr=False)
    """A service account token, or a user name and password for basic auth."""
    source: str
    """The environment variables the secret came from, to name when Grafana refuses it."""


def credentials_from_env(env: Mapping[str, str]) -> Credentials:
    """GRAFANA_URL plus GRAFANA_TOKEN, or GRAFANA_USER and GRAFANA_PASSWORD for basic auth."""
    url = _required(env, "GRAFANA_URL", "your Grafana's address, e.g. http://127.0.0.1:3000")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise UsageError("GRAFANA_URL must be an http(s) URL like http://127.0.0.1:3000")
    if parsed.username or parsed.password:
        # Every message names the URL, so it must not carry a password.
        raise UsageError("put Grafana credentials in GRAFANA_TOKEN, not in GRAFANA_URL")
    if env.get("GRAFANA_TOKEN"):
        return Credentials(url, env["GRAFANA_TOKEN"], "GRAFANA_TOKEN")
    if env.get("GRAFANA_USER") or env.get("GRAFANA_PASSWORD"):
        user = _required(env, "GRAFANA_USER", "the Grafana user for GRAFANA_PASSWORD")
        password = _required(env, "GRAFANA_PASSWORD", "the password of GRAFANA_USER")
        return Credentials(url, (user, password), "GRAFANA_USER and GRAFANA_PASSWORD")
    raise UsageError(
        "set GRAFANA_TOKEN to a Grafana service account token "
        "(or GRAFANA_USER and GRAFANA_PASSWORD for basic auth)"
    )


def _required(env: Mapping[str, str], name: str, meaning: str) -> str:
    value = env.get(name, "")
    if not value:
        raise UsageError(f"set {name} to {meaning}")
    return value


def load_boards(folder: Path) -> list[Board]:
    """The dashboards in ``folder/*.json``, checked for the uid and title that push relies on."""
    if not folder.is_dir():
        raise UsageError(f"boards folder {folder} does not exist")
    boards = [_load_board(path) for path in sorted(folder.glob("*.json"))]
    if not boards:
        raise UsageError(f"no dashboard JSON files in {folder}")
    uids = [board["uid"] for board in boards]
    duplicates = sorted({uid for uid in uids if uids.count(uid) > 1})
    if duplicates:
        raise UsageError(f"{folder}: several boards share the uid {', '.join(duplicates)}")
    return boards


def _load_board(path: Path) -> Board:
    try:
        board = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read board {path}: {exc}") from None
    if not isinstance(board, dict):
        raise UsageError(f"board {path} is not a JSON object")
    for key in ("uid", "title"):
        if not isinstance(board.get(key), str) or not board[key]:
            raise UsageError(f"board {path} has no {key!r}")
    return board


def push_boards(
    credentials: Credentials,
    boards: list[Board],
    *,
    prometheus_url: str,
    folder_title: str,
    report: Callable[[str], None] = print,
) -> None:
    """Make sure the folder and datasource exist, then upload every board into the folder."""
    grafana = _Grafana(credentials)
    _ensure_folder(grafana, folder_title, report)
    _ensure_datasource(grafana, prometheus_url, report)
    for board in boards:
        url = _upload(grafana, board)
        report(f"dashboard uploaded: {board['title']} -> {urljoin(credentials.url, url)}")
    report(f"pushed {len(boards)} dashboards to {credentials.url} (folder uid {FOLDER_UID})")


def _ensure_folder(grafana: _Grafana, title: str, report: Callable[[str], None]) -> None:
    api = grafana.api
    existing = grafana.find(
        f"GET /api/folders/{FOLDER_UID}", lambda: api.folder.get_folder(FOLDER_UID)
    )
    if existing is not None:
        report(f"folder {existing.get('title', FOLDER_UID)!r} (uid {FOLDER_UID}): present, reused")
        return
    grafana.call("POST /api/folders", lambda: api.folder.create_folder(title, uid=FOLDER_UID))
    report(f"folder {title!r} (uid {FOLDER_UID}): created")


def _ensure_datasource(
    grafana: _Grafana, prometheus_url: str, report: Callable[[str], None]
) -> None:
    api = grafana.api
    existing = grafana.find(
        f"GET /api/datasources/uid/{DATASOURCE_UID}",
        lambda: api.datasource.get_datasource_by_uid(DATASOURCE_UID),
    )
    if existing is not None:
        where = existing.get("url", "?")
        report(f"datasource {DATASOURCE_UID}: present (-> {where}), left unchanged")
        return
    datasource = {
        "uid": DATASOURCE_UID,
        "name": "brandpulse Prometheus",
        "type": "prometheus",
        "access": "proxy",
        "url": prometheus_url,
    }
    grafana.call("POST /api/datasources", lambda: api.datasource.create_datasource(datasource))
    report(f"datasource {DATASOURCE_UID}: created (-> {prometheus_url})")


def _upload(grafana: _Grafana, board: Board) -> str:
    """Save one board and return its path in Grafana, e.g. ``/d/uid/slug``."""
    payload = {
        # A board's numeric id belongs to the Grafana it was exported from; the uid is the key.
        "dashboard": {**board, "id": None},
        "folderUid": FOLDER_UID,
        "overwrite": True,
        "message": f"brandpulse {__version__}: brandpulse dashboards push",
    }
    request = f"POST /api/dashboards/db ({board['title']})"
    saved = grafana.call(request, lambda: grafana.api.dashboard.update_dashboard(payload))
    return str(saved.get("url", f"/d/{board['uid']}"))


class _Grafana:
    """grafana-client's API, with its failures turned into errors a user can act on."""

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials
        # grafana-client glues "api" to the URL's path, so a sub-path needs its trailing slash.
        base = credentials.url.rstrip("/") + "/"
        self.api = GrafanaApi.from_url(base, credential=credentials.secret)

    def find(self, request: str, call: Callable[[], T]) -> T | None:
        """``call()``, or None if Grafana answers 404."""
        with self._translated(request):
            try:
                return call()
            except GrafanaClientError as exc:
                if exc.status_code == 404:
                    return None
                raise

    def call(self, request: str, call: Callable[[], T]) -> T:
        with self._translated(request):
            return call()

    @contextmanager
    def _translated(self, request: str) -> Iterator[None]:
        try:
            yield
        except (GrafanaTimeoutError, RequestException) as exc:
            raise GrafanaUnreachable(
                f"cannot reach Grafana at {self._credentials.url}: {_reason(exc)}"
            ) from None
        except GrafanaException as exc:
            raise self._refused_or_failed(request, exc) from None

    def _refused_or_failed(self, request: str, exc: GrafanaException) -> GrafanaError:
        where, source, status = (
            f"Grafana at {self._credentials.url}",
            self._credentials.source,
            exc.status_code,
        )
        if status == 401:
            return GrafanaError(f"{where} refused the credentials (HTTP 401): check {source}")
        if status == 403:
            return GrafanaError(
                f"{where} refused the credentials (HTTP 403) for {request}: the account behind "
                f"{source} needs the Editor role (Admin to create the datasource)"
            )
        return GrafanaError(f"{where}: {request} failed with HTTP {status}: {_detail(exc)}")


def _reason(exc: BaseException) -> str:
    """The innermost cause ("[Errno 111] Connection refused"), not the pool's wrapping of it."""
    cause: BaseException | None = exc
    while cause is not None:
        exc, cause = cause, cause.__cause__ or cause.__context__
    return str(exc) or type(exc).__name__


def _detail(exc: GrafanaException) -> str:
    """Grafana's own explanation, which its JSON error bodies carry as ``message``."""
    body = exc.response
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return str(exc.message)
