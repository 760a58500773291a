"""The X connector against a local fake X API and the real Kafka: rules synced, field mapping,
a 429 with ``x-rate-limit-reset`` honoured, dropped and stalled streams caught up with recent
search (no gap, no duplicate), exactly once across SIGKILL, and a missing token."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from brandpulse.contract import Author, Event
from tests.integration.fake_x import TOKEN, FakeX, fake_x, post, user
from tests.integration.harness import (
    ConnectorCommand,
    StackEnv,
    assert_exactly_once,
    eventually,
    free_port,
    kill_repeatedly,
    total,
)

ACME_RULE = (
    'acme OR "acme corp" OR @acme OR from:acme OR to:acme OR @acme_help OR from:acme_help OR '
    "to:acme_help"
)
GLOBEX_RULE = "globex OR @globex OR from:globex OR to:globex"
BRAND = user("1", "acme", 5000)
HELP = user("2", "acme_help", 300)
GLOBEX = user("3", "globex", 800)
FAN = user("42", "jo", 120)
OTHER = user("43", "sam", 15)


def x_env(isolated: StackEnv, tmp_path: Path, fake: FakeX, token: str = TOKEN) -> ConnectorCommand:
    metrics_port = free_port()
    settings = (
        f'[x]\nbase_url = "{fake.url}"\nmetrics_port = {metrics_port}\ntimeout = 5.0\n'
        "stall_timeout = 2.0\nsearch_max_results = 10\nnetwork_backoff_step = 0.05\n"
        "network_backoff_max = 0.5\nhttp_backoff_initial = 0.2\nhttp_backoff_max = 1.0\n"
        "rate_limit_backoff_initial = 0.1\nrate_limit_backoff_max = 1.0\n"
        '[[brands]]\nname = "acme"\nkeywords = ["acme", "acme corp"]\n'
        'accounts = { x = ["acme", "acme_help"] }\n'
        '[[brands]]\nname = "globex"\nkeywords = ["globex"]\naccounts = { x = ["globex"] }\n'
    )
    env = {"X_BEARER_TOKEN": token}
    return ConnectorCommand.configured("x", isolated, tmp_path, settings, metrics_port, env=env)


def live(log: Path, since: int = 0) -> bool:
    """Whether the log says more than ``since`` times that the stream is followed live."""
    return log.read_text().count("following the stream live") > since


@pytest.fixture
def fake() -> Iterator[FakeX]:
    with fake_x() as server:
        server.searches = {ACME_RULE: "acme", GLOBEX_RULE: "globex"}
        server.users = {"acme": BRAND, "acme_help": HELP, "globex": GLOBEX}
        yield server


def at(item: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(item["data"]["created_at"])


def test_rules_are_synced_and_streamed_posts_mapped_after_a_429(
    isolated: StackEnv, tmp_path: Path, fake: FakeX
) -> None:
    outdated, kept, foreign = (
        fake.rule("acme OR @acme", "acme"),
        fake.rule(GLOBEX_RULE, "globex"),
        fake.rule("cats has:images", "cats"),
    )
    fake.rules = [outdated, kept, foreign]
    earlier = fake.add(post("acme corp is great", OTHER), "acme")
    fake.stream_limited = 1
    x = x_env(isolated, tmp_path, fake)
    log = tmp_path / "x.log"
    with x.running(log):
        assert eventually(lambda: live(log), bool, timeout=30), log.read_text()
        mention = fake.add(post("@acme my toaster broke", FAN), "acme")
        brand_post = fake.add(post("New toaster out", BRAND), "acme")
        reply = fake.add(post("@jo sorry! DM us", HELP, replying_to=mention), "acme")
        comment = fake.add(post("@acme thanks", FAN, replying_to=brand_post), "acme")
        retweet = post("RT @acme: New toaster out", OTHER, referencing=("retweeted", brand_post))
        fake.add(retweet, "acme")
        quote = post("globex copies acme", FAN, referencing=("quoted", brand_post))
        fake.add(quote, "acme", "globex")
        fake.add(post("a cat", OTHER), "cats")
        events = eventually(x.events, lambda evs: len(evs) >= 11, timeout=20)
        samples = x.metrics()

    assert sorted((r["value"], r["tag"]) for r in fake.rules) == [
        (ACME_RULE, "acme"),
        (GLOBEX_RULE, "globex"),
    ]
    assert kept in fake.rules, "a rule already right is left alone"
    changes = [r.body for r in fake.made("POST", "/2/tweets/search/stream/rules")]
    assert changes == [
        {"delete": {"ids": [outdated["id"], foreign["id"]]}},
        {"add": [{"value": ACME_RULE, "tag": "acme"}]},
    ]
    first, second, *_ = fake.made("GET", "/2/tweets/search/stream")
    assert second.at - first.at >= 1.9, "x-rate-limit-reset (2-3 s ahead) is honoured"
    assert first.query["expansions"] == ["author_id,referenced_tweets.id"]
    assert first.query["user.fields"] == ["username,public_metrics"]
    assert "in_reply_to_user_id" in first.query["tweet.fields"][0]

    by_key = {(e.brand, e.id): e for e in events}
    assert len(by_key) == len(events) == 11, Counter(e.id for e in events)
    fan = Author(id="42", handle="jo", followers=120)
    mention_id = mention["data"]["id"]
    assert by_key["acme", mention_id] == Event(
        v=1,
        id=mention_id,
        platform="x",
        brand="acme",
        kind="mention",
        time=at(mention),
        author=fan,
        thread_id=mention_id,
        text="@acme my toaster broke",
        lang="en",
        url=f"https://x.com/jo/status/{mention_id}",
        metrics={"replies": 1, "shares": 3, "likes": 5},
    )
    assert by_key["acme", earlier["data"]["id"]].kind == "mention", "caught up before the stream"
    own = by_key["acme", brand_post["data"]["id"]]
    assert (own.kind, own.parent_id, own.author) == (
        "post",
        None,
        Author(id="1", handle="acme", is_brand=True, followers=5000),
    )
    answer = by_key["acme", reply["data"]["id"]]
    assert (answer.kind, answer.parent_id, answer.thread_id) == ("reply", mention_id, mention_id)
    assert answer.author is not None and answer.author.is_brand
    care = by_key["acme", comment["data"]["id"]]
    assert (care.kind, care.parent_id, care.author) == ("comment", brand_post["data"]["id"], fan)
    for item in (retweet, quote):
        share = by_key["acme", item["data"]["id"]]
        assert (share.kind, share.parent_id) == ("share", brand_post["data"]["id"])
    assert by_key["globex", quote["data"]["id"]].kind == "share"
    counts = {e.author.handle: e.metrics for e in events if e.kind == "follower_count" and e.author}
    assert counts == {
        "acme": {"followers": 5000},
        "acme_help": {"followers": 300},
        "globex": {"followers": 800},
    }
    assert total(samples, "brandpulse_connector_events_published_total", platform="x") == 11
    assert total(samples, "brandpulse_connector_errors_total", kind="rate_limited") == 1
    assert total(samples, "brandpulse_connector_up", connector="x") == 1


def test_dropped_and_stalled_streams_are_caught_up_by_since_id_with_no_gap_or_duplicate(
    isolated: StackEnv, tmp_path: Path, fake: FakeX
) -> None:
    x = x_env(isolated, tmp_path, fake)
    log = tmp_path / "x.log"
    expected = {fake.add(post("acme before the start", FAN), "acme")["data"]["id"]}

    def publish(count: int, text: str) -> None:
        for n in range(count):
            expected.add(fake.add(post(f"acme {text} {n}", FAN), "acme")["data"]["id"])
            time.sleep(0.03)

    def published() -> set[str]:
        return {e.id for e in x.events() if e.kind != "follower_count"}

    with x.running(log):
        assert eventually(lambda: live(log), bool, timeout=30), log.read_text()
        publish(10, "streamed")
        assert eventually(published, lambda ids: ids >= expected, timeout=10) >= expected
        searches_before = len(fake.made("GET", "/2/tweets/search/recent"))
        fake.refuse_streams, fake.drop = 2, True
        publish(25, "while dropped")
        assert eventually(lambda: live(log, 1), bool, timeout=20), log.read_text()
        assert eventually(published, lambda ids: ids >= expected, timeout=10) >= expected
        fake.stall = True
        publish(5, "while stalled")
        assert eventually(lambda: live(log, 2), bool, timeout=20), log.read_text()
        publish(5, "after")
        assert eventually(published, lambda ids: ids >= expected, timeout=10) >= expected
        samples = x.metrics()
    counts = Counter(e.id for e in x.events() if e.kind != "follower_count")
    assert set(counts) == expected and max(counts.values()) == 1, counts
    catch_ups = fake.made("GET", "/2/tweets/search/recent")[searches_before:]
    assert catch_ups and all("since_id" in r.query for r in catch_ups)
    assert any("next_token" in r.query for r in catch_ups), "25 missed posts: pages of 10"
    assert total(samples, "brandpulse_connector_errors_total", kind="stream_closed") == 1
    assert total(samples, "brandpulse_connector_errors_total", kind="stalled") == 1
    assert total(samples, "brandpulse_connector_errors_total", kind="http") == 2
    assert "stream dropped, catching up with recent search" in log.read_text()


def test_sigkill_while_posts_arrive_leaves_each_on_the_topic_exactly_once(
    isolated: StackEnv, tmp_path: Path, fake: FakeX
) -> None:
    x = x_env(isolated, tmp_path, fake)
    log = tmp_path / "x.log"
    fake.add(post("acme first", FAN), "acme")

    def grow(n: int) -> None:
        fake.add(post(f"acme and globex {n}", FAN), "acme", "globex")

    kill_repeatedly(lambda: x.start(log), 4, (1.5, 3.0), grow)
    expected = {("acme", p["data"]["id"]) for p, _ in fake.posts}
    expected |= {("globex", p["data"]["id"]) for p, tags in fake.posts if "globex" in tags}

    def published() -> Counter[tuple[str, str]]:
        return Counter((e.brand, e.id) for e in x.events() if e.kind != "follower_count")

    with x.running(log):
        eventually(published, lambda found: set(found) >= expected, timeout=30)
    assert_exactly_once(published(), expected, log)
    print(f"{len(expected)} events; streams opened: {fake.streams_opened}")


def test_a_missing_bearer_token_exits_2_naming_the_variable(
    isolated: StackEnv, tmp_path: Path, fake: FakeX
) -> None:
    x = x_env(isolated, tmp_path, fake, token="")
    result = x.run()
    assert result.returncode == 2, result.stderr
    assert "X_BEARER_TOKEN is not set" in result.stderr and TOKEN not in result.stderr
    assert fake.requests == []


def test_once_catches_up_with_recent_search_only_and_exits(
    isolated: StackEnv, tmp_path: Path, fake: FakeX
) -> None:
    fake.rules = [fake.rule("cats has:images", "cats")]
    posts = [fake.add(post(f"acme {n}", FAN), "acme")["data"]["id"] for n in range(25)]
    x = x_env(isolated, tmp_path, fake)
    result = x.once()
    assert result.returncode == 0, result.stderr
    assert "x: 28 events published" in result.stderr, result.stderr
    assert sorted(e.id for e in x.events() if e.kind == "mention") == sorted(posts)
    searches = fake.made("GET", "/2/tweets/search/recent")
    assert [r.query["query"][0] for r in searches].count(ACME_RULE) == 3, "pages of 10"
    assert all("since_id" in r.query for r in searches), "first_lookback, as a since_id"
    assert not fake.made("GET", "/2/tweets/search/stream"), "no stream"
    assert [r["value"] for r in fake.rules] == ["cats has:images"], "rules left alone"
