"""The receiver's logic without the HTTP server: authenticate, map, deliver, choose the status.

Statuses say what a platform should do next: 200 (or 202 for an account no brand owns) means
"done, do not resend"; 503 means Kafka did not acknowledge, so the platform retries later;
401, 403, 404, 411 and 413 refuse the request for good.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Final, Protocol

from brandpulse.config import WebhooksConfig
from brandpulse.contract import Event
from brandpulse.errors import BrandpulseError
from connectors.metrics import ConnectorStats
from connectors.runtime.retry import Headers
from connectors.webhooks.commerce import (
    SHOPIFY_ORDER_TOPIC,
    CommercePayloadError,
    generic_events,
    shopify_order,
)
from connectors.webhooks.graph import META_PAGE_ACCESS_TOKEN, MentionLookup
from connectors.webhooks.meta import MetaPayloadError, map_delivery
from connectors.webhooks.signatures import (
    valid_base64_signature,
    valid_hex_signature,
    valid_token,
)

META_APP_SECRET: Final = "META_APP_SECRET"
META_VERIFY_TOKEN: Final = "META_VERIFY_TOKEN"
SHOPIFY_WEBHOOK_SECRET: Final = "SHOPIFY_WEBHOOK_SECRET"
GENERIC_SECRET: Final = "BRANDPULSE_WEBHOOK_SECRET"
GENERIC_SIGNATURE_HEADER: Final = "X-Brandpulse-Signature"
META_PATH: Final = "/meta"
SHOPIFY_PATH: Final = "/shopify"
GENERIC_PATH: Final = "/hooks/generic"
log = logging.getLogger("brandpulse.webhooks")


class DeliveryFailed(BrandpulseError):
    """Kafka did not acknowledge a write; the request is answered 503 so it is retried."""


class Sink(Protocol):
    """Where accepted deliveries go; each call returns once Kafka acknowledged (or raises
    ``DeliveryFailed``), and returns how many items were new (retries are dropped)."""

    def publish_events(self, events: list[Event]) -> int: ...


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""


@dataclass(frozen=True, repr=False)
class Secrets:
    """The shared secrets, from the environment only; an empty one turns its path off. The
    optional ``meta_page_token`` lets Instagram mentions get their text from the Graph API.
    Printing one shows no secret."""

    meta_app_secret: str = ""
    meta_verify_token: str = ""
    shopify: str = ""
    generic: str = ""
    meta_page_token: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Secrets:
        return cls(
            env.get(META_APP_SECRET, ""),
            env.get(META_VERIFY_TOKEN, ""),
            env.get(SHOPIFY_WEBHOOK_SECRET, ""),
            env.get(GENERIC_SECRET, ""),
            env.get(META_PAGE_ACCESS_TOKEN, ""),
        )

    def missing(self) -> dict[str, list[str]]:
        """Per path, the variables it still needs (empty list: enabled)."""
        needs = {
            META_PATH: [
                (META_APP_SECRET, self.meta_app_secret),
                (META_VERIFY_TOKEN, self.meta_verify_token),
            ],
            SHOPIFY_PATH: [(SHOPIFY_WEBHOOK_SECRET, self.shopify)],
            GENERIC_PATH: [(GENERIC_SECRET, self.generic)],
        }
        return {path: [name for name, value in pairs if not value] for path, pairs in needs.items()}


class Webhooks:
    """Routes requests to the path's handler; a path whose secret is missing answers 404."""

    def __init__(
        self,
        config: WebhooksConfig,
        brands: frozenset[str],
        secrets: Secrets,
        sink: Sink,
        stats: ConnectorStats,
    ) -> None:
        self._config = config
        self._brands = brands
        self._secrets = secrets
        self._sink = sink
        self._stats = stats
        token = secrets.meta_page_token
        self._mentions = (
            MentionLookup(config.graph_url, token, config.graph_timeout, stats) if token else None
        )
        handlers = {META_PATH: self._meta, SHOPIFY_PATH: self._shopify, GENERIC_PATH: self._generic}
        missing = secrets.missing()
        self._routes = {path: handler for path, handler in handlers.items() if not missing[path]}

    @property
    def paths(self) -> list[str]:
        return sorted(self._routes)

    def check_length(self, header: str | None) -> Response | None:
        """A refusal for a body that is too large or of unknown length, before it is read."""
        if header is None or not header.strip().isdigit():
            return Response(HTTPStatus.LENGTH_REQUIRED, b"Content-Length required\n")
        if int(header) > self._config.max_body_bytes:
            return self._refuse("too_large", HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        return None

    def get(self, path: str, query: Mapping[str, Sequence[str]]) -> Response:
        """Meta's subscription handshake: echo ``hub.challenge`` if the token matches."""
        if path != META_PATH or path not in self._routes:
            return Response(HTTPStatus.NOT_FOUND)
        mode, token, challenge = (
            _first(query, name) for name in ("hub.mode", "hub.verify_token", "hub.challenge")
        )
        if mode != "subscribe" or not valid_token(token, self._secrets.meta_verify_token):
            return self._refuse("bad_token", HTTPStatus.FORBIDDEN)
        if not challenge:
            return Response(HTTPStatus.BAD_REQUEST, b"hub.challenge missing\n")
        return Response(HTTPStatus.OK, challenge.encode())

    def post(self, path: str, headers: Headers, body: bytes) -> Response:
        handler = self._routes.get(path)
        if handler is None:
            return Response(HTTPStatus.NOT_FOUND)
        return handler(headers, body)

    def _meta(self, headers: Headers, body: bytes) -> Response:
        signature = headers.get("X-Hub-Signature-256")
        if not valid_hex_signature(signature, self._secrets.meta_app_secret, body):
            return self._refuse("bad_signature", HTTPStatus.UNAUTHORIZED)
        try:
            mapped = map_delivery(body, self._config.meta_pages)
        except MetaPayloadError as exc:
            return self._refuse("bad_payload", HTTPStatus.BAD_REQUEST, str(exc))
        self._unknown(mapped.unknown_accounts, "Meta account")
        if not mapped.events and mapped.unknown_accounts:
            return Response(HTTPStatus.ACCEPTED)
        events = mapped.events
        if self._mentions is not None and mapped.mentions:
            events = self._mentions.with_texts(events, mapped.mentions)
        return self._deliver(events)

    def _shopify(self, headers: Headers, body: bytes) -> Response:
        signature = headers.get("X-Shopify-Hmac-Sha256")
        if not valid_base64_signature(signature, self._secrets.shopify, body):
            return self._refuse("bad_signature", HTTPStatus.UNAUTHORIZED)
        if headers.get("X-Shopify-Topic") != SHOPIFY_ORDER_TOPIC:
            return Response(HTTPStatus.OK)  # subscribed to more than orders: nothing to count
        shop = headers.get("X-Shopify-Shop-Domain") or ""
        brand = self._config.shopify_shops.get(shop)
        if brand is None:
            self._unknown([shop], "Shopify shop")
            return Response(HTTPStatus.ACCEPTED)
        try:
            order = shopify_order(body, brand)
        except CommercePayloadError as exc:
            return self._refuse("bad_payload", HTTPStatus.BAD_REQUEST, str(exc))
        return self._deliver([order])

    def _generic(self, headers: Headers, body: bytes) -> Response:
        signature = headers.get(GENERIC_SIGNATURE_HEADER)
        if not valid_hex_signature(signature, self._secrets.generic, body):
            return self._refuse("bad_signature", HTTPStatus.UNAUTHORIZED)
        try:
            records = generic_events(body)
        except CommercePayloadError as exc:
            return self._refuse("bad_payload", HTTPStatus.BAD_REQUEST, str(exc))
        known = [r.event() for r in records if r.brand in self._brands]
        self._unknown(sorted({r.brand for r in records} - self._brands), "brand")
        if not known and records:
            return Response(HTTPStatus.ACCEPTED)
        return self._deliver(known)

    def _deliver(self, items: list[Event]) -> Response:
        if not items:
            return Response(HTTPStatus.OK)
        try:
            fresh = self._sink.publish_events(items)
        except DeliveryFailed as exc:
            return self._refuse("kafka", HTTPStatus.SERVICE_UNAVAILABLE, str(exc))
        log.info("published %d of %d items (the rest were retries)", fresh, len(items))
        return Response(HTTPStatus.OK)

    def _unknown(self, names: list[str], what: str) -> None:
        for name in names:
            self._stats.errors["unknown_account"] += 1
            log.warning("no brand for %s %r (see [webhooks]); nothing published", what, name)

    def _refuse(self, kind: str, status: HTTPStatus, detail: str = "") -> Response:
        self._stats.errors[kind] += 1
        log.warning("refused (%s): %d %s %s", kind, status.value, status.phrase, detail)
        return Response(status, f"{status.phrase}\n".encode())


def _first(query: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None
