"""Reddit: thing mapping field by field, the request budget, tokens and their renewal, listing
reads down to the cursor, and configuration errors."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import Message
from typing import Any

import msgspec
import pytest

from brandpulse.config import BrandConfig, Config, RedditBrandConfig, RedditConfig
from brandpulse.contract import Author, Event, decode_event, encode_event
from brandpulse.errors import UsageError
from connectors.metrics import ConnectorStats
from connectors.reddit.api import Api
from connectors.reddit.auth import Credentials, Tokens
from connectors.reddit.connector import credentials_from_env, plan
from connectors.reddit.mapping import BrandView, Comment, Listing, Post, item_event, things
from connectors.reddit.quota import Quota, budget_wait
from connectors.reddit.source import OwnItems, RedditSource, Stream, own_key
from connectors.rss.mapping import BrandMatcher
from connectors.runtime import SourceError
from tests.integration.fake_reddit import CLIENT_ID, CLIENT_SECRET, FakeReddit, fake_reddit

ACME = BrandView("acme", frozenset({"acme_support"}))
CREATED = 1764061387.0
TIME = datetime.fromtimestamp(CREATED, UTC)


def t3(**fields: Any) -> dict[str, Any]:
    """A ``t3`` shaped like the API's (extra fields included, to be ignored)."""
    return {
        "kind": "t3",
        "data": {
            "approved_at_utc": None,
            "subreddit": "gadgets",
            "selftext": "Thinking of buying one &amp; keeping it",
            "author_fullname": "t2_8xwlg",
            "title": "Is Acme any good?",
            "subreddit_name_prefixed": "r/gadgets",
            "name": "t3_1h2x9ab",
            "id": "1h2x9ab",
            "score": 17,
            "ups": 17,
            "created": CREATED,
            "created_utc": CREATED,
            "num_comments": 4,
            "over_18": False,
            "permalink": "/r/gadgets/comments/1h2x9ab/is_acme_any_good/",
            "url": "https://www.reddit.com/r/gadgets/comments/1h2x9ab/is_acme_any_good/",
            "author": "sam",
            "is_self": True,
            "preview": {"images": []},
            **fields,
        },
    }


def t1(**fields: Any) -> dict[str, Any]:
    return {
        "kind": "t1",
        "data": {
            "subreddit": "gadgets",
            "link_id": "t3_1h2x9ab",
            "link_author": "sam",
            "link_title": "Is Acme any good?",
            "name": "t1_lz8k2mq",
            "id": "lz8k2mq",
            "parent_id": "t3_1h2x9ab",
            "body": "Mine broke after a week",
            "author": "jo",
            "author_fullname": "t2_jo",
            "created_utc": CREATED,
            "permalink": "/r/gadgets/comments/1h2x9ab/is_acme_any_good/lz8k2mq/",
            "score": -3,
            "replies": "",
            "gildings": {},
            **fields,
        },
    }


def item(thing: dict[str, Any]) -> Post | Comment:
    listing = {"kind": "Listing", "data": {"after": None, "before": None, "children": [thing]}}
    (decoded,) = things(msgspec.json.decode(json.dumps(listing), type=Listing))
    return decoded


def event(
    thing: dict[str, Any], brand: BrandView = ACME, own: frozenset[str] = frozenset()
) -> Event:
    mapped = item_event(item(thing), brand, own)
    assert mapped is not None
    assert decode_event(encode_event(mapped)) == mapped, "valid under the contract"
    return mapped


def test_a_post_by_someone_else_is_a_mention_field_by_field() -> None:
    assert event(t3()) == Event(
        v=1,
        id="t3_1h2x9ab",
        platform="reddit",
        brand="acme",
        kind="mention",
        time=TIME,
        author=Author(id="t2_8xwlg", handle="sam"),
        text="Is Acme any good?\n\nThinking of buying one &amp; keeping it",
        url="https://www.reddit.com/r/gadgets/comments/1h2x9ab/is_acme_any_good/",
        metrics={"score": 17, "replies": 4},
    )


