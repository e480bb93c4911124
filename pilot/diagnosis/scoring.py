"""Scoring: item, category and framework results, computed exactly, never typed.

Band scale (GB/T 19580): item result = points × percent ÷ 100, the percent in 5 % steps.
Maturity scale: item result = points × level ÷ 5, the level 1–5.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import gettext as _

from pilot.frameworks.models import Framework, Scale


class ScoreError(ValueError):
    """A score that cannot be accepted, with a message for the user."""


def check_percent(percent: int) -> int:
    if not isinstance(percent, int) or not 0 <= percent <= 100 or percent % 5:
        raise ScoreError(_("A percentage must be between 0 and 100 in steps of 5."))
    return percent


def check_level(level: int) -> int:
    if not isinstance(level, int) or not 1 <= level <= 5:
        raise ScoreError(_("A maturity level must be between 1 and 5."))
    return level


def item_fraction(scale: str, percent: int | None, level: int | None) -> Decimal:
    """The share of an item's points earned: 0 to 1, exact."""
    if scale == Scale.BAND:
        if percent is None:
            raise ScoreError(_("The item has no percentage."))
        return Decimal(check_percent(percent)) / 100
    if level is None:
        raise ScoreError(_("The item has no maturity level."))
    return Decimal(check_level(level)) / 5


def band_of(framework: Framework, percent: int) -> dict | None:
    """The band descriptor a percentage falls in (band scale)."""
    return next((b for b in framework.levels if b["min"] <= percent <= b["max"]), None)


@dataclass
class Part:
    code: str
    name: str
    score: Decimal
    max: Decimal

    @property
    def percent(self) -> Decimal:
        return self.score * 100 / self.max if self.max else Decimal(0)


@dataclass
class FrameworkResult:
    framework_id: int
    name: str
    domain: str
    total: Decimal
    max: Decimal
    complete: bool
    categories: list[Part] = field(default_factory=list)
    items: dict[int, Part] = field(default_factory=dict)

    @property
    def percent(self) -> Decimal:
        return self.total * 100 / self.max if self.max else Decimal(0)


def result(
    framework: Framework, scores: dict[int, tuple[int | None, int | None]]
) -> FrameworkResult:
    """Results of one framework from {item_id: (percent, level)}; unscored items count 0."""
    out = FrameworkResult(
        framework.id, framework.name, framework.domain, Decimal(0), framework.total_points, True
    )
    for category in framework.categories:
        category_score = Decimal(0)
        for item in category.items:
            score = scores.get(item.id)
            if score is None or (score[0] is None and score[1] is None):
                out.complete = False
                earned = Decimal(0)
            else:
                earned = item.points * item_fraction(framework.scale, *score)
            out.items[item.id] = Part(item.code, item.name, earned, item.points)
            category_score += earned
        out.categories.append(Part(category.code, category.name, category_score, category.points))
        out.total += category_score
    return out


def framework_results(frameworks: list[Framework], diagnosis) -> list[FrameworkResult]:
    """Each framework's result from the diagnosis's scores (none when there is no diagnosis)."""
    scores = {s.item_id: (s.percent, s.level) for s in diagnosis.scores} if diagnosis else {}
    return [result(f, scores) for f in frameworks]
