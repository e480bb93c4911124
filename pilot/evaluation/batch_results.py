"""The batch's results page: per case, targets met and average achievement, the before/after of
the final re-scoring, the verdict and, while open, why it is not closed yet; over the batch,
their totals and averages, the verdicts and the ratings of each expert. Withdrawn cases are
listed, not counted."""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload
from sqlmodel import Session, select

from pilot.accounts.models import User
from pilot.accounts.queries import people_by_id
from pilot.batches.models import Batch
from pilot.cases.models import Case
from pilot.cases.queries import CaseRow, case_rows, case_rows_query
from pilot.database import today
from pilot.diagnosis import scoring
from pilot.diagnosis.models import (
    Diagnosis,
    DiagnosisFramework,
    DiagnosisStatus,
    ItemScore,
    Round,
    WorkTarget,
)
from pilot.evaluation import services
from pilot.evaluation.before_after import (
    FrameworkChange,
    average_changes,
    change_chart,
    compare,
    mean,
)
from pilot.evaluation.models import Evaluation, KpiActual, ServiceRating
from pilot.evaluation.queries import missing
from pilot.evaluation.ratings import RatingSummary, summarise
from pilot.extensions import db
from pilot.firms.models import Firm
from pilot.frameworks.models import Framework, FrameworkCategory
from pilot.stages import STATUS_LABELS, CaseFacts, Progress, Status, evaluate, load_facts


@dataclass
class CaseOutcome:
    case: CaseRow
    progress: Progress
    facts: CaseFacts
    targets: int = 0
    met: int = 0
    #: Achievement of each checked actual, percent.
    achievements: list[Decimal] = field(default_factory=list)
    changes: list[FrameworkChange] = field(default_factory=list)
    verdict: str | None = None

    @property
    def average(self) -> Decimal | None:
        return mean(self.achievements) if self.achievements else None

    @property
    def counted(self) -> bool:
        """Withdrawn cases left the pilot: they are listed, not counted."""
        return not self.case.is_withdrawn

    @property
    def still_open(self) -> bool:
        return not (self.case.is_closed or self.case.is_withdrawn)

    @property
    def why(self) -> list[str]:
        """Why an open case is not closed yet: each stage under way (stages 3–5 and 6 run side
        by side), and for stage 6 what it still lacks."""
        if self.progress.ready_to_close:
            return [_("Ready to close")]
        lines = []
        for state in self.progress.stages:
            if state.status in (Status.IN_PROGRESS, Status.OVERDUE):
                lines.append(f"{state.stage.label} · {STATUS_LABELS[state.status]}")
                if state.code == "evaluation":
                    lines += missing(self.facts, self.progress)
        return lines


@dataclass
class ExpertRatings:
    expert: User | None
    summary: RatingSummary


def _add_achievements(session: Session, outcomes: dict[int, CaseOutcome], ids) -> None:
    """Work targets of accepted baselines, with their checked actuals' achievement."""
    target_rows = session.exec(
        select(
            WorkTarget.case_id,
            WorkTarget.direction,
            WorkTarget.baseline,
            WorkTarget.target,
            KpiActual.actual,
            KpiActual.checked_at,
        )
        .join(Diagnosis, Diagnosis.id == WorkTarget.diagnosis_id)
        .join(KpiActual, KpiActual.target_id == WorkTarget.id, isouter=True)
        .where(WorkTarget.case_id.in_(ids), Diagnosis.status == DiagnosisStatus.ACCEPTED)
    ).all()
    for case_id, direction, baseline, target, actual, checked_at in target_rows:
        result = outcomes[case_id]
        result.targets += 1
        if actual is not None and checked_at is not None:
            reached = services.achievement(direction, baseline, target, actual)
            result.achievements.append(reached.percent)
            result.met += reached.met