def test_a_comment_field_by_field_and_its_kinds() -> None:
    assert event(t1()) == Event(
        v=1,
        id="t1_lz8k2mq",
        platform="reddit",
        brand="acme",
        kind="mention",
        time=TIME,
        author=Author(id="t2_jo", handle="jo"),
        parent_id="t3_1h2x9ab",
        text="Mine broke after a week",
        url="https://www.reddit.com/r/gadgets/comments/1h2x9ab/is_acme_any_good/lz8k2mq/",
        metrics={"score": 0},
    )
    on_brand_post = event(t1(link_author="Acme_Support"))
    assert (on_brand_post.kind, on_brand_post.parent_id) == ("comment", "t3_1h2x9ab")
    answer = event(t1(parent_id="t1_brand1"), own=frozenset({"t1_brand1"}))
    assert (answer.kind, answer.parent_id) == ("comment", "t1_brand1")
    in_brand_thread = event(t1(parent_id="t1_other", link_author=""), own=frozenset({"t3_1h2x9ab"}))
    assert in_brand_thread.kind == "comment"
    brand_reply = event(t1(author="acme_support", author_fullname="t2_acme", parent_id="t1_x"))
    assert (brand_reply.kind, brand_reply.parent_id, brand_reply.author) == (
        "reply",
        "t1_x",
        Author(id="t2_acme", handle="acme_support", is_brand=True),
    )


def test_the_brands_posts_deleted_authors_and_link_posts() -> None:
    own = event(t3(author="acme_support", author_fullname="t2_acme", selftext=""))
    assert (own.kind, own.author, own.text) == (
        "post",
        Author(id="t2_acme", handle="acme_support", is_brand=True),
        "Is Acme any good?",
    )
    gone = event(t3(author="[deleted]", author_fullname=None, score=-5))
    assert gone.author is None and gone.metrics == {"score": 0, "replies": 4}
    nameless = event(t3(author_fullname=None))
    assert nameless.author == Author(id="sam", handle="sam")


def test_keywords_only_drops_mentions_without_the_keywords_but_keeps_answers() -> None:
    matcher = BrandMatcher.of(BrandConfig(name="acme", keywords=["acme"]))
    strict = BrandView("acme", frozenset({"acme_support"}), matcher)
    assert item_event(item(t1(body="nothing to see")), strict, frozenset()) is None
    assert event(t1(body="my ACME toaster"), strict).kind == "mention"
    answer = event(t1(body="thanks!", link_author="acme_support"), strict)
    assert answer.kind == "comment"
    assert event(t1(author="acme_support", body="hi"), strict).kind == "reply"


def test_listings_skip_other_kinds() -> None:
    body = {
        "kind": "Listing",
        "data": {
            "after": "t1_b",
            "before": None,
            "children": [t1(), {"kind": "more", "data": {"count": 3, "children": ["x"]}}, t3()],
        },
    }
    listing = msgspec.json.decode(json.dumps(body), type=Listing)
    assert [type(i).__name__ for i in things(listing)] == ["Comment", "Post"]
    assert listing.data.after == "t1_b"


def headers(**values: str) -> Message:
    message = Message()
    for name, value in values.items():
        message[name.replace("_", "-")] = value
    return message


def test_the_budget_waits_for_the_reset_only_when_spent() -> None:
    spent = headers(X_Ratelimit_Used="600", X_Ratelimit_Remaining="0.0", X_Ratelimit_Reset="37")
    assert budget_wait(spent, 0.0, now=0.0) == 37.0
    left = headers(X_Ratelimit_Used="12", X_Ratelimit_Remaining="588.0", X_Ratelimit_Reset="37")
    assert budget_wait(left, 0.0, now=0.0) is None
    assert budget_wait(left, 600.0, now=0.0) == 37.0, "a reserve keeps requests back"
    assert budget_wait(headers(Retry_After="5", X_Ratelimit_Remaining="3.0"), 0.0, 0.0) == 5.0
    assert budget_wait(headers(), 0.0, 0.0) is None
    assert budget_wait(headers(X_Ratelimit_Remaining="0", X_Ratelimit_Reset="soon"), 0, 0) is None


