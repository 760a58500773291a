"""Connector -> real Kafka -> Faust worker -> /metrics -> real Prometheus, counted exactly."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import datetime
from pathlib import Path

import msgspec

from brandpulse.deadletter import decode_dead_letter
from brandpulse.kafka_io import make_producer
from connectors.synthetic.generator import Plan, SyntheticStream
from tests.integration.harness import (
    StackEnv,
    brandpulse,
    eventually,
    prometheus_query,
    read_topic,
    running_worker,
    scrape,
    total,
)

START = "2026-02-01T00:00:00Z"


def expected_counts(stack: StackEnv, count: int, seed: int) -> Counter[tuple[str, str, str]]:
    config = stack.config
    config = msgspec.structs.replace(
        config, synthetic=msgspec.structs.replace(config.synthetic, seed=seed)
    )
    plan = Plan.from_config(config, datetime.fromisoformat(START))
    return Counter(
        (e.brand, e.platform, e.kind) for e in itertools.islice(SyntheticStream(plan), count)
    )


def test_synthetic_events_reach_metrics_and_prometheus_exactly(
    isolated: StackEnv, logs: Path
) -> None:
    count = 5000
    expected = expected_counts(isolated, count, seed=9)
    with running_worker(isolated, logs) as url:
        result = brandpulse(
            isolated,
            "synthetic",
            "--count",
            str(count),
            "--no-pace",
            "--start",
            START,
            "--seed",
            "9",
        )
        assert result.returncode == 0, result.stderr
        assert f"synthetic: {count:,} events published, 0 dead-lettered" in result.stderr

        samples = eventually(
            lambda: scrape(url), lambda s: total(s, "brandpulse_events_total") >= count
        )
        seen = Counter(
            {
                (dict(labels)["brand"], dict(labels)["platform"], dict(labels)["kind"]): int(v)
                for (name, labels), v in samples.items()
                if name == "brandpulse_events_total"
            }
        )
        assert seen == expected
        assert total(samples, "brandpulse_dead_letters_total") == 0
        assert total(samples, "brandpulse_worker_assigned_partitions") == 6

        port = isolated.config.stack.prometheus_port
        by_brand = eventually(
            lambda: prometheus_query(port, "sum by (brand) (brandpulse_events_total)"),
            lambda rows: sum(float(r["value"][1]) for r in rows) == count,
            timeout=30,
        )
        assert {r["metric"]["brand"]: int(float(r["value"][1])) for r in by_brand} == {
            brand: sum(n for (b, _, _), n in expected.items() if b == brand)
            for brand in ("acme", "globex", "kaffeehaus")
        }


def test_worker_dead_letters_lines_it_cannot_use_and_counts_the_rest(
    isolated: StackEnv, logs: Path
) -> None:
    config = isolated.config
    good = (
        b'{"v":1,"id":"m1","platform":"x","brand":"acme","kind":"mention",'
        b'"time":"2026-02-01T10:00:00Z","text":"hi @acme"}'
    )
    message = b"\n".join([good, b"{broken", good.replace(b'"acme"', b'"initech"', 1)])
    with running_worker(isolated, logs) as url:
        producer = make_producer(config.bootstrap, "test")
        producer.send(config.kafka.raw_topic, key=b"acme", value=message)
        producer.flush()
        producer.close()
        samples = eventually(
            lambda: scrape(url), lambda s: total(s, "brandpulse_dead_letters_total") >= 2
        )
        assert total(samples, "brandpulse_events_total") == 1
        assert (
            total(samples, "brandpulse_dead_letters_total", stage="worker", reason="invalid_json")
            == 1
        )
        assert (
            total(samples, "brandpulse_dead_letters_total", stage="worker", reason="unknown_brand")
            == 1
        )

    letters = [
        decode_dead_letter(r.value)
        for r in read_topic(config.bootstrap, config.kafka.dead_letter_topic, 2)
    ]
    assert sorted((d.reason, d.stage, d.raw) for d in letters) == [
        ("invalid_json", "worker", "{broken"),
        ("unknown_brand", "worker", message.split(b"\n")[2].decode()),
    ]
    assert {d.source.rsplit(":", 1)[1] for d in letters} == {"2", "3"}
    assert all(d.source.startswith(f"{config.kafka.raw_topic}/") for d in letters)


def test_connectors_fail_clearly_when_kafka_is_unreachable(
    isolated: StackEnv, tmp_path: Path
) -> None:
    from tests.integration.harness import free_port

    nowhere = StackEnv(
        isolated.env, {**isolated.extra, "BRANDPULSE_KAFKA__BOOTSTRAP": f"127.0.0.1:{free_port()}"}
    )
    events = tmp_path / "events.jsonl"
    events.write_text("{}\n")
    for args in (["synthetic", "--count", "1"], ["import", str(events)]):
        result = brandpulse(nowhere, *args)
        assert result.returncode == 3, result.stderr
        assert result.stderr.strip().endswith(
            f"cannot reach Kafka at {nowhere.config.bootstrap}: start the local stack with "
            "`brandpulse stack up`, or point BRANDPULSE_KAFKA__BOOTSTRAP at your brokers"
        )
        assert "Traceback" not in result.stderr
