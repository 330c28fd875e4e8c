"""The floor's figures' own rules (`desktop.domain.floor_figures`): the range a report may
cover (`report_range_problem`, the one rule the server, the CLI and the report dialog check),
and the share figures, each declared once with its keys, target and standard."""

from __future__ import annotations

import math

import pytest

from desktop.domain.calls import CallAnswered, CallOffered
from desktop.domain.floor_figures import (
    ANSWER_TARGETS_S,
    HOUR_S,
    MAX_REPORT_S,
    PROCESSING_TARGET_S,
    SHARE_FIGURES,
    SHARE_STANDARDS,
    SHARE_TARGETS,
    FloorLog,
    report_range_problem,
)
from desktop.domain.types import Call

T0 = 1_790_000_000.0
DAY_S = 86_400.0


def test_the_longest_report_is_a_year_and_a_day() -> None:
    assert MAX_REPORT_S == 366 * DAY_S == 366 * 24 * HOUR_S


@pytest.mark.parametrize(
    ("start", "end"),
    [(T0, T0 + 1), (T0, T0 + HOUR_S), (T0 - 0.5, T0), (T0, T0 + MAX_REPORT_S), (0.0, 1.0)],
)
def test_a_range_that_can_be_reported(start: float, end: float) -> None:
    assert report_range_problem(start, end) is None


@pytest.mark.parametrize(
    ("start", "end", "problem"),
    [
        (math.nan, T0, "the range is not a time range"),
        (T0, math.inf, "the range is not a time range"),
        (-math.inf, T0, "the range is not a time range"),
        (T0, T0, "the range must start before it ends"),
        (T0, T0 - 60, "the range must start before it ends"),
        (T0, T0 + MAX_REPORT_S + 0.001, "the range must be at most 366 days long"),
        (T0 - 400 * DAY_S, T0, "the range must be at most 366 days long"),
    ],
)
def test_a_range_that_cannot_be_reported_says_why(start: float, end: float, problem: str) -> None:
    assert report_range_problem(start, end) == problem


def test_the_figures_refuse_a_range_that_cannot_be_reported() -> None:
    floor = FloorLog()
    with pytest.raises(ValueError, match=r"^the range must start before it ends$"):
        floor.figures(T0, T0)
    with pytest.raises(ValueError, match=r"^the range must be at most 366 days long$"):
        floor.figures(T0, T0 + 2 * MAX_REPORT_S)
    assert len(floor.figures(T0, T0 + MAX_REPORT_S).calls_by_hour) == 366 * 24


def test_each_share_is_declared_once_with_its_keys_target_and_standard() -> None:
    assert [(s.key, s.figure) for s in SHARE_FIGURES] == [
        ("answered_15s", "answered_within_15s_share"),
        ("answered_20s", "answered_within_20s_share"),
        ("processed_60s", "processed_within_60s_share"),
    ]
    assert [s.limit_s for s in SHARE_FIGURES] == [*ANSWER_TARGETS_S, PROCESSING_TARGET_S]
    assert SHARE_TARGETS == {"answered_15s": 0.90, "answered_20s": 0.95, "processed_60s": 0.90}
    assert SHARE_STANDARDS == {
        "answered_15s": "NENA STA-020",
        "answered_20s": "NENA STA-020",
        "processed_60s": "NFPA 1225",
    }


def test_a_share_reads_its_own_interval() -> None:
    floor = FloorLog()
    for n, answer in enumerate((10, 18, 30)):
        received = T0 + 100 * n
        floor.read(CallOffered(call=Call(id=f"c{n}", times={"received": received})), received)
        floor.read(CallAnswered(call_id=f"c{n}", by="ann"), received + answer)
    figures = floor.figures(T0, T0 + HOUR_S)
    answered_15, answered_20, processed_60 = SHARE_FIGURES
    assert answered_15.of(figures) == figures.answer.share_within(15) == pytest.approx(1 / 3)
    assert answered_20.of(figures) == pytest.approx(2 / 3)
    assert processed_60.of(figures) is None is figures.processing.share_within(60)
