"""One case's stage 6 as a user may see it: what it still needs, its work targets with their
actuals and achievement, the before/after of the final re-scoring, the assessment and verdict,
the ratings, the items left unfinished at closing. The evaluation page and the case page's card
both show it.

The firm sees actuals once staff checked them; experts and staff see them as entered.
"""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _
from sqlmodel import select

from pilot.accounts.models import User
from pilot.accounts.queries import people_by_id
from pilot.cases.models import Case
from pilot.database import today
from pilot.diagnosis.models import Diagnosis, Round, WorkTarget
from pilot.diagnosis.services import diagnoses_of, frameworks_of
from pilot.evaluation import services
from pilot.evaluation.before_after import FrameworkChange, changes_between
from pilot.evaluation.charts import TargetBars, target_svg
from pilot.evaluation.models import Evaluation, KpiActual, ServiceRating
from pilot.evaluation.ratings import visible_ratings
from pilot.extensions import db
from pilot.files.models import StoredFile
from pilot.kpis.models import wrong_side
from pilot.permissions import can
from pilot.plan.models import TargetRevision
from pilot.plan.services import approved_plan
from pilot.rectification.models import RectificationItem
from pilot.stages import BY_CODE, CaseFacts, Progress, Status, evaluate, facts_of

#: StoredFile.owner_type of an actual's evidence.
ACTUAL_OWNER = "actual"


# What stage 6 still needs -----------------------------------------------------------------------


def facts_and_progress(case: Case) -> tuple[CaseFacts, Progress]:
    """The case's facts and its stages' progress as of today."""
    facts = facts_of(db.session, case)
    return facts, evaluate(facts, today())


def missing(facts: CaseFacts, progress: Progress) -> list[str]:
    """What stage 6 still lacks, in words, in the order it is usually done."""
    out = []
    for code in BY_CODE["evaluation"].needs:
        if progress[code].status != Status.DONE:
            out.append(_("%(stage)s is not done", stage=BY_CODE[code].label))
    if facts.targets == 0:
        out.append(_("There are no work targets"))
    elif facts.checked_actuals < facts.targets:
        out.append(
            _(
                "%(checked)d of %(total)d actuals checked",
                checked=facts.checked_actuals,
                total=facts.targets,
            )
        )
    if not facts.final_accepted:
        out.append(_("The final re-scoring is not accepted"))
    if not facts.service_rated:
        out.append(_("The service is not rated"))
    if not facts.assessment_written:
        out.append(_("The closing assessment is not written"))
    if not facts.verdict_given:
        out.append(_("No verdict yet"))
    return out


# Work targets and their actuals -----------------------------------------------------------------


def achievement_of(target: WorkTarget, actual: Decimal) -> services.Achievement:
    return services.achievement(target.direction, target.baseline, target.target, actual)


def seen_stamp(actual: KpiActual) -> str:
    """What staff saw when checking an actual: the value and when it was entered."""
    return f"{actual.actual}@{actual.entered_at.isoformat()}"


@dataclass
class TargetRow:
    target: WorkTarget
    #: The actual as this user may see it (the firm: once checked).
    actual: KpiActual | None
    #: An actual exists but is not shown to this user yet.
    awaiting_check: bool
    achievement: services.Achievement | None
    wrong_side: bool
    evidence: list[StoredFile]
    revision: TargetRevision | None

    @property
    def seen(self) -> str:
        """What staff saw when checking: the value and when it was entered."""
        return "" if self.actual is None else seen_stamp(self.actual)

    def chart(self):
        words = (_("Baseline"), _("Target"), _("Actual"))
        target = self.target
        actual = self.actual.actual if self.actual else None
        met = bool(self.achievement and self.achievement.met)
        bars = TargetBars(target.name, target.unit, target.target, actual, target.baseline, met)
        return target_svg(bars, words)


