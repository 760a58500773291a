"""Bluesky: Jetstream events mapped field by field, brand matching (DID facets, @handles,
keywords, replies, likes, reposts, follows), the cursor the source commits, and the Jetstream
client's resumption against a local WebSocket server."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from brandpulse.config import BlueskyBrandConfig, BlueskyConfig, BrandConfig, Config
from brandpulse.contract import Author, Event, decode_event, encode_event
from brandpulse.errors import UsageError
from connectors.bluesky.connector import brand_accounts
from connectors.bluesky.jetstream import Jetstream, Subscription
from connectors.bluesky.mapping import (
    COLLECTIONS,
    LIKE,
    POST,
    REPOST,
    BrandAccount,
    JetstreamEvent,
    Profile,
    created_item,
    follower_event,
    follows,
    item_events,
    item_time,
)
from connectors.bluesky.source import CURSOR, BlueskySource
from connectors.metrics import ConnectorStats
from connectors.rss.mapping import BrandMatcher
from connectors.runtime import Backoff, SourceError
from tests.integration.fake_bluesky import (
    fake_jetstream,
    follow_record,
    post_record,
    post_uri,
    subject_record,
)

BRAND_DID = "did:plc:z72i7hdynmk6r22z27h6tvur"
FAN = "did:plc:eygmaihciaxprqvxpfvl6flk"
ACME = BrandAccount.of(
    "acme",
    BRAND_DID,
    ["Acme.bsky.social", "@acme-help.bsky.social"],
    BrandMatcher.of(BrandConfig(name="acme", keywords=["acme"])),
)
GLOBEX = BrandAccount.of(
    "globex", "", [], BrandMatcher.of(BrandConfig(name="globex", keywords=["globex"]))
)
AT = datetime(2024, 9, 9, 19, 46, 2, 102000, tzinfo=UTC)
TIME_US = 1725911162329308
SEEN = datetime.fromtimestamp(TIME_US / 1e6, UTC)


def commit(
    did: str, collection: str, rkey: str, record: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    """A commit event as Jetstream's README shows one."""
    body = {"rev": "3l3qo2vutsw2b", "operation": "create", "collection": collection}
    body |= {"rkey": rkey, "record": record, "cid": "bafyreidwaiva"} | extra
    return {"did": did, "time_us": TIME_US, "kind": "commit", "commit": body}


def events_of(raw: dict[str, Any], brands: list[BrandAccount] | None = None) -> list[Event]:
    event = msgspec.json.decode(json.dumps(raw), type=JetstreamEvent)
    item = created_item(event)
    found = [] if item is None else item_events(item, brands or [ACME, GLOBEX])
    for e in found:
        assert decode_event(encode_event(e)) == e, "valid under the contract"
    return found


def test_a_post_mentioning_the_brand_did_is_a_mention_field_by_field() -> None:
    text = "Loving my new toaster from @acme.bsky.social!"
    record = post_record(text, AT, mention=BRAND_DID, langs=("en-US",))
    (event,) = events_of(commit(FAN, POST, "3l3qo2vuowo2b", record))
    assert event == Event(
        v=1,
        id=f"at://{FAN}/app.bsky.feed.post/3l3qo2vuowo2b",
        platform="bluesky",
        brand="acme",
        kind="mention",
        time=AT,
        author=Author(id=FAN),
        text=text,
        lang="en",
        url=f"https://bsky.app/profile/{FAN}/post/3l3qo2vuowo2b",
    )


@pytest.mark.parametrize(
    ("text", "mentioned"),
    [
        ("hey @acme.bsky.social, my order?", True),
        ("ask @ACME-help.bsky.social.", True),
        ("@acme.bsky.socialite is someone else", False),
        ("mail me at bob@acme.bsky.social", False),
        ("acme.bsky.social without the at sign", False),
    ],
)
def test_handles_in_the_text_are_mentions(text: str, mentioned: bool) -> None:
    handles_only = BrandAccount.of("acme", "", ACME.handles, None)
    found = events_of(commit(FAN, POST, "r", post_record(text, AT)), [handles_only])
    assert [e.kind for e in found] == (["mention"] if mentioned else [])


