"""The synthetic connector's shell: takes the generator's events and publishes them to Kafka."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from brandpulse.config import Config
from connectors.metrics import ConnectorStats, serve_metrics
from connectors.progress import Progress
from connectors.publisher import Publisher
from connectors.synthetic.generator import Plan, SyntheticStream

IDLE_STEP_SECONDS = 0.05


def run_synthetic(
    config: Config,
    *,
    count: int | None = None,
    duration: float | None = None,
    pace: bool = True,
    start: datetime | None = None,
    progress_every: float = 1.0,
) -> int:
    """Publish until ``count`` events or ``duration`` seconds of event time; return the count.

    With ``pace`` the events go out as their event time comes due (a live feed); without it
    they go out as fast as Kafka takes them, with event times spaced by the configured rate.
    """
    plan = Plan.from_config(config, start or datetime.now(UTC))
    origin = plan.start.timestamp()
    wall_origin = time.time()
    progress = Progress("synthetic", interval=progress_every)
    stats = ConnectorStats("synthetic")
    serve_metrics(stats, config.synthetic.metrics_host, config.synthetic.metrics_port)
    with Publisher(config, client_id="brandpulse-synthetic", stats=stats) as publisher:
        try:
            for event in SyntheticStream(plan):
                offset = event.time.timestamp() - origin
                if (count is not None and progress.published >= count) or (
                    duration is not None and offset >= duration
                ):
                    break
                if pace:
                    _wait_until(wall_origin + offset, publisher)
                publisher.publish(event)
                progress.count(published=1)
        finally:
            progress.finish()
    return progress.published


def _wait_until(moment: float, publisher: Publisher) -> None:
    while (remaining := moment - time.time()) > 0:
        time.sleep(min(remaining, IDLE_STEP_SECONDS))
        publisher.poll()
