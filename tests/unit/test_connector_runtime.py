"""The connector runtime: atomic checkpoints, the publish intent, backoff, rate limits, secrets."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import cast

import pytest

from brandpulse.config import Config
from brandpulse.contract import Event
from brandpulse.errors import BrandpulseError
from connectors.metrics import ConnectorStats
from connectors.publisher import Publisher
from connectors.runtime import (
    Backoff,
    Checkpoint,
    CheckpointStore,
    MissingCredential,
    Poll,
    Runner,
    SeenIds,
    SourceError,
    event_key,
    rate_limit_wait,
    read_body,
    redact_url,
    require_env,
    retry_after,
)
from connectors.runtime.checkpoint import Pending
from connectors.runtime.ledger import TopicLedger

NOW = 1_790_000_000.0


def event(ident: str, brand: str = "acme") -> Event:
    return Event(
        v=1,
        id=ident,
        platform="blog",
        brand=brand,
        kind="mention",
        time=datetime(2026, 11, 1, 12, 0, tzinfo=UTC),
    )


def test_checkpoint_round_trips_and_a_failed_save_leaves_the_previous_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = CheckpointStore(tmp_path / "connectors" / "x")
    assert store.load() == Checkpoint()
    first = Checkpoint({"feed": {"etag": '"v1"'}}, ["a"], Pending("t", {0: 5, 3: 7}, ["a"]))
    store.save(first)
    assert store.load() == first

    def crash(self: Path, target: Path) -> None:
        raise OSError("killed before the rename")

    monkeypatch.setattr(Path, "replace", crash)
    with pytest.raises(OSError, match="killed"):
        store.save(Checkpoint({"feed": {"etag": '"v2"'}}))
    assert store.load() == first


def test_an_unreadable_checkpoint_is_named_rather_than_silently_reset(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    store.path.write_text("{torn")
    with pytest.raises(BrandpulseError, match=r"checkpoint .*checkpoint.json is unreadable"):
        store.load()


def test_seen_ids_keep_the_newest_in_order() -> None:
    seen = SeenIds(["a", "b", "c"], capacity=3)
    seen.add(["a", "d"])
    assert seen.to_list() == ["c", "a", "d"]
    assert "b" not in seen
    assert len(seen) == 3


def test_backoff_doubles_its_ceiling_up_to_the_maximum_with_full_jitter() -> None:
    backoffs = [Backoff(1.0, 30.0, random.Random(seed)) for seed in range(200)]
    ceilings = []
    for _ in range(8):
        ceiling = backoffs[0].ceiling()
        ceilings.append(ceiling)
        draws = [backoff.next_delay() for backoff in backoffs]
        assert all(0.1 <= d <= ceiling for d in draws), "a tenth of the initial delay at least"
        assert max(draws) > 0.8 * ceiling and min(draws) < 0.2 * ceiling, "jitter spans it all"
    assert ceilings == [1, 2, 4, 8, 16, 30, 30, 30]
    backoffs[0].reset()
    assert backoffs[0].ceiling() == 1.0


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after("2", NOW) == 2.0
    date = format_datetime(datetime.fromtimestamp(NOW + 90, UTC), usegmt=True)
    assert retry_after(date, NOW) == pytest.approx(90.0)
    assert retry_after(date, NOW + 200) == 0.0
    assert retry_after("soon", NOW) is None


def test_rate_limit_headers_say_how_long_to_wait() -> None:
    assert rate_limit_wait(Headers({"Retry-After": "3"}), NOW) == 3.0
    exhausted = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW + 40))}
    assert rate_limit_wait(Headers(exhausted), NOW) == 40.0
    assert (
        rate_limit_wait(Headers({"RateLimit-Remaining": "0", "RateLimit-Reset": "12"}), NOW) == 12
    )
    assert rate_limit_wait(Headers({**exhausted, "X-RateLimit-Remaining": "5"}), NOW) is None
    reddit = {"X-Ratelimit-Remaining": "0.0", "X-Ratelimit-Reset": "7"}  # a decimal, seconds
    assert rate_limit_wait(Headers(reddit), NOW) == 7.0
    assert rate_limit_wait(Headers({**reddit, "X-Ratelimit-Remaining": "0.5"}), NOW) is None
    assert rate_limit_wait(Headers({**reddit, "X-Ratelimit-Remaining": "lots"}), NOW) is None
    assert rate_limit_wait(Headers({}), NOW) is None


class Headers(dict[str, str]):
    """Header lookup as servers spell names: any case."""

    def get(self, name: str, /) -> str | None:  # type: ignore[override]
        return next((v for k, v in self.items() if k.lower() == name.lower()), None)


class Response:
    """What ``read_body`` uses of an ``http.client.HTTPResponse``."""

    def __init__(self, body: bytes, length: int | None = None, fail: Exception | None = None):
        self.body, self.fail = body, fail
        self.headers = {} if length is None else {"Content-Length": str(length)}

    def read(self, size: int) -> bytes:
        if self.fail is not None:
            raise self.fail
        return self.body[:size]


@pytest.mark.parametrize(
    ("response", "kind", "message"),
    [
        (Response(b"x" * 11), "too_large", "feed: answer larger than 10 bytes"),
        (Response(b"abc", length=8), "connection", "feed: connection dropped after 3 of 8 bytes"),
        (Response(b"", fail=TimeoutError()), "timeout", "feed: the answer stalled"),
        (Response(b"", fail=ConnectionResetError()), "connection", "feed: reading the answer"),
    ],
)
def test_a_body_that_is_too_large_cut_short_or_stalled_is_a_source_error(
    response: Response, kind: str, message: str
) -> None:
    with pytest.raises(SourceError) as caught:
        read_body(response, "feed", 10)  # type: ignore[arg-type]  # duck-typed response
    assert caught.value.kind == kind and caught.value.detail.startswith(message)
    assert read_body(Response(b"abc", length=3), "feed", 10) == b"abc"  # type: ignore[arg-type]


def test_require_env_names_the_missing_variable_and_never_a_value() -> None:
    assert require_env("TOKEN", {"TOKEN": "s3cret"}) == "s3cret"
    with pytest.raises(MissingCredential, match="environment variable X_API_TOKEN is not set"):
        require_env("X_API_TOKEN", {"X_API_TOKEN": ""})


def test_redact_url_drops_credentials_and_query() -> None:
    assert redact_url("https://user:pw@example.com:8443/feed.xml?key=abc#x") == (
        "https://example.com:8443/feed.xml"
    )


class FakeLedger:
    def __init__(self) -> None:
        self.on_topic: list[str] = []

    def end_offsets(self) -> dict[int, int]:
        return {0: len(self.on_topic)}

    def keys_since(self, offsets: dict[int, int]) -> set[str]:
        return set(self.on_topic[offsets[0] :])


class FakePublisher:
    """Writes to the fake topic on publish; ``fail_flush`` simulates a crash after the sends."""

    def __init__(self, ledger: FakeLedger, store: CheckpointStore) -> None:
        self.stats = ConnectorStats("test")
        self.ledger, self.store = ledger, store
        self.fail_flush = False

    def publish(self, event: Event) -> None:
        pending = self.store.load().pending
        assert pending is not None and event_key(event) in pending.keys, "no intent saved first"
        self.ledger.on_topic.append(event_key(event))

    def flush(self) -> None:
        if self.fail_flush:
            raise BrandpulseError("killed between the sends and the checkpoint")


def runner(tmp_path: Path, ledger: FakeLedger) -> tuple[Runner, FakePublisher]:
    store = CheckpointStore(tmp_path)
    publisher = FakePublisher(ledger, store)
    made = Runner(Config(), cast(Publisher, publisher), cast(TopicLedger, ledger), store)
    return made, publisher


def test_commit_publishes_each_event_once_even_when_interrupted_after_sending(
    tmp_path: Path,
) -> None:
    ledger = FakeLedger()
    first, publisher = runner(tmp_path, ledger)
    assert first.commit(Poll([event("1"), event("2"), event("1")], {"f": {"etag": "a"}})) == 2
    assert first.commit(Poll([event("2"), event("2", brand="globex")])) == 1
    publisher.fail_flush = True
    with pytest.raises(BrandpulseError, match="killed"):
        first.commit(Poll([event("3"), event("4")], {"f": {"etag": "b"}}))
    ledger.on_topic.remove(event_key(event("4")))  # the crash came before its send

    second, _ = runner(tmp_path, ledger)
    assert second.checkpoint.cursors == {"f": {"etag": "a"}}
    assert second.reconcile() == 1
    assert second.checkpoint.pending is None
    assert second.commit(Poll([event("1"), event("3"), event("4")], {"f": {"etag": "b"}})) == 1
    assert sorted(ledger.on_topic) == sorted(
        event_key(e) for e in (event("1"), event("2"), event("2", "globex"), event("3"), event("4"))
    )
    assert second.checkpoint.cursors == {"f": {"etag": "b"}}
    assert second.stats.last_event_time == datetime(2026, 11, 1, 12, 0, tzinfo=UTC).timestamp()
