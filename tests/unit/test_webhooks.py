"""The webhook receiver without Kafka: signatures, the handshake, mapping, statuses, limits."""

from __future__ import annotations

import http.client
import json
import logging
import threading
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from http.server import ThreadingHTTPServer
from typing import Any

import pytest

from brandpulse.config import Config, WebhooksConfig
from brandpulse.contract import Author, Event, decode_event, encode_event
from brandpulse.errors import UsageError
from connectors.metrics import ConnectorStats
from connectors.webhooks.app import DeliveryFailed, Response, Secrets, Webhooks
from connectors.webhooks.server import WebhookServer, _check
from connectors.webhooks.signatures import (
    base64_signature,
    hex_signature,
    valid_base64_signature,
    valid_hex_signature,
)
from tests.integration.harness import FakeHandler, serving

SECRETS = Secrets("app-secret", "verify-me", "shop-secret", "generic-secret")
PAGE, IG = "1234567890", "17841405309211844"
CONFIG = WebhooksConfig(
    max_body_bytes=4096,
    meta_pages={PAGE: "acme", IG: "globex"},
    shopify_shops={"acme.myshopify.com": "acme"},
)

# Shaped like the examples of Meta's "Webhooks for Pages" (feed) and Instagram webhooks
# (comments, mentions) references.
FEED_COMMENT = {
    "from": {"id": "44444444", "name": "Mr. Facebook"},
    "post": {
        "status_type": "mobile_status_update",
        "is_published": True,
        "updated_time": "2018-03-07T00:45:09+0000",
        "permalink_url": "https://www.facebook.com/permalink.php?story_fbid=444444444&id=44444444",
        "promotion_status": "inactive",
        "id": "44444444_444444444",
    },
    "message": "Example comment",
    "post_id": "44444444_444444444",
    "comment_id": "44444444_555555555",
    "created_time": 1520383571,
    "item": "comment",
    "parent_id": "44444444_444444444",
    "verb": "add",
}
FEED_POST = {
    "from": {"id": "232323232", "name": "Cinderella Hoover"},
    "item": "post",
    "post_id": "1234567890_1111",
    "verb": "add",
    "created_time": 1520544814,
    "is_hidden": False,
    "message": "It's Thursday and I want to eat cake.",
}
FEED_REACTION = {
    "from": {"id": "232323232", "name": "Cinderella Hoover"},
    "item": "reaction",
    "reaction_type": "love",
    "parent_id": "1234567890_1111",
    "post_id": "1234567890_1111",
    "verb": "add",
    "created_time": 1520544814,
}
IG_COMMENT = {
    "from": {"id": "232323232", "username": "test"},
    "media": {"id": "123123123", "media_product_type": "FEED"},
    "id": "17865799348089039",
    "parent_id": "1231231234",
    "text": "This is an example.",
}
IG_MENTION = {"media_id": "17887498072083520", "comment_id": "17887498072083521"}
# Shopify's orders/create example, abridged to a few of its many fields.
SHOPIFY_ORDER = {
    "id": 820982911946154508,
    "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
    "email": "jon@example.com",
    "created_at": "2021-12-31T19:00:00-05:00",
    "currency": "USD",
    "total_price": "598.94",
    "financial_status": "voided",
    "line_items": [{"id": 866550311766439020, "price": "199.00", "quantity": 1}],
}
T_FEED = datetime(2018, 3, 7, 0, 46, 11, tzinfo=UTC)  # 1520383571
T_POST = datetime(2018, 3, 8, 21, 33, 34, tzinfo=UTC)  # 1520544814
T_IG = datetime(2018, 3, 9, 19, 16, 8, tzinfo=UTC)  # 1520622968


def delivery(obj: str, account: str, field: str, value: dict[str, Any]) -> bytes:
    change = {"field": field, "value": value}
    entry = {"id": account, "time": 1520622968, "changes": [change]}
    return json.dumps({"object": obj, "entry": [entry]}).encode()


class FakeSink:
    def __init__(self, fail: bool = False) -> None:
        self.events: list[Event] = []
        self.fail = fail

    def publish_events(self, events: list[Event]) -> int:
        if self.fail:
            raise DeliveryFailed("broker down")
        self.events.extend(events)
        return len(events)


