"""``brandpulse x``: the filtered stream of ``[x]`` through the shared connector runtime."""

from __future__ import annotations

from typing import Final

from brandpulse.config import Config
from brandpulse.errors import BrandpulseError, UsageError
from connectors.metrics import ConnectorStats, serve_metrics
from connectors.runtime import MissingCredential, require_env, run_connector
from connectors.x.api import XApi
from connectors.x.mapping import XBrand
from connectors.x.rules import Rule, configured_rules
from connectors.x.source import XSource

TOKEN_ENV: Final = "X_BEARER_TOKEN"


def run_x(config: Config, *, once: bool = False) -> int:
    """Follow the brands' rules on the filtered stream until SIGTERM (or, with ``once``, catch
    each up with recent search and exit); returns the number of events published. A one-shot
    run fails if a rule could not be searched. A missing token is a usage error (exit 2)."""
    try:
        token = require_env(TOKEN_ENV)
    except MissingCredential as exc:
        raise UsageError(str(exc)) from None
    settings = config.x
    stats = ConnectorStats("x")
    api = XApi(settings.base_url, token, settings.timeout)
    source = XSource(settings, api, brand_rules(config), stats, once=once)
    serve_metrics(stats, settings.metrics_host, settings.metrics_port)
    published = run_connector(source, config, stats)
    if failed := source.failed():
        raise BrandpulseError("could not search " + "; ".join(failed))
    return published


def brand_rules(config: Config) -> list[tuple[Rule, XBrand]]:
    """Each configured rule with the brand it is tagged with, and that brand's X handles."""
    brands = {brand.name: brand for brand in config.brands}
    return [
        (rule, XBrand(rule.tag, _handles(brands[rule.tag].accounts.get("x", []))))
        for rule in configured_rules(config.brands, config.x)
    ]


def _handles(handles: list[str]) -> frozenset[str]:
    return frozenset(h.strip().lstrip("@").lower() for h in handles if h.strip())
