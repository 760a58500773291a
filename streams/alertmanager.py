"""Pushes alerts straight to Alertmanager's v2 API, so on-call is paged within seconds.

Alertmanager resolves an alert it has not heard of for ``resolve_timeout``; firing alerts are
therefore pushed again every ``resend_interval``, and resolved ones once with their end time.
"""

from __future__ import annotations

import logging
from typing import Any, Final

import aiohttp

from brandpulse.analytics.records import AlertRecord

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


class AlertmanagerPusher:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/") + "/api/v2/alerts"
        self.failures = 0
        self._session: aiohttp.ClientSession | None = None

    async def push(self, records: list[AlertRecord]) -> bool:
        """Send the records; a failure is logged and counted, never raised into the stream."""
        if not records:
            return True
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
        try:
            async with self._session.post(
                self.url, json=[alertmanager_alert(r) for r in records]
            ) as response:
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
