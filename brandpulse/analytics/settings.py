"""Settings of the analytics, read from the ``[analytics]`` section of the config."""

from __future__ import annotations

from typing import Annotated

import msgspec

from brandpulse.contract import PLATFORMS

Seconds = Annotated[float, msgspec.Meta(ge=0)]


class AnalyticsSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    allowed_lateness: float = 60.0
    """Seconds an event may arrive after newer ones of its platform and still count; later
    ones are late."""
    platform_lateness: dict[str, Seconds] = msgspec.field(default_factory=dict)
    """``allowed_lateness`` of single platforms where it differs: a platform whose events come
    nearly in order (a stream) may close its minutes, and page, that much sooner."""
    idle_after: float = 900.0
    """Seconds after which a platform unheard from (its newest event this far behind the
    brand's newest) stops holding back the brand's figures over all platforms."""
    sla_seconds: float = 1800.0
    """First-response time after which an unanswered item is an SLA breach."""
    max_open_seconds: float = 7 * 86400.0
    """Unanswered items are let go after this long."""
    evidence_items: int = 3
    """How many of the most negative and of the most reached items an alert carries."""
    evidence_minutes: int = 5
    """How far back an alert looks for evidence."""

    def __post_init__(self) -> None:
        unknown = sorted(set(self.platform_lateness) - set(PLATFORMS))
        if unknown:
            raise ValueError(
                f"platform_lateness: unknown platform(s) {unknown}; one of {PLATFORMS}"
            )

    def lateness(self, platform: str) -> float:
        """The allowed lateness of ``platform``."""
        return self.platform_lateness.get(platform, self.allowed_lateness)

    def longest_lateness(self) -> float:
        """The longest allowed lateness of any platform."""
        return max([self.allowed_lateness, *self.platform_lateness.values()])
