"""docker-compose.yml and the config files it mounts: valid, present, and generated from code.

The checks run the tools that read these files (Debian's docker-compose, promtool, amtool and
sh); a missing tool fails the test with the package to install, never skips it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from brandpulse.config import AlertingConfig, load_config
from brandpulse.stack.services import services
from dashboards.alertmanager import COMMITTED_WEBHOOK_URL, render_alertmanager_config
from dashboards.mixin import DATASOURCE_UID
from dashboards.prometheus_config import COMPOSE_CONFIG
from streams.alertmanager import ALERT_NAMES

REPO = Path(__file__).resolve().parents[2]
ALERTMANAGER_CONFIG = REPO / "dashboards" / "alertmanager" / "alertmanager.yml"
PACKAGES = {
    "docker-compose": "docker-compose",
    "promtool": "prometheus",
    "amtool": "prometheus-alertmanager",
    "sh": "dash",
}
"""The Debian package of each tool the tests run."""
TRICKY_URL = "https://hooks.example.com/alerts?team=a&key=b|c\\d"
"""A URL with the characters sed treats specially in a replacement."""


def run(
    *argv: str | Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    tool = str(argv[0])
    if shutil.which(tool) is None:
        pytest.fail(f"`{tool}` is not installed: apt-get install {PACKAGES[tool]}")
    return subprocess.run(
        [str(arg) for arg in argv], cwd=REPO, env=env, capture_output=True, text=True, check=False
    )


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return data


def docker_compose_config(
    tmp_path: Path, *options: str, **variables: str
) -> subprocess.CompletedProcess[str]:
    """``docker-compose config`` with exactly ``variables`` set: no .env, no inherited values."""
    env_file = tmp_path / "empty.env"
    env_file.touch()
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("GRAFANA_", "BRANDPULSE_"))
    }
    return run(
        "docker-compose",
        "--env-file",
        env_file,
        "-f",
        "docker-compose.yml",
        "config",
        *options,
        env={**env, **variables},
    )


def bind_mounts(service: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(host path, container path) of each bind mount of a service."""
    for volume in service.get("volumes", []):
        if volume.startswith("./"):
            host, container, *_ = volume.split(":")
            yield host, container


def test_compose_file_is_valid_for_docker_compose(tmp_path: Path) -> None:
    result = docker_compose_config(tmp_path, "-q", GRAFANA_ADMIN_PASSWORD="s3cret")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("password", [None, ""])
def test_compose_refuses_to_run_without_a_grafana_password(
    tmp_path: Path, password: str | None
) -> None:
    variables = {} if password is None else {"GRAFANA_ADMIN_PASSWORD": password}
    result = docker_compose_config(tmp_path, "-q", **variables)
    assert result.returncode != 0
    assert "set GRAFANA_ADMIN_PASSWORD (e.g. in .env)" in result.stderr


@pytest.mark.parametrize(
    ("variables", "url"),
    [
        ({}, "http://host.docker.internal:5001/alerts"),
        ({"BRANDPULSE_ALERTING__WEBHOOK_URL": TRICKY_URL}, TRICKY_URL),
    ],
)
def test_compose_passes_the_webhook_url_to_alertmanager(
    tmp_path: Path, variables: dict[str, str], url: str
) -> None:
    result = docker_compose_config(tmp_path, GRAFANA_ADMIN_PASSWORD="s3cret", **variables)
    assert result.returncode == 0, result.stderr
    alertmanager = yaml.safe_load(result.stdout)["services"]["alertmanager"]
    assert alertmanager["environment"]["BRANDPULSE_ALERTING__WEBHOOK_URL"] == url


def test_every_path_the_compose_file_mounts_exists() -> None:
    mounts = [
        host for service in compose()["services"].values() for host, _ in bind_mounts(service)
    ]
    assert mounts
    for mount in mounts:
        assert (REPO / mount).exists(), mount


def test_images_are_pinned() -> None:
    for name, service in compose()["services"].items():
        image = service.get("image", "")
        assert re.search(r":v?\d[\w.-]*$", image), f"{name}: {image!r} is not pinned"


def test_every_long_running_service_has_a_healthcheck() -> None:
    """Only a one-shot job (``restart: "no"``) may go without one."""
    for name, service in compose()["services"].items():
        if service.get("restart") != "no":
            healthcheck = service.get("healthcheck", {})
            assert healthcheck.get("test") and not healthcheck.get("disable"), name