@pytest.fixture
def sink() -> FakeSink:
    return FakeSink()


@pytest.fixture
def stats() -> ConnectorStats:
    return ConnectorStats("webhooks")


@pytest.fixture
def app(sink: FakeSink, stats: ConnectorStats) -> Webhooks:
    return Webhooks(CONFIG, frozenset({"acme", "globex"}), SECRETS, sink, stats)


def post_meta(app: Webhooks, body: bytes, signature: str | None = None) -> Response:
    sig = hex_signature("app-secret", body) if signature is None else signature
    return app.post("/meta", {"X-Hub-Signature-256": sig}, body)


# --- signatures ---------------------------------------------------------------------------


def test_hex_signatures_accept_only_the_exact_sha256_hmac_of_the_raw_body() -> None:
    body = b'{"object":"page"}'
    good = hex_signature("s3cret", body)
    assert valid_hex_signature(good, "s3cret", body)
    assert valid_hex_signature(good.upper().replace("SHA256=", "sha256="), "s3cret", body)
    assert not valid_hex_signature(None, "s3cret", body)
    assert not valid_hex_signature("", "s3cret", body)
    assert not valid_hex_signature(good, "other", body)
    assert not valid_hex_signature(good, "s3cret", body + b" ")
    assert not valid_hex_signature(good[:-2], "s3cret", body)  # truncated, even length
    assert not valid_hex_signature(good[:-1], "s3cret", body)  # truncated, odd length
    assert not valid_hex_signature(good.replace("sha256=", "sha1="), "s3cret", body)
    assert not valid_hex_signature(good.removeprefix("sha256="), "s3cret", body)


def test_base64_signatures_as_shopify_sends_them() -> None:
    body = json.dumps(SHOPIFY_ORDER).encode()
    good = base64_signature("shop-secret", body)
    assert valid_base64_signature(good, "shop-secret", body)
    assert not valid_base64_signature(None, "shop-secret", body)
    assert not valid_base64_signature(good, "wrong", body)
    assert not valid_base64_signature(good[:-4], "shop-secret", body)
    assert not valid_base64_signature("not base64!", "shop-secret", body)
    assert not valid_base64_signature(hex_signature("shop-secret", body), "shop-secret", body)


@pytest.mark.parametrize(
    "case",
    [
        ("/meta", "X-Hub-Signature-256", None),
        ("/meta", "X-Hub-Signature-256", "sha256=00"),
        ("/meta", "X-Hub-Signature-256", "truncate"),
        ("/meta", "X-Hub-Signature-256", "sha1"),
        ("/shopify", "X-Shopify-Hmac-Sha256", None),
        ("/shopify", "X-Shopify-Hmac-Sha256", "truncate"),
        ("/hooks/generic", "X-Brandpulse-Signature", None),
        ("/hooks/generic", "X-Brandpulse-Signature", "truncate"),
    ],
)
def test_a_missing_wrong_or_truncated_signature_is_401_and_nothing_is_published(
    app: Webhooks, sink: FakeSink, stats: ConnectorStats, case: tuple[str, str, str | None]
) -> None:
    path, header, signature = case
    body = delivery("page", PAGE, "feed", FEED_POST)
    valid = hex_signature("app-secret", body)
    forms = {"truncate": valid[:-8], "sha1": "sha1=" + valid.removeprefix("sha256=")}
    headers = {"X-Shopify-Topic": "orders/create", "X-Shopify-Shop-Domain": "acme.myshopify.com"}
    if signature is not None:
        headers[header] = forms.get(signature, signature)
    assert app.post(path, headers, body).status == 401
    assert sink.events == []
    assert stats.errors == {"bad_signature": 1}


# --- the handshake ------------------------------------------------------------------------


def handshake(app: Webhooks, mode: str, token: str, challenge: str = "1158201444") -> Response:
    query = {"hub.mode": [mode], "hub.verify_token": [token], "hub.challenge": [challenge]}
    return app.get("/meta", query)