def _evidence_of(actuals: dict[int, KpiActual]) -> dict[int, list[StoredFile]]:
    """The current evidence files of these actuals, by actual id."""
    files: dict[int, list[StoredFile]] = defaultdict(list)
    if actuals:
        for stored in db.session.exec(
            select(StoredFile)
            .where(
                StoredFile.owner_type == ACTUAL_OWNER,
                StoredFile.owner_id.in_([a.id for a in actuals.values()]),
                StoredFile.is_current,
            )
            .order_by(StoredFile.id)
        ).all():
            files[stored.owner_id].append(stored)
    return files


def _target_rows(user: User, case: Case, baseline: Diagnosis) -> list[TargetRow]:
    targets = db.session.exec(
        select(WorkTarget).where(WorkTarget.diagnosis_id == baseline.id).order_by(WorkTarget.id)
    ).all()
    actuals = services.actuals_of(db.session, case)
    files = _evidence_of(actuals)
    plan = approved_plan(db.session, case)
    revisions = {r.target_id: r for r in plan.revisions} if plan else {}
    sees_unchecked = can(user, "view_drafts", case)  # an unchecked actual is a draft
    rows = []
    for target in targets:
        actual = actuals.get(target.id)
        shown = actual if actual and (actual.checked_at or sees_unchecked) else None
        rows.append(
            TargetRow(
                target,
                shown,
                awaiting_check=actual is not None and shown is None,
                achievement=achievement_of(target, shown.actual) if shown else None,
                wrong_side=wrong_side(target.direction, target.baseline, target.target),
                evidence=files.get(shown.id, []) if shown else [],
                revision=revisions.get(target.id),
            )
        )
    return rows


# The whole stage --------------------------------------------------------------------------------


@dataclass
class Stage6:
    """Everything the evaluation page and the case page's card show of one case."""

    case: Case
    facts: CaseFacts
    progress: Progress
    baseline: Diagnosis | None
    final: Diagnosis | None
    rows: list[TargetRow]
    changes: list[FrameworkChange]
    evaluation: Evaluation | None
    #: The case's ratings this user may see, overall first.
    ratings: list[ServiceRating]
    unfinished: list[RectificationItem]
    people: dict[int, User]

    @property
    def open(self) -> bool:
        """Stage 6 takes input: the stages it needs are done and the case is not read-only."""
        return self.progress.is_open("evaluation") and not self.case.is_read_only

    @property
    def overall_rating(self) -> ServiceRating | None:
        return next((r for r in self.ratings if r.expert_id is None), None)

    @property
    def met_count(self) -> int:
        return sum(1 for r in self.rows if r.achievement and r.achievement.met)

    @property
    def checked_count(self) -> int:
        return sum(1 for r in self.rows if r.actual and r.actual.checked_at)

    @property
    def missing(self) -> list[str]:
        return missing(self.facts, self.progress)


def load(user: User, case: Case) -> Stage6:
    """Stage 6 of the case as this user may see it."""
    facts, progress = facts_and_progress(case)
    rounds = diagnoses_of(db.session, case)
    baseline, final = rounds.get(Round.BASELINE), rounds.get(Round.FINAL)
    rows: list[TargetRow] = []
    changes: list[FrameworkChange] = []
    if baseline is not None and baseline.is_accepted:
        rows = _target_rows(user, case, baseline)
        if final is not None and final.is_accepted:
            changes = changes_between(frameworks_of(db.session, baseline), baseline, final)
    evaluation = db.session.exec(select(Evaluation).where(Evaluation.case_id == case.id)).first()
    ratings = visible_ratings(user, case)
    unfinished = db.session.exec(
        select(RectificationItem)
        .where(RectificationItem.case_id == case.id, RectificationItem.unfinished_at_closing)
        .order_by(RectificationItem.due_date, RectificationItem.id)
    ).all()
    ids = {r.rated_by_id for r in ratings}
    ids |= {r.actual.entered_by_id for r in rows if r.actual}
    ids |= {r.actual.checked_by_id for r in rows if r.actual}
    if evaluation:
        ids |= {evaluation.assessed_by_id, evaluation.verdict_by_id}
    ids |= {a.expert_id for a in case.assignments}
    people = people_by_id(db.session, ids)
    return Stage6(
        case,
        facts,
        progress,
        baseline,
        final,
        rows,
        changes,
        evaluation,
        ratings,
        unfinished,
        people,
    )
