"""Settings of the analytics, read from the ``[analytics]`` section of the config."""

from __future__ import annotations

import msgspec


class AnalyticsSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    allowed_lateness: float = 60.0
    """Seconds an event may arrive after newer ones of its platform and still count; later
    ones are late."""
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
