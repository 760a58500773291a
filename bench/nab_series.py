"""Labelled mention-volume series: seeded look-alikes of NAB's real Twitter volumes, and files.

The detector will be scored on real labelled series (NAB's realTweets style: company mentions in
5-minute buckets), but that data sits in an AGPL repository that must not be committed. These
look-alikes carry what makes the real ones hard, so that tuning on them means something:

* volumes from a handful to hundreds of mentions per 5 minutes, with Poisson noise on top of
  over-dispersion (a gamma-distributed rate) and rare heavy-tailed one-bucket blips;
* a daily cycle, quieter (or busier) weekends and a slowly wandering level, plus slow level
  shifts over hours to days — none of which are anomalies;
* the anomalies: short bursts of very different sizes (a sharp rise, then an exponential decay).

Windows are labelled the way NAB labels them: each is 10% of the series length divided by the
number of anomalies, centred on the burst's first bucket, and no anomaly falls in the first 15%
of the series (NAB's probationary period). Bucket timestamps are deliberately not aligned to
whole minutes, as in NAB's files.

Real series are read from NAB's file layout (``timestamp,value`` CSVs, windows in a
``combined_windows.json``), and a generated corpus can be written in it.
"""

from __future__ import annotations

import csv
import json
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from statistics import median

DAY = 86_400.0
HOUR = 3_600.0
EPOCH = 1_420_070_400.0  # 2015-01-01T00:00:00Z, a Thursday
WINDOW_SHARE = 0.10
PROBATION_SHARE = 0.15
FIVE_MINUTE_ROWS = 15_840  # 55 days, the length of a realTweets file
ONE_MINUTE_ROWS = 14_400  # 10 days
CSV_TIME = "%Y-%m-%d %H:%M:%S"
WINDOW_TIME = "%Y-%m-%d %H:%M:%S.%f"


@dataclass(frozen=True)
class LabelledSeries:
    """A series of bucket counts with NAB-style anomaly windows (inclusive bucket starts)."""

    name: str
    bucket_seconds: int
    timestamps: tuple[float, ...]
    values: tuple[float, ...]
    windows: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Burst:
    """Extra mentions on top of the normal rate: peak multiple, rise and decay times."""

    onset: int
    peak_multiple: float
    rise_seconds: float
    decay_seconds: float

    def rows(self, bucket_seconds: int, rows: int) -> range:
        """The rows it adds to: until it has decayed below a quarter percent of its peak."""
        length = (self.rise_seconds + 6 * self.decay_seconds) // bucket_seconds
        return range(self.onset, min(rows, self.onset + int(length) + 1))

    def extra(self, row: int, bucket_seconds: int, normal_rate: float) -> float:
        elapsed = (row - self.onset) * bucket_seconds
        if elapsed < self.rise_seconds:
            shape = (elapsed + bucket_seconds) / (self.rise_seconds + bucket_seconds)
        else:
            shape = math.exp(-(elapsed - self.rise_seconds) / self.decay_seconds)
        return normal_rate * (self.peak_multiple - 1.0) * shape


def generate_corpus(
    seed: int, five_minute: int = 10, one_minute: int = 4, rows: int | None = None
) -> list[LabelledSeries]:
    """``five_minute`` series of 5-minute buckets and ``one_minute`` of 1-minute buckets."""
    plan = [(300, FIVE_MINUTE_ROWS)] * five_minute + [(60, ONE_MINUTE_ROWS)] * one_minute
    return [
        generate_series(seed * 1_000 + index, bucket_seconds, rows or default_rows)
        for index, (bucket_seconds, default_rows) in enumerate(plan)
    ]


def generate_series(
    seed: int, bucket_seconds: int = 300, rows: int = FIVE_MINUTE_ROWS
) -> LabelledSeries:
    rng = random.Random(seed)
    start = EPOCH + rng.randrange(7) * DAY + rng.randrange(int(DAY))
    timestamps = tuple(start + row * bucket_seconds for row in range(rows))
    normal = normal_rates(rng, timestamps, bucket_seconds)
    bursts = place_bursts(rng, rows)
    rates = list(normal)
    for burst in (*bursts, *place_bumps(rng, rows, bucket_seconds)):
        for row in burst.rows(bucket_seconds, rows):
            rates[row] += burst.extra(row, bucket_seconds, normal[burst.onset])
    dispersion = rng.uniform(4.0, 25.0)
    blip_chance = rng.uniform(0.001, 0.006)
    values = []
    for rate in rates:
        mean = rate * rng.gammavariate(dispersion, 1.0 / dispersion)
        if rng.random() < blip_chance:
            mean *= rng.paretovariate(3.0)
        values.append(float(poisson(rng, mean)))
    half = window_rows(rows, len(bursts)) // 2
    windows = tuple(
        (timestamps[max(0, b.onset - half)], timestamps[min(rows - 1, b.onset + half)])
        for b in bursts
    )
    name = f"synthetic_{bucket_seconds}s_{seed}"
    return LabelledSeries(name, bucket_seconds, timestamps, tuple(values), windows)


def window_rows(rows: int, anomalies: int) -> int:
    """NAB's window size: a tenth of the series shared out between its anomalies."""
    return int(WINDOW_SHARE * rows / anomalies)


