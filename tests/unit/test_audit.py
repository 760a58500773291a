"""The audit's comparison rules and its report, on hand-made records."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from brandpulse.analytics.records import AlertRecord, WindowRecord, encode_record
from brandpulse.audit.compare import Outputs, compare, in_range, match_alerts, unique
from brandpulse.audit.report import render_html, summary_json
from brandpulse.cli import build_parser

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def alert(
    minute: int,
    *,
    platform: str = "all",
    signal: str = "negative_mentions",
    state: str = "firing",
    severity: str = "warning",
    brand: str = "acme",
    opened: int | None = None,
) -> AlertRecord:
    at = T0 + timedelta(minutes=minute)
    opened_at = T0 + timedelta(minutes=minute if opened is None else opened)
    return AlertRecord(
        id=f"{brand}:{platform}:{signal}:{int(opened_at.timestamp())}",
        brand=brand,
        platform=platform,
        signal=signal,
        state=state,  # type: ignore[arg-type]
        severity=severity,
        at=at,
        opened_at=opened_at,
        observed=30.0,
        expected=5.0,
        summary="spike",
    )


def window(
    minute: int, mentions: int, *, brand: str = "acme", platform: str = "all", size: str = "1m"
) -> WindowRecord:
    return WindowRecord(
        brand=brand,
        platform=platform,
        window=size,
        end=T0 + timedelta(minutes=minute),
        mentions=mentions,
        posts=mentions,
        interactions=2 * mentions,
        negative_mentions=mentions // 2,
        positive=0,
        neutral=0,
        negative=mentions // 2,
        mention_rate=mentions / 60,
        interaction_rate=mentions / 30,
        mean_sentiment=None,
        net_sentiment=None,
        negative_share=None,
        followers=None,
        engagement_rate=None,
        follower_growth=None,
        mention_growth=None,
        interaction_growth=None,
    )


def test_identical_sides_agree() -> None:
    records = Outputs(
        [alert(3), alert(9, state="resolved", opened=3)], [window(1, 4), window(2, 6)]
    )
    audit = compare(records, records)
    assert audit.agrees
    assert [(p.live.id, p.delta_seconds) for p in audit.alerts.matched] == [
        (alert(3).id, 0.0),
        (alert(3).id, 0.0),
    ]
    assert not audit.alerts.missing and not audit.alerts.extra


def test_a_shifted_alert_is_matched_with_its_timing_difference() -> None:
    result = match_alerts([alert(10)], [alert(12)], tolerance=0)
    (pair,) = result.matched
    assert pair.delta_seconds == 120.0
    assert not pair.agrees(0)
    assert pair.agrees(120)
    assert not compare(Outputs([alert(10)], []), Outputs([alert(12)], [])).agrees
    assert compare(Outputs([alert(10)], []), Outputs([alert(12)], []), tolerance=120).agrees


def test_unpaired_alerts_are_missing_or_extra() -> None:
    live = [alert(10), alert(20, signal="mentions"), alert(300)]
    replay = [alert(11), alert(30, platform="x")]
    result = match_alerts(live, replay, tolerance=0)
    assert [(p.live.at, p.replay.at) for p in result.matched] == [(alert(10).at, alert(11).at)]
    assert [a.at for a in result.missing] == [alert(20).at, alert(300).at]
    assert [(a.platform, a.at) for a in result.extra] == [("x", alert(30).at)]


def test_alerts_further_apart_than_the_horizon_are_not_paired() -> None:
    result = match_alerts([alert(0)], [alert(61)], tolerance=0)
    assert not result.matched and result.missing and result.extra
    assert match_alerts([alert(0)], [alert(61)], tolerance=61 * 60).matched


def test_pairing_takes_the_nearest_first_and_the_same_id_on_a_tie() -> None:
    live = [alert(10), alert(20)]
    replay = [alert(19), alert(11)]
    result = match_alerts(live, replay, tolerance=0)
    assert [(p.live.at, p.replay.at) for p in result.matched] == [
        (alert(10).at, alert(11).at),
        (alert(20).at, alert(19).at),
    ]
    early, late = alert(10, opened=9), alert(12, opened=11)
    tie = match_alerts([alert(11, opened=11)], [early, late], tolerance=0)
    assert [p.replay for p in tie.matched] == [late]
    assert tie.extra == [early]


def test_a_severity_difference_disagrees() -> None:
    audit = compare(
        Outputs([alert(5, severity="critical")], []), Outputs([alert(5, severity="warning")], [])
    )
    assert len(audit.alerts.matched) == 1
    assert not audit.agrees


def test_window_differences_and_totals() -> None:
    live = [window(1, 10), window(2, 20), window(3, 5), window(2, 99, size="5m")]
    replay = [window(1, 10), window(2, 21), window(4, 7), window(2, 99, size="5m")]
    live += [window(1, 50, platform="x")]
    audit = compare(Outputs([], live), Outputs([], replay))
    windows = audit.windows
    assert windows.differing == [window(2, 0).key]
    assert windows.missing == sorted([window(3, 0).key, window(1, 0, platform="x").key])
    assert windows.extra == [window(4, 0).key]
    assert not audit.agrees
    totals = {(t.brand, t.figure): (t.live, t.replay, t.difference) for t in audit.totals}
    assert totals == {
        ("acme", "mentions"): (35, 38, 3),
        ("acme", "negative_mentions"): (17, 18, 1),
        ("acme", "interactions"): (70, 76, 6),
    }


def test_duplicate_live_records_count_once() -> None:
    first, second = alert(3), alert(9, state="resolved", opened=3)
    messages = [(a.id.encode(), encode_record(a)) for a in (first, second, first, second, first)]
    values, repeats = unique(messages)
    assert repeats == 3
    decoded = [msgspec.json.decode(v, type=AlertRecord) for v in values]
    assert decoded == [first, second]
    assert compare(Outputs(decoded, []), Outputs([first, second], [])).agrees


def test_in_range_cuts_by_event_time_and_brand() -> None:
    records = [alert(0), alert(59), alert(60), alert(10, brand="globex")]
    end = T0 + timedelta(hours=1)
    assert in_range(records, T0, end, None) == [alert(0), alert(59), alert(10, brand="globex")]
    assert in_range(records, T0, end, "globex") == [alert(10, brand="globex")]
    assert in_range([window(60, 1), window(59, 1)], T0, end, None) == [window(59, 1)]


def report(audit_live: Outputs, audit_replay: Outputs) -> tuple[dict[str, Any], str]:
    audit = compare(audit_live, audit_replay)
    about = {"range": {"start": T0.isoformat(), "end": "later"}, "provenance": {"events": 3}}
    document = summary_json(audit, about)
    return document, render_html(audit, document)


def test_json_summary_round_trips_and_lists_every_alert() -> None:
    live = Outputs([alert(5), alert(20)], [window(1, 3)])
    replay = Outputs([alert(6), alert(40, brand="globex")], [window(1, 4)])
    document, _ = report(live, replay)
    assert json.loads(json.dumps(document)) == document
    assert document["verdict"] == "differ"
    assert document["counts"]["matched_with_differences"] == 1
    assert [a["at"] for a in document["alerts"]["missing_in_replay"]] == [alert(20).at.isoformat()]
    assert [a["brand"] for a in document["alerts"]["extra_in_replay"]] == ["globex"]
    assert document["alerts"]["matched"][0]["delta_seconds"] == 60.0
    assert document["windows"]["differing"] == [window(1, 0).key]
    assert document["provenance"] == {"events": 3}


def test_html_is_self_contained_with_a_chart_per_brand() -> None:
    live = Outputs([alert(5)], [window(m, m) for m in range(10)])
    replay = Outputs([alert(5), alert(8, brand="globex")], [window(m, m + 1) for m in range(10)])
    _, html = report(live, replay)
    assert html.count("<svg") == 2
    assert "stroke-dasharray" in html, "live differs, so it is drawn too"
    assert "extra in replay" in html and "matched" in html
    for external in ("<script", "<link", "src=", "url(", "@import", "http"):
        assert external not in html
    assert re.search(r"<polyline[^>]*points=\"[0-9., ]+\"", html)


def test_html_draws_live_only_where_it_differs() -> None:
    same = Outputs([], [window(m, m) for m in range(5)])
    _, html = report(same, same)
    assert "<svg" in html and "stroke-dasharray" not in html
    assert "Live and replay agree" in html


def test_cli_registers_audit_with_its_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    day = ["--start", "2026-05-01T00:00:00Z", "--end", "2026-05-02T00:00:00Z"]
    args = parser.parse_args(["audit", *day, "--out", "o", "--tolerance", "30"])
    assert args.tolerance == 30.0 and args.from_archive is None
    with pytest.raises(SystemExit):
        parser.parse_args(["audit", "--help"])
    assert "4 they differ" in " ".join(capsys.readouterr().out.split())
    with pytest.raises(SystemExit):
        parser.parse_args(["audit", *day[:2], "--out", "o"])