def test_the_quota_pauses_every_request_until_the_reset() -> None:
    now = [100.0]
    quota = Quota(clock=lambda: now[0])
    assert quota.update(headers(X_Ratelimit_Used="7", X_Ratelimit_Remaining="9.0")) is None
    assert (quota.used, quota.paused()) == (7, False)
    assert quota.update(headers(X_Ratelimit_Remaining="0.0", X_Ratelimit_Reset="30")) == 30
    assert quota.ready_at == 130.0 and quota.paused()
    now[0] = 130.0
    assert not quota.paused()


def test_the_password_grant_and_basic_auth_keep_secrets_out_of_repr() -> None:
    app = Credentials("id", "secret")
    assert app.grant() == [("grant_type", "client_credentials")]
    assert app.basic() == "Basic aWQ6c2VjcmV0"
    user = Credentials("id", "secret", "me", "hunter2")
    assert user.grant() == [("grant_type", "password"), ("username", "me"), ("password", "hunter2")]
    assert "secret" not in repr(user) and "hunter2" not in repr(user)


@pytest.fixture
def fake() -> Iterator[FakeReddit]:
    with fake_reddit() as server:
        yield server


def tokens(fake: FakeReddit, clock: Any = None, secret: str = CLIENT_SECRET) -> Tokens:
    url = f"{fake.url}/api/v1/access_token"
    if clock is None:
        return Tokens(url, Credentials(CLIENT_ID, secret), "test-agent", 5.0)
    return Tokens(url, Credentials(CLIENT_ID, secret), "test-agent", 5.0, clock)


def test_tokens_are_cached_and_renewed_before_they_expire(fake: FakeReddit) -> None:
    now = [0.0]
    fake.token_lifetime = 3600.0
    cache = tokens(fake, lambda: now[0])
    assert cache.bearer() == cache.bearer() == "token-1"
    now[0] = 3600.0 - 61.0
    assert cache.bearer() == "token-1"
    now[0] = 3600.0 - 60.0
    assert cache.bearer() == "token-2", "renewed a minute before expires_in"
    cache.invalidate()
    assert cache.bearer() == "token-3" and fake.grants == ["client_credentials"] * 3


def test_refused_credentials_and_grants_are_auth_failures(fake: FakeReddit) -> None:
    with pytest.raises(SourceError, match=r"HTTP 401.*REDDIT_CLIENT_ID") as wrong:
        tokens(fake, secret="wrong").bearer()
    assert wrong.value.kind == "auth" and "wrong" not in str(wrong.value)
    url = f"{fake.url}/api/v1/access_token"
    user = Tokens(url, Credentials(CLIENT_ID, CLIENT_SECRET, "me", "pw"), "ua", 5.0)
    with pytest.raises(SourceError, match="token refused: unsupported_grant_type"):
        user.bearer()


def test_a_401_renews_the_token_once(fake: FakeReddit) -> None:
    fake.post("acme", "jo", "acme")
    api = Api(fake.url, tokens(fake), Quota(), "test-agent", 5.0)
    assert b"t3_" in api.get("/r/acme/new")
    fake.tokens.clear()
    assert b"t3_" in api.get("/r/acme/new")
    assert [r.status for r in fake.api_requests()] == [200, 401, 200]
    fake.tokens.clear()
    fake.token_lifetime = 0.0  # every new token is dead on arrival
    with pytest.raises(SourceError) as refused:
        api.get("/r/acme/new")
    assert refused.value.kind == "auth" and len(fake.grants) == 3, "renewed once, not again"
    assert [r.status for r in fake.api_requests()][3:] == [401, 401]


