"""One real stack (Kafka, Prometheus, Alertmanager) for the whole test session, on free ports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from brandpulse.stack import Stack
from tests.integration.harness import StackEnv, stack_env


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackEnv]:
    env = stack_env(tmp_path_factory.mktemp("stack"))
    services = Stack(env.config)
    services.up()
    try:
        yield env
    finally:
        services.down()


@pytest.fixture
def isolated(stack: StackEnv) -> StackEnv:
    return stack.isolated()


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    return tmp_path
