"""Apache Kafka assembled from Maven Central: the broker's jars, fetched once with mvn."""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Final

from brandpulse.errors import BrandpulseError
from brandpulse.stack.procs import require_binary

KAFKA_VERSION: Final = "3.9.1"
DEPENDENCY_PLUGIN: Final = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"


def kafka_libs(cache_dir: Path) -> Path:
    """The folder holding Kafka's runtime jars, fetching them into ``cache_dir`` if needed."""
    libs = cache_dir.resolve() / f"kafka-{KAFKA_VERSION}" / "libs"
    if (libs / f"kafka_2.13-{KAFKA_VERSION}.jar").exists():
        return libs
    mvn = require_binary(
        "mvn", hint="it fetches Kafka from Maven Central once (apt-get install maven)"
    )
    print(
        f"fetching Apache Kafka {KAFKA_VERSION} from Maven Central into {libs} (once)",
        file=sys.stderr,
    )
    partial = libs.with_name("libs.partial")
    shutil.rmtree(partial, ignore_errors=True)
    pom = resources.files("brandpulse.stack") / "kafka-runtime.pom.xml"
    with resources.as_file(pom) as pom_path:
        result = subprocess.run(
            [
                mvn,
                "-B",
                "-q",
                "-f",
                str(pom_path),
                f"{DEPENDENCY_PLUGIN}:copy-dependencies",
                f"-DoutputDirectory={partial}",
                "-DincludeScope=runtime",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
        raise BrandpulseError(
            f"mvn could not fetch Kafka {KAFKA_VERSION} (is Maven Central reachable?):\n{tail}"
        )
    partial.rename(libs)
    return libs
