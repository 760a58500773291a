"""The Bluesky connector against a local Jetstream and AppView and the real Kafka: field
mapping, a 429 with ``RateLimit-Reset`` honoured, a dropped stream resumed from the cursor with
no gap and no duplicate, a one-shot replay, and exactly once across SIGKILL."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from brandpulse.contract import Author, Event
from tests.integration.fake_bluesky import (
    FakeAppView,
    FakeJetstream,
    fake_appview,
    fake_jetstream,
    follow_record,
    post_record,
    post_uri,
    subject_record,
)
from tests.integration.harness import (
    ConnectorCommand,
    StackEnv,
    assert_exactly_once,
    brandpulse,
    eventually,
    free_port,
    kill_repeatedly,
    total,
)

BRAND = "did:plc:z72i7hdynmk6r22z27h6tvur"
FAN = "did:plc:eygmaihciaxprqvxpfvl6flk"
OTHER = "did:plc:wa7b35aakoll7hugkrjtf3xf"
POST, LIKE, REPOST = "app.bsky.feed.post", "app.bsky.feed.like", "app.bsky.feed.repost"


def cursor(state: Path) -> int | None:
    """The Jetstream cursor in the checkpoint under ``state`` (None before the first save)."""
    path = state / "connectors" / "bluesky" / "checkpoint.json"
    try:
        saved = json.loads(path.read_text())["cursors"]["jetstream"]["time_us"]
    except (FileNotFoundError, KeyError, json.JSONDecodeError):
        return None
    return int(saved)


def bluesky_env(
    isolated: StackEnv, tmp_path: Path, jetstream: FakeJetstream, appview: FakeAppView
) -> ConnectorCommand:
    metrics_port = free_port()
    brand = f'{{ brand = "acme", did = "{BRAND}", handle = "acme.bsky.social" }}'
    settings = (
        f'[bluesky]\njetstream_url = "{jetstream.url}"\nappview_url = "{appview.url}"\n'
        f"brands = [{brand}]\nmetrics_port = {metrics_port}\nretry_initial = 0.2\n"
        "timeout = 5.0\nstream_timeout = 30.0\ncursor_rewind = 1.0\n"
        '[[brands]]\nname = "acme"\nkeywords = ["acme"]\n'
    )
    return ConnectorCommand.configured("bluesky", isolated, tmp_path, settings, metrics_port)


@pytest.fixture
def jetstream() -> Iterator[FakeJetstream]:
    with fake_jetstream() as server:
        yield server


@pytest.fixture
def appview() -> Iterator[FakeAppView]:
    with fake_appview() as server:
        server.add_profile(BRAND, "acme.bsky.social", 5120)
        yield server


def connected(jetstream: FakeJetstream, count: int = 1) -> None:
    assert eventually(lambda: len(jetstream.subscriptions), lambda n: n >= count, timeout=30)
    time.sleep(0.2)


def test_posts_likes_reposts_and_followers_are_mapped_on_the_topic_after_a_429(
    isolated: StackEnv, tmp_path: Path, jetstream: FakeJetstream, appview: FakeAppView
) -> None:
    bluesky = bluesky_env(isolated, tmp_path, jetstream, appview)
    appview.limited = 1
    log = tmp_path / "bluesky.log"
    with bluesky.running(log):
        connected(jetstream)
        at = datetime.now(UTC).replace(microsecond=0)
        brand_post = post_uri(BRAND, "3kbrand")
        added = [
            jetstream.add_commit(
                FAN, POST, "3kmention", post_record("@acme.bsky.social help", at, mention=BRAND)
            ),
            jetstream.add_commit(FAN, POST, "3kword", post_record("ACME rocks", at, langs=("de",))),
            jetstream.add_commit(BRAND, POST, "3kbrand", post_record("New toaster!", at)),
            jetstream.add_commit(
                FAN, POST, "3kreply", post_record("broken already", at, reply_to=brand_post)
            ),
            jetstream.add_commit(
                BRAND,
                POST,
                "3kanswer",
                post_record("sorry!", at, reply_to=post_uri(FAN, "3kreply"), root=brand_post),
            ),
            jetstream.add_commit(FAN, LIKE, "3klike", subject_record(LIKE, brand_post, at)),
            jetstream.add_commit(FAN, REPOST, "3krepost", subject_record(REPOST, brand_post, at)),
            jetstream.add_commit(
                FAN, "app.bsky.graph.follow", "3kfollow", follow_record(BRAND, at)
            ),
        ]
        for noise in (
            jetstream.add_commit(OTHER, POST, "3knoise", post_record("lunch", at)),
            jetstream.add_commit(OTHER, LIKE, "3kl2", subject_record(LIKE, post_uri(FAN, "x"), at)),
            jetstream.add_commit(FAN, POST, "3kword", operation="delete"),
            jetstream.add_commit(FAN, "app.bsky.actor.profile", "self", {"displayName": "acme"}),
            jetstream.add({"did": FAN, "kind": "identity", "identity": {"did": FAN, "seq": 1}}),
            jetstream.add({"did": FAN, "kind": "account", "account": {"active": True, "seq": 2}}),
        ):
            assert noise["time_us"] > added[-1]["time_us"]
        events = eventually(bluesky.events, lambda evs: len(evs) >= 8, timeout=30)
        samples = eventually(
            bluesky.metrics,
            lambda s: total(s, "brandpulse_connector_events_published_total") >= 8,
            timeout=10,
        )
        assert (
            total(samples, "brandpulse_connector_events_published_total", platform="bluesky") == 8
        )
        assert total(samples, "brandpulse_connector_up", connector="bluesky") == 1
        assert total(samples, "brandpulse_connector_errors_total", kind="rate_limited") == 1

    by_id = {e.id: e for e in bluesky.events()}
    assert len(by_id) == len(events) == 8
    fan, brand = Author(id=FAN), Author(id=BRAND, handle="acme.bsky.social", is_brand=True)
    mention = f"at://{FAN}/app.bsky.feed.post/3kmention"
    assert by_id[mention] == Event(
        v=1,
        id=mention,
        platform="bluesky",
        brand="acme",
        kind="mention",
        time=at,
        author=fan,
        text="@acme.bsky.social help",
        lang="en",
        url=f"https://bsky.app/profile/{FAN}/post/3kmention",
    )
    word = by_id[f"at://{FAN}/app.bsky.feed.post/3kword"]
    assert (word.kind, word.lang, word.text) == ("mention", "de", "ACME rocks")
    own = by_id[brand_post]
    assert (own.kind, own.author, own.parent_id) == ("post", brand, None)
    reply = by_id[post_uri(FAN, "3kreply")]
    assert (reply.kind, reply.author, reply.parent_id, reply.thread_id) == (
        "reply",
        fan,
        brand_post,
        brand_post,
    )
    answer = by_id[post_uri(BRAND, "3kanswer")]
    assert (answer.kind, answer.author, answer.parent_id, answer.thread_id) == (
        "reply",
        brand,
        post_uri(FAN, "3kreply"),
        brand_post,
    )
    like, share = by_id[f"at://{FAN}/{LIKE}/3klike"], by_id[f"at://{FAN}/{REPOST}/3krepost"]
    assert (like.kind, like.parent_id, like.author, like.time) == ("reaction", brand_post, fan, at)
    assert (share.kind, share.parent_id, share.author) == ("share", brand_post, fan)
    (followers,) = [e for e in by_id.values() if e.kind == "follower_count"]
    assert followers.metrics == {"followers": 5120} and followers.id.startswith(
        f"followers:{BRAND}:"
    )
    assert followers.author == Author(
        id=BRAND, handle="acme.bsky.social", is_brand=True, followers=5120
    )

    (refused, actor), (retried, again), *_ = appview.requests
    assert actor == again == BRAND
    assert retried - refused >= 1.5, "RateLimit-Reset (a Unix time 2-3 s ahead) is honoured"
    (query,) = jetstream.subscriptions
    assert query["wantedCollections"] == [POST, LIKE, REPOST, "app.bsky.graph.follow"]
    assert int(query["cursor"][0]) < added[0]["time_us"], "a first run starts from its start"

    jetstream.add_commit(FAN, POST, "3klater", post_record("acme, while it was stopped", at))
    result = bluesky.once(BRANDPULSE_BLUESKY__STREAM_TIMEOUT="2")
    assert result.returncode == 0, result.stderr
    assert "bluesky: 2 events published" in result.stderr, result.stderr
    assert int(jetstream.subscriptions[1]["cursor"][0]) <= added[-1]["time_us"]
    new = {e.id for e in bluesky.events()} - set(by_id)
    assert len(new) == 2 and post_uri(FAN, "3klater") in new, "replayed from the cursor, once"


def test_a_dropped_stream_resumes_from_the_cursor_with_no_gap_and_no_duplicate(
    isolated: StackEnv, tmp_path: Path, jetstream: FakeJetstream, appview: FakeAppView
) -> None:
    bluesky = bluesky_env(isolated, tmp_path, jetstream, appview)
    log = tmp_path / "bluesky.log"
    at = datetime.now(UTC)
    with bluesky.running(log):
        connected(jetstream)
        for n in range(10):
            jetstream.add_commit(FAN, POST, f"3k{n:03}", post_record(f"acme {n}", at))
            time.sleep(0.05)
        eventually(bluesky.events, lambda evs: len(evs) >= 11, timeout=15)
        jetstream.refuse, jetstream.drop = 2, True
        for n in range(10, 30):
            jetstream.add_commit(FAN, POST, f"3k{n:03}", post_record(f"acme {n}", at))
            time.sleep(0.05)
        expected = {post_uri(FAN, f"3k{n:03}") for n in range(30)}
        eventually(
            lambda: {e.id for e in bluesky.events()}, lambda ids: ids >= expected, timeout=20
        )
        samples = bluesky.metrics()
        assert total(samples, "brandpulse_connector_errors_total", kind="stream_dropped") >= 3
        assert total(samples, "brandpulse_connector_errors_total", kind="http") == 2
        assert total(samples, "brandpulse_connector_up", connector="bluesky") == 1
    counts = Counter(e.id for e in bluesky.events() if e.kind != "follower_count")
    assert set(counts) == expected and max(counts.values()) == 1, counts
    second = jetstream.subscriptions[1]
    resent = {t for c, t in jetstream.sent if c == 1} & {t for c, t in jetstream.sent if c == 2}
    assert resent, "the rewound cursor replayed an overlap, which was dropped by id"
    assert int(second["cursor"][0]) <= min(resent)
    assert "connected (cursor" in log.read_text() and "stopped after publishing" in log.read_text()


def test_sigkill_while_posts_arrive_leaves_each_on_the_topic_exactly_once(
    isolated: StackEnv, tmp_path: Path, jetstream: FakeJetstream, appview: FakeAppView
) -> None:
    bluesky = bluesky_env(isolated, tmp_path, jetstream, appview)
    log = tmp_path / "bluesky.log"
    at = datetime.now(UTC)
    with bluesky.running(log):
        saved = eventually(lambda: cursor(tmp_path), lambda c: c is not None, timeout=30)
        assert saved, "saved at once"
        connected(jetstream)
        jetstream.add_commit(FAN, POST, "first", post_record("acme first", at))

    def grow(n: int) -> None:
        jetstream.add_commit(FAN, POST, f"3k{n:05}", post_record(f"acme {n}", at))

    kill_repeatedly(lambda: bluesky.start(log), 4, (1.5, 3.0), grow)

    expected = {post_uri(e["did"], e["commit"]["rkey"]) for e in jetstream.events}
    with bluesky.running(log):
        eventually(
            lambda: {e.id for e in bluesky.events()}, lambda ids: ids >= expected, timeout=40
        )
    assert_exactly_once(
        Counter(e.id for e in bluesky.events() if e.kind != "follower_count"), expected, log
    )
    print(f"{len(expected)} posts; subscriptions: {len(jetstream.subscriptions)}")


def test_no_brands_exits_2_naming_the_setting(isolated: StackEnv) -> None:
    result = brandpulse(isolated, "bluesky", "--once")
    assert result.returncode == 2 and "[bluesky] brands" in result.stderr, result.stderr
