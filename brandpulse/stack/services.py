"""The services of the local stack: how each is prepared, started and checked for health."""

from __future__ import annotations

import base64
import logging
import subprocess
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from kafka.errors import KafkaError

from brandpulse.config import Config
from brandpulse.errors import BrandpulseError
from brandpulse.kafka_io import KafkaUnreachable, admin_client
from brandpulse.stack.kafka_dist import kafka_libs
from brandpulse.stack.procs import require_binary
from dashboards.alertmanager import render_alertmanager_config
from dashboards.mixin import CONNECTOR_JOB, WORKER_JOB
from dashboards.prometheus_config import render_prometheus_config


@dataclass(frozen=True)
class Service:
    name: str
    port: int
    address: str
    prepare: Callable[[Path], list[str]]
    """Writes the service's files below its folder and returns the command that runs it."""
    healthy: Callable[[], bool]


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def kafka_ready(bootstrap: str) -> bool:
    """True when a broker answers metadata requests (not merely accepts TCP connections).

    kafka-python logs every refused connection; while Kafka starts those are expected, so the
    probe keeps them quiet.
    """
    quiet = logging.getLogger("kafka")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        with admin_client(bootstrap, timeout_ms=3000) as admin:
            admin.list_topics()
    except (KafkaUnreachable, KafkaError):
        return False
    finally:
        quiet.setLevel(level)
    return True


def services(config: Config) -> list[Service]:
    """Kafka first: Prometheus and Alertmanager do not depend on it, but the worker does."""
    stack = config.stack
    kafka = f"127.0.0.1:{stack.kafka_port}"
    prometheus = f"127.0.0.1:{stack.prometheus_port}"
    alertmanager = f"127.0.0.1:{stack.alertmanager_port}"
    return [
        Service(
            "kafka",
            stack.kafka_port,
            kafka,
            lambda home: _kafka(config, home),
            lambda: kafka_ready(kafka),
        ),
        Service(
            "prometheus",
            stack.prometheus_port,
            f"http://{prometheus}",
            lambda home: _prometheus(config, home),
            lambda: http_ok(f"http://{prometheus}/-/ready"),
        ),
        Service(
            "alertmanager",
            stack.alertmanager_port,
            f"http://{alertmanager}",
            lambda home: _alertmanager(config, home),
            lambda: http_ok(f"http://{alertmanager}/-/ready"),
        ),
    ]


KAFKA_LOG4J = """\
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
"""


def _kafka_properties(config: Config, data: Path) -> str:
    stack = config.stack
    broker = f"127.0.0.1:{stack.kafka_port}"
    controller = f"127.0.0.1:{stack.kafka_controller_port}"
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{controller}",
        "listeners": f"PLAINTEXT://{broker},CONTROLLER://{controller}",
        "advertised.listeners": f"PLAINTEXT://{broker}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(data),
        "num.partitions": str(config.kafka.partitions),
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def _kafka(config: Config, home: Path) -> list[str]:
    java = require_binary(
        "java", hint="Kafka needs a Java 17+ runtime (apt-get install openjdk-17-jre-headless)"
    )
    libs = kafka_libs(Path(config.stack.cache_dir))
    data = home / "data"
    properties = home / "server.properties"
    properties.write_text(_kafka_properties(config, data))
    log4j = home / "log4j.properties"
    log4j.write_text(KAFKA_LOG4J)
    jvm = [
        java,
        f"-Xmx{config.stack.kafka_heap}",
        "-Xms256m",
        f"-Dlog4j.configuration=file:{log4j}",
        "-cp",
        f"{libs}/*",
    ]
    if not (data / "meta.properties").exists():
        _format_storage(jvm, properties)
    return [*jvm, "kafka.Kafka", str(properties)]


def _format_storage(jvm: list[str], properties: Path) -> None:
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    result = subprocess.run(
        [*jvm, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(properties)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BrandpulseError(f"formatting Kafka's storage failed:\n{result.stdout}{result.stderr}")


def _prometheus(config: Config, home: Path) -> list[str]:
    binary = require_binary("prometheus", hint="apt-get install prometheus")
    stack = config.stack
    config_file = home / "prometheus.yml"
    config_file.write_text(
        render_prometheus_config(
            scrape_interval=stack.scrape_interval,
            jobs={
                "prometheus": [f"127.0.0.1:{stack.prometheus_port}"],
                "alertmanager": [f"127.0.0.1:{stack.alertmanager_port}"],
                WORKER_JOB: [f"127.0.0.1:{config.worker.web_port}"],
                CONNECTOR_JOB: [f"127.0.0.1:{config.synthetic.metrics_port}"],
            },
            alertmanagers=[f"127.0.0.1:{stack.alertmanager_port}"],
            rule_files=[str(resources.files("dashboards") / "prometheus" / "rules" / "*.yml")],
        )
    )
    return [
        binary,
        f"--config.file={config_file}",
        f"--storage.tsdb.path={home / 'data'}",
        f"--web.listen-address=127.0.0.1:{stack.prometheus_port}",
        "--web.enable-lifecycle",
    ]


def _alertmanager(config: Config, home: Path) -> list[str]:
    binary = require_binary(
        "alertmanager", "prometheus-alertmanager", hint="apt-get install prometheus-alertmanager"
    )
    config_file = home / "alertmanager.yml"
    config_file.write_text(render_alertmanager_config(config.alerting.webhook_url))
    return [
        binary,
        f"--config.file={config_file}",
        f"--storage.path={home / 'data'}",
        f"--web.listen-address=127.0.0.1:{config.stack.alertmanager_port}",
        "--cluster.listen-address=",
    ]