def test_a_429_carries_the_reset_and_pauses_the_quota(fake: FakeReddit) -> None:
    quota = Quota()
    api = Api(fake.url, tokens(fake), quota, "test-agent", 5.0)
    fake.limited, fake.reset = 1, 40
    with pytest.raises(SourceError) as limited:
        api.get("/r/acme/new")
    assert (limited.value.kind, limited.value.wait) == ("rate_limited", 40.0)
    assert quota.paused()


def source(fake: FakeReddit, overlap: float = 0.0) -> tuple[RedditSource, list[Stream]]:
    config = RedditConfig(overlap=overlap, retry_initial=0.01)
    api = Api(fake.url, tokens(fake), Quota(), "test-agent", 5.0)
    streams = [
        Stream("acme/r/acme/new", ACME, "/r/acme/new"),
        Stream("acme/r/acme/comments", ACME, "/r/acme/comments"),
    ]
    return RedditSource(config, api, streams, [], ConnectorStats("reddit")), streams


def test_a_first_read_takes_the_newest_page_and_later_reads_page_down_to_the_cursor(
    fake: FakeReddit,
) -> None:
    names = [fake.post("acme", "jo", f"acme {n}") for n in range(150)]
    reddit, _ = source(fake)
    first = reddit.poll({})
    assert [e.id for e in first.events] == names[50:], "oldest first, newest page only"
    cursor = first.cursors["acme/r/acme/new"]
    assert cursor["name"] == names[-1] and float(cursor["created"]) > 0
    more = [fake.post("acme", "jo", f"acme {n}") for n in range(250)]
    reddit.jobs[0].due = 0.0
    second = reddit.poll(first.cursors)
    assert [e.id for e in second.events] == [names[-1], *more], "the cursor item is read again"
    pages = [r.query.get("after") for r in fake.api_requests() if r.path == "/r/acme/new"]
    assert pages[0] is None and pages[1] is None and all(pages[2:]) and len(pages) == 4
    assert second.cursors["acme/r/acme/new"]["name"] == more[-1]


def test_a_failed_page_fails_the_whole_read_and_keeps_the_cursor(fake: FakeReddit) -> None:
    names = [fake.post("acme", "jo", f"acme {n}") for n in range(5)]
    reddit, _ = source(fake, overlap=2.0)
    cursors = {"acme/r/acme/new": reddit.poll({}).cursors["acme/r/acme/new"]}
    [fake.post("acme", "jo", f"acme {n}") for n in range(200)]
    fake.fault_when, fake.failing = (lambda query: "after" in query), 1
    reddit.jobs[0].due = 0.0
    failed = reddit.poll(cursors)
    assert failed.events == [] and "acme/r/acme/new" not in failed.cursors
    assert not failed.healthy and reddit.jobs[0].backoff.failures == 1
    reddit.jobs[0].due = 0.0
    again = reddit.poll(cursors)
    assert [e.id for e in again.events][:3] == names[2:], "2 s of overlap read again"
    assert len(again.events) == 203 and again.healthy


def test_a_spent_budget_postpones_reads_without_failing_them(fake: FakeReddit) -> None:
    fake.post("acme", "jo", "acme")
    fake.spent, fake.reset = 1, 30
    reddit, _ = source(fake)
    result = reddit.poll({})
    assert len(result.events) == 1 and result.healthy
    new, comments = reddit.jobs
    assert new.succeeded and not comments.succeeded and comments.backoff.failures == 0
    assert comments.due == reddit.next_due() and 29 < reddit.next_due() - time.monotonic() <= 30
    assert len(fake.api_requests()) == 1