@pytest.mark.parametrize(
    ("text", "mentioned"),
    [("ACME toasters are great", True), ("acmeville is a town", False), ("nothing", False)],
)
def test_keywords_in_the_text_are_mentions(text: str, mentioned: bool) -> None:
    found = events_of(commit(FAN, POST, "r", post_record(text, AT)), [ACME])
    assert [e.kind for e in found] == (["mention"] if mentioned else [])


@pytest.mark.parametrize("with_media", [False, True])
def test_a_quote_of_the_brands_post_is_a_mention(with_media: bool) -> None:
    ref = {"cid": "bafyreidwaiva", "uri": post_uri(BRAND_DID, "3kbrandpost")}
    embed: dict[str, Any] = {"$type": "app.bsky.embed.record", "record": ref}
    if with_media:
        images = {"$type": "app.bsky.embed.images", "images": []}
        embed = {"$type": "app.bsky.embed.recordWithMedia", "media": images, "record": embed}
    record = post_record("look at this", AT) | {"embed": embed}
    (quote,) = events_of(commit(FAN, POST, "r", record), [ACME])
    assert (quote.kind, quote.parent_id, quote.text) == ("mention", None, "look at this")
    other = {"$type": "app.bsky.embed.record", "record": ref | {"uri": post_uri(FAN, "3k")}}
    assert events_of(commit(FAN, POST, "r", record | {"embed": other}), [ACME]) == []
    card = {"$type": "app.bsky.embed.external", "external": {"uri": "https://acme.example"}}
    assert events_of(commit(FAN, POST, "r", record | {"embed": card}), [ACME]) == []


def test_a_mention_facet_of_another_did_is_no_mention() -> None:
    record = post_record("thanks @someone.bsky.social", AT, mention="did:plc:someoneelse")
    assert events_of(commit(FAN, POST, "r", record)) == []


def test_one_post_naming_two_brands_is_two_events_with_the_same_id() -> None:
    found = events_of(commit(FAN, POST, "r", post_record("acme vs globex", AT)))
    uri = post_uri(FAN, "r")
    assert [(e.brand, e.id) for e in found] == [("acme", uri), ("globex", uri)]


def test_replies_to_the_brand_and_the_brands_own_posts() -> None:
    brand_post = post_uri(BRAND_DID, "3kbrandpost")
    reply = post_record("my toaster broke", AT, reply_to=brand_post)
    (fan_reply,) = events_of(commit(FAN, POST, "3kfan", reply), [ACME])
    assert (fan_reply.kind, fan_reply.parent_id, fan_reply.thread_id) == (
        "reply",
        brand_post,
        brand_post,
    )
    assert fan_reply.author == Author(id=FAN)

    answer = post_record("sorry! DM us", AT, reply_to=post_uri(FAN, "3kfan"), root=brand_post)
    (care,) = events_of(commit(BRAND_DID, POST, "3kanswer", answer), [ACME])
    assert (care.kind, care.parent_id, care.thread_id) == (
        "reply",
        post_uri(FAN, "3kfan"),
        brand_post,
    )
    assert care.author == Author(id=BRAND_DID, handle="acme.bsky.social", is_brand=True)

    (own,) = events_of(commit(BRAND_DID, POST, "3kown", post_record("new toaster!", AT)), [ACME])
    assert (own.kind, own.parent_id, own.thread_id, own.author) == ("post", None, None, care.author)


def test_a_reply_elsewhere_is_a_mention_only_when_it_names_the_brand() -> None:
    other = post_uri("did:plc:other", "3k")
    assert (
        events_of(commit(FAN, POST, "r", post_record("me too", AT, reply_to=other)), [ACME]) == []
    )
    (mention,) = events_of(commit(FAN, POST, "r", post_record("acme!", AT, reply_to=other)), [ACME])
    assert (mention.kind, mention.parent_id, mention.thread_id) == ("mention", other, other)