def test_grafana_is_provisioned_with_what_compose_mounts() -> None:
    services_ = compose()["services"]
    mounts = {container: host for host, container in bind_mounts(services_["grafana"])}
    provisioning = REPO / mounts["/etc/grafana/provisioning"]
    (source,) = yaml.safe_load((provisioning / "datasources" / "brandpulse.yml").read_text())[
        "datasources"
    ]
    assert source["uid"] == DATASOURCE_UID and source["isDefault"] is True
    assert urlsplit(source["url"]).hostname in services_
    (provider,) = yaml.safe_load((provisioning / "dashboards" / "brandpulse.yml").read_text())[
        "providers"
    ]
    assert mounts[provider["options"]["path"]] == "./dashboards/grafana/boards"


def test_prometheus_rule_files_are_mounted() -> None:
    mounted = [container for _, container in bind_mounts(compose()["services"]["prometheus"])]
    rule_files = yaml.safe_load((REPO / COMPOSE_CONFIG).read_text())["rule_files"]
    assert rule_files
    for pattern in rule_files:
        assert any(pattern.startswith(f"{target}/") for target in mounted), pattern


def test_every_path_the_dockerfile_copies_exists() -> None:
    for line in (REPO / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY ") and "--from=" not in line:  # not from an earlier stage
            for source in line.split()[1:-1]:
                assert (REPO / source).exists(), source


def test_promtool_accepts_the_prometheus_config() -> None:
    result = run("promtool", "check", "config", COMPOSE_CONFIG)
    assert result.returncode == 0, result.stdout + result.stderr


def with_examples(config: str) -> str:
    """The config with every ``#> `` example enabled and its <placeholders> filled in."""
    enabled = re.sub(r"^(\s*)#> ", r"\1", config, flags=re.MULTILINE)
    return re.sub(r"<[\w-]+>", "placeholder", enabled)


@pytest.fixture
def examples_enabled(tmp_path: Path) -> Path:
    path = tmp_path / "alertmanager.yml"
    path.write_text(with_examples(ALERTMANAGER_CONFIG.read_text()))
    return path


def test_amtool_accepts_the_alertmanager_config() -> None:
    result = run("amtool", "check-config", ALERTMANAGER_CONFIG)
    assert result.returncode == 0, result.stdout + result.stderr


def test_amtool_accepts_the_alertmanager_config_with_the_examples_enabled(
    examples_enabled: Path,
) -> None:
    result = run("amtool", "check-config", examples_enabled)
    assert result.returncode == 0, result.stdout + result.stderr
    receivers = yaml.safe_load(examples_enabled.read_text())["receivers"]
    kinds = {kind for receiver in receivers for kind in receiver if kind.endswith("_configs")}
    assert {"pagerduty_configs", "slack_configs", "email_configs"} <= kinds


SPIKE = "alertname=BrandpulseNegativeMentionSpike platform=x"
PIPELINE_ROUTES = [
    ("alertname=BrandpulseWorkerDown severity=critical", "ops"),
    ("alertname=BrandpulseConsumerLagHigh severity=warning", "ops"),
    ("alertname=BrandpulseDeadLettersRising severity=warning", "ops"),
    ("alertname=BrandpulseConnectorSilent severity=warning connector=synthetic", "ops"),
]


def assert_routes(config: Path, labels: str, receiver: str) -> None:
    """``labels`` (``name=value ...``) route to ``receiver`` and to nothing else."""
    result = run("amtool", "config", "routes", "test", f"--config.file={config}", *labels.split())
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receiver, labels


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (f"{SPIKE} brand=acme severity=critical source=brandpulse-stream", "oncall-pager"),
        (f"{SPIKE} brand=acme severity=critical source=prometheus", "oncall-pager"),
        (f"{SPIKE} brand=acme severity=warning source=brandpulse-stream", "brand-team"),
        (
            "alertname=BrandpulseFirstResponseSlaBreach brand=kaffeehaus platform=x severity=warning",
            "brand-team",
        ),
        *PIPELINE_ROUTES,
    ],
)
def test_alertmanager_routes(labels: str, receiver: str) -> None:
    assert_routes(ALERTMANAGER_CONFIG, labels, receiver)


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (f"{SPIKE} brand=kaffeehaus severity=warning", "kaffeehaus-team"),
        (f"{SPIKE} brand=kaffeehaus severity=critical", "oncall-pager"),
        (f"{SPIKE} brand=globex severity=warning", "brand-team"),
        *PIPELINE_ROUTES,
    ],
)
def test_alertmanager_routes_with_the_examples_enabled(
    examples_enabled: Path, labels: str, receiver: str
) -> None:
    assert_routes(examples_enabled, labels, receiver)


def prometheus_alert_names() -> set[str]:
    return {
        rule["alert"]
        for path in (REPO / "dashboards" / "prometheus" / "rules").glob("*.yml")
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }


