"""YouTube: resources mapped field by field, the quota budget (Pacific midnight reset with a fixed
clock, pacing, persistence), Google's errors classified, and the source's walks against the
local fake API: bounded by the cursor, resumed at the page where they broke off, paused when
the budget is spent, replies fetched only when there are new ones."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from brandpulse.config import BrandConfig, Config, YouTubeBrandConfig, YouTubeConfig
from brandpulse.contract import Author, Event, decode_event, encode_event
from brandpulse.errors import UsageError
from connectors.metrics import ConnectorStats
from connectors.youtube.api import Api, ApiError
from connectors.youtube.connector import streams
from connectors.youtube.mapping import (
    BrandChannel,
    Channel,
    Comment,
    CommentThread,
    subscriber_event,
    thread_events,
)
from connectors.youtube.quota import QuotaBudget, QuotaCollector, next_reset
from connectors.youtube.source import Position, Stream, YouTubeSource
from tests.integration.fake_youtube import KEY, Account, FakeYouTube, Fault, fake_youtube

BRAND_CHANNEL = "UCacme0000000000000000aa"
ACME = BrandChannel("acme", BRAND_CHANNEL, frozenset({"acmehelp"}))
FAN = Account("UCfan00000000000000000001", "@jo")
BRAND = Account(BRAND_CHANNEL, "@acme")


def comment(id: str, text: str, by: Account, at: str, **snippet: Any) -> dict[str, Any]:
    """A comment resource as the API reference shows it (extra fields included, ignored)."""
    return {
        "kind": "youtube#comment",
        "etag": "xyz",
        "id": id,
        "snippet": {
            "channelId": BRAND_CHANNEL,
            "videoId": "dQw4w9WgXcQ",
            "textDisplay": text,
            "textOriginal": text,
            **by.author(),
            "canRate": True,
            "viewerRating": "none",
            "likeCount": 7,
            "publishedAt": at,
            "updatedAt": at,
            **snippet,
        },
    }


def thread(replies: list[dict[str, Any]] | None = None, total: int | None = None) -> CommentThread:
    payload: dict[str, Any] = {
        "kind": "youtube#commentThread",
        "etag": "abc",
        "id": "UgzT0p",
        "snippet": {
            "channelId": BRAND_CHANNEL,
            "videoId": "dQw4w9WgXcQ",
            "topLevelComment": comment(
                "UgzT0p", "my acme toaster broke", FAN, "2026-11-25T09:00:00Z"
            ),
            "canReply": True,
            "totalReplyCount": len(replies or []) if total is None else total,
            "isPublic": True,
        },
    }
    if replies:
        payload["replies"] = {"comments": replies}
    return msgspec.json.decode(json.dumps(payload), type=CommentThread)


def valid(event: Event | None) -> Event:
    assert event is not None
    return decode_event(encode_event(event))  # what the worker would accept


def reply(n: int, by: Account, text: str = "sorry!", at: str = "2026-11-25T09:30:00Z") -> Any:
    return comment(f"UgzT0p.r{n}", text, by, at, parentId="UgzT0p")


# --- mapping -------------------------------------------------------------------------------


def test_a_top_level_comment_by_someone_else_is_a_comment_on_its_video_field_by_field() -> None:
    (event,) = thread_events(thread(), ACME)
    assert valid(event) == Event(
        v=1,
        id="UgzT0p",
        platform="youtube",
        brand="acme",
        kind="comment",
        time=datetime(2026, 11, 25, 9, tzinfo=UTC),
        author=Author(id=FAN.channel_id, handle="@jo"),
        thread_id="UgzT0p",
        parent_id="dQw4w9WgXcQ",
        text="my acme toaster broke",
        url="https://www.youtube.com/watch?v=dQw4w9WgXcQ&lc=UgzT0p",
        metrics={"likes": 7, "replies": 0},
    )


def test_the_brand_channels_replies_are_replies_to_the_parent_comment() -> None:
    fan_again = reply(1, FAN, "still broken", "2026-11-25T10:00:00Z")
    events = thread_events(thread([reply(0, BRAND), fan_again]), ACME)
    top, answer, other = (valid(e) for e in events)
    assert top.metrics == {"likes": 7, "replies": 2}
    assert answer == Event(
        v=1,
        id="UgzT0p.r0",
        platform="youtube",
        brand="acme",
        kind="reply",
        time=datetime(2026, 11, 25, 9, 30, tzinfo=UTC),
        author=Author(id=BRAND_CHANNEL, handle="@acme", is_brand=True),
        thread_id="UgzT0p",
        parent_id="UgzT0p",
        text="sorry!",
        url="https://www.youtube.com/watch?v=dQw4w9WgXcQ&lc=UgzT0p.r0",
        metrics={"likes": 7},
    )
    assert (other.kind, other.parent_id, other.thread_id) == ("comment", "UgzT0p", "UgzT0p")
    assert other.author == Author(id=FAN.channel_id, handle="@jo")


def test_brand_by_handle_html_text_fallback_fetched_replies_and_no_duplicates() -> None:
    helper = Account("UCsomeotherchannel000001", "@AcmeHelp")
    html = comment("UgzT0p.r1", "", helper, "2026-11-25T09:40:00Z", parentId="UgzT0p")
    html["snippet"]["textDisplay"] = "a &lt;b&gt; <br>c"
    inlined = thread([reply(0, FAN)], total=2)
    fetched = msgspec.convert([reply(0, FAN), html], type=list[Comment])
    events = [valid(e) for e in thread_events(inlined, ACME, fetched)]
    assert [e.id for e in events] == ["UgzT0p", "UgzT0p.r0", "UgzT0p.r1"]
    assert (events[2].kind, events[2].text) == ("reply", "a <b> c")
    assert events[2].author == Author(id=helper.channel_id, handle="@AcmeHelp", is_brand=True)


def test_subscriber_counts_and_hidden_ones() -> None:
    fetched = datetime(2026, 11, 25, 12, tzinfo=UTC)
    shown = {
        "kind": "youtube#channel",
        "id": BRAND_CHANNEL,
        "statistics": {
            "viewCount": "99",
            "subscriberCount": "1234",
            "hiddenSubscriberCount": False,
        },
    }
    assert valid(subscriber_event(msgspec.convert(shown, type=Channel), "acme", fetched)) == Event(
        v=1,
        id=f"subscribers:{BRAND_CHANNEL}:{int(fetched.timestamp())}",
        platform="youtube",
        brand="acme",
        kind="follower_count",
        time=fetched,
        author=Author(id=BRAND_CHANNEL, is_brand=True),
        metrics={"followers": 1234},
    )
    hidden = {"id": "UC1", "statistics": {"hiddenSubscriberCount": True}}
    assert subscriber_event(msgspec.convert(hidden, type=Channel), "acme", fetched) is None


# --- the quota budget ------------------------------------------------------------------------


class Clock:
    """A wall clock that moves only when told to."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.mark.parametrize(
    ("now", "reset"),
    [
        # PST (UTC-8): midnight Pacific is 08:00 UTC
        (datetime(2026, 11, 25, 7, 59, 59, tzinfo=UTC), datetime(2026, 11, 25, 8, tzinfo=UTC)),
        (datetime(2026, 11, 25, 8, 0, 0, tzinfo=UTC), datetime(2026, 11, 26, 8, tzinfo=UTC)),
        # PDT (UTC-7): 07:00 UTC
        (datetime(2026, 7, 1, 6, 30, tzinfo=UTC), datetime(2026, 7, 1, 7, tzinfo=UTC)),
        # the day daylight saving time ends (1 Nov 2026) is 25 hours long
        (datetime(2026, 11, 1, 7, 0, tzinfo=UTC), datetime(2026, 11, 2, 8, tzinfo=UTC)),
    ],
)
def test_the_quota_resets_at_midnight_pacific_time(now: datetime, reset: datetime) -> None:
    assert next_reset(now) == reset


