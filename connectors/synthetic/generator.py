"""The synthetic connector's generator: a seeded, endless, event-time-ordered stream of events.

Pure Python with no Kafka: the same plan always gives the same events, which is what the tests
and benchmarks rely on. Traffic arrives at ``rate`` events per second of event time across the
configured brands and platforms, with brand posts, the public's mentions, comments, replies,
reactions and shares, the care team's answers after a realistic delay, follower snapshots, and
visits of the brands' sites and orders in their shops.
A scenario adds trouble on top: a burst of negative mentions, or a care team that answers late.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

import msgspec

from brandpulse.config import BrandConfig, Config
from brandpulse.contract import Author, Event
from connectors.synthetic.texts import CARE_REPLIES, MENTIONS, POSTS

PLATFORM_WEIGHTS: Final = {
    "x": 30,
    "instagram": 15,
    "facebook": 15,
    "reddit": 10,
    "mastodon": 8,
    "bluesky": 8,
    "youtube": 8,
    "blog": 6,
}
ACTIVITY_WEIGHTS: Final = {
    "mention": 30,
    "reaction": 28,
    "comment": 15,
    "share": 8,
    "reply": 8,
    "post": 3,
}
SENTIMENT_WEIGHTS: Final = {"positive": 30, "neutral": 45, "negative": 25}
CARE_PROBABILITY: Final = {"positive": 0.2, "neutral": 0.2, "negative": 1.0, "question": 1.0}
"""A good care team answers every complaint and question, and thanks some others."""
CARE_DELAY_SECONDS: Final = (20.0, 900.0)
"""Range of answer delays, uniform: a team that keeps a 30-minute first-response SLA."""
SLOW_CARE_DELAY_SECONDS: Final = (3600.0, 4 * 3600.0)
FOLLOWER_INTERVAL_SECONDS: Final = 60.0
BURST_SHARE: Final = 0.5
"""During a negative burst, extra negative mentions arrive at this share of the base rate."""
GERMAN_SHARE: Final = 0.4
VISIT_SHARE: Final = 0.2
"""Site visits and orders arrive at this share of the social rate, across the brands."""
ORDER_SHARE: Final = 0.05
"""Of those, this share are orders (a shop's conversion rate), the rest visits."""
RECENT_POSTS: Final = 20
USERS: Final = 5000


@dataclass(frozen=True)
class Plan:
    """Everything that determines the generated stream."""

    seed: int
    rate: float
    start: datetime
    brands: tuple[BrandConfig, ...]
    scenario: str = "none"
    scenario_brand: str = ""
    scenario_start: float = 60.0
    scenario_duration: float = 300.0

    @classmethod
    def from_config(cls, config: Config, start: datetime) -> Plan:
        synthetic = config.synthetic
        return cls(
            seed=synthetic.seed,
            rate=synthetic.rate,
            start=start,
            brands=tuple(config.brands),
            scenario=synthetic.scenario,
            scenario_brand=synthetic.scenario_brand or config.brands[0].name,
            scenario_start=synthetic.scenario_start,
            scenario_duration=synthetic.scenario_duration,
        )

    def in_scenario(self, brand: str, offset: float) -> bool:
        return (
            self.scenario != "none"
            and brand == self.scenario_brand
            and self.scenario_start <= offset < self.scenario_start + self.scenario_duration
        )


@dataclass(order=True)
class _Due:
    """An entry of the schedule: at ``offset`` seconds after the start, do ``what``."""

    offset: float
    sequence: int
    what: str = field(compare=False)
    series: tuple[str, str] = field(compare=False, default=("", ""))
    event: Event | None = field(compare=False, default=None)


class SyntheticStream:
    """Iterating yields events in event-time order, forever; stop when you have enough."""

    def __init__(self, plan: Plan) -> None:
        if plan.rate <= 0:
            raise ValueError("the synthetic rate must be positive")
        self.plan = plan
        self._rng = random.Random(plan.seed)
        self._origin = plan.start.timestamp()
        self._schedule: list[_Due] = []
        self._sequence = 0
        self._arrivals = 0
        self._shop_arrivals = 0
        self._shop_rng = random.Random(plan.seed + 1)
        """Its own draws, so adding shops left the social stream as it was."""
        self._bursts = 0
        self._posts: dict[tuple[str, str], list[str]] = {}
        self._followers: dict[tuple[str, str], int] = {}
        self._user_followers: dict[int, int] = {}

    def __iter__(self) -> Iterator[Event]:
        self._push(0.0, "arrival")
        self._push(0.0, "shop")
        if self.plan.scenario == "negative-burst":
            self._push(self.plan.scenario_start, "burst")
        for index, brand in enumerate(self.plan.brands):
            for number, platform in enumerate(PLATFORM_WEIGHTS):
                stagger = (index * len(PLATFORM_WEIGHTS) + number) % FOLLOWER_INTERVAL_SECONDS
                self._push(stagger, "followers", (brand.name, platform))
        while True:
            due = heapq.heappop(self._schedule)
            yield from self._handle(due)

    # -- scheduling ---------------------------------------------------------------------------

    def _push(
        self,
        offset: float,
        what: str,
        series: tuple[str, str] = ("", ""),
        event: Event | None = None,
    ) -> None:
        self._sequence += 1
        heapq.heappush(self._schedule, _Due(offset, self._sequence, what, series, event))

    def _handle(self, due: _Due) -> Iterator[Event]:
        if due.what == "event" and due.event is not None:
            yield due.event
        elif due.what == "arrival":
            self._arrivals += 1
            self._push(self._arrivals / self.plan.rate, "arrival")
            yield from self._activity(due.offset)
        elif due.what == "shop":
            self._shop_arrivals += 1
            self._push(self._shop_arrivals / (self.plan.rate * VISIT_SHARE), "shop")
            yield self._visit_or_order(due.offset)
        elif due.what == "burst":
            yield from self._burst(due.offset)
        elif due.what == "followers":
            self._push(due.offset + FOLLOWER_INTERVAL_SECONDS, "followers", due.series)
            yield self._follower_snapshot(due.offset, *due.series)

    def _burst(self, offset: float) -> Iterator[Event]:
        plan = self.plan
        self._bursts += 1
        next_offset = plan.scenario_start + self._bursts / max(plan.rate * BURST_SHARE, 1.0)
        if next_offset < plan.scenario_start + plan.scenario_duration:
            self._push(next_offset, "burst")
        yield self._mention(offset, plan.scenario_brand, self._platform(), "negative")

    # -- what people do -----------------------------------------------------------------------

    def _activity(self, offset: float) -> Iterator[Event]:
        brand = self._rng.choice(self.plan.brands).name
        platform = self._platform()
        kind = self._choose(ACTIVITY_WEIGHTS)
        if kind == "mention":
            yield self._mention(offset, brand, platform, self._choose(SENTIMENT_WEIGHTS))
            return
        posts = self._posts.get((brand, platform))
        if kind == "post" or not posts:
            yield self._post(offset, brand, platform)
            return
        parent = self._rng.choice(posts)
        yield self._response(offset, brand, platform, kind, parent)

    def _mention(self, offset: float, brand: str, platform: str, sentiment: str) -> Event:
        lang = self._language()
        event = self._event(
            offset,
            brand,
            platform,
            "mention",
            author=self._user(),
            text=self._text(MENTIONS[lang][sentiment], brand, platform),
            lang=lang,
        )
        event = _with_thread(event, event.id)
        self._maybe_answer(event, sentiment)
        return event

    def _post(self, offset: float, brand: str, platform: str) -> Event:
        lang = self._language()
        event = self._event(
            offset,
            brand,
            platform,
            "post",
            author=self._brand_account(brand, platform),
            text=self._text(POSTS[lang], brand, platform),
            lang=lang,
            metrics={"followers": self._followers_of(brand, platform)},
        )
        event = _with_thread(event, event.id)
        recent = self._posts.setdefault((brand, platform), [])
        recent.append(event.id)
        del recent[:-RECENT_POSTS]
        return event

    def _response(self, offset: float, brand: str, platform: str, kind: str, parent: str) -> Event:
        if kind in ("reaction", "share"):
            return self._event(
                offset,
                brand,
                platform,
                kind,
                author=self._user(),
                parent_id=parent,
                thread_id=parent,
            )
        lang = self._language()
        sentiment = self._choose(SENTIMENT_WEIGHTS)
        event = self._event(
            offset,
            brand,
            platform,
            kind,
            author=self._user(),
            text=self._text(MENTIONS[lang][sentiment], brand, platform),
            lang=lang,
            parent_id=parent,
            thread_id=parent,
        )
        self._maybe_answer(event, sentiment)
        return event

    def _maybe_answer(self, item: Event, sentiment: str) -> None:
        """Schedule the care team's reply to an inbound item, after a random delay."""
        need = "question" if item.text and "?" in item.text else sentiment
        if self._rng.random() >= CARE_PROBABILITY[need]:
            return
        offset = item.time.timestamp() - self._origin
        slow = self.plan.scenario == "slow-care" and self.plan.in_scenario(item.brand, offset)
        answer_at = offset + self._rng.uniform(
            *(SLOW_CARE_DELAY_SECONDS if slow else CARE_DELAY_SECONDS)
        )
        lang = item.lang or "en"
        reply = self._event(
            answer_at,
            item.brand,
            item.platform,
            "reply",
            author=self._brand_account(item.brand, item.platform),
            text=self._rng.choice(CARE_REPLIES[lang]),
            lang=lang,
            parent_id=item.id,
            thread_id=item.thread_id or item.id,
        )
        self._push(answer_at, "event", event=reply)

    def _visit_or_order(self, offset: float) -> Event:
        brand = self._shop_rng.choice(self.plan.brands).name
        if self._shop_rng.random() < ORDER_SHARE:
            return self._event(offset, brand, "shop", "order")
        return self._event(offset, brand, "web", "visit")

    def _follower_snapshot(self, offset: float, brand: str, platform: str) -> Event:
        followers = self._followers_of(brand, platform)
        followers = max(0, followers + round(self._rng.gauss(3.0, 10.0)))
        self._followers[brand, platform] = followers
        return self._event(
            offset, brand, platform, "follower_count", metrics={"followers": followers}
        )

    # -- building blocks ----------------------------------------------------------------------

    def _event(
        self, offset: float, brand: str, platform: str, kind: str, **fields: object
    ) -> Event:
        self._sequence += 1
        return Event(
            v=1,
            id=f"syn-{self.plan.seed}-{int(self._origin)}-{self._sequence}",
            platform=platform,  # type: ignore[arg-type]
            brand=brand,
            kind=kind,  # type: ignore[arg-type]
            time=datetime.fromtimestamp(self._origin + offset, UTC),
            **fields,  # type: ignore[arg-type]
        )

    def _user(self) -> Author:
        number = self._rng.randrange(USERS)
        followers = self._user_followers.get(number)
        if followers is None:
            followers = self._user_followers[number] = int(self._rng.paretovariate(1.2) * 40)
        return Author(id=f"u{number}", handle=f"user{number}", followers=followers)

    def _brand_account(self, brand: str, platform: str) -> Author:
        handle = self._brand(brand).handle_on(platform)
        return Author(
            id=f"{platform}:{handle}",
            handle=handle,
            is_brand=True,
            followers=self._followers_of(brand, platform),
        )

    def _brand(self, name: str) -> BrandConfig:
        return next(brand for brand in self.plan.brands if brand.name == name)

    def _followers_of(self, brand: str, platform: str) -> int:
        series = (brand, platform)
        if series not in self._followers:
            self._followers[series] = self._rng.randrange(5_000, 200_000)
        return self._followers[series]

    def _text(self, templates: tuple[str, ...], brand: str, platform: str) -> str:
        handle = self._brand_account(brand, platform).handle or brand
        return self._rng.choice(templates).format(brand=brand.capitalize(), handle=handle)

    def _platform(self) -> str:
        return self._choose(PLATFORM_WEIGHTS)

    def _language(self) -> str:
        return "de" if self._rng.random() < GERMAN_SHARE else "en"

    def _choose(self, weights: dict[str, int]) -> str:
        return self._rng.choices(list(weights), weights=list(weights.values()))[0]


def _with_thread(event: Event, thread_id: str) -> Event:
    return msgspec.structs.replace(event, thread_id=thread_id)