def test_likes_and_reposts_of_the_brands_posts_are_reactions_and_shares() -> None:
    brand_post = post_uri(BRAND_DID, "3kbrandpost")
    (like,) = events_of(commit(FAN, LIKE, "3klike", subject_record(LIKE, brand_post, AT)))
    assert like == Event(
        v=1,
        id=f"at://{FAN}/app.bsky.feed.like/3klike",
        platform="bluesky",
        brand="acme",
        kind="reaction",
        time=AT,
        author=Author(id=FAN),
        parent_id=brand_post,
    )
    (share,) = events_of(commit(FAN, REPOST, "3krepost", subject_record(REPOST, brand_post, AT)))
    assert (share.kind, share.parent_id, share.id) == (
        "share",
        brand_post,
        f"at://{FAN}/app.bsky.feed.repost/3krepost",
    )
    others = subject_record(LIKE, post_uri("did:plc:other", "3k"), AT)
    assert events_of(commit(FAN, LIKE, "3k2", others)) == []
    own_like = subject_record(LIKE, brand_post, AT)
    assert events_of(commit(BRAND_DID, LIKE, "3k3", own_like)) == [], "the brand liking itself"


def test_follows_of_the_brand_are_recognised_and_give_no_event() -> None:
    raw = commit(FAN, "app.bsky.graph.follow", "3kf", follow_record(BRAND_DID, AT))
    item = created_item(msgspec.json.decode(json.dumps(raw), type=JetstreamEvent))
    assert item is not None and follows(item, ACME) and not follows(item, GLOBEX)
    assert item_events(item, [ACME, GLOBEX]) == []


def test_deletes_updates_identity_account_and_other_collections_are_skipped() -> None:
    delete = {"did": FAN, "time_us": TIME_US, "kind": "commit"}
    delete["commit"] = {"rev": "3l3f", "operation": "delete", "collection": POST, "rkey": "3k"}
    identity = {"did": FAN, "time_us": TIME_US, "kind": "identity"}
    identity["identity"] = {"did": FAN, "handle": "jo.bsky.social", "seq": 1, "time": "x"}
    account = {"did": FAN, "time_us": TIME_US, "kind": "account"}
    account["account"] = {"active": True, "did": FAN, "seq": 2, "time": "x"}
    profile = commit(FAN, "app.bsky.actor.profile", "self", {"displayName": "acme fan"})
    update = commit(FAN, POST, "r", post_record("acme", AT), operation="update")
    for raw in (delete, identity, account, profile, update):
        assert created_item(msgspec.json.decode(json.dumps(raw), type=JetstreamEvent)) is None


def test_a_record_not_shaped_like_its_lexicon_raises() -> None:
    raw = commit(FAN, LIKE, "r", {"$type": LIKE, "subject": "not a strong ref"})
    with pytest.raises(msgspec.ValidationError):
        created_item(msgspec.json.decode(json.dumps(raw), type=JetstreamEvent))


def test_the_time_is_created_at_but_never_after_the_network_saw_it() -> None:
    assert item_time(AT.isoformat(), TIME_US) == AT
    future = (SEEN + timedelta(hours=3)).isoformat()
    assert item_time(future, TIME_US) == SEEN
    assert item_time("2024-09-09T21:46:02.102+02:00", TIME_US) == AT
    assert item_time("yesterday", TIME_US) == SEEN
    assert item_time("2024-09-09T19:46:02", TIME_US) == SEEN, "no offset: not trusted"


def test_follower_counts() -> None:
    profile = Profile(did=BRAND_DID, handle="acme.bsky.social", followers_count=5120)
    fetched = datetime(2026, 11, 25, 9, 0, 1, 500000, tzinfo=UTC)
    event = follower_event(profile, "acme", fetched)
    assert event == Event(
        v=1,
        id=f"followers:{BRAND_DID}:{int(fetched.timestamp())}",
        platform="bluesky",
        brand="acme",
        kind="follower_count",
        time=fetched,
        author=Author(id=BRAND_DID, handle="acme.bsky.social", is_brand=True, followers=5120),
        metrics={"followers": 5120},
    )
    assert decode_event(encode_event(event)) == event