def test_the_verification_handshake_echoes_the_challenge_only_for_the_right_token(
    app: Webhooks, stats: ConnectorStats
) -> None:
    assert handshake(app, "subscribe", "verify-me") == Response(200, b"1158201444")
    assert handshake(app, "subscribe", "verify-m").status == 403
    assert handshake(app, "subscribe", "verify-me!").status == 403
    assert handshake(app, "unsubscribe", "verify-me").status == 403
    assert app.get("/meta", {}).status == 403
    assert handshake(app, "subscribe", "verify-me", challenge="").status == 400
    assert app.get("/shopify", {}).status == 404
    assert stats.errors == {"bad_token": 4}


def test_paths_without_their_secrets_are_off(sink: FakeSink, stats: ConnectorStats) -> None:
    only_shopify = Webhooks(CONFIG, frozenset(), Secrets(shopify="s"), sink, stats)
    assert only_shopify.paths == ["/shopify"]
    body = delivery("page", PAGE, "feed", FEED_POST)
    assert post_meta(only_shopify, body).status == 404
    assert handshake(only_shopify, "subscribe", "").status == 404
    half_meta = Secrets.from_env({"META_APP_SECRET": "x"})
    assert half_meta.missing()["/meta"] == ["META_VERIFY_TOKEN"]


def test_no_secret_at_all_or_an_unconfigured_brand_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="META_APP_SECRET and META_VERIFY_TOKEN, SHOPIFY_"):
        _check(Config(), Secrets())
    mapped = Config(webhooks=WebhooksConfig(meta_pages={PAGE: "nobody"}))
    with pytest.raises(UsageError, match="nobody"):
        _check(mapped, SECRETS)
    assert _check(Config(), Secrets(generic="g")) == ["/hooks/generic"]


# --- Meta mapping -------------------------------------------------------------------------


def published(app: Webhooks, sink: FakeSink, body: bytes) -> Event:
    assert post_meta(app, body).status == 200
    (event,) = sink.events
    assert decode_event(encode_event(event)) == event  # valid under the contract
    return event


def test_a_page_feed_comment_maps_field_by_field(app: Webhooks, sink: FakeSink) -> None:
    event = published(app, sink, delivery("page", PAGE, "feed", FEED_COMMENT))
    assert event == Event(
        v=1,
        id="44444444_555555555",
        platform="facebook",
        brand="acme",
        kind="comment",
        time=T_FEED,
        author=Author(id="44444444"),
        thread_id="44444444_444444444",
        parent_id="44444444_444444444",
        text="Example comment",
    )


def test_a_comment_on_a_comment_is_a_reply_to_it(app: Webhooks, sink: FakeSink) -> None:
    value = {**FEED_COMMENT, "parent_id": "44444444_555555550", "from": {"id": PAGE}}
    event = published(app, sink, delivery("page", PAGE, "feed", value))
    assert (event.kind, event.parent_id, event.thread_id) == (
        "reply",
        "44444444_555555550",
        "44444444_444444444",
    )
    assert event.author == Author(id=PAGE, is_brand=True)


def test_a_visitor_post_is_a_mention_and_the_pages_own_post_a_post(
    app: Webhooks, sink: FakeSink
) -> None:
    event = published(app, sink, delivery("page", PAGE, "feed", FEED_POST))
    assert event == Event(
        v=1,
        id="1234567890_1111",
        platform="facebook",
        brand="acme",
        kind="mention",
        time=T_POST,
        author=Author(id="232323232"),
        thread_id="1234567890_1111",
        text="It's Thursday and I want to eat cake.",
    )
    sink.events.clear()
    own = {**FEED_POST, "from": {"id": PAGE, "name": "Acme"}, "item": "status"}
    event = published(app, sink, delivery("page", PAGE, "feed", own))
    assert (event.kind, event.author) == ("post", Author(id=PAGE, is_brand=True))


def test_a_reaction_names_the_item_reacted_to(app: Webhooks, sink: FakeSink) -> None:
    event = published(app, sink, delivery("page", PAGE, "feed", FEED_REACTION))
    assert event == Event(
        v=1,
        id="1234567890_1111/reaction/232323232",
        platform="facebook",
        brand="acme",
        kind="reaction",
        time=T_POST,
        author=Author(id="232323232"),
        thread_id="1234567890_1111",
        parent_id="1234567890_1111",
    )