def _add_changes(session: Session, outcomes: dict[int, CaseOutcome], ids) -> None:
    """Before and after, for cases whose both rounds are accepted (only theirs are loaded with
    their scores, as plain columns: most cases of a batch have an accepted baseline and no
    final round yet)."""
    accepted = session.exec(
        select(Diagnosis.id, Diagnosis.case_id, Diagnosis.round).where(
            Diagnosis.case_id.in_(ids), Diagnosis.status == DiagnosisStatus.ACCEPTED
        )
    ).all()
    paired: dict[int, dict[str, int]] = defaultdict(dict)
    for diagnosis_id, case_id, round_ in accepted:
        paired[case_id][round_] = diagnosis_id
    paired = {cid: r for cid, r in paired.items() if {Round.BASELINE, Round.FINAL} <= r.keys()}
    if not paired:
        return
    wanted = [d for r in paired.values() for d in (r[Round.BASELINE], r[Round.FINAL])]
    scores: dict[int, dict[int, tuple[int | None, int | None]]] = defaultdict(dict)
    for diagnosis_id, item_id, percent, level in session.exec(
        select(ItemScore.diagnosis_id, ItemScore.item_id, ItemScore.percent, ItemScore.level).where(
            ItemScore.diagnosis_id.in_(sa.bindparam("diagnosis_ids", wanted, expanding=True))
        )
    ).all():
        scores[diagnosis_id][item_id] = (percent, level)
    baselines = [r[Round.BASELINE] for r in paired.values()]
    links = session.exec(
        select(DiagnosisFramework.diagnosis_id, DiagnosisFramework.framework_id).where(
            DiagnosisFramework.diagnosis_id.in_(
                sa.bindparam("baseline_ids", baselines, expanding=True)
            )
        )
    ).all()
    frameworks = {
        f.id: f
        for f in session.exec(
            select(Framework)
            .where(Framework.id.in_({framework_id for _d, framework_id in links}))
            .options(selectinload(Framework.categories).selectinload(FrameworkCategory.items))
        ).all()
    }
    by_diagnosis: dict[int, list[Framework]] = defaultdict(list)
    for diagnosis_id, framework_id in links:
        by_diagnosis[diagnosis_id].append(frameworks[framework_id])
    for case_id, pair in paired.items():
        used = sorted(
            by_diagnosis[pair[Round.BASELINE]], key=lambda f: (f.domain != "quality", f.id)
        )
        outcomes[case_id].changes = compare(
            [scoring.result(f, scores[pair[Round.BASELINE]]) for f in used],
            [scoring.result(f, scores[pair[Round.FINAL]]) for f in used],
        )


def _ratings_by_expert(session: Session, ids) -> dict[int | None, list[ServiceRating]]:
    """Ratings of the batch's cases, per expert (None: the service overall)."""
    ratings = session.exec(select(ServiceRating).where(ServiceRating.case_id.in_(ids))).all()
    by_expert: dict[int | None, list[ServiceRating]] = defaultdict(list)
    for rating in ratings:
        by_expert[rating.expert_id].append(rating)
    return by_expert


def _expert_ratings(
    session: Session, by_expert: dict[int | None, list[ServiceRating]]
) -> list[ExpertRatings]:
    experts = people_by_id(session, by_expert)
    return sorted(
        (ExpertRatings(experts.get(k), summarise(v)) for k, v in by_expert.items() if k),
        key=lambda r: r.expert.display_name if r.expert else "",
    )


def batch_results(batch: Batch) -> dict:
    """Everything the batch results page shows, in a fixed number of queries."""
    session = db.session
    cases = case_rows(
        session, case_rows_query(select(Case).where(Case.batch_id == batch.id), Firm.name)
    )
    facts = load_facts(session, cases)
    day = today()
    outcomes = {c.id: CaseOutcome(c, evaluate(facts[c.id], day), facts[c.id]) for c in cases}
    # One expanding parameter for the ids: no per-id coercion in each query below.
    ids = sa.bindparam("case_ids", list(outcomes) or [-1], expanding=True)
    _add_achievements(session, outcomes, ids)
    _add_changes(session, outcomes, ids)
    for case_id, verdict_code in session.exec(
        select(Evaluation.case_id, Evaluation.verdict).where(Evaluation.case_id.in_(ids))
    ).all():
        outcomes[case_id].verdict = verdict_code
    by_expert = _ratings_by_expert(session, ids)
    expert_ratings = _expert_ratings(session, by_expert)
    counted = [r for r in outcomes.values() if r.counted]
    achievements = [a for r in counted for a in r.achievements]
    verdicts = {code: 0 for code in services.VERDICT_LABELS}
    for r in counted:
        if r.verdict in verdicts:
            verdicts[r.verdict] += 1
    averages = average_changes(r.changes for r in counted if r.changes)
    return {
        "cases": list(outcomes.values()),
        "counted": len(counted),
        "closed": sum(1 for r in counted if r.case.is_closed),
        "targets": sum(r.targets for r in counted),
        "met": sum(r.met for r in counted),
        "checked": len(achievements),
        "average": mean(achievements) if achievements else None,
        "averages": averages,
        "charts": {c.framework_id: change_chart(c) for c in averages},
        "experts": expert_ratings,
        "overall_rating": summarise(by_expert.get(None, [])),
        "verdicts": verdicts,
        "no_verdict": sum(1 for r in counted if r.verdict is None),
        "open_cases": [r for r in counted if r.still_open],
        "withdrawn": [r for r in outcomes.values() if not r.counted],
    }
