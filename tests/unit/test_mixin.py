"""The monitoring mixin: generated files current, rules valid and unit-tested, boards complete."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from dashboards import generate
from dashboards.cli import BOARDS_DIR
from dashboards.mixin import DATASOURCE_UID, RUNBOOK_URL
from dashboards.mixin.rules import ALERTS

REPO = Path(__file__).resolve().parents[2]
RULE_TESTS = REPO / "dashboards" / "prometheus" / "tests"


def promtool(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    assert binary, "promtool is missing: apt-get install prometheus (scripts/install-system-deps)"
    return subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True, check=False)


def boards() -> dict[str, dict[str, object]]:
    return {p.stem: json.loads(p.read_text()) for p in BOARDS_DIR.glob("*.json")}


def test_committed_files_are_what_the_mixin_generates() -> None:
    assert generate.stale() == [], "run `brandpulse dashboards generate` and commit the result"


def test_check_reports_a_stale_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "brandpulse.rules.yml"
    copy.write_text(generate.rules_yaml().replace("brandpulse", "brandpulze", 1))
    monkeypatch.setattr(generate, "outputs", lambda: {copy: generate.rules_yaml})
    assert generate.run(check=True) == 1
    assert generate.run(check=False) == 0
    assert copy.read_text() == generate.rules_yaml()


def test_rules_pass_promtool_check_and_unit_tests() -> None:
    checked = promtool("check", "rules", str(generate.RULES_FILE))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tests = sorted(str(p.name) for p in RULE_TESTS.glob("*.test.yml"))
    assert tests
    tested = promtool("test", "rules", *tests, cwd=RULE_TESTS)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_has_severity_summary_description_and_a_runbook_section() -> None:
    runbook = (REPO / "docs" / "runbook.md").read_text()
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", line[3:].strip().lower()).replace(" ", "-")
        for line in runbook.splitlines()
        if line.startswith("## ")
    }
    rules = yaml.safe_load(generate.RULES_FILE.read_text())["groups"][1]["rules"]
    assert {rule["alert"] for rule in rules} == {alert.name for alert in ALERTS}
    for rule in rules:
        annotations = rule["annotations"]
        assert annotations["summary"] and annotations["description"], rule["alert"]
        url, anchor = annotations["runbook_url"].split("#")
        assert url == RUNBOOK_URL and anchor in anchors, rule["alert"]
        # The stream's alerts carry their own severity; every other alert sets one.
        assert "severity" in rule["labels"] or "brandpulse_alert_active" in rule["expr"]


def test_every_panel_has_title_description_unit_datasource_and_a_query() -> None:
    found = boards()
    assert set(found) == {"brand-overview", "customer-care", "pipeline-health"}
    for name, board in found.items():
        variables = {v["name"] for v in board["templating"]["list"]}  # type: ignore[index]
        assert {"brand", "platform"} <= variables, name
        panels = [p for p in board["panels"] if p["type"] != "row"]  # type: ignore[attr-defined]
        assert panels, name
        for panel in panels:
            where = f"{name}: {panel.get('title')}"
            assert panel["title"] and panel["description"], where
            assert panel["fieldConfig"]["defaults"]["unit"], where
            assert panel["datasource"]["uid"] == DATASOURCE_UID, where
            assert panel["targets"] and all(t["expr"] for t in panel["targets"]), where
            assert panel["fieldConfig"]["defaults"]["thresholds"]["steps"], where