def test_edits_removals_and_other_fields_publish_nothing(app: Webhooks, sink: FakeSink) -> None:
    for body in (
        delivery("page", PAGE, "feed", {**FEED_COMMENT, "verb": "remove"}),
        delivery("page", PAGE, "feed", {**FEED_POST, "verb": "edited"}),
        delivery("page", PAGE, "feed", {"item": "rating", "verb": "add", "post_id": "1"}),
        delivery("page", PAGE, "ratings", {"anything": 1}),
        delivery("instagram", IG, "story_insights", {"media_id": "1"}),
    ):
        assert post_meta(app, body).status == 200
    assert sink.events == []


def test_instagram_comments_and_replies_map_field_by_field(app: Webhooks, sink: FakeSink) -> None:
    event = published(app, sink, delivery("instagram", IG, "comments", IG_COMMENT))
    assert event == Event(
        v=1,
        id="17865799348089039",
        platform="instagram",
        brand="globex",
        kind="reply",
        time=T_IG,
        author=Author(id="232323232", handle="test"),
        thread_id="123123123",
        parent_id="1231231234",
        text="This is an example.",
    )
    sink.events.clear()
    top_level = {k: v for k, v in IG_COMMENT.items() if k != "parent_id"}
    event = published(app, sink, delivery("instagram", IG, "comments", top_level))
    assert (event.kind, event.parent_id) == ("comment", "123123123")


WITHOUT_TEXT = Event(
    v=1,
    id="17887498072083521",
    platform="instagram",
    brand="globex",
    kind="mention",
    time=T_IG,
    thread_id="17887498072083520",
)


def test_instagram_mentions_in_captions_and_comments(app: Webhooks, sink: FakeSink) -> None:
    event = published(app, sink, delivery("instagram", IG, "mentions", IG_MENTION))
    assert event == WITHOUT_TEXT
    sink.events.clear()
    caption = {"media_id": "17887498072083520"}
    assert published(app, sink, delivery("instagram", IG, "mentions", caption)).id == (
        "17887498072083520"
    )


def test_times_in_milliseconds_and_iso_8601_are_understood(app: Webhooks, sink: FakeSink) -> None:
    for created in (1520544814000, "2018-03-08T21:33:34+0000"):
        value = {**FEED_POST, "created_time": created}
        assert published(app, sink, delivery("page", PAGE, "feed", value)).time == T_POST
        sink.events.clear()


def test_an_unknown_account_is_202_and_counted(
    app: Webhooks, sink: FakeSink, stats: ConnectorStats
) -> None:
    assert post_meta(app, delivery("page", "999", "feed", FEED_POST)).status == 202
    assert sink.events == []
    assert stats.errors == {"unknown_account": 1}


def test_a_signed_body_that_is_not_a_delivery_is_400(
    app: Webhooks, sink: FakeSink, stats: ConnectorStats
) -> None:
    for body in (b"not json", b'{"entry": []}', delivery("page", PAGE, "feed", {"verb": "add"})):
        assert post_meta(app, body).status == 400
    assert sink.events == []
    assert stats.errors == {"bad_payload": 3}


def test_a_kafka_failure_is_503_so_the_platform_retries(stats: ConnectorStats) -> None:
    failing = Webhooks(CONFIG, frozenset(), SECRETS, FakeSink(fail=True), stats)
    assert post_meta(failing, delivery("page", PAGE, "feed", FEED_POST)).status == 503
    assert stats.errors == {"kafka": 1}


# --- Shopify and generic ------------------------------------------------------------------


def post_shopify(app: Webhooks, body: bytes, shop: str, topic: str = "orders/create") -> Response:
    headers = {
        "X-Shopify-Hmac-Sha256": base64_signature("shop-secret", body),
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": shop,
    }
    return app.post("/shopify", headers, body)


