"""Orders and site events: records for the commerce topic, not contract events.

The event contract describes social items (posts, comments, ...); an order or a visit is none
of them, so these go to ``[webhooks] commerce_topic`` as their own small record, keyed by brand:

``{"v": 1, "brand": "acme", "source": "shopify", "kind": "order", "id": "820982911946154508",
"time": "2008-01-10T11:00:00-05:00", "value": 598.94, "currency": "USD"}``
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final

import msgspec

from brandpulse.contract import BrandName, Identifier

COMMERCE_VERSION: Final = 1
SHOPIFY_ORDER_TOPIC: Final = "orders/create"
Word = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
"""A source or kind: a small word, fit for a metric label."""


class CommercePayloadError(ValueError):
    """A signed body that is not what its path expects."""


class CommerceRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One record of the commerce topic (version 1)."""

    v: int = COMMERCE_VERSION
    brand: BrandName
    source: Word
    kind: Word
    id: Identifier
    time: Annotated[datetime, msgspec.Meta(tz=True)]
    value: float | None = None
    currency: str | None = None

    @property
    def key(self) -> str:
        """Identifies a delivery across retries (platforms resend the same id)."""
        return f"{self.source}:{self.brand}:{self.kind}:{self.id}"


class GenericEvent(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What ``/hooks/generic`` accepts: one object or a list of them. ``source`` defaults to
    ``generic``; ``brand`` must be a configured brand."""

    brand: BrandName
    kind: Word
    id: Identifier
    time: Annotated[datetime, msgspec.Meta(tz=True)]
    value: float | None = None
    currency: str | None = None
    source: Word = "generic"


class ShopifyOrder(msgspec.Struct, frozen=True):
    """The fields of Shopify's order payload that brandpulse uses."""

    id: int
    created_at: Annotated[datetime, msgspec.Meta(tz=True)]
    total_price: str
    currency: str


def shopify_order(body: bytes, brand: str) -> CommerceRecord:
    """An ``orders/create`` delivery as an ``order`` record; ``total_price`` (a decimal string)
    becomes ``value``."""
    try:
        order = msgspec.json.decode(body, type=ShopifyOrder)
        value = float(order.total_price)
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as exc:
        raise CommercePayloadError(str(exc)) from None
    return CommerceRecord(
        brand=brand,
        source="shopify",
        kind="order",
        id=str(order.id),
        time=order.created_at,
        value=value,
        currency=order.currency,
    )


def generic_events(body: bytes) -> list[CommerceRecord]:
    try:
        decoded = msgspec.json.decode(body, type=GenericEvent | list[GenericEvent])
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise CommercePayloadError(str(exc)) from None
    events = decoded if isinstance(decoded, list) else [decoded]
    return [CommerceRecord(**msgspec.structs.asdict(event)) for event in events]


def encode_record(record: CommerceRecord) -> bytes:
    return msgspec.json.encode(record)
