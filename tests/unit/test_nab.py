"""The NAB scorer on hand-computed cases, the generated series, and NAB's file layout.

The hand-computed cases use one file of 100 one-second rows (timestamps 0..99), so its first
15 rows are probationary, and one window on rows 40..49 (10 rows). NAB's scaled sigmoid is
sigma(y) = 2 / (1 + e^(5y)) - 1, with y = -1 at a window's first row:

    sigma(-1)  = 2 / (1 + e^-5)   - 1 =  0.986614   a detection on the window's first row
    sigma(-0.9) = 2 / (1 + e^-4.5) - 1 =  0.978026   on row 41: y = (41 - 49 - 1) / 10
    sigma(-0.1) = 2 / (1 + e^-0.5) - 1 =  0.244919   on row 49, the window's last
    sigma(0.5)  = 2 / (1 + e^2.5)  - 1 = -0.848284   on row 54: y = (54 - 49) / 10
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from bench.nab import (
    normalised_score,
    rising_edges,
    rolling_sigma,
    scaled_sigmoid,
    score_file,
    spike_detector,
)
from bench.nab_series import (
    LabelledSeries,
    generate_corpus,
    generate_series,
    read_series,
    window_rows,
    write_series,
)
from brandpulse.spikes import DetectorSettings

ROWS = [float(row) for row in range(100)]
WINDOW = [(40.0, 49.0)]
AT_START, AT_ROW_41, AT_END, AFTER = 0.986614, 0.978026, 0.244919, -0.848284


def detected_on(*rows: int) -> list[float]:
    """Detection times of these rows: a detection belongs to the bucket it ends."""
    return [row + 1.0 for row in rows]


def raw(*rows: int) -> float:
    return score_file(ROWS, WINDOW, detected_on(*rows)).raw


def test_the_scaled_sigmoid() -> None:
    assert scaled_sigmoid(-1.0) == pytest.approx(AT_START, abs=1e-6)
    assert scaled_sigmoid(0.0) == 0.0
    assert scaled_sigmoid(0.5) == pytest.approx(AFTER, abs=1e-6)
    assert scaled_sigmoid(1e6) == -1.0


def test_no_detection_misses_the_window() -> None:
    score = score_file(ROWS, WINDOW, [])
    assert (score.raw, score.null, score.false_negatives) == (-1.0, -1.0, 1)
    assert score.perfect == pytest.approx(AT_START, abs=1e-6)


def test_a_detection_earlier_in_the_window_scores_more() -> None:
    assert raw(40) == pytest.approx(AT_START, abs=1e-6)
    assert raw(49) == pytest.approx(AT_END, abs=1e-6)
    assert raw(40) > raw(45) > raw(49) > 0


def test_only_the_first_detection_in_a_window_counts() -> None:
    assert raw(41, 45, 48) == pytest.approx(AT_ROW_41, abs=1e-6)


def test_a_false_alarm_before_any_window_costs_a_fp_in_full() -> None:
    score = score_file(ROWS, WINDOW, detected_on(20))
    assert score.raw == pytest.approx(-0.11 - 1.0)
    assert (score.true_positives, score.false_positives, score.false_negatives) == (0, 1, 1)


def test_a_false_alarm_soon_after_a_window_costs_less() -> None:
    assert raw(40, 54) == pytest.approx(AT_START + 0.11 * AFTER, abs=1e-6)  # 0.893303
    assert raw(40, 54) > raw(40, 90) == pytest.approx(AT_START - 0.11, abs=1e-4)


def test_detections_during_probation_are_not_scored() -> None:
    assert score_file(ROWS, WINDOW, detected_on(10)) == score_file(ROWS, WINDOW, [])


def test_a_detection_time_belongs_to_the_bucket_it_ends() -> None:
    assert score_file(ROWS, WINDOW, [40.5]).raw == pytest.approx(AT_START, abs=1e-6)
    assert score_file(ROWS, WINDOW, [40.0]).false_positives == 1  # the end of row 39


def test_the_corpus_score_runs_from_the_null_detector_to_the_perfect_one() -> None:
    found, missed = score_file(ROWS, WINDOW, detected_on(40)), score_file(ROWS, WINDOW, [])
    assert normalised_score([missed, missed]) == 0.0
    assert normalised_score([found, found]) == pytest.approx(100.0)
    # Raw -1 + 0.986614 against null -2 and perfect 2 * 0.986614: half way.
    assert normalised_score([found, missed]) == pytest.approx(50.0)
    with pytest.raises(ValueError, match="no anomaly windows"):
        normalised_score([score_file(ROWS, [], detected_on(40))])


def test_rising_edges_give_one_detection_per_excursion() -> None:
    series = LabelledSeries("s", 60, (0.0, 60.0, 120.0, 180.0, 240.0), (0,) * 5, ())
    assert rising_edges(series, [False, True, True, False, True]) == [120.0, 300.0]


def test_generated_series_are_seeded() -> None:
    assert generate_series(7, rows=2_000) == generate_series(7, rows=2_000)
    assert generate_series(7, rows=2_000) != generate_series(8, rows=2_000)


@pytest.mark.parametrize("seed", range(5))
def test_windows_are_sized_and_placed_as_nab_places_them(seed: int) -> None:
    series = generate_series(seed, bucket_seconds=60, rows=6_000)
    size = window_rows(6_000, len(series.windows))
    assert size == int(0.1 * 6_000 / len(series.windows))
    spans = [(series.timestamps.index(a), series.timestamps.index(b)) for a, b in series.windows]
    for left, right in spans:
        assert right - left == size - size % 2  # half the size on either side of the anomaly
        assert left >= 0.15 * 6_000  # after the probationary period
    assert all(right < left for (_, right), (left, _) in itertools.pairwise(spans))
    assert all(b - a == 60 for a, b in itertools.pairwise(series.timestamps))


def test_a_corpus_survives_nab_files(tmp_path: Path) -> None:
    corpus = generate_corpus(3, five_minute=1, one_minute=1, rows=1_000)
    windows_file = write_series(corpus, tmp_path / "data")
    for series in corpus:
        assert read_series(tmp_path / "data" / f"{series.name}.csv", windows_file) == series


def test_our_detector_beats_the_null_detector_and_the_plain_three_sigma_one() -> None:
    corpus = generate_corpus(11, five_minute=2, one_minute=1, rows=5_000)
    ours = normalised_score(
        score_file(s.timestamps, s.windows, spike_detector(DetectorSettings())(s)) for s in corpus
    )
    three_sigma = normalised_score(
        score_file(s.timestamps, s.windows, rolling_sigma(3.0)(s)) for s in corpus
    )
    assert ours > 30.0
    assert ours > three_sigma
