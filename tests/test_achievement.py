"""Achievement of a work target: the share of the way from baseline to target that the actual
went, with the target's direction (pilot.evaluation.services.achievement)."""

from decimal import Decimal

import pytest

from pilot.evaluation.services import Achievement, achievement, wrong_side
from pilot.kpis.models import Direction

HIGHER, LOWER = Direction.HIGHER, Direction.LOWER


def d(text: str) -> Decimal:
    return Decimal(text)


def result(direction: str, baseline: str | None, target: str, actual: str) -> Achievement:
    return achievement(direction, None if baseline is None else d(baseline), d(target), d(actual))


# Part of the way ---------------------------------------------------------------------------------


def test_higher_is_better_part_of_the_way_is_the_share_travelled():
    reached = result(HIGHER, "95.2", "97.5", "96.35")
    assert reached == Achievement(d("50"), False)


def test_lower_is_better_part_of_the_way_is_the_share_travelled():
    # Quality loss rate 2.80 % → 2.00 %: 2.40 % is half way.
    assert result(LOWER, "2.80", "2.00", "2.40") == Achievement(d("50"), False)
    assert result(LOWER, "18", "10", "16").percent == d("25")


def test_achievement_is_exact_not_rounded():
    reached = result(HIGHER, "95.2", "97.5", "96.5")
    assert reached.percent == d("1.3") / d("2.3") * 100
    assert not reached.met


# Reaching and passing the target -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("direction", "baseline", "target", "actual"),
    [
        (HIGHER, "95.2", "97.5", "97.5"),  # exactly on target
        (HIGHER, "95.2", "97.5", "99.1"),  # beyond it
        (LOWER, "2.80", "2.00", "2.00"),
        (LOWER, "2.80", "2.00", "1.20"),  # lower than asked
    ],
)
def test_reaching_or_passing_the_target_is_100_and_met(direction, baseline, target, actual):
    assert result(direction, baseline, target, actual) == Achievement(d("100"), True)


def test_passing_the_target_never_counts_more_than_100():
    assert result(HIGHER, "10", "20", "1000").percent == d("100")
    assert result(LOWER, "10", "5", "-50").percent == d("100")


# Worse than the baseline -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("direction", "baseline", "target", "actual"),
    [
        (HIGHER, "95.2", "97.5", "95.2"),  # did not move
        (HIGHER, "95.2", "97.5", "93.0"),  # moved the wrong way
        (LOWER, "2.80", "2.00", "2.80"),
        (LOWER, "2.80", "2.00", "3.50"),
    ],
)
def test_not_moving_or_getting_worse_is_0_and_not_met(direction, baseline, target, actual):
    assert result(direction, baseline, target, actual) == Achievement(d("0"), False)


# Zero and missing baselines ----------------------------------------------------------------------


def test_a_zero_baseline_is_a_real_starting_point():
    # Standards authored: none before, five wanted, two written.
    assert result(HIGHER, "0", "5", "2") == Achievement(d("40"), False)
    assert result(HIGHER, "0", "5", "0") == Achievement(d("0"), False)


def test_a_zero_target_for_lower_is_better():
    # Complaints: 18 a year down to none; 9 is half way, 0 is met.
    assert result(LOWER, "18", "0", "9") == Achievement(d("50"), False)
    assert result(LOWER, "18", "0", "0") == Achievement(d("100"), True)


@pytest.mark.parametrize(
    ("direction", "target", "actual", "expected"),
    [
        (HIGHER, "90", "91", Achievement(d("100"), True)),
        (HIGHER, "90", "90", Achievement(d("100"), True)),
        (HIGHER, "90", "89.9", Achievement(d("0"), False)),
        (LOWER, "2", "1.5", Achievement(d("100"), True)),
        (LOWER, "2", "2.1", Achievement(d("0"), False)),
    ],
)
def test_without_a_baseline_a_target_is_met_or_not(direction, target, actual, expected):
    assert result(direction, None, target, actual) == expected


# A target equal to its baseline ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("direction", "actual", "expected"),
    [
        (HIGHER, "98", Achievement(d("100"), True)),  # held the level
        (HIGHER, "98.5", Achievement(d("100"), True)),
        (HIGHER, "97.9", Achievement(d("0"), False)),  # no division by zero
        (LOWER, "98", Achievement(d("100"), True)),
        (LOWER, "98.1", Achievement(d("0"), False)),
    ],
)
def test_a_target_equal_to_the_baseline_is_met_or_not(direction, actual, expected):
    assert result(direction, "98", "98", actual) == expected


# Targets on the wrong side of their baseline -----------------------------------------------------


def test_a_target_that_is_no_improvement_is_flagged():
    assert wrong_side(HIGHER, d("95"), d("90"))
    assert wrong_side(LOWER, d("2"), d("3"))
    assert not wrong_side(HIGHER, d("95"), d("97"))
    assert not wrong_side(LOWER, d("3"), d("2"))
    assert not wrong_side(HIGHER, d("95"), d("95"))
    assert not wrong_side(HIGHER, None, d("95"))


def test_a_wrong_side_target_met_is_100():
    # Higher is better, the target lowered from 95 to 90 (say a harder product mix): 92 meets it.
    assert result(HIGHER, "95", "90", "92") == Achievement(d("100"), True)


def test_a_wrong_side_target_missed_is_not_100():
    reached = result(HIGHER, "95", "90", "85")
    assert not reached.met
    assert reached.percent == 0
