"""The Reddit connector against a local fake Reddit and the real Kafka: field mapping, a 429
and a spent budget waited out as told, expired and revoked tokens, a dropped connection and 500s
mid-catch-up, exactly once across SIGKILL, and missing credentials."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from brandpulse.contract import Author, Event
from tests.integration.fake_reddit import CLIENT_ID, CLIENT_SECRET, T0, FakeReddit, fake_reddit
from tests.integration.harness import (
    ConnectorCommand,
    StackEnv,
    assert_exactly_once,
    eventually,
    free_port,
    kill_repeatedly,
    total,
)

USER_AGENT = "test:brandpulse:1.0 (by /u/tester)"
BRAND = "acme_support"
ALL = '{ brand = "acme", subreddits = ["acme"], search = ["acme"], follower_subreddit = "acme" }'
SUBREDDIT_ONLY = '{ brand = "acme", subreddits = ["acme"] }'


def reddit_env(
    isolated: StackEnv,
    tmp_path: Path,
    fake: FakeReddit,
    brands: str = SUBREDDIT_ONLY,
    *,
    overlap: float = 0.0,
    env: dict[str, str] | None = None,
) -> ConnectorCommand:
    metrics_port = free_port()
    settings = (
        f'[reddit]\ntoken_url = "{fake.url}/api/v1/access_token"\napi_url = "{fake.url}"\n'
        f'user_agent = "{USER_AGENT}"\nbrands = [{brands}]\nmetrics_port = {metrics_port}\n'
        f"poll_interval = 0.3\noverlap = {overlap}\nretry_initial = 0.2\ntimeout = 5.0\n"
        '[[brands]]\nname = "acme"\nkeywords = ["acme"]\n'
        f'accounts = {{ reddit = ["{BRAND}"] }}\n'
    )
    credentials = {"REDDIT_CLIENT_ID": CLIENT_ID, "REDDIT_CLIENT_SECRET": CLIENT_SECRET}
    return ConnectorCommand.configured(
        "reddit", isolated, tmp_path, settings, metrics_port, env={**credentials, **(env or {})}
    )


@pytest.fixture
def fake() -> Iterator[FakeReddit]:
    with fake_reddit() as server:
        yield server


def at(n: int) -> datetime:
    return datetime.fromtimestamp(T0 + n, UTC)


def test_posts_comments_and_searches_are_mapped_field_by_field(
    isolated: StackEnv, tmp_path: Path, fake: FakeReddit
) -> None:
    reddit = reddit_env(isolated, tmp_path, fake, ALL)
    launch = fake.post("acme", BRAND, "Acme 2.0 is out", "Changelog inside")
    broke = fake.comment(launch, "jo", "Mine broke after the update :(")
    sorry = fake.comment(broke, BRAND, "Sorry! DM us your order number & we'll fix it")
    fake.comment(sorry, "jo", "Done, thanks")
    question = fake.post("gadgets", "sam", "Is Acme any good?", "Thinking of buying an acme > 3")
    fake.post("acme", "kim", "Hello all", "", author_fullname=None)
    fake.post("acme", "[deleted]", "[deleted]", "[removed]", author_fullname=None)
    fake.post("gadgets", "lee", "Unrelated toaster talk")
    fake.subscribers["acme"] = 12_345

    result = reddit.once()
    assert result.returncode == 0, result.stderr
    assert "reddit: 8 events published" in result.stderr, result.stderr
    events = {e.id: e for e in reddit.events()}
    assert events[question] == Event(
        v=1,
        id=question,
        platform="reddit",
        brand="acme",
        kind="mention",
        time=at(5),
        author=Author(id="t2_sam", handle="sam"),
        text="Is Acme any good?\n\nThinking of buying an acme > 3",
        url=f"https://www.reddit.com/r/gadgets/comments/{question[3:]}/is_acme_any_good/",
        metrics={"score": 3, "replies": 0},
    )
    assert events[sorry] == Event(
        v=1,
        id=sorry,
        platform="reddit",
        brand="acme",
        kind="reply",
        time=at(3),
        author=Author(id="t2_acme_support", handle=BRAND, is_brand=True),
        parent_id=broke,
        text="Sorry! DM us your order number & we'll fix it",
        url=f"https://www.reddit.com/r/acme/comments/{launch[3:]}/acme_2_0_is_out/{sorry[3:]}/",
        metrics={"score": 1},
    )
    post = events[launch]
    assert (post.kind, post.author, post.parent_id, post.metrics) == (
        "post",
        Author(id="t2_acme_support", handle=BRAND, is_brand=True),
        None,
        {"score": 3, "replies": 3},
    )
    kinds = {e.text: (e.kind, e.parent_id) for e in events.values()}
    assert kinds["Mine broke after the update :("] == ("comment", launch)
    assert kinds["Done, thanks"] == ("comment", sorry)
    assert kinds["Hello all"] == ("mention", None)
    kim = next(e for e in events.values() if e.text == "Hello all")
    assert kim.author == Author(id="kim", handle="kim")
    deleted = next(e for e in events.values() if e.text == "[deleted]\n\n[removed]")
    assert deleted.author is None and deleted.kind == "mention"
    (followers,) = [e for e in events.values() if e.kind == "follower_count"]
    assert followers.metrics == {"followers": 12_345}
    assert followers.author == Author(id="t5_acme", handle="r/acme", is_brand=True)

    assert fake.grants == ["client_credentials"]
    calls = fake.api_requests()
    assert {r.path for r in calls} == {
        "/r/acme/new",
        "/r/acme/comments",
        "/search",
        "/r/acme/about",
    }
    assert all(r.headers["user-agent"] == USER_AGENT for r in fake.requests)
    assert all(r.headers["authorization"] == "bearer token-1" for r in calls)
    listings = [r.query for r in calls if not r.path.endswith("/about")]
    assert all(q["limit"] == "100" and q["raw_json"] == "1" for q in listings)
    (search,) = [r.query for r in calls if r.path == "/search"]
    assert (search["q"], search["sort"]) == ("acme", "new")


def test_a_429_and_a_spent_budget_are_waited_out_for_x_ratelimit_reset(
    isolated: StackEnv, tmp_path: Path, fake: FakeReddit
) -> None:
    reddit = reddit_env(isolated, tmp_path, fake)
    names = {fake.post("acme", "jo", f"acme {n}") for n in range(3)}
    fake.limited, fake.spent, fake.reset = 1, 1, 2

    result = reddit.once()
    assert result.returncode == 0, result.stderr
    refused, told, *rest = fake.api_requests()
    assert (refused.status, told.status) == (429, 200)
    assert told.at - refused.at >= 1.9, "the 429's X-Ratelimit-Reset (2 s) is honoured"
    assert rest, "the other listing is read after the spent budget resets"
    assert rest[0].at - told.at >= 1.9, "X-Ratelimit-Remaining: 0.0 waits for the reset (2 s)"
    assert {e.id for e in reddit.events()} == names
    assert "request budget spent, resuming in" in result.stderr


def test_expired_and_revoked_tokens_are_replaced(
    isolated: StackEnv, tmp_path: Path, fake: FakeReddit
) -> None:
    reddit = reddit_env(isolated, tmp_path, fake)
    fake.token_lifetime = 3.0
    log = tmp_path / "reddit.log"
    with reddit.running(log):
        fake.post("acme", "jo", "acme first")
        assert eventually(lambda: len(fake.grants), lambda n: n >= 3, timeout=30) >= 3
        assert [r.status for r in fake.api_requests() if r.status != 200] == []
        revoked_at = len(fake.requests)
        fake.tokens.clear()
        last = fake.post("acme", "jo", "acme after revocation")
        eventually(reddit.events, lambda evs: last in {e.id for e in evs}, timeout=20)
        after = [r.status for r in fake.requests[revoked_at:] if r.path != "/api/v1/access_token"]
        assert after.count(401) == 1 and after[after.index(401) + 1] == 200, after
        assert total(reddit.metrics(), "brandpulse_connector_errors_total", kind="auth") == 0
    assert set(fake.grants) == {"client_credentials"}


def test_a_dropped_connection_and_500s_mid_catch_up_leave_no_gap_and_no_duplicate(
    isolated: StackEnv, tmp_path: Path, fake: FakeReddit
) -> None:
    reddit = reddit_env(isolated, tmp_path, fake, overlap=5.0)
    fake.post("acme", "jo", "acme before the start")
    log = tmp_path / "reddit.log"
    with reddit.running(log):
        assert eventually(reddit.events, lambda evs: len(evs) == 1, timeout=30)
        fake.fault_when = lambda query: "after" in query  # the second page of a catch-up
        fake.dropping, fake.failing, fake.visible = 1, 2, len(fake.things)
        for n in range(250):
            first = fake.post("acme", "jo", f"acme {n}")
            if n % 5 == 0:
                fake.comment(first, BRAND, f"thanks for {n}")
        fake.visible = None  # 300 new things at once: three pages of posts
        expected = {thing["data"]["name"] for thing in fake.things}
        eventually(reddit.events, lambda evs: {e.id for e in evs} >= expected, timeout=30)
        samples = eventually(
            reddit.metrics,
            lambda s: total(s, "brandpulse_connector_up", connector="reddit") == 1,
            timeout=10,
        )
        assert total(samples, "brandpulse_connector_errors_total", kind="connection") >= 1
        assert total(samples, "brandpulse_connector_errors_total", kind="http") == 2
        published = "brandpulse_connector_events_published_total"
        assert total(samples, published, platform="reddit") == len(expected)
    assert (fake.dropping, fake.failing) == (0, 0), "the faults were hit"
    counts = Counter(e.id for e in reddit.events())
    assert set(counts) == expected and max(counts.values()) == 1, counts.most_common(3)
    text = log.read_text()
    assert "connection dropped" in text and "HTTP 500" in text and "stopped after" in text


def test_sigkill_while_posts_and_comments_arrive_leaves_each_on_the_topic_exactly_once(
    isolated: StackEnv, tmp_path: Path, fake: FakeReddit
) -> None:
    reddit = reddit_env(isolated, tmp_path, fake)
    first = fake.post("acme", "jo", "acme first")
    assert reddit.once().returncode == 0  # the cursor: a first read starts at the newest page
    log = tmp_path / "reddit.log"

    def grow(n: int) -> None:
        if n % 3 == 2:
            fake.comment(first, BRAND if n % 2 else "kim", f"comment {n}")
        else:
            fake.post("acme", "jo", f"acme {n}")

    kill_repeatedly(lambda: reddit.start(log), 4, (1.5, 3.0), grow)
    expected = {thing["data"]["name"] for thing in fake.things}
    with reddit.running(log):
        eventually(reddit.events, lambda evs: {e.id for e in evs} >= expected, timeout=30)
    assert_exactly_once(Counter(e.id for e in reddit.events()), expected, log)
    print(f"{len(expected)} posts and comments; {len(fake.grants)} tokens")


def test_missing_credentials_exit_2_naming_the_variable(
    isolated: StackEnv, tmp_path: Path, fake: FakeReddit
) -> None:
    no_secret = reddit_env(isolated, tmp_path, fake, env={"REDDIT_CLIENT_SECRET": ""}).once()
    assert no_secret.returncode == 2, no_secret.stderr
    assert "REDDIT_CLIENT_SECRET is not set" in no_secret.stderr
    assert CLIENT_ID not in no_secret.stderr
    half_user = reddit_env(isolated, tmp_path, fake, env={"REDDIT_USERNAME": "me"}).once()
    assert half_user.returncode == 2 and "REDDIT_PASSWORD is not set" in half_user.stderr
    no_id = reddit_env(isolated, tmp_path, fake, env={"REDDIT_CLIENT_ID": ""}).once()
    assert no_id.returncode == 2 and "REDDIT_CLIENT_ID is not set" in no_id.stderr
    assert CLIENT_SECRET not in no_id.stderr
    assert fake.requests == []
