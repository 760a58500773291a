"""docker-compose.yml and the config files it mounts: valid, present, and generated from code."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from dashboards.prometheus_config import COMPOSE_CONFIG, compose_prometheus_config

REPO = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return data


def test_compose_file_is_valid_for_docker_compose() -> None:
    result = subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", "config", "-q"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_every_file_the_compose_file_mounts_exists() -> None:
    mounts = [
        volume.split(":")[0]
        for service in compose()["services"].values()
        for volume in service.get("volumes", [])
        if volume.startswith("./")
    ]
    assert mounts
    for mount in mounts:
        assert (REPO / mount).is_file(), mount


def test_images_are_pinned() -> None:
    for name, service in compose()["services"].items():
        image = service.get("image", "")
        assert re.search(r":v?\d[\w.-]*$", image), f"{name}: {image!r} is not pinned"


def test_every_path_the_dockerfile_copies_exists() -> None:
    for line in (REPO / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (REPO / source).exists(), source


def test_committed_prometheus_config_is_what_the_code_generates() -> None:
    assert (REPO / COMPOSE_CONFIG).read_text() == compose_prometheus_config()


def test_prometheus_and_alertmanager_accept_their_configs() -> None:
    checks = [
        ["promtool", "check", "config", COMPOSE_CONFIG],
        ["amtool", "check-config", "dashboards/alertmanager/alertmanager.yml"],
    ]
    for argv in checks:
        result = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