def test_the_budget_refuses_what_it_cannot_pay_and_starts_afresh_at_midnight_pacific() -> None:
    clock = Clock(datetime(2026, 11, 25, 7, 0, tzinfo=UTC))  # 23:00 PST on the 24th
    budget = QuotaBudget(5, clock)
    assert budget.charge(3) and budget.charge(2)
    assert not budget.charge(1), "nothing is left"
    assert (budget.used, budget.remaining, budget.seconds_to_reset()) == (5, 0, 3600.0)
    assert budget.pace() == float("inf")
    clock.now += timedelta(minutes=59, seconds=59)
    assert not budget.charge(1), "still the 24th in California"
    clock.now += timedelta(seconds=1)
    assert (budget.used, budget.remaining) == (0, 5), "a new Pacific day"
    assert budget.charge(1)
    assert budget.pace() == pytest.approx(86400 / 4)


def test_the_budget_survives_a_restart_on_the_same_pacific_day_only() -> None:
    clock = Clock(datetime(2026, 11, 25, 12, tzinfo=UTC))
    budget = QuotaBudget(100, clock)
    budget.charge(30)
    saved = budget.cursor()
    assert saved == {"day": "2026-11-25", "used": "30"}
    again = QuotaBudget(100, clock)
    again.restore(saved)
    assert again.used == 30
    clock.now += timedelta(days=1)
    tomorrow = QuotaBudget(100, clock)
    tomorrow.restore(saved)
    assert tomorrow.used == 0
    tomorrow.restore({"day": "garbage"})
    assert tomorrow.used == 0


