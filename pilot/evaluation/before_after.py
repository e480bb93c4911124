"""Before and after: each framework's results at the baseline and at the final re-scoring, per
case and averaged over a batch's cases, and their charts."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import gettext as _

from pilot.diagnosis import scoring
from pilot.diagnosis.models import Diagnosis
from pilot.diagnosis.scoring import FrameworkResult
from pilot.evaluation.charts import CategoryBars, grouped_bars_svg
from pilot.frameworks.models import Framework


def mean(values: list[Decimal]) -> Decimal:
    """The average of some decimals (at least one)."""
    return sum(values, Decimal(0)) / len(values)


class _BeforeAfter:
    """A score out of `max` before and after, as points and as percents of `max`."""

    max: Decimal
    before: Decimal
    after: Decimal

    @property
    def difference(self) -> Decimal:
        return self.after - self.before

    @property
    def before_percent(self) -> Decimal:
        return self._percent(self.before)

    @property
    def after_percent(self) -> Decimal:
        return self._percent(self.after)

    def _percent(self, value: Decimal) -> Decimal:
        return value * 100 / self.max if self.max else Decimal(0)


@dataclass
class CategoryChange(_BeforeAfter):
    code: str
    name: str
    max: Decimal
    before: Decimal
    after: Decimal


@dataclass
class FrameworkChange(_BeforeAfter):
    """A framework's results at the baseline and at the final re-scoring (or their averages
    over `cases` cases)."""

    framework_id: int
    name: str
    max: Decimal
    before: Decimal
    after: Decimal
    categories: list[CategoryChange] = field(default_factory=list)
    cases: int = 1


def compare(
    baseline: Iterable[FrameworkResult], final: Iterable[FrameworkResult]
) -> list[FrameworkChange]:
    """Each framework scored in both rounds: totals and categories, before and after."""
    after_of = {r.framework_id: r for r in final}
    changes = []
    for before in baseline:
        after = after_of.get(before.framework_id)
        if after is None:
            continue
        after_categories = {c.code: c for c in after.categories}
        changes.append(
            FrameworkChange(
                before.framework_id,
                before.name,
                before.max,
                before.total,
                after.total,
                [
                    CategoryChange(c.code, c.name, c.max, c.score, after_categories[c.code].score)
                    for c in before.categories
                    if c.code in after_categories
                ],
            )
        )
    return changes


def changes_between(
    frameworks: list[Framework], baseline: Diagnosis, final: Diagnosis
) -> list[FrameworkChange]:
    """The before and after of two accepted rounds scored on these frameworks."""
    return compare(
        scoring.framework_results(frameworks, baseline),
        scoring.framework_results(frameworks, final),
    )


def average_changes(per_case: Iterable[list[FrameworkChange]]) -> list[FrameworkChange]:
    """The average before and after of each framework and category over the cases given."""
    grouped: dict[int, list[FrameworkChange]] = defaultdict(list)
    for changes in per_case:
        for change in changes:
            grouped[change.framework_id].append(change)
    averages = []
    for changes in grouped.values():
        first = changes[0]
        categories = []
        for category in first.categories:
            same = [c for ch in changes for c in ch.categories if c.code == category.code]
            categories.append(
                CategoryChange(
                    category.code,
                    category.name,
                    category.max,
                    mean([c.before for c in same]),
                    mean([c.after for c in same]),
                )
            )
        averages.append(
            FrameworkChange(
                first.framework_id,
                first.name,
                first.max,
                mean([c.before for c in changes]),
                mean([c.after for c in changes]),
                categories,
                cases=len(changes),
            )
        )
    return sorted(averages, key=lambda c: c.framework_id)


def change_chart(change: FrameworkChange):
    return grouped_bars_svg(
        change.name,
        [CategoryBars(c.name, c.before_percent, c.after_percent) for c in change.categories],
        (_("Baseline"), _("Final")),
    )