def test_a_shopify_order_becomes_an_order_of_the_brands_shop(
    app: Webhooks, sink: FakeSink, stats: ConnectorStats
) -> None:
    body = json.dumps(SHOPIFY_ORDER).encode()
    assert post_shopify(app, body, "acme.myshopify.com").status == 200
    (order,) = sink.events
    assert json.loads(encode_event(order)) == {
        "v": 1,
        "id": "shopify:820982911946154508",
        "platform": "shop",
        "brand": "acme",
        "kind": "order",
        "time": "2021-12-31T19:00:00-05:00",
    }
    assert order.time == datetime(2021, 12, 31, 19, tzinfo=timezone(timedelta(hours=-5)))
    assert decode_event(encode_event(order)) == order  # a valid event of the contract
    assert post_shopify(app, body, "acme.myshopify.com", topic="orders/updated").status == 200
    assert post_shopify(app, body, "other.myshopify.com").status == 202
    assert post_shopify(app, b'{"id": 1}', "acme.myshopify.com").status == 400
    assert len(sink.events) == 1
    assert stats.errors == {"unknown_account": 1, "bad_payload": 1}


def test_generic_visits_and_orders_one_or_many_with_their_brand_checked(
    app: Webhooks, sink: FakeSink, stats: ConnectorStats
) -> None:
    visit = {"brand": "acme", "kind": "visit", "id": "v-1", "time": "2026-11-25T14:03:07Z"}
    order = {**visit, "kind": "order", "id": "o-1", "source": "webshop"}
    stranger = {**visit, "brand": "initech"}

    def post(payload: object) -> int:
        body = json.dumps(payload).encode()
        headers = {"X-Brandpulse-Signature": hex_signature("generic-secret", body)}
        return app.post("/hooks/generic", headers, body).status

    assert post(visit) == 200
    assert post([order, stranger]) == 200
    assert post(stranger) == 202
    assert post({**visit, "kind": "purchase"}) == 400  # visits and orders only
    assert post({**visit, "source": "Bad Source"}) == 400
    assert post({**visit, "time": "2026-11-25T14:03:07"}) == 400  # no time zone
    assert post({**visit, "extra": 1}) == 400
    assert [(e.platform, e.kind, e.id, e.brand) for e in sink.events] == [
        ("web", "visit", "generic:v-1", "acme"),
        ("shop", "order", "webshop:o-1", "acme"),
    ]
    assert all(decode_event(encode_event(e)) == e for e in sink.events)
    assert stats.errors == {"unknown_account": 2, "bad_payload": 4}


# --- size limit, over HTTP ----------------------------------------------------------------


@pytest.fixture
def server(app: Webhooks) -> Iterator[WebhookServer]:
    running = WebhookServer(("127.0.0.1", 0), app)
    with serving(running):
        yield running


def test_an_oversized_body_is_413_before_it_is_read(
    server: WebhookServer, sink: FakeSink, stats: ConnectorStats
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=5)
    connection.putrequest("POST", "/meta")
    connection.putheader("Content-Length", str(CONFIG.max_body_bytes + 1))
    connection.endheaders()  # no body sent: the answer must not wait for it
    assert connection.getresponse().status == 413
    assert stats.errors == {"too_large": 1}
    assert sink.events == []


def test_a_body_within_the_limit_is_read_and_handled_over_http(
    server: WebhookServer, sink: FakeSink
) -> None:
    body = delivery("page", PAGE, "feed", FEED_POST)
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=5)
    connection.request(
        "POST", "/meta", body, {"X-Hub-Signature-256": hex_signature("app-secret", body)}
    )
    assert connection.getresponse().status == 200
    assert [e.id for e in sink.events] == ["1234567890_1111"]
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=5)
    connection.putrequest("POST", "/meta", skip_accept_encoding=True)
    connection.putheader("Transfer-Encoding", "chunked")
    connection.endheaders()
    assert connection.getresponse().status == 411


# --- Instagram mentions' text from the Graph API -------------------------------------------