def test_google_saying_quota_exceeded_spends_the_budget_and_the_gauges_say_so() -> None:
    budget = QuotaBudget(10_000, Clock(datetime(2026, 11, 25, 12, tzinfo=UTC)))
    budget.charge(42)
    samples = {
        (s.name, tuple(s.labels.items())): s.value
        for family in QuotaCollector("youtube", "youtube", budget).collect()
        for s in family.samples
    }
    labels = (("connector", "youtube"), ("platform", "youtube"))
    assert samples == {
        ("brandpulse_connector_quota_used_units", labels): 42,
        ("brandpulse_connector_quota_remaining_units", labels): 9958,
    }
    budget.exhaust()
    assert (budget.used, budget.remaining) == (10_000, 0)


# --- the API and its errors ------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeYouTube]:
    with fake_youtube() as server:
        server.videos = {"v1": BRAND_CHANNEL, "v2": "UCother"}
        yield server


def api(fake: FakeYouTube, units: int = 1000, key: str = KEY) -> Api:
    budget = QuotaBudget(units, Clock(datetime(2026, 11, 25, 12, tzinfo=UTC)))
    return Api(fake.url, key, 5.0, budget)


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        (Fault("quotaExceeded"), "quota_exceeded"),
        (Fault("rateLimitExceeded"), "rate_limited"),
        (Fault("tooMany", status=429), "rate_limited"),
        (Fault("videoNotFound"), "unavailable"),
        (Fault("commentsDisabled", status=403), "unavailable"),
        (Fault("keyInvalid"), "auth"),
        (Fault("backendError"), "http"),
    ],
)
def test_googles_errors_are_classified_by_reason(
    fake: FakeYouTube, fault: Fault, kind: str
) -> None:
    fake.faults.append(fault)
    client = api(fake)
    with pytest.raises(ApiError) as caught:
        client.get("commentThreads", [("part", "snippet"), ("videoId", "v1")])
    assert (caught.value.kind, caught.value.reason) == (kind, fault.reason)
    assert KEY not in str(caught.value) and "key=" not in str(caught.value)
    assert client.budget.used == (1000 if kind == "quota_exceeded" else 1)


def test_a_wrong_key_is_auth_and_no_call_is_made_beyond_the_budget(fake: FakeYouTube) -> None:
    with pytest.raises(ApiError) as caught:
        api(fake, key="wrong").get("channels", [("part", "statistics"), ("id", BRAND_CHANNEL)])
    assert caught.value.kind == "auth" and "keyInvalid" in str(caught.value)
    poor = api(fake, units=1)
    poor.get("channels", [("part", "statistics"), ("id", BRAND_CHANNEL)])
    with pytest.raises(ApiError) as refused:
        poor.get("channels", [("part", "statistics"), ("id", BRAND_CHANNEL)])
    assert (refused.value.kind, refused.value.status) == ("quota_exceeded", 0)
    assert len(fake.requests) == 2, "the refused call never left"


