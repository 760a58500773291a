"""Pushes alerts straight to Alertmanager's v2 API, so on-call is paged within seconds.

Alertmanager resolves an alert it has not heard of for ``resolve_timeout``; firing alerts are
therefore pushed again every ``resend_interval``, and resolved ones once with their end time.

An early warning (a spike alert known to open before its minute closes) is pushed at once as
the firing alert its close-time record will be: the same labels, so Alertmanager takes both
for one alert and on-call gets one page, up to the allowed lateness sooner.
"""

from __future__ import annotations

import logging
from typing import Any, Final

import aiohttp

from brandpulse.analytics.records import AlertRecord
from brandpulse.analytics.spike_alerts import EarlyAlert

log = logging.getLogger(__name__)
ALERT_NAMES: Final = {
    "negative_mentions": "BrandpulseNegativeMentionSpike",
    "mentions": "BrandpulseMentionSpike",
    "sla_breach": "BrandpulseFirstResponseSlaBreach",
}


def alertmanager_alert(record: AlertRecord) -> dict[str, Any]:
    """The v2 API form of an alert record (``POST /api/v2/alerts`` takes a list of these)."""
    evidence = "; ".join(f"{e.platform}/{e.id}: {(e.text or '')[:140]}" for e in record.evidence)
    alert: dict[str, Any] = {
        "labels": {
            "alertname": ALERT_NAMES.get(record.signal, "BrandpulseAlert"),
            "brand": record.brand,
            "platform": record.platform,
            "signal": record.signal,
            "severity": record.severity,
            "source": "brandpulse-stream",
        },
        "annotations": {
            "summary": record.summary,
            "observed": f"{record.observed:g}",
            "expected": f"{record.expected:g}",
            "evidence": evidence,
            "alert_id": record.id,
        },
        "startsAt": record.opened_at.isoformat(),
    }
    if record.state == "resolved":
        alert["endsAt"] = record.at.isoformat()
    return alert


def early_alertmanager_alert(early: EarlyAlert) -> dict[str, Any]:
    """The v2 API form of an early warning: its alert record's, saying how it was judged."""
    alert = alertmanager_alert(early.as_record())
    alert["annotations"]["early"] = (
        f"judged before the minute closed, on the {early.observed:g} "
        f"{early.signal.replace('_', ' ')} admitted so far (its final count can only be higher)"
    )
    return alert


class AlertmanagerPusher:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/") + "/api/v2/alerts"
        self.failures = 0
        self._session: aiohttp.ClientSession | None = None

    async def push(self, records: list[AlertRecord]) -> bool:
        """Send the records; a failure is logged and counted, never raised into the stream."""
        return await self._post([alertmanager_alert(r) for r in records])

    async def push_early(self, warnings: list[EarlyAlert]) -> bool:
        """Send early warnings, as ``push`` sends records."""
        return await self._post([early_alertmanager_alert(w) for w in warnings])

    async def _post(self, alerts: list[dict[str, Any]]) -> bool:
        if not alerts:
            return True
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
        try:
            async with self._session.post(self.url, json=alerts) as response:
                if response.status == 200:
                    return True
                log.warning("Alertmanager answered %s: %s", response.status, await response.text())
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("cannot push alerts to %s: %r", self.url, exc)
        self.failures += 1
        return False

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
