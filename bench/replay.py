"""Replay throughput: the analytics core over a JSON-lines file, against plain decoding.

    python -m bench.replay [--events 1000000] [--repeat 3]

Writes two synthetic files once (cached under bench/results/): the synthetic stream as it is
(social events plus about 13 % site visits and shop orders, which are cheap to process) and the
same stream without the visits and orders (social events only). Then times, on one core and
``--repeat`` times in turn (this machine's speed drifts by ±10 % within minutes, so the median
of interleaved runs is what to quote): decoding and validating every line (the floor any replay
pays), and the full replay (sentiment, windows, spikes, care, output files), with the default
scorer (Rust, when brandpulse-native is installed) and with the Python scorer. Reports events/s
(median, and the range over the runs) and the ratio to decoding in the same runs.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from brandpulse.config import load_config
from brandpulse.contract import COMMERCE_KIND, Event, decode_event, encode_event
from brandpulse.replay import replay_file
from brandpulse.sentiment import Scorer, default_scorer, python_scorer
from connectors.synthetic.generator import Plan, SyntheticStream

RESULTS = Path(__file__).resolve().parent / "results"
MIXES: dict[str, Callable[[Event], bool]] = {
    "synthetic mix": lambda event: True,
    "social events only": lambda event: event.platform not in COMMERCE_KIND,
}


def events_file(count: int, mix: str = "synthetic mix") -> Path:
    suffix = "" if mix == "synthetic mix" else "-social"
    path = RESULTS / f"replay-{count}{suffix}.jsonl"
    if not path.exists():
        RESULTS.mkdir(exist_ok=True)
        with path.open("wb") as handle:
            for event in itertools.islice(_stream(MIXES[mix]), count):
                handle.write(encode_event(event) + b"\n")
    return path


def _stream(keep: Callable[[Event], bool]) -> Iterator[Event]:
    plan = Plan.from_config(load_config(), datetime(2026, 1, 5, tzinfo=UTC))
    return filter(keep, SyntheticStream(plan))


def decode_only(path: Path) -> float:
    started = time.perf_counter()
    with path.open("rb") as handle:
        for line in handle:
            decode_event(line.rstrip(b"\n"))
    return time.perf_counter() - started


STEPS: dict[str, str] = {
    "decode": "decode + validate",
    "replay": "brandpulse replay",
    "python": "replay, Python scorer",
}


def full_replay(path: Path, scorer: Scorer) -> float:
    config = load_config()
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        replay_file(config, path, Path(folder), scorer)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs (default: 3)")
    args = parser.parse_args()
    paths = {mix: events_file(args.events, mix) for mix in MIXES}
    seconds: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.repeat):
        for mix, path in paths.items():
            seconds.setdefault((mix, "decode"), []).append(decode_only(path))
            seconds.setdefault((mix, "replay"), []).append(full_replay(path, default_scorer()))
            seconds.setdefault((mix, "python"), []).append(full_replay(path, python_scorer()))
    print(f"default scorer: {type(default_scorer()).__name__}")
    print(f"\n{'one core':38} {'events/s (median)':>17} {'range':>19} {'x decode':>9}")
    for mix in MIXES:
        decode = statistics.median(seconds[mix, "decode"])
        for step, title in STEPS.items():
            runs = sorted(args.events / s for s in seconds[mix, step])
            median = args.events / statistics.median(seconds[mix, step])
            spread = f"{runs[0]:,.0f}-{runs[-1]:,.0f}"
            name = f"{mix}: {title}"
            ratio = decode / statistics.median(seconds[mix, step])
            print(f"{name:38} {median:>17,.0f} {spread:>19} {ratio:>9.2f}")


if __name__ == "__main__":
    main()
