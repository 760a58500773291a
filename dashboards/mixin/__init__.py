"""brandpulse's monitoring mixin: boards, recording rules and alerts from one source.

As in the node and kube-prometheus mixins, the heavy queries are recording rules that the boards
read, every alert links to its section of ``docs/runbook.md``, and the generated files are
committed (``brandpulse dashboards generate`` writes them; a test fails when they are stale).
"""

from __future__ import annotations

from typing import Final

DATASOURCE_UID: Final = "brandpulse-prometheus"
"""The Prometheus datasource every panel uses (provisioned in Grafana under this uid)."""
RUNBOOK_URL: Final = "https://github.com/brandpulse/brandpulse/blob/main/docs/runbook.md"
"""Where alerts link to; a fork that publishes its runbook elsewhere changes this one line."""
WORKER_JOB: Final = "brandpulse-worker"
CONNECTOR_JOB: Final = "brandpulse-connectors"
