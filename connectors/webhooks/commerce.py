"""Orders and site visits, as events of the contract on the brand's ``shop`` and ``web``.

They travel the raw topic with the social events, so the worker counts them in the same
event-time windows (orders and visits per window, and their growth against the window before),
replay and audit see them, and they reach Kafka exactly once like any connector's events.
The event id is ``<source>:<id>`` (``shopify:820982911946154508``), so two systems that
number their orders alike do not collide.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final, Literal

import msgspec

from brandpulse.contract import BrandName, Event, Identifier, Platform

SHOPIFY_ORDER_TOPIC: Final = "orders/create"
PLATFORM_OF: Final[dict[str, Platform]] = {"order": "shop", "visit": "web"}
Word = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
"""A source: a small word, fit for a metric label."""


class CommercePayloadError(ValueError):
    """A signed body that is not what its path expects."""


class GenericEvent(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What ``/hooks/generic`` accepts: one object or a list of them. ``source`` names the
    sending system (default ``generic``); ``brand`` must be a configured brand."""

    brand: BrandName
    kind: Literal["visit", "order"]
    id: Identifier
    time: Annotated[datetime, msgspec.Meta(tz=True)]
    source: Word = "generic"

    def event(self) -> Event:
        return commerce_event(self.brand, self.kind, f"{self.source}:{self.id}", self.time)


class ShopifyOrder(msgspec.Struct, frozen=True):
    """The fields of Shopify's order payload that brandpulse uses."""

    id: int
    created_at: Annotated[datetime, msgspec.Meta(tz=True)]


def commerce_event(brand: str, kind: Literal["visit", "order"], id: str, time: datetime) -> Event:
    return Event(v=1, id=id, platform=PLATFORM_OF[kind], brand=brand, kind=kind, time=time)


def shopify_order(body: bytes, brand: str) -> Event:
    """An ``orders/create`` delivery as an ``order`` of the brand's shop."""
    try:
        order = msgspec.json.decode(body, type=ShopifyOrder)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise CommercePayloadError(str(exc)) from None
    return commerce_event(brand, "order", f"shopify:{order.id}", order.created_at)


def generic_events(body: bytes) -> list[GenericEvent]:
    try:
        decoded = msgspec.json.decode(body, type=GenericEvent | list[GenericEvent])
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise CommercePayloadError(str(exc)) from None
    return decoded if isinstance(decoded, list) else [decoded]