TOKEN = "EAAGm0PX4ZCpsBAPageTokenNeverLogged"
COMMENT_FIELDS = "timestamp,like_count,text,username,media{id,permalink}"
MEDIA_FIELDS = "caption,timestamp,username,permalink,like_count,comments_count"
# Shaped like the examples of Meta's "IG User Mentioned Comment" and "Mentioned Media"
# references: the mention under its field, next to the id of the account asked.
MENTIONED_COMMENT: dict[str, Any] = {
    "mentioned_comment": {
        "timestamp": "2017-05-03T16:09:08+0000",
        "like_count": 185,
        "text": "@globex challenge? This is the best thing ever",
        "username": "bluebottle_fan",
        "media": {
            "id": "17887498072083520",
            "permalink": "https://www.instagram.com/p/BZ6tV9AFUUz/",
        },
        "id": "17887498072083521",
    },
    "id": IG,
}
MENTIONED_MEDIA: dict[str, Any] = {
    "mentioned_media": {
        "caption": "@globex There can be only one!",
        "timestamp": "2017-05-02T09:30:00+0000",
        "username": "highlander",
        "permalink": "https://www.instagram.com/p/BZ6tV9AFUUy/",
        "like_count": 12,
        "comments_count": 3,
        "id": "17887498072083520",
    },
    "id": IG,
}


