"""kafka-python clients with brandpulse's settings, and the topics brandpulse writes to.

Connectors publish with kafka-python (3.x producers default to acks=all and idempotence, which
is what we want: a retried batch is not written twice).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Final

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, KafkaTimeoutError, TopicAlreadyExistsError

from brandpulse.config import Config
from brandpulse.deadletter import MAX_RAW_BYTES
from brandpulse.errors import BrandpulseError

MAX_REQUEST_BYTES: Final = 2 * MAX_RAW_BYTES
"""Room for a dead letter carrying its largest raw input (base64 grows it by a third)."""
BOOTSTRAP_TIMEOUT_MS: Final = 10_000


class KafkaUnreachable(BrandpulseError):
    """No broker answered; the message says where we looked and what to do."""

    exit_code = 3

    def __init__(self, bootstrap: str) -> None:
        super().__init__(
            f"cannot reach Kafka at {bootstrap}: start the local stack with "
            "`brandpulse stack up`, or point BRANDPULSE_KAFKA__BOOTSTRAP at your brokers"
        )


@contextmanager
def _connected(bootstrap: str, client: type[Any], **settings: Any) -> Iterator[Any]:
    """A kafka-python client, closed on the way out; KafkaUnreachable if no broker answers."""
    try:
        connected = client(bootstrap_servers=bootstrap.split(","), **settings)
    except KafkaTimeoutError:
        raise KafkaUnreachable(bootstrap) from None
    try:
        yield connected
    finally:
        connected.close()


def admin_client(
    bootstrap: str, timeout_ms: int = BOOTSTRAP_TIMEOUT_MS
) -> AbstractContextManager[Any]:
    return _connected(
        bootstrap,
        KafkaAdminClient,
        client_id="brandpulse-admin",
        bootstrap_timeout_ms=timeout_ms,
        request_timeout_ms=timeout_ms,
    )


def make_producer(bootstrap: str, client_id: str, **settings: Any) -> Any:
    """A producer that fails fast (and clearly) when no broker answers."""
    options = {"linger_ms": 20, "max_request_size": MAX_REQUEST_BYTES, **settings}
    try:
        return KafkaProducer(
            bootstrap_servers=bootstrap.split(","),
            client_id=client_id,
            bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS,
            **options,
        )
    except KafkaTimeoutError:
        raise KafkaUnreachable(bootstrap) from None


def ensure_topics(config: Config) -> None:
    """Create brandpulse's topics if missing (idempotent)."""
    kafka = config.kafka
    topics = [
        NewTopic(kafka.raw_topic, kafka.partitions, kafka.replication_factor),
        NewTopic(kafka.windows_topic, kafka.partitions, kafka.replication_factor),
        NewTopic(kafka.alerts_topic, kafka.partitions, kafka.replication_factor),
        NewTopic(
            kafka.dead_letter_topic,
            1,
            kafka.replication_factor,
            topic_configs={"max.message.bytes": str(MAX_REQUEST_BYTES)},
        ),
    ]
    with admin_client(config.bootstrap) as admin:
        existing = set(admin.list_topics())
        missing = [topic for topic in topics if topic.name not in existing]
        if not missing:
            return
        try:
            admin.create_topics(missing)
        except TopicAlreadyExistsError:
            pass
        except KafkaError as exc:
            raise BrandpulseError(
                f"cannot create topics {[t.name for t in missing]}: {exc}"
            ) from exc


def groupless_consumer(bootstrap: str, client_id: str) -> AbstractContextManager[Any]:
    """A consumer outside any consumer group: it reads the partitions it is assigned and never
    commits, so replays and the archiver leave the live worker's offsets alone."""
    return _connected(
        bootstrap,
        KafkaConsumer,
        client_id=client_id,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="none",
        allow_auto_create_topics=False,
        bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS,
    )