def normal_rates(
    rng: random.Random, timestamps: Sequence[float], bucket_seconds: int
) -> list[float]:
    """The expected count of every bucket without anomalies: level, daily, weekly, drift."""
    base = log_uniform(rng, 3.0, 300.0) * bucket_seconds / 300
    daily = daily_profile(rng)
    local_offset = rng.uniform(0, DAY)
    weekend = rng.uniform(-0.5, 0.1)
    drift = level_drift(rng, timestamps)
    rates = []
    for time, wander in zip(timestamps, drift, strict=True):
        local = time + local_offset
        weekday = int((local - EPOCH) // DAY + 3) % 7  # EPOCH is a Thursday; 5, 6 = weekend
        log_rate = daily(local % DAY) + (weekend if weekday >= 5 else 0.0) + wander
        rates.append(base * math.exp(log_rate))
    return rates


def daily_profile(rng: random.Random) -> Callable[[float], float]:
    """Log-multiplier by second of the local day: one broad peak and a smaller second one."""
    first, second = rng.uniform(0.2, 0.8), rng.uniform(0.0, 0.3)
    phase, second_phase = rng.uniform(0, DAY), rng.uniform(0, DAY)

    def at(second_of_day: float) -> float:
        angle = 2 * math.pi * (second_of_day - phase) / DAY
        return first * math.cos(angle) + second * math.cos(2 * angle - second_phase)

    return at


def level_drift(rng: random.Random, timestamps: Sequence[float]) -> list[float]:
    """Log-level that wanders hour by hour and shifts a few times over hours to days."""
    start, end = timestamps[0], timestamps[-1]
    hourly = [0.0]
    step = rng.uniform(0.01, 0.05)
    for _ in range(int((end - start) // HOUR) + 1):
        hourly.append(0.99 * hourly[-1] + rng.gauss(0.0, step))
    shifts = [
        (
            rng.uniform(start, end),
            rng.uniform(6 * HOUR, 2 * DAY),
            rng.choice((-1, 1)) * rng.uniform(0.2, 0.6),
        )
        for _ in range(rng.randrange(3))
    ]
    return [
        hourly[int((time - start) // HOUR)]
        + sum(size * ramp((time - begin) / length) for begin, length, size in shifts)
        for time in timestamps
    ]


def ramp(progress: float) -> float:
    """A smooth step from 0 to 1 as ``progress`` goes from 0 to 1."""
    clamped = min(1.0, max(0.0, progress))
    return clamped * clamped * (3 - 2 * clamped)


def place_bursts(rng: random.Random, rows: int) -> list[Burst]:
    """One to four bursts after the probationary period, their windows never overlapping."""
    count = rng.choice((1, 2, 2, 3, 3, 4))
    half = window_rows(rows, count) // 2
    first = math.ceil(PROBATION_SHARE * rows)
    span = (rows - first) // count
    return [
        Burst(
            onset=first + index * span + half + rng.randrange(span - 2 * half),
            peak_multiple=log_uniform(rng, 2.5, 30.0),
            rise_seconds=rng.choice((0.0, 300.0, 900.0, 1800.0)),
            decay_seconds=log_uniform(rng, 600.0, 4 * HOUR),
        )
        for index in range(count)
    ]


def place_bumps(rng: random.Random, rows: int, bucket_seconds: int) -> list[Burst]:
    """Everyday news bumps, one every two days or so: small, short and not anomalies.

    Real series are full of them and their labellers left them alone; without them every
    multi-bucket rise would be an anomaly, and persistence alone would tell bursts from noise.
    """
    count = poisson(rng, rows * bucket_seconds / (2 * DAY))
    return [
        Burst(
            onset=rng.randrange(rows),
            peak_multiple=log_uniform(rng, 1.3, 3.0),
            rise_seconds=rng.choice((0.0, 300.0)),
            decay_seconds=log_uniform(rng, 300.0, HOUR),
        )
        for _ in range(count)
    ]


def log_uniform(rng: random.Random, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw: Knuth's product method for small means, a normal approximation above."""
    if mean >= 30.0:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, product, count = math.exp(-mean), rng.random(), 0
    while product > limit:
        product *= rng.random()
        count += 1
    return count


def read_series(path: Path, windows_file: Path) -> LabelledSeries:
    """A NAB data file (``timestamp,value`` with a header) and its windows from the JSON file.

    The JSON's keys are paths relative to NAB's data folder, so ``path`` matches the key it
    ends with, or else the one with its file name.
    """
    with path.open(newline="") as handle:
        rows = [
            (parse_time(row["timestamp"]), float(row["value"])) for row in csv.DictReader(handle)
        ]
    timestamps = tuple(timestamp for timestamp, _ in rows)
    bucket = round(median(b - a for a, b in pairwise(timestamps)))
    labels: dict[str, list[list[str]]] = json.loads(windows_file.read_text())
    keys = [key for key in labels if path.as_posix().endswith(key)]
    keys = keys or [key for key in labels if Path(key).name == path.name]
    if not keys:
        raise ValueError(f"{windows_file} has no windows for {path}")
    windows = tuple((parse_time(a), parse_time(b)) for a, b in labels[keys[0]])
    return LabelledSeries(path.stem, bucket, timestamps, tuple(v for _, v in rows), windows)


def write_series(corpus: Sequence[LabelledSeries], directory: Path) -> Path:
    """Write a corpus as NAB data files plus ``combined_windows.json``; returns the JSON's path."""
    directory.mkdir(parents=True, exist_ok=True)
    labels = {}
    for series in corpus:
        with (directory / f"{series.name}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(("timestamp", "value"))
            rows = zip(series.timestamps, series.values, strict=True)
            writer.writerows((format_time(t, CSV_TIME), int(v)) for t, v in rows)
        windows = [[format_time(t, WINDOW_TIME) for t in window] for window in series.windows]
        labels[f"{series.name}.csv"] = windows
    windows_file = directory / "combined_windows.json"
    windows_file.write_text(json.dumps(labels, indent=1))
    return windows_file


def parse_time(text: str) -> float:
    """Epoch seconds of a NAB timestamp (UTC, ``2015-02-26 21:42:53[.000000]``) or a number."""
    try:
        return float(text)
    except ValueError:
        return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def format_time(timestamp: float, layout: str) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime(layout)