class FakeGraph(ThreadingHTTPServer):
    """The Graph API's ``GET /{ig-user-id}``: answers the documented mention for the field
    asked, or ``answer``; ``stall`` holds every answer until ``release`` is set."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), GraphHandler)
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.answer: tuple[int, bytes] | None = None
        self.stall = False
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v21.0"


class GraphHandler(FakeHandler):
    server: FakeGraph

    def do_GET(self) -> None:
        fake = self.server
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        fake.requests.append((url.path, query))
        if fake.stall:
            fake.release.wait(10)
        if fake.answer is not None:
            self.answer(fake.answer[0], fake.answer[1], {"Content-Type": "application/json"})
            return
        comment = query["fields"][0].startswith("mentioned_comment")
        self.answer_json(200, MENTIONED_COMMENT if comment else MENTIONED_MEDIA)


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    fake = FakeGraph()
    with serving(fake):
        try:
            yield fake
        finally:
            fake.release.set()


def graph_app(
    graph: FakeGraph, sink: FakeSink, stats: ConnectorStats, token: str = TOKEN
) -> Webhooks:
    config = WebhooksConfig(meta_pages={IG: "globex"}, graph_url=graph.url, graph_timeout=0.5)
    secrets = Secrets("app-secret", "verify-me", meta_page_token=token)
    return Webhooks(config, frozenset({"globex"}), secrets, sink, stats)


def test_a_comment_mention_gets_its_text_author_url_time_and_likes(
    graph: FakeGraph, sink: FakeSink, stats: ConnectorStats, caplog: pytest.LogCaptureFixture
) -> None:
    app = graph_app(graph, sink, stats)
    with caplog.at_level(logging.DEBUG):
        event = published(app, sink, delivery("instagram", IG, "mentions", IG_MENTION))
    assert event == Event(
        v=1,
        id="17887498072083521",
        platform="instagram",
        brand="globex",
        kind="mention",
        time=datetime(2017, 5, 3, 16, 9, 8, tzinfo=UTC),
        author=Author(id="bluebottle_fan", handle="bluebottle_fan"),
        thread_id="17887498072083520",
        text="@globex challenge? This is the best thing ever",
        url="https://www.instagram.com/p/BZ6tV9AFUUz/",
        metrics={"likes": 185},
    )
    (request,) = graph.requests
    assert request == (
        f"/v21.0/{IG}",
        {
            "fields": [f"mentioned_comment.comment_id(17887498072083521){{{COMMENT_FIELDS}}}"],
            "access_token": [TOKEN],
        },
    )
    assert stats.errors == {}
    assert TOKEN not in caplog.text


def test_a_caption_mention_gets_its_caption(
    graph: FakeGraph, sink: FakeSink, stats: ConnectorStats
) -> None:
    app = graph_app(graph, sink, stats)
    caption = {"media_id": "17887498072083520"}
    event = published(app, sink, delivery("instagram", IG, "mentions", caption))
    assert event == Event(
        v=1,
        id="17887498072083520",
        platform="instagram",
        brand="globex",
        kind="mention",
        time=datetime(2017, 5, 2, 9, 30, tzinfo=UTC),
        author=Author(id="highlander", handle="highlander"),
        thread_id="17887498072083520",
        text="@globex There can be only one!",
        url="https://www.instagram.com/p/BZ6tV9AFUUy/",
        metrics={"likes": 12, "replies": 3},
    )
    ((path, query),) = graph.requests
    assert path == f"/v21.0/{IG}"
    assert query["fields"] == [f"mentioned_media.media_id(17887498072083520){{{MEDIA_FIELDS}}}"]


GRAPH_ERROR = {"error": {"message": "(#10) Application does not have permission", "code": 10}}


@pytest.mark.parametrize(
    "failure",
    [
        "http_500",
        "timeout",
        "bad_json",
        "no_mention",
        "wrong_shape",
        "bad_timestamp",
        "token_echoed",
    ],
)
def test_a_failed_lookup_publishes_the_mention_without_text_and_counts_it(
    graph: FakeGraph,
    sink: FakeSink,
    stats: ConnectorStats,
    caplog: pytest.LogCaptureFixture,
    failure: str,
) -> None:
    answers = {
        "http_500": (500, json.dumps(GRAPH_ERROR).encode()),
        "bad_json": (200, b'{"mentioned_comment": {"text": "cut sh'),
        "no_mention": (200, json.dumps({"id": IG}).encode()),
        "wrong_shape": (200, json.dumps({"mentioned_comment": "a string"}).encode()),
        "bad_timestamp": (
            200,
            json.dumps({"mentioned_comment": {"timestamp": "yesterday"}}).encode(),
        ),
        "token_echoed": (400, json.dumps({"error": {"message": f"bad token {TOKEN}"}}).encode()),
    }
    graph.answer = answers.get(failure)
    graph.stall = failure == "timeout"
    app = graph_app(graph, sink, stats)
    with caplog.at_level(logging.DEBUG):
        event = published(app, sink, delivery("instagram", IG, "mentions", IG_MENTION))
    graph.release.set()
    assert event == WITHOUT_TEXT
    assert len(graph.requests) == 1  # one lookup per mention, no retry
    assert stats.errors == {"graph": 1}
    assert "published without its text" in caplog.text
    assert TOKEN not in caplog.text
    if failure == "http_500":
        assert "HTTP 500" in caplog.text and "does not have permission" in caplog.text
    if failure == "timeout":
        assert "no answer within 0.5 s" in caplog.text


def test_without_a_token_no_lookup_is_made_and_the_mention_has_no_text(
    graph: FakeGraph, sink: FakeSink, stats: ConnectorStats
) -> None:
    app = graph_app(graph, sink, stats, token="")
    event = published(app, sink, delivery("instagram", IG, "mentions", IG_MENTION))
    assert event == WITHOUT_TEXT
    assert graph.requests == []
    assert stats.errors == {}
    assert Secrets.from_env({"META_PAGE_ACCESS_TOKEN": TOKEN}).meta_page_token == TOKEN
    names = ["META_APP_SECRET", "META_VERIFY_TOKEN", "SHOPIFY_WEBHOOK_SECRET"]
    names += ["BRANDPULSE_WEBHOOK_SECRET", "META_PAGE_ACCESS_TOKEN"]
    everything = {name: f"secret-{name}" for name in names}
    shown = repr(Secrets.from_env(everything))
    assert not any(value in shown for value in everything.values())


def test_only_mentions_are_looked_up_and_other_events_of_the_delivery_stay_as_they_are(
    graph: FakeGraph, sink: FakeSink, stats: ConnectorStats
) -> None:
    app = graph_app(graph, sink, stats)
    changes = [
        {"field": "comments", "value": IG_COMMENT},
        {"field": "mentions", "value": {"media_id": "17887498072083520"}},
    ]
    entry = {"id": IG, "time": 1520622968, "changes": changes}
    body = json.dumps({"object": "instagram", "entry": [entry]}).encode()
    assert post_meta(app, body).status == 200
    comment, mention = sink.events
    assert comment.text == "This is an example." and comment.author == Author(
        id="232323232", handle="test"
    )
    assert mention.text == "@globex There can be only one!"
    assert len(graph.requests) == 1