def test_the_brands_own_items_are_saved_with_the_cursors(fake: FakeReddit) -> None:
    post = fake.post("gadgets", "sam", "acme?")
    reddit, _ = source(fake)
    saved = {own_key("acme"): OwnItems({"t1_old": "1.0"}).cursor()}
    brand_comment = fake.comment(post, "acme_support", "hi")
    fake.data(brand_comment)["subreddit"] = "acme"
    answer = fake.comment(brand_comment, "sam", "thanks", link_author="sam")
    fake.data(answer)["subreddit"] = "acme"
    result = reddit.poll(saved)
    kinds = {e.id: e.kind for e in result.events}
    assert kinds == {brand_comment: "reply", answer: "comment"}
    assert set(result.cursors[own_key("acme")]) == {"t1_old", brand_comment}
    restarted, _ = source(fake)
    late = fake.comment(brand_comment, "kim", "me too", link_author="sam")
    fake.data(late)["subreddit"] = "acme"
    again = restarted.poll(result.cursors)
    assert {e.id: e.kind for e in again.events}[late] == "comment"


def test_own_items_keep_the_newest() -> None:
    own = OwnItems({}, capacity=2)
    for n, name in enumerate(("a", "b", "c")):
        own.add(name, float(n))
    assert set(own.cursor()) == {"b", "c"} and "a" not in own


def config(*entries: RedditBrandConfig) -> Config:
    brands = [
        BrandConfig(name="acme", keywords=["acme"], accounts={"reddit": ["u/Acme_Support"]}),
        BrandConfig(name="bare"),
    ]
    return Config(reddit=RedditConfig(brands=list(entries)), brands=brands)


def test_the_plan_lists_subreddits_searches_and_subscribers() -> None:
    entry = RedditBrandConfig(
        brand="acme",
        subreddits=["r/acme", "gadgets+tech"],
        search=["acme corp"],
        search_in=["gadgets"],
        follower_subreddit="acme",
        keywords_only=True,
    )
    streams, subscribers = plan(config(entry))
    assert [(s.key, s.path) for s in streams] == [
        ("acme/r/acme/new", "/r/acme/new"),
        ("acme/r/acme/comments", "/r/acme/comments"),
        ("acme/r/gadgets+tech/new", "/r/gadgets+tech/new"),
        ("acme/r/gadgets+tech/comments", "/r/gadgets+tech/comments"),
        ("acme/r/gadgets/search/acme corp", "/r/gadgets/search"),
    ]
    assert streams[-1].params == (
        ("q", "acme corp"),
        ("sort", "new"),
        ("type", "link"),
        ("restrict_sr", "1"),
    )
    assert streams[0].brand.matcher is not None and streams[-1].brand.matcher is None
    assert streams[0].brand.handles == frozenset({"acme_support"})
    assert [(s.brand, s.subreddit) for s in subscribers] == [("acme", "acme")]
    (everywhere,), _ = plan(config(RedditBrandConfig(brand="acme", search=["acme"])))
    assert (everywhere.path, everywhere.params) == (
        "/search",
        (("q", "acme"), ("sort", "new"), ("type", "link")),
    )


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (RedditBrandConfig(brand="nope", subreddits=["x"]), "not configured: \\['nope'\\]"),
        (RedditBrandConfig(brand="acme"), "nothing to read"),
        (RedditBrandConfig(brand="bare", subreddits=["x"], keywords_only=True), "no keywords"),
        (RedditBrandConfig(brand="acme", subreddits=["../api"]), "not a subreddit name"),
    ],
)
def test_configuration_errors_name_what_to_fix(entry: RedditBrandConfig, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        plan(config(entry))


def test_credentials_come_from_the_environment() -> None:
    env = {"REDDIT_CLIENT_ID": "id", "REDDIT_CLIENT_SECRET": "s"}
    assert credentials_from_env(env) == Credentials("id", "s")
    user = credentials_from_env({**env, "REDDIT_USERNAME": "me", "REDDIT_PASSWORD": "pw"})
    assert user.grant()[0] == ("grant_type", "password")
    with pytest.raises(UsageError, match="REDDIT_PASSWORD is not set"):
        credentials_from_env({**env, "REDDIT_USERNAME": "me"})
    with pytest.raises(UsageError, match="REDDIT_CLIENT_SECRET is not set"):
        credentials_from_env({"REDDIT_CLIENT_ID": "id"})