def test_subscription_urls_carry_collections_dids_and_cursor() -> None:
    subscription = Subscription("wss://jet.example/subscribe", COLLECTIONS, ("did:plc:a",))
    assert subscription.url(1725911162329308) == (
        "wss://jet.example/subscribe?wantedCollections=app.bsky.feed.post"
        "&wantedCollections=app.bsky.feed.like&wantedCollections=app.bsky.feed.repost"
        "&wantedCollections=app.bsky.graph.follow&wantedDids=did%3Aplc%3Aa"
        "&cursor=1725911162329308"
    )
    assert "cursor" not in Subscription("wss://j/subscribe", (POST,)).url(None)


class FakeAppView:
    def __init__(self, answers: list[Profile | SourceError]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def profile(self, actor: str) -> tuple[Profile, float | None]:
        self.asked.append(actor)
        answer = self.answers.pop(0)
        if isinstance(answer, SourceError):
            raise answer
        return answer, None


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def source_with(
    appview: FakeAppView, clock: Clock, url: str = "ws://127.0.0.1:9/subscribe"
) -> BlueskySource:
    config = BlueskyConfig(jetstream_url=url, retry_initial=2.0, follower_interval=900.0)
    return BlueskySource(
        config,
        [ACME, GLOBEX],
        appview,  # type: ignore[arg-type]
        ConnectorStats("bluesky"),
        clock=clock,
        wall=lambda: 1_800_000_000.0,
    )


def queue(source: BlueskySource, *raws: dict[str, Any]) -> None:
    assert source.stream is not None
    for raw in raws:
        source.stream.events.append(msgspec.json.decode(json.dumps(raw), type=JetstreamEvent))


def test_the_cursor_moves_with_published_events_and_is_saved_at_once_on_a_first_run() -> None:
    profile = Profile(did=BRAND_DID, followers_count=7)
    appview, clock = FakeAppView([profile]), Clock()
    source = source_with(appview, clock)
    first = source.poll({})
    assert first.cursors == {CURSOR: {"time_us": "1800000000000000"}}, "now, saved at once"
    assert [e.kind for e in first.events] == ["follower_count"] and appview.asked == [BRAND_DID]
    source.close()

    source = source_with(FakeAppView([profile]), clock)
    source.poll({CURSOR: {"time_us": "1725911000000000"}})
    source.close()
    noise = commit(FAN, POST, "r1", post_record("nothing", AT)) | {"time_us": TIME_US}
    hit = commit(FAN, POST, "r2", post_record("acme!", AT)) | {"time_us": TIME_US + 5}
    queue(source, noise, hit)
    poll = source.poll({})
    assert [e.id for e in poll.events] == [post_uri(FAN, "r2")]
    assert poll.cursors == {CURSOR: {"time_us": str(TIME_US + 5)}}
    queue(source, commit(FAN, POST, "r3", post_record("nothing", AT)) | {"time_us": TIME_US + 9})
    assert source.poll({}).cursors == {}, "no event: the cursor waits ..."
    clock.now += 5.0
    assert source.poll({}).cursors == {CURSOR: {"time_us": str(TIME_US + 9)}}, "... a while"


def test_a_follow_brings_the_follower_count_forward_and_failures_back_off() -> None:
    profile = Profile(did=BRAND_DID, followers_count=7)
    refused = SourceError("rate_limited", "429", wait=30.0)
    appview, clock = FakeAppView([refused, profile, profile]), Clock()
    source = source_with(appview, clock)
    first = source.poll({CURSOR: {"time_us": str(TIME_US)}})
    source.close()
    assert first.events == [] and not first.healthy
    (followers,) = source.followers
    assert followers.due >= clock.now + 30.0, "the server's wait wins over the backoff"
    clock.now = followers.due
    assert [e.metrics for e in source.poll({}).events] == [{"followers": 7}]
    assert followers.due == clock.now + 900.0
    queue(source, commit(FAN, "app.bsky.graph.follow", "f", follow_record(BRAND_DID, AT)))
    source.poll({})
    assert followers.due == clock.now + 60.0, "a follow: a new count a minute after the last"
    clock.now += 60.0
    assert [e.kind for e in source.poll({}).events] == ["follower_count"]


def test_unreadable_records_are_counted_and_skipped() -> None:
    source = source_with(FakeAppView([Profile(did=BRAND_DID)]), Clock())
    source.poll({CURSOR: {"time_us": str(TIME_US)}})
    source.close()
    queue(
        source,
        commit(FAN, LIKE, "bad", {"subject": 42}),
        commit(FAN, POST, "ok", post_record("acme", AT)),
    )
    poll = source.poll({})
    assert [e.id for e in poll.events] == [post_uri(FAN, "ok")]
    assert source._stats.errors["parse"] == 1


def wait_for(probe: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not probe() and time.monotonic() < deadline:
        time.sleep(0.02)
    return probe()


def test_the_client_resumes_from_the_newest_time_rewound_after_a_drop_and_a_silence() -> None:
    with fake_jetstream() as fake:
        before = fake.add_commit(FAN, POST, "r0", post_record("old", AT))
        stats = ConnectorStats("bluesky")
        stream = Jetstream(
            Subscription(fake.url, COLLECTIONS),
            timeout=1.0,
            open_timeout=2.0,
            rewind=0.5,
            backoff=Backoff(0.05, 0.2),
            stats=stats,
        )
        stream.start(before["time_us"] + 1)
        try:
            assert wait_for(lambda: stream.connected)
            first = fake.add_commit(FAN, POST, "r1", post_record("one", AT))
            assert wait_for(lambda: len(stream.events) == 2), "r0 lies within the rewind"
            fake.refuse, fake.drop = 1, True
            fake.add_commit(FAN, POST, "r2", post_record("two", AT))
            assert wait_for(lambda: len(fake.subscriptions) >= 2)
            assert wait_for(
                lambda: [e.commit.rkey for e in stream.events if e.commit][-1:] == ["r2"]
            )
            assert wait_for(lambda: len(fake.subscriptions) >= 3), "silent for 1 s: reconnected"
        finally:
            stream.stop()
    cursors = [int(q["cursor"][0]) for q in fake.subscriptions]
    assert cursors[0] == before["time_us"] + 1 - 500_000
    assert cursors[1] == first["time_us"] - 500_000, "the newest received, rewound"
    assert stats.errors["http"] == 1 and stats.errors["connection"] == 1
    assert stats.errors["timeout"] >= 1 and stats.errors["stream_dropped"] >= 3


def test_a_one_shot_client_stops_at_the_start_time_or_when_silent() -> None:
    with fake_jetstream() as fake:
        old = fake.add_commit(FAN, POST, "r0", post_record("old", AT))
        until = old["time_us"] + 1
        later = fake.add_commit(FAN, POST, "r1", post_record("new", AT))
        assert later["time_us"] >= until
        stream = Jetstream(
            Subscription(fake.url, COLLECTIONS),
            timeout=5.0,
            open_timeout=2.0,
            rewind=0.0,
            backoff=Backoff(0.05, 0.2),
            stats=ConnectorStats("bluesky"),
            until=until,
        )
        stream.start(old["time_us"])
        assert wait_for(lambda: stream.finished)
        assert [e.commit.rkey for e in stream.events if e.commit] == ["r0", "r1"]
        assert not stream.gave_up


def test_configuration_errors_name_what_to_fix() -> None:
    brand = BrandConfig(name="acme", keywords=["acme"], accounts={"bluesky": ["acme.bsky.social"]})

    def accounts(*entries: BlueskyBrandConfig, keywords: bool = True) -> list[BrandAccount]:
        brands = [brand if keywords else BrandConfig(name="acme")]
        return brand_accounts(Config(brands=brands, bluesky=BlueskyConfig(brands=list(entries))))

    with pytest.raises(UsageError, match="nothing to follow"):
        accounts()
    with pytest.raises(UsageError, match=r"not configured: \['globex'\]"):
        accounts(BlueskyBrandConfig(brand="globex"))
    with pytest.raises(UsageError, match="did must look like"):
        accounts(BlueskyBrandConfig(brand="acme", did="acme.bsky.social"))
    with pytest.raises(UsageError, match="no DID, handle or keywords"):
        accounts(BlueskyBrandConfig(brand="acme"), keywords=False)
    (account,) = accounts(BlueskyBrandConfig(brand="acme", did=BRAND_DID, handle="@Acme.com"))
    assert account.handles == ("acme.com", "acme.bsky.social") and account.did == BRAND_DID
