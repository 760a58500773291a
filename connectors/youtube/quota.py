"""The YouTube Data API's daily quota, budgeted: what each call costs, what is left of the day,
and how fast the connector may poll so that it lasts until the reset.

Google counts units per project and day, the day running from midnight to midnight Pacific Time
(``America/Los_Angeles``, daylight saving time included); a project past its quota gets 403
``quotaExceeded`` until then. The budget is the share of that quota the connector may spend: it
is charged before every call (a failed call costs its units too), refuses a call it cannot pay,
and starts afresh when the Pacific date changes. The units spent are part of the checkpoint, so
a restart does not spend the day's budget twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

PACIFIC: Final = ZoneInfo("America/Los_Angeles")
COSTS: Final = {"commentThreads": 1, "comments": 1, "channels": 1, "search": 100}
"""Units per call of each list method (``search.list`` is not used; it is the expensive one)."""
CURSOR_KEY: Final = "quota"
"""The budget's entry among the checkpoint's cursors."""


def pacific_day(moment: datetime) -> date:
    return moment.astimezone(PACIFIC).date()


def next_reset(moment: datetime) -> datetime:
    """The next midnight Pacific Time after ``moment``, in UTC."""
    midnight = datetime.combine(pacific_day(moment) + timedelta(days=1), datetime.min.time())
    return midnight.replace(tzinfo=PACIFIC).astimezone(UTC)


def wall_clock() -> datetime:
    return datetime.fromtimestamp(time.time(), UTC)


class QuotaBudget:
    """Units spent today (Pacific) out of ``daily``; safe to read from the metrics thread."""

    def __init__(self, daily: int, now: Callable[[], datetime] = wall_clock) -> None:
        self.daily = daily
        self._now = now
        self._lock = threading.Lock()
        self._day = pacific_day(now())
        self._used = 0

    def _roll(self) -> None:
        """Start afresh when the Pacific date changed (callers hold the lock)."""
        today = pacific_day(self._now())
        if today != self._day:
            self._day, self._used = today, 0

    @property
    def used(self) -> int:
        with self._lock:
            self._roll()
            return self._used

    @property
    def remaining(self) -> int:
        return max(0, self.daily - self.used)

    def charge(self, units: int) -> bool:
        """Spend ``units`` if they are left today; False (and nothing spent) if not."""
        with self._lock:
            self._roll()
            if self._used + units > self.daily:
                return False
            self._used += units
            return True

    def exhaust(self) -> None:
        """Google said the quota is spent (``quotaExceeded``): nothing more until the reset."""
        with self._lock:
            self._roll()
            self._used = max(self._used, self.daily)

    def seconds_to_reset(self) -> float:
        now = self._now()
        return max(0.0, (next_reset(now) - now).total_seconds())

    def pace(self) -> float:
        """Seconds per unit that spread what is left evenly until the reset (infinite when
        nothing is left)."""
        remaining = self.remaining
        return self.seconds_to_reset() / remaining if remaining else float("inf")

    def cursor(self) -> dict[str, str]:
        with self._lock:
            self._roll()
            return {"day": self._day.isoformat(), "used": str(self._used)}

    def restore(self, cursor: Mapping[str, str]) -> None:
        """Take over the units a previous run spent today; another day's count is ignored."""
        try:
            day, used = date.fromisoformat(cursor["day"]), int(cursor["used"])
        except (KeyError, ValueError):
            return
        with self._lock:
            self._roll()
            if day == self._day:
                self._used = max(self._used, used)


class QuotaCollector(Collector):
    """``brandpulse_connector_quota_used_units`` and ``..._remaining_units`` of one budget."""

    def __init__(self, connector: str, platform: str, budget: QuotaBudget) -> None:
        self.labels = [connector, platform]
        self.budget = budget

    def collect(self) -> Iterator[Metric]:
        used = self.budget.used
        for name, text, value in (
            ("used", "Quota units spent since midnight Pacific Time.", used),
            (
                "remaining",
                "Quota units left of the daily budget.",
                max(0, self.budget.daily - used),
            ),
        ):
            gauge = GaugeMetricFamily(
                f"brandpulse_connector_quota_{name}_units", text, labels=["connector", "platform"]
            )
            gauge.add_metric(self.labels, value)
            yield gauge
