"""The YouTube connector against the local fake Data API and the real Kafka: field mapping after
rate limits, the quota budget (spent: no further call, across a restart too; Google's
quotaExceeded), a 500 in the middle of a walk resumed with no gap and no duplicate, a bad video
beside good streams, exactly once across SIGKILL, and a missing key."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from brandpulse.contract import Author, Event
from tests.integration.fake_youtube import KEY as API_KEY
from tests.integration.fake_youtube import T0, Account, FakeYouTube, Fault, fake_youtube
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

CHANNEL = "UCacme0000000000000000aa"
REVIEWER = "UCreview000000000000000bb"
BRAND = Account(CHANNEL, "@acme")
FAN = Account("UCfan00000000000000000001", "@jo")
QUOTA_LABELS = {"connector": "youtube", "platform": "youtube"}


def youtube_env(
    isolated: StackEnv,
    tmp_path: Path,
    fake: FakeYouTube,
    *,
    videos: tuple[str, ...] = ("v9",),
    quota: int = 10_000_000,
    key: str = API_KEY,
) -> ConnectorCommand:
    metrics_port = free_port()
    video_ids = ", ".join(f'"{v}"' for v in videos)
    settings = (
        f'[youtube]\nbase_url = "{fake.url}"\n'
        f'brands = [{{ brand = "acme", channel_id = "{CHANNEL}", video_ids = [{video_ids}] }}]\n'
        f"metrics_port = {metrics_port}\npoll_interval = 0.3\ndaily_quota = {quota}\n"
        "retry_initial = 0.2\ntimeout = 5.0\n"
        '[[brands]]\nname = "acme"\nkeywords = ["acme"]\naccounts = { youtube = ["@acme"] }\n'
    )
    env = {"YOUTUBE_API_KEY": key}
    return ConnectorCommand.configured(
        "youtube", isolated, tmp_path, settings, metrics_port, env=env
    )


@pytest.fixture
def fake() -> Iterator[FakeYouTube]:
    with fake_youtube() as server:
        server.videos = {"v1": CHANNEL, "v2": CHANNEL, "v9": REVIEWER, "v8": REVIEWER}
        server.subscribers = {CHANNEL: 5000}
        yield server


def test_comments_replies_and_subscribers_are_mapped_on_the_topic_after_rate_limits(
    isolated: StackEnv, tmp_path: Path, fake: FakeYouTube
) -> None:
    youtube = youtube_env(isolated, tmp_path, fake)
    asked = fake.comment("v1", "my acme toaster & me", FAN, likes=3)
    answer = fake.reply(asked, "@jo sorry, DM us", BRAND)
    review = fake.comment("v9", "acme review", FAN)
    busy = fake.comment("v2", "busy thread", FAN)
    busy_replies = [fake.reply(busy, f"r{n}", BRAND if n == 6 else FAN) for n in range(7)]
    fake.faults += [
        Fault("rateLimitExceeded", lambda path, q: path == "commentThreads"),
        Fault("tooManyRequests", lambda path, q: "videoId" in q, 429, {"Retry-After": "2"}),
    ]

    result = youtube.once()
    assert result.returncode == 0, result.stderr
    assert "youtube: 12 events published" in result.stderr, result.stderr
    assert API_KEY not in result.stderr and "retrying in" in result.stderr
    events = {e.id: e for e in youtube.events()}
    fan = Author(id=FAN.channel_id, handle="@jo")
    assert events[asked] == Event(
        v=1,
        id=asked,
        platform="youtube",
        brand="acme",
        kind="comment",
        time=T0.replace(second=1),
        author=fan,
        thread_id=asked,
        parent_id="v1",
        text="my acme toaster & me",
        url=f"https://www.youtube.com/watch?v=v1&lc={asked}",
        metrics={"likes": 3, "replies": 1},
    )
    assert events[answer] == Event(
        v=1,
        id=answer,
        platform="youtube",
        brand="acme",
        kind="reply",
        time=T0.replace(second=2),
        author=Author(id=CHANNEL, handle="@acme", is_brand=True),
        thread_id=asked,
        parent_id=asked,
        text="@jo sorry, DM us",
        url=f"https://www.youtube.com/watch?v=v1&lc={answer}",
        metrics={"likes": 0},
    )
    assert (events[review].parent_id, events[review].kind) == ("v9", "comment")
    assert {events[r].kind for r in busy_replies[:6]} == {"comment"}
    assert events[busy_replies[6]].kind == "reply", "the 7th reply came from comments.list"
    (subscribers,) = [e for e in events.values() if e.kind == "follower_count"]
    assert subscribers.metrics == {"followers": 5000}
    assert subscribers.id.startswith(f"subscribers:{CHANNEL}:")

    (replies,) = fake.calls("/comments")
    assert replies.query["parentId"] == busy and replies.query["part"] == "snippet"
    threads = fake.calls("/commentThreads")
    assert all(
        (r.query["part"], r.query["order"], r.query["maxResults"])
        == ("snippet,replies", "time", "100")
        for r in threads
    )
    refused, retried = [r for r in threads if r.query.get("videoId") == "v9"][:2]
    assert refused.status == 429 and retried.at - refused.at >= 1.8, "Retry-After honoured"
    limited, again = [r for r in threads if "allThreadsRelatedToChannelId" in r.query][:2]
    assert (limited.status, again.status) == (403, 200) and again.at > limited.at
    assert "(rateLimitExceeded: Rate limit exceeded.); retrying in" in result.stderr
    (channels,) = fake.calls("/channels")
    assert channels.query["id"] == CHANNEL and channels.query["part"] == "statistics"


def test_a_spent_budget_stops_every_call_across_a_restart_and_the_gauges_show_it(
    isolated: StackEnv, tmp_path: Path, fake: FakeYouTube
) -> None:
    youtube = youtube_env(isolated, tmp_path, fake, videos=("v9", "v8"), quota=3)
    for video in ("v1", "v9", "v8"):
        fake.comment(video, f"acme on {video}", FAN)
    log = tmp_path / "youtube.log"
    with youtube.running(log):
        eventually(lambda: len(fake.requests), lambda n: n >= 3, timeout=20)
        samples = eventually(
            youtube.metrics,
            lambda s: total(s, "brandpulse_connector_quota_used_units", **QUOTA_LABELS) == 3,
            timeout=10,
        )
        assert total(samples, "brandpulse_connector_quota_remaining_units", **QUOTA_LABELS) == 0
        time.sleep(2.0)
        assert len(fake.requests) == 3, "no call once the budget is spent"
        assert len(youtube.events()) == 3
    text = log.read_text()
    assert "quota: throttling" in text and "no calls until midnight Pacific Time" in text
    assert API_KEY not in text
    with youtube.running(log):
        time.sleep(3.0)
        assert len(fake.requests) == 3, "the day's spending is in the checkpoint"
        samples = youtube.metrics()
        assert total(samples, "brandpulse_connector_quota_used_units", **QUOTA_LABELS) == 3


def test_googles_quota_exceeded_stops_calls_until_the_reset(
    isolated: StackEnv, tmp_path: Path, fake: FakeYouTube
) -> None:
    youtube = youtube_env(isolated, tmp_path, fake, quota=10_000)
    fake.quota = 2
    fake.comment("v1", "acme", FAN)
    log = tmp_path / "youtube.log"
    with youtube.running(log):
        eventually(lambda: len(fake.requests), lambda n: n >= 3, timeout=20)
        time.sleep(2.0)
        assert [r.status for r in fake.requests] == [200, 200, 403]
        samples = youtube.metrics()
        assert total(samples, "brandpulse_connector_errors_total", kind="quota_exceeded") == 1
        assert total(samples, "brandpulse_connector_quota_remaining_units", **QUOTA_LABELS) == 0
        assert total(samples, "brandpulse_connector_quota_used_units", **QUOTA_LABELS) == 10_000
    assert "quotaExceeded" in log.read_text()


def test_a_500_mid_walk_resumes_at_its_page_with_no_gap_and_a_bad_video_is_counted(
    isolated: StackEnv, tmp_path: Path, fake: FakeYouTube
) -> None:
    youtube = youtube_env(isolated, tmp_path, fake, videos=("gone",))
    fake.page_limit = 5
    first = fake.comment("v1", "acme first", FAN)
    log = tmp_path / "youtube.log"
    with youtube.running(log):
        eventually(youtube.events, lambda evs: {e.id for e in evs} >= {first}, timeout=20)
        fake.faults.append(Fault("backendError", lambda path, q: "pageToken" in q))
        for n in range(23):
            fake.comment("v1" if n % 2 else "v2", f"acme {n}", FAN)
        expected = fake.ids()
        eventually(youtube.events, lambda evs: {e.id for e in evs} >= expected, timeout=20)
        samples = youtube.metrics()
        assert total(samples, "brandpulse_connector_errors_total", kind="http") == 1
        assert total(samples, "brandpulse_connector_errors_total", kind="unavailable") >= 1
        assert total(samples, "brandpulse_connector_events_published_total") == len(expected) + 1
    counts = Counter(e.id for e in youtube.events() if e.kind != "follower_count")
    assert set(counts) == expected and max(counts.values()) == 1, counts
    channel = [
        r for r in fake.calls("/commentThreads") if "allThreadsRelatedToChannelId" in r.query
    ]
    failed = next(i for i, r in enumerate(channel) if r.status == 500)
    assert channel[failed + 1].query["pageToken"] == channel[failed].query["pageToken"]
    assert "videoNotFound" in log.read_text()


def test_sigkill_while_comments_arrive_leaves_each_on_the_topic_exactly_once(
    isolated: StackEnv, tmp_path: Path, fake: FakeYouTube
) -> None:
    youtube = youtube_env(isolated, tmp_path, fake, videos=())
    fake.page_limit = 20
    fake.subscribers = {}
    rng = random.Random(7)
    threads = [fake.comment("v1", "acme first", FAN)]

    def grow(n: int) -> None:
        if n % 4 == 3:
            fake.reply(rng.choice(threads[:3]), f"reply {n}", BRAND if n % 8 == 3 else FAN)
        else:
            threads.append(fake.comment("v1" if n % 2 else "v2", f"acme {n}", FAN))

    log = tmp_path / "youtube.log"
    kill_repeatedly(lambda: youtube.start(log), 4, (1.5, 3.0), grow)
    expected = fake.ids()
    with youtube.running(log):
        eventually(youtube.events, lambda evs: {e.id for e in evs} >= expected, timeout=30)
    assert_exactly_once(Counter(e.id for e in youtube.events()), expected, log)
    assert fake.calls("/comments"), "threads with more replies than inlined were read"
    print(f"{len(expected)} comments; {len(fake.requests)} calls")


def test_a_missing_api_key_exits_2_naming_it(
    isolated: StackEnv, tmp_path: Path, fake: FakeYouTube
) -> None:
    result = youtube_env(isolated, tmp_path, fake, key="").once()
    assert result.returncode == 2
    assert "YOUTUBE_API_KEY is not set" in result.stderr
    assert fake.requests == []
    unconfigured = brandpulse(isolated, "youtube", "--once")
    assert unconfigured.returncode == 2 and "nothing to read" in unconfigured.stderr
