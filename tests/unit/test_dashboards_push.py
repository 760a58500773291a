"""`brandpulse dashboards push` against a fake Grafana that checks every request it is sent.

The fake speaks just enough of Grafana's HTTP API (folders, datasources and dashboards by uid)
for grafana-client to talk to it unmodified, so these tests catch a wrong path, method, auth
header or payload in our code as well as a changed request in a new grafana-client.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from brandpulse import __version__
from brandpulse.cli import main

TOKEN = "glsa_fake-service-account-token-1234"
Json = dict[str, Any]
Answer = tuple[int, Json]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: Any


class FakeGrafana:
    """Grafana's API for folders, datasources and dashboards, keeping state like Grafana does.

    Answers 401 unless the Authorization header is ``authorization``, 404 for routes Grafana
    does not have, and 400 for payloads Grafana would reject; the last two are also recorded in
    ``problems``, so a test sees them even where push treats a 404 as "missing".
    """

    def __init__(self, authorization: str, prefix: str = "") -> None:
        self.authorization = authorization
        self.prefix = prefix
        self.requests: list[Request] = []
        self.problems: list[str] = []
        self.folders: dict[str, Json] = {}
        self.datasources: dict[str, Json] = {}
        self.dashboards: dict[str, Json] = {}
        self.forced: dict[tuple[str, str], int] = {}
        """(method, path) to the status every such request gets instead of an answer."""
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Answer]]] = [
            ("GET", re.compile(r"/api/folders/([^/]+)"), self._get_folder),
            ("POST", re.compile(r"/api/folders"), self._create_folder),
            ("GET", re.compile(r"/api/datasources/uid/([^/]+)"), self._get_datasource),
            ("POST", re.compile(r"/api/datasources"), self._create_datasource),
            ("POST", re.compile(r"/api/dashboards/db"), self._save_dashboard),
        ]
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{self.prefix}"

    def __enter__(self) -> FakeGrafana:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.requests]

    def answer(self, method: str, path: str, headers: Message, raw: bytes) -> Answer:
        body = json.loads(raw) if raw else None
        self.requests.append(Request(method, path, body))
        if headers.get("Authorization") != self.authorization:
            return 401, {"message": "invalid API key"}
        if (method, path) in self.forced:
            return self.forced[method, path], {"message": "injected failure"}
        if raw and not headers.get("Content-Type", "").startswith("application/json"):
            return self._reject(f"{method} {path}: body is not declared as JSON")
        for verb, pattern, handle in self._routes:
            match = pattern.fullmatch(path.removeprefix(self.prefix))
            if path.startswith(self.prefix) and verb == method and match:
                return handle(body, *match.groups())
        self.problems.append(f"no such route: {method} {path}")
        return 404, {"message": "Not found"}

    def _reject(self, problem: str) -> Answer:
        self.problems.append(problem)
        return 400, {"message": problem}

    def _get_folder(self, _: None, uid: str) -> Answer:
        if uid in self.folders:
            return 200, self.folders[uid]
        return 404, {"message": "folder not found"}

    def _create_folder(self, body: Json) -> Answer:
        if body != {"uid": body.get("uid"), "title": body.get("title")} or not body["title"]:
            return self._reject(f"folder payload must be {{uid, title}}: {body}")
        if body["uid"] in self.folders:
            return 409, {"message": "a folder with the same uid already exists"}
        self.folders[body["uid"]] = {"id": len(self.folders) + 1, **body}
        return 200, self.folders[body["uid"]]

    def _get_datasource(self, _: None, uid: str) -> Answer:
        if uid in self.datasources:
            return 200, self.datasources[uid]
        return 404, {"message": "Data source not found"}

    def _create_datasource(self, body: Json) -> Answer:
        expected = {"uid": str, "name": str, "type": "prometheus", "access": "proxy", "url": str}
        problems = _mismatches(body, expected)
        if problems or not body["url"].startswith("http"):
            return self._reject(f"datasource payload: {problems or 'url is not http(s)'}")
        if body["uid"] in self.datasources:
            return 409, {"message": "data source with the same uid already exists"}
        self.datasources[body["uid"]] = {"id": len(self.datasources) + 1, **body}
        return 200, {"message": "Datasource added", "datasource": self.datasources[body["uid"]]}

    def _save_dashboard(self, body: Json) -> Answer:
        expected = {"dashboard": dict, "folderUid": str, "overwrite": True, "message": str}
        problems = _mismatches(body, expected)
        problems += _mismatches(body.get("dashboard") or {}, {"uid": str, "title": str, "id": None})
        if problems:
            return self._reject(f"dashboard payload: {problems}")
        if body["folderUid"] not in self.folders:
            return self._reject(f"dashboard into folder {body['folderUid']}, which does not exist")
        board = body["dashboard"]
        version = self.dashboards.get(board["uid"], {}).get("version", 0) + 1
        self.dashboards[board["uid"]] = {**body, "version": version}
        slug = board["title"].lower().replace(" ", "-")
        url = f"{self.prefix}/d/{board['uid']}/{slug}"
        return 200, {"uid": board["uid"], "url": url, "status": "success", "version": version}


def _mismatches(body: Json, expected: dict[str, Any]) -> list[str]:
    """The keys of ``body`` whose value is not of the expected class, or not the expected value."""
    return [
        f"{key}={body.get(key)!r}"
        for key, want in expected.items()
        if not _matches(body.get(key), want)
    ]


def _matches(value: Any, want: Any) -> bool:
    if isinstance(want, type):
        return isinstance(value, want)
    return type(value) is type(want) and bool(value == want)


def _handler(fake: FakeGrafana) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def do_PUT(self) -> None:
            self._serve()

        def _serve(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, body = fake.answer(self.command, self.path, self.headers, raw)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No config file or Grafana settings from the machine; the local Prometheus on 9190."""
    monkeypatch.chdir(tmp_path)
    for name in (
        "BRANDPULSE_CONFIG",
        "BRANDPULSE_GRAFANA_PROMETHEUS_URL",
        "GRAFANA_URL",
        "GRAFANA_TOKEN",
        "GRAFANA_USER",
        "GRAFANA_PASSWORD",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BRANDPULSE_STACK__PROMETHEUS_PORT", "9190")
    monkeypatch.setenv("GRAFANA_TOKEN", TOKEN)


@pytest.fixture
def grafana(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGrafana]:
    with FakeGrafana(f"Bearer {TOKEN}") as fake:
        monkeypatch.setenv("GRAFANA_URL", fake.url)
        yield fake


@pytest.fixture
def boards(tmp_path: Path) -> Path:
    folder = tmp_path / "boards"
    folder.mkdir()
    for uid, title in (("bp-overview", "Brand overview"), ("bp-care", "Care")):
        panel = {
            "type": "timeseries",
            "datasource": {"type": "prometheus", "uid": "brandpulse-prometheus"},
            "targets": [{"expr": "sum(rate(brandpulse_events_total[5m]))"}],
        }
        board = {"id": 17, "uid": uid, "title": title, "panels": [panel], "schemaVersion": 39}
        (folder / f"{uid}.json").write_text(json.dumps(board))
    return folder


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def push(boards: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    def run(*options: str) -> Run:
        code = main(["dashboards", "push", "--boards", str(boards), *options])
        out, err = capsys.readouterr()
        return Run(code, out, err)

    return run


BOARD_SAVES = [("POST", "/api/dashboards/db")] * 2


def test_push_creates_the_folder_and_datasource_and_uploads_every_board(
    grafana: FakeGrafana, push: Callable[..., Run]
) -> None:
    run = push()
    assert run.code == 0, run.err
    assert grafana.problems == []
    assert grafana.calls() == [
        ("GET", "/api/folders/brandpulse"),
        ("POST", "/api/folders"),
        ("GET", "/api/datasources/uid/brandpulse-prometheus"),
        ("POST", "/api/datasources"),
        *BOARD_SAVES,
    ]
    assert grafana.requests[1].body == {"uid": "brandpulse", "title": "brandpulse"}
    assert grafana.requests[3].body["url"] == "http://127.0.0.1:9190"
    saved = [r.body for r in grafana.requests[4:]]
    assert [s["dashboard"]["uid"] for s in saved] == ["bp-care", "bp-overview"]
    assert all(s["folderUid"] == "brandpulse" and s["overwrite"] is True for s in saved)
    assert all(__version__ in s["message"] for s in saved)
    assert saved[1]["dashboard"]["panels"][0]["datasource"]["uid"] == "brandpulse-prometheus"
    assert run.out.splitlines() == [
        "folder 'brandpulse' (uid brandpulse): created",
        "datasource brandpulse-prometheus: created (-> http://127.0.0.1:9190)",
        f"dashboard uploaded: Care -> {grafana.url}/d/bp-care/care",
        f"dashboard uploaded: Brand overview -> {grafana.url}/d/bp-overview/brand-overview",
        f"pushed 2 dashboards to {grafana.url} (folder uid brandpulse)",
    ]


def test_a_second_push_only_overwrites_the_boards(
    grafana: FakeGrafana, push: Callable[..., Run]
) -> None:
    assert push().code == 0
    state = (dict(grafana.folders), dict(grafana.datasources))
    grafana.requests.clear()

    run = push()
    assert run.code == 0, run.err
    assert grafana.problems == []
    assert grafana.calls() == [
        ("GET", "/api/folders/brandpulse"),
        ("GET", "/api/datasources/uid/brandpulse-prometheus"),
        *BOARD_SAVES,
    ]
    assert (grafana.folders, grafana.datasources) == state
    assert {uid: board["version"] for uid, board in grafana.dashboards.items()} == {
        "bp-care": 2,
        "bp-overview": 2,
    }
    assert "folder 'brandpulse' (uid brandpulse): present, reused" in run.out


def test_an_existing_datasource_is_never_changed(
    grafana: FakeGrafana, push: Callable[..., Run]
) -> None:
    theirs = {"uid": "brandpulse-prometheus", "type": "prometheus", "url": "http://prom:9090"}
    grafana.datasources["brandpulse-prometheus"] = dict(theirs)
    run = push("--prometheus-url", "http://elsewhere:9090")
    assert run.code == 0, run.err
    assert ("POST", "/api/datasources") not in grafana.calls()
    assert grafana.datasources["brandpulse-prometheus"] == theirs
    assert "present (-> http://prom:9090), left unchanged" in run.out


@pytest.mark.parametrize(
    ("option", "variable", "expected"),
    [
        (None, None, "http://127.0.0.1:9190"),
        (None, "http://from-env:9090", "http://from-env:9090"),
        ("http://from-option:9090", "http://from-env:9090", "http://from-option:9090"),
    ],
)
def test_the_datasource_url_comes_from_option_then_environment_then_config(
    grafana: FakeGrafana,
    push: Callable[..., Run],
    monkeypatch: pytest.MonkeyPatch,
    *,
    option: str | None,
    variable: str | None,
    expected: str,
) -> None:
    if variable:
        monkeypatch.setenv("BRANDPULSE_GRAFANA_PROMETHEUS_URL", variable)
    assert push(*(["--prometheus-url", option] if option else [])).code == 0
    assert grafana.datasources["brandpulse-prometheus"]["url"] == expected


def test_basic_auth_and_a_grafana_under_a_sub_path(
    monkeypatch: pytest.MonkeyPatch, push: Callable[..., Run]
) -> None:
    basic = base64.b64encode(b"admin:s3cret").decode()
    with FakeGrafana(f"Basic {basic}", prefix="/grafana") as grafana:
        monkeypatch.setenv("GRAFANA_URL", grafana.url)
        monkeypatch.delenv("GRAFANA_TOKEN")
        monkeypatch.setenv("GRAFANA_USER", "admin")
        monkeypatch.setenv("GRAFANA_PASSWORD", "s3cret")
        run = push("--folder-title", "Brand monitoring")
    assert run.code == 0, run.err
    assert grafana.problems == []
    assert grafana.folders["brandpulse"]["title"] == "Brand monitoring"
    assert f"Care -> {grafana.url}/d/bp-care/care" in run.out


@pytest.mark.parametrize(
    ("variables", "secret", "blamed"),
    [
        ({"GRAFANA_TOKEN": "glsa_wrong-token-9876"}, "glsa_wrong-token-9876", "GRAFANA_TOKEN"),
        (
            {"GRAFANA_TOKEN": "", "GRAFANA_USER": "admin", "GRAFANA_PASSWORD": "wr0ng-pw"},
            "wr0ng-pw",
            "GRAFANA_USER and GRAFANA_PASSWORD",
        ),
    ],
)
def test_refused_credentials_are_named_but_never_printed(
    grafana: FakeGrafana,
    push: Callable[..., Run],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    *,
    variables: dict[str, str],
    secret: str,
    blamed: str,
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.DEBUG)
    run = push()
    assert run.code == 1
    assert run.err == (
        f"brandpulse: Grafana at {grafana.url} refused the credentials (HTTP 401): check {blamed}\n"
    )
    assert grafana.calls() == [("GET", "/api/folders/brandpulse")]
    assert secret not in run.out + run.err + caplog.text


def test_an_unreachable_grafana_is_reported_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, push: Callable[..., Run], caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("GRAFANA_URL", url)
    caplog.set_level(logging.DEBUG)
    run = push()
    assert run.code == 3
    assert run.err.startswith(f"brandpulse: cannot reach Grafana at {url}: ")
    assert "Connection refused" in run.err
    assert TOKEN not in run.out + run.err + caplog.text


@pytest.mark.parametrize(
    ("forced", "message"),
    [
        (
            ("POST", "/api/dashboards/db", 500),
            ": POST /api/dashboards/db (Care) failed with HTTP 500: injected failure",
        ),
        (
            ("POST", "/api/datasources", 403),
            " refused the credentials (HTTP 403) for POST /api/datasources: the account behind "
            "GRAFANA_TOKEN needs the Editor role (Admin to create the datasource)",
        ),
    ],
)
def test_other_failures_name_the_request_and_status(
    grafana: FakeGrafana, push: Callable[..., Run], forced: tuple[str, str, int], message: str
) -> None:
    method, path, status = forced
    grafana.forced[method, path] = status
    run = push()
    assert run.code == 1
    assert run.err == f"brandpulse: Grafana at {grafana.url}{message}\n"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"GRAFANA_URL": None},
            "set GRAFANA_URL to your Grafana's address, e.g. http://127.0.0.1:3000",
        ),
        ({"GRAFANA_TOKEN": None}, "set GRAFANA_TOKEN to a Grafana service account token"),
        ({"GRAFANA_TOKEN": None, "GRAFANA_USER": "admin"}, "set GRAFANA_PASSWORD to"),
        ({"GRAFANA_URL": "grafana:3000"}, "GRAFANA_URL must be an http(s) URL"),
        ({"GRAFANA_URL": "http://admin:pw@grafana:3000"}, "put Grafana credentials in"),
    ],
)
def test_missing_or_unusable_settings_are_named(
    grafana: FakeGrafana,
    push: Callable[..., Run],
    monkeypatch: pytest.MonkeyPatch,
    changes: dict[str, str | None],
    message: str,
) -> None:
    for name, value in changes.items():
        if value is None:
            monkeypatch.delenv(name)
        else:
            monkeypatch.setenv(name, value)
    run = push()
    assert run.code == 2
    assert run.err.startswith(f"brandpulse: {message}")
    assert "pw" not in run.err
    assert grafana.requests == []


@pytest.mark.parametrize(
    ("board", "message"),
    [
        (None, "no dashboard JSON files in"),
        ("{not json", "cannot read board"),
        ('{"uid": "bp-x"}', "has no 'title'"),
        ('{"uid": "bp-care", "title": "Care again"}', "several boards share the uid bp-care"),
    ],
)
def test_unusable_boards_are_refused_before_grafana_is_asked(
    grafana: FakeGrafana, push: Callable[..., Run], boards: Path, board: str | None, message: str
) -> None:
    if board is None:
        for path in boards.iterdir():
            path.unlink()
    else:
        (boards / "zz-extra.json").write_text(board)
    run = push()
    assert run.code == 2
    assert message in run.err
    assert grafana.requests == []
