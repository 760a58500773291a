"""Alertmanager's configuration for brandpulse, with the webhook URL of the deployment.

``alertmanager.yml`` next to this module is the configuration as committed, in which every
receiver notifies :data:`COMMITTED_WEBHOOK_URL`. Alertmanager expands no environment variables in
its configuration, so whoever starts it writes a copy with the deployment's URL in place of that
one: the local stack with :func:`render_alertmanager_config`, docker-compose with
``render-config.sh`` (the Alertmanager image has a shell but no Python). Both replace the same
text, so both write the same file; a unit test holds them to that.
"""

from __future__ import annotations

from importlib import resources
from typing import Final

COMMITTED_WEBHOOK_URL: Final = "http://127.0.0.1:5001/alerts"
"""The URL in the committed file; ``[alerting] webhook_url`` defaults to it."""


def committed_config() -> str:
    return (resources.files(__name__) / "alertmanager.yml").read_text()


def render_alertmanager_config(webhook_url: str) -> str:
    """The committed configuration with every receiver notifying ``webhook_url``."""
    return committed_config().replace(COMMITTED_WEBHOOK_URL, webhook_url)
