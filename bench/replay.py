"""Replay throughput: the analytics core over a JSON-lines file, against plain decoding.

    python -m bench.replay [--events 1000000]

Writes a synthetic file once (cached under bench/results/), then times, in one run and on one
core: decoding and validating every line (the floor any replay pays), and the full replay
(sentiment, windows, spikes, care, output files). Reports events/s and the ratio.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from brandpulse.config import load_config
from brandpulse.contract import decode_event, encode_event
from brandpulse.replay import replay_file
from brandpulse.sentiment import default_scorer
from connectors.synthetic.generator import Plan, SyntheticStream

RESULTS = Path(__file__).resolve().parent / "results"


def events_file(count: int) -> Path:
    path = RESULTS / f"replay-{count}.jsonl"
    if not path.exists():
        RESULTS.mkdir(exist_ok=True)
        config = load_config()
        plan = Plan.from_config(config, datetime(2026, 1, 5, tzinfo=UTC))
        with path.open("wb") as handle:
            for event in itertools.islice(SyntheticStream(plan), count):
                handle.write(encode_event(event) + b"\n")
    return path


def decode_only(path: Path) -> float:
    started = time.perf_counter()
    with path.open("rb") as handle:
        for line in handle:
            decode_event(line.rstrip(b"\n"))
    return time.perf_counter() - started


def full_replay(path: Path) -> float:
    config = load_config()
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        replay_file(config, path, Path(folder), default_scorer())
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    path = events_file(args.events)
    decode = decode_only(path)
    replay = full_replay(path)
    print(f"\n{'step (one core)':36} {'events/s':>12} {'x decode':>9}")
    for name, seconds in (("decode + validate only", decode), ("brandpulse replay", replay)):
        print(f"{name:36} {args.events / seconds:>12,.0f} {decode / seconds:>9.2f}")


if __name__ == "__main__":
    main()