# --- the source ------------------------------------------------------------------------------


class Ticks:
    """A monotonic clock for the source."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def source(
    fake: FakeYouTube, units: int = 1000, once: bool = False, **settings: Any
) -> tuple[YouTubeSource, Ticks]:
    config = YouTubeConfig(base_url=fake.url, poll_interval=10.0, **settings)
    stream = Stream("acme/channel/c", ACME, ("allThreadsRelatedToChannelId", BRAND_CHANNEL))
    ticks = Ticks()
    found = YouTubeSource(
        config, api(fake, units), [stream], {}, ConnectorStats("youtube"), once=once, clock=ticks
    )
    return found, ticks


def test_a_walk_reads_back_to_the_cursor_and_resumes_where_an_error_broke_it_off(
    fake: FakeYouTube,
) -> None:
    fake.page_limit = 3
    first = fake.comment("v1", "before", FAN)
    youtube, ticks = source(fake, units=1_000_000, reply_window=0.0)
    poll = youtube.poll({})
    assert [e.id for e in poll.events] == [first]
    cursors = dict(poll.cursors)
    new = [fake.comment("v1", f"acme {n}", FAN) for n in range(7)]
    fake.comment("v2", "another channel's video", FAN)
    fake.faults.append(Fault("backendError", lambda _, q: "pageToken" in q))
    ticks.now = youtube.next_due()
    broken = youtube.poll(cursors)
    assert len(broken.events) == 3 and not broken.healthy
    position = Position.of(broken.cursors["acme/channel/c"])
    assert position.newest == Position.of(cursors["acme/channel/c"]).newest, "cursor not moved"
    assert position.page_token, "the walk's place is kept"
    cursors.update(broken.cursors)
    ticks.now = youtube.next_due()
    calls = len(fake.requests)
    resumed = youtube.poll(cursors)
    assert fake.requests[calls - 1].status == 500
    assert fake.requests[calls].query["pageToken"] == position.page_token, "not from the top"
    seen = [e.id for e in broken.events + resumed.events]
    assert set(seen) == {*new, first}, "back to the cursor, and the thread at it"
    done = Position.of(resumed.cursors["acme/channel/c"])
    assert done.walk_newest is None and done.newest == datetime(2026, 11, 25, 9, 0, 8, tzinfo=UTC)
    ticks.now = youtube.next_due()
    calls = len(fake.requests)
    quiet = youtube.poll({**cursors, **resumed.cursors})
    assert {e.id for e in quiet.events} <= set(seen), "read again, dropped by the seen set"
    assert len(fake.requests) == calls + 1, "nothing new: one page"
    assert resumed.healthy


def test_replies_beyond_the_inlined_ones_are_fetched_only_when_there_are_new_ones(
    fake: FakeYouTube,
) -> None:
    top = fake.comment("v1", "question", FAN)
    for n in range(7):
        fake.reply(top, f"reply {n}", FAN if n % 2 else BRAND)
    youtube, ticks = source(fake)
    poll = youtube.poll({})
    assert {e.id for e in poll.events} == fake.ids()
    assert len(fake.calls("/comments")) == 1
    assert {e.kind for e in poll.events if e.author and e.author.is_brand} == {"reply"}
    ticks.now += 3600
    youtube.poll(poll.cursors)
    assert len(fake.calls("/comments")) == 1, "no new reply: not fetched again"
    fake.reply(top, "one more", BRAND)
    ticks.now += 3600
    again = youtube.poll(poll.cursors)
    assert len(fake.calls("/comments")) == 2
    assert fake.ids() <= {e.id for e in again.events}


def test_replies_of_a_page_broken_off_are_fetched_again_with_it(fake: FakeYouTube) -> None:
    first, second = fake.comment("v1", "one", FAN), fake.comment("v1", "two", FAN)
    for n in range(7):
        fake.reply(first, f"a{n}", BRAND)
        fake.reply(second, f"b{n}", FAN)
    fake.faults.append(Fault("backendError", lambda path, q: q.get("parentId") == first))
    youtube, ticks = source(fake, units=1_000_000)
    broken = youtube.poll({})
    assert broken.events == [] and [r.query.get("parentId") for r in fake.calls("/comments")] == [
        second,
        first,
    ], "newest first; the page's events wait for all its replies"
    ticks.now = youtube.next_due()
    again = youtube.poll(broken.cursors)
    assert {e.id for e in again.events} == fake.ids()
    assert len(fake.calls("/comments")) == 4, "both threads' replies read again"


def test_a_spent_budget_pauses_every_call_until_midnight_pacific(
    fake: FakeYouTube, caplog: pytest.LogCaptureFixture
) -> None:
    fake.page_limit = 1
    for n in range(3):
        fake.comment("v1", f"c{n}", FAN)
    youtube, ticks = source(fake, units=2)
    first = youtube.poll({})
    assert len(fake.requests) == 1
    ticks.now = youtube.next_due()
    with caplog.at_level(logging.WARNING, "brandpulse.youtube"):
        second = youtube.poll({**first.cursors})
    assert len(fake.requests) == 2, "one more unit, then nothing"
    assert second.cursors["quota"] == {"day": "2026-11-25", "used": "2"}
    assert youtube.next_due() - ticks.now == pytest.approx(20 * 3600 + 1), "12:00Z -> 08:00Z"
    assert Position.of(second.cursors["acme/channel/c"]).page_token, "resumed after the reset"
    assert "no calls until midnight Pacific Time" in caplog.text
    assert second.healthy, "a spent budget is no failure"


def test_polling_slows_down_so_that_the_budget_lasts_until_the_reset(
    fake: FakeYouTube, caplog: pytest.LogCaptureFixture
) -> None:
    fake.comment("v1", "hello", FAN)
    youtube, ticks = source(fake, units=100)
    with caplog.at_level(logging.WARNING, "brandpulse.youtube"):
        youtube.poll({})
    # 20 h to the reset, 99 units left, one stream that cost 1 unit
    assert youtube.next_due() - ticks.now == pytest.approx(20 * 3600 / 99)
    assert "quota: throttling" in caplog.text
    last, last_ticks = source(fake, units=1)
    last.poll({})
    assert last.next_due() - last_ticks.now == 20 * 3600 + 1, "the last unit: until the reset"
    roomy, roomy_ticks = source(fake, units=1_000_000)
    roomy.poll({})
    assert roomy.next_due() - roomy_ticks.now == 10.0, "poll_interval when the budget allows"


def test_a_bad_video_is_counted_and_backed_off_while_the_others_go_on(fake: FakeYouTube) -> None:
    fake.comment("v1", "fine", FAN)
    config = YouTubeConfig(base_url=fake.url, retry_initial=5.0)
    good = Stream("acme/video/v1", ACME, ("videoId", "v1"))
    bad = Stream("acme/video/gone", ACME, ("videoId", "gone"))
    stats = ConnectorStats("youtube")
    ticks = Ticks()
    youtube = YouTubeSource(config, api(fake), [bad, good], {}, stats, clock=ticks)
    poll = youtube.poll({})
    assert len(poll.events) == 1 and not poll.healthy
    assert stats.errors == {"unavailable": 1}
    assert youtube.streams[0].due > ticks.now and "videoNotFound" in youtube.streams[0].last_error


def test_configuration_errors_name_what_to_fix() -> None:
    def config(**youtube: Any) -> Config:
        return Config(
            brands=[BrandConfig(name="acme", accounts={"youtube": ["@AcmeHelp"]})],
            youtube=YouTubeConfig(**youtube),
        )

    with pytest.raises(UsageError, match="nothing to read"):
        streams(config())
    with pytest.raises(UsageError, match=r"not configured: \['globex'\]"):
        streams(config(brands=[YouTubeBrandConfig(brand="globex", channel_id="UC1")]))
    entry = YouTubeBrandConfig(brand="acme", channel_id="UC1", video_ids=["a", "b", "a"])
    found = streams(config(brands=[entry]))
    assert [s.key for s in found] == ["acme/channel/UC1", "acme/video/a", "acme/video/b"]
    assert found[0].brand == BrandChannel("acme", "UC1", frozenset({"acmehelp"}))
    assert found[1].filter == ("videoId", "a")