def test_a_worker_down_inhibits_exactly_the_alerts_it_makes_stale() -> None:
    """The alerts the worker pushes (and Prometheus raises from its gauges), by their names."""
    rule = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())["inhibit_rules"][0]
    assert rule["source_matchers"] == ['alertname="BrandpulseWorkerDown"']
    (target,) = rule["target_matchers"]
    names = re.fullmatch(r'alertname=~"(.*)"', target)
    assert names is not None, target
    assert set(names[1].split("|")) == set(ALERT_NAMES.values())
    assert {"BrandpulseWorkerDown", *ALERT_NAMES.values()} <= prometheus_alert_names()


def webhook_urls(config: str) -> set[str]:
    receivers = yaml.safe_load(config)["receivers"]
    return {hook["url"] for r in receivers for hook in r.get("webhook_configs", [])}


@pytest.mark.parametrize("url", [COMMITTED_WEBHOOK_URL, TRICKY_URL])
def test_compose_and_the_local_stack_render_the_same_alertmanager_config(url: str) -> None:
    script = run(
        "sh",
        "dashboards/alertmanager/render-config.sh",
        ALERTMANAGER_CONFIG,
        env={"PATH": os.environ["PATH"], "BRANDPULSE_ALERTING__WEBHOOK_URL": url},
    )
    assert script.returncode == 0, script.stderr
    rendered = render_alertmanager_config(url)
    assert script.stdout == rendered
    assert webhook_urls(rendered) == {url}


def test_compose_render_script_insists_on_a_webhook_url() -> None:
    script = run(
        "sh",
        "dashboards/alertmanager/render-config.sh",
        ALERTMANAGER_CONFIG,
        env={"PATH": os.environ["PATH"]},
    )
    assert script.returncode != 0 and not script.stdout
    assert "BRANDPULSE_ALERTING__WEBHOOK_URL" in script.stderr


def test_the_default_webhook_url_is_the_committed_one() -> None:
    assert AlertingConfig().webhook_url == COMMITTED_WEBHOOK_URL
    assert webhook_urls(ALERTMANAGER_CONFIG.read_text()) == {COMMITTED_WEBHOOK_URL}


def test_the_local_stack_runs_alertmanager_with_the_configured_webhook_url(
    tmp_path: Path,
) -> None:
    config = load_config(
        REPO / "brandpulse.toml", env={"BRANDPULSE_ALERTING__WEBHOOK_URL": TRICKY_URL}
    )
    (alertmanager,) = [service for service in services(config) if service.name == "alertmanager"]
    argv = alertmanager.prepare(tmp_path)
    written = tmp_path / "alertmanager.yml"
    assert f"--config.file={written}" in argv
    assert webhook_urls(written.read_text()) == {TRICKY_URL}
    result = run("amtool", "check-config", written)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_connector_is_a_compose_service_with_its_profile_credentials_and_scrape() -> None:
    from brandpulse.config import Config
    from brandpulse.connector_commands import CONNECTORS
    from connectors.webhooks.app import (
        GENERIC_SECRET,
        META_APP_SECRET,
        META_VERIFY_TOKEN,
        SHOPIFY_WEBHOOK_SECRET,
    )
    from connectors.webhooks.graph import META_PAGE_ACCESS_TOKEN
    from dashboards.prometheus_config import connector_services

    webhooks = (
        META_APP_SECRET,
        META_VERIFY_TOKEN,
        SHOPIFY_WEBHOOK_SECRET,
        GENERIC_SECRET,
        META_PAGE_ACCESS_TOKEN,
    )
    wanted = {spec.name: spec.credentials for spec in CONNECTORS} | {"webhooks": webhooks}
    services = compose()["services"]
    scraped = dict(connector_services())
    for name, credentials in wanted.items():
        service = services[name]
        port = getattr(Config(), name).metrics_port
        assert service["command"] == [name] and service["profiles"] == [name], name
        assert f"http://127.0.0.1:{port}/metrics" in " ".join(service["healthcheck"]["test"])
        assert scraped[name] == port, name
        environment = service["environment"]
        assert environment[f"BRANDPULSE_{name.upper()}__METRICS_HOST"] == "0.0.0.0"
        secrets = {k: v for k, v in environment.items() if "__" not in k}  # not settings
        assert secrets == {variable: f"${{{variable}:-}}" for variable in credentials}, name
        assert "./brandpulse.toml:/app/brandpulse.toml:ro" in service["volumes"], name
    assert set(scraped) == {*wanted, "synthetic"}
    for spec in CONNECTORS:
        assert all(variable in spec.description for variable in spec.credentials), spec.name
