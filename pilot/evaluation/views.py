"""Stage 6's pages: KPI actuals and achievement, the before/after comparison of the final
re-scoring, the service rating, the closing assessment, staff's verdict, closing and reopening
the case; the batch's results.

Who sees what: the firm sees actuals once staff checked them, and its own ratings; an expert sees
the actuals and, of ratings, only their own aggregate over the cases they served (never one
firm's); staff see everything. Entering actuals, rating the service and writing the assessment
open once the stages stage 6 needs (the plan, the training) are done.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload
from sqlmodel import select

from pilot.accounts.models import Role, User
from pilot.batches.models import Batch
from pilot.cases.models import Case
from pilot.cases.services import CaseError, close_case, reopen_case
from pilot.database import today
from pilot.diagnosis import scoring
from pilot.diagnosis.forms import DIRECTION_LABELS
from pilot.diagnosis.models import (
    Diagnosis,
    DiagnosisFramework,
    DiagnosisStatus,
    Round,
    WorkTarget,
)
from pilot.diagnosis.scoring import FrameworkResult
from pilot.diagnosis.services import diagnosis_of, frameworks_of
from pilot.evaluation import services
from pilot.evaluation.charts import CategoryBars, TargetBars, grouped_bars_svg, target_svg
from pilot.evaluation.forms import (
    ActualForm,
    AssessmentForm,
    CheckForm,
    CloseForm,
    RatingForm,
    ReopenForm,
    VerdictForm,
)
from pilot.evaluation.models import Evaluation, KpiActual, ServiceRating, Verdict
from pilot.extensions import db
from pilot.files.models import StoredFile
from pilot.files.store import FileRejected, save_upload
from pilot.firms.models import Firm
from pilot.frameworks.models import Framework, FrameworkCategory
from pilot.permissions import can, get_case_or_404, require
from pilot.plan.models import TargetRevision
from pilot.plan.services import approved_plan
from pilot.rectification.models import RectificationItem
from pilot.reports.archive import archive_final
from pilot.stages import (
    BY_CODE,
    CLOSED,
    STATUS_LABELS,
    WITHDRAWN,
    CaseFacts,
    Progress,
    Status,
    evaluate,
    load_facts,
)

bp = Blueprint("evaluation", __name__)

#: StoredFile.owner_type of an actual's evidence.
ACTUAL_OWNER = "actual"
#: An expert's own ratings are shown once this many firms rated them, so that no average is
#: one firm's rating in disguise.
MIN_FIRMS_FOR_AGGREGATE = 2
ROUND_STATUS_LABELS = {
    DiagnosisStatus.DRAFT: _l("Draft"),
    DiagnosisStatus.SUBMITTED: _l("Submitted"),
    DiagnosisStatus.RETURNED: _l("Returned"),
    DiagnosisStatus.ACCEPTED: _l("Accepted"),
}
ASPECT_LABELS = {
    "professionalism": _l("Professionalism"),
    "timeliness": _l("Timeliness"),
    "usefulness": _l("Usefulness"),
}
TENTH = Decimal("0.1")


# Formatting -------------------------------------------------------------------------------------


def number(value: Decimal | None) -> str:
    """A stored decimal without its padding zeros: 96.5000 → 96.5, 100.0000 → 100."""
    if value is None:
        return "—"
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "+0") else text


def one_decimal(value: Decimal | None) -> str:
    return "—" if value is None else scoring.one_decimal(value)


def signed(value: Decimal | None) -> str:
    """A difference to one decimal with its sign: +12.5, −3.0, 0.0."""
    if value is None:
        return "—"
    rounded = value.quantize(TENTH, rounding=ROUND_HALF_UP)
    if rounded > 0:
        return f"+{rounded}"
    if rounded < 0:
        return f"−{-rounded}"
    return "0.0"


def _labels() -> dict:
    """Words and formatters the evaluation templates use."""
    return {
        "verdicts": services.VERDICT_LABELS,
        "directions": DIRECTION_LABELS,
        "aspects": ASPECT_LABELS,
        "round_status": ROUND_STATUS_LABELS,
        "number": number,
        "one_decimal": one_decimal,
        "signed": signed,
    }


# Before and after -------------------------------------------------------------------------------


@dataclass
class CategoryChange:
    code: str
    name: str
    max: Decimal
    before: Decimal
    after: Decimal

    @property
    def difference(self) -> Decimal:
        return self.after - self.before

    @property
    def before_percent(self) -> Decimal:
        return self.before * 100 / self.max if self.max else Decimal(0)

    @property
    def after_percent(self) -> Decimal:
        return self.after * 100 / self.max if self.max else Decimal(0)


@dataclass
class FrameworkChange:
    """A framework's results at the baseline and at the final re-scoring (or their averages
    over `cases` cases)."""

    framework_id: int
    name: str
    max: Decimal
    before: Decimal
    after: Decimal
    categories: list[CategoryChange] = field(default_factory=list)
    cases: int = 1

    @property
    def difference(self) -> Decimal:
        return self.after - self.before

    @property
    def before_percent(self) -> Decimal:
        return self.before * 100 / self.max if self.max else Decimal(0)

    @property
    def after_percent(self) -> Decimal:
        return self.after * 100 / self.max if self.max else Decimal(0)


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


def average_changes(per_case: Iterable[list[FrameworkChange]]) -> list[FrameworkChange]:
    """The average before and after of each framework and category over the cases given."""
    grouped: dict[int, list[FrameworkChange]] = defaultdict(list)
    for changes in per_case:
        for change in changes:
            grouped[change.framework_id].append(change)
    averages = []
    for changes in grouped.values():
        n = len(changes)
        first = changes[0]
        categories = []
        for category in first.categories:
            same = [c for ch in changes for c in ch.categories if c.code == category.code]
            categories.append(
                CategoryChange(
                    category.code,
                    category.name,
                    category.max,
                    sum((c.before for c in same), Decimal(0)) / len(same),
                    sum((c.after for c in same), Decimal(0)) / len(same),
                )
            )
        averages.append(
            FrameworkChange(
                first.framework_id,
                first.name,
                first.max,
                sum((c.before for c in changes), Decimal(0)) / n,
                sum((c.after for c in changes), Decimal(0)) / n,
                categories,
                cases=n,
            )
        )
    return sorted(averages, key=lambda c: c.framework_id)


def change_chart(change: FrameworkChange):
    return grouped_bars_svg(
        change.name,
        [CategoryBars(c.name, c.before_percent, c.after_percent) for c in change.categories],
        (_("Baseline"), _("Final")),
    )


# Ratings ----------------------------------------------------------------------------------------


@dataclass
class RatingSummary:
    """Average of each aspect over some ratings (1–5)."""

    count: int
    professionalism: Decimal
    timeliness: Decimal
    usefulness: Decimal
    cases: int = 0

    @property
    def average(self) -> Decimal:
        return (self.professionalism + self.timeliness + self.usefulness) / 3

    def aspect(self, name: str) -> Decimal:
        return getattr(self, name)


def summarise(ratings: list[ServiceRating]) -> RatingSummary | None:
    if not ratings:
        return None
    n = len(ratings)
    return RatingSummary(
        n,
        *(Decimal(sum(getattr(r, a) for r in ratings)) / n for a in services.RATING_ASPECTS),
        cases=len({r.case_id for r in ratings}),
    )


def own_aggregate(user: User) -> RatingSummary | None:
    """An expert's ratings over every case they were rated on, once enough firms rated them."""
    ratings = db.session.exec(select(ServiceRating).where(ServiceRating.expert_id == user.id)).all()
    summary = summarise(ratings)
    if summary is None or summary.cases < MIN_FIRMS_FOR_AGGREGATE:
        return None
    return summary


# What stage 6 still needs -----------------------------------------------------------------------


def needs_open(progress: Progress) -> bool:
    """Are the stages stage 6 needs (the plan, the training) done?"""
    return all(progress[code].status == Status.DONE for code in BY_CODE["evaluation"].needs)


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


# Loading one case -------------------------------------------------------------------------------


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
        if self.actual is None:
            return ""
        return f"{self.actual.actual}@{self.actual.entered_at.isoformat()}"

    def chart(self):
        words = (_("Baseline"), _("Target"), _("Actual"))
        target = self.target
        actual = self.actual.actual if self.actual else None
        met = bool(self.achievement and self.achievement.met)
        bars = TargetBars(target.name, target.unit, target.target, actual, target.baseline, met)
        return target_svg(bars, words)


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
        return needs_open(self.progress) and not self.case.is_read_only

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


def _visible_ratings(case: Case) -> list[ServiceRating]:
    """Staff see every rating of the case; the firm the ones given on its case; experts none
    (they see only their own aggregate)."""
    if not (can(current_user, "view_expert_ratings", case) or current_user.role == Role.FIRM):
        return []
    ratings = db.session.exec(
        select(ServiceRating).where(ServiceRating.case_id == case.id).order_by(ServiceRating.id)
    ).all()
    return sorted(ratings, key=lambda r: (r.expert_id is not None, r.id))


def load(case: Case) -> Stage6:
    facts = load_facts(db.session, [case])[case.id]
    progress = evaluate(facts, today())
    baseline = diagnosis_of(db.session, case, Round.BASELINE)
    final = diagnosis_of(db.session, case, Round.FINAL)
    rows: list[TargetRow] = []
    changes: list[FrameworkChange] = []
    if baseline is not None and baseline.is_accepted:
        rows = _target_rows(case, baseline)
        if final is not None and final.is_accepted:
            frameworks = frameworks_of(db.session, baseline)
            changes = compare(_results(frameworks, baseline), _results(frameworks, final))
    evaluation = db.session.exec(select(Evaluation).where(Evaluation.case_id == case.id)).first()
    ratings = _visible_ratings(case)
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
    ids.discard(None)
    people = {u.id: u for u in db.session.exec(select(User).where(User.id.in_(ids))).all()}
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


def _results(frameworks: list[Framework], diagnosis: Diagnosis) -> list[FrameworkResult]:
    scores = {s.item_id: (s.percent, s.level) for s in diagnosis.scores}
    return [scoring.result(f, scores) for f in frameworks]


def _target_rows(case: Case, baseline: Diagnosis) -> list[TargetRow]:
    targets = db.session.exec(
        select(WorkTarget).where(WorkTarget.diagnosis_id == baseline.id).order_by(WorkTarget.id)
    ).all()
    actuals = services.actuals_of(db.session, case)
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
    plan = approved_plan(db.session, case)
    revisions = {r.target_id: r for r in plan.revisions} if plan else {}
    sees_unchecked = current_user.role != Role.FIRM
    rows = []
    for target in targets:
        actual = actuals.get(target.id)
        shown = actual if actual and (actual.checked_at or sees_unchecked) else None
        rows.append(
            TargetRow(
                target,
                shown,
                awaiting_check=actual is not None and shown is None,
                achievement=services.achievement(
                    target.direction, target.baseline, target.target, shown.actual
                )
                if shown
                else None,
                wrong_side=services.wrong_side(target.direction, target.baseline, target.target),
                evidence=files.get(shown.id, []) if shown else [],
                revision=revisions.get(target.id),
            )
        )
    return rows


# The page ---------------------------------------------------------------------------------------


def _rating_key(expert_id: int | None) -> str:
    return "overall" if expert_id is None else str(expert_id)


def _rating_forms(stage: Stage6, given: dict[str, RatingForm]) -> dict[str, RatingForm]:
    """A form per ratee (the service overall, each assigned expert), filled from the saved
    ratings; `given` holds a posted form to show with its errors."""
    saved = {_rating_key(r.expert_id): r for r in stage.ratings}
    forms = {}
    for expert_id in [None, *(a.expert_id for a in stage.case.assignments)]:
        key = _rating_key(expert_id)
        if key in given:
            forms[key] = given[key]
            continue
        rating = saved.get(key)
        data = (
            {a: str(getattr(rating, a)) for a in services.RATING_ASPECTS}
            | {"comment": rating.comment}
            if rating
            else {}
        )
        forms[key] = RatingForm(formdata=None, prefix=f"rate{key}", data=data)
    return forms


def _render(
    case: Case,
    *,
    actual_forms: dict[int, ActualForm] | None = None,
    rating_forms: dict[str, RatingForm] | None = None,
    assessment_form: AssessmentForm | None = None,
    verdict_form: VerdictForm | None = None,
    reopen_form: ReopenForm | None = None,
    status: int = 200,
):
    stage = load(case)
    may = {
        "enter": stage.open and can(current_user, "enter_actuals", case),
        "check": can(current_user, "check_actuals", case),
        "rate": stage.open and can(current_user, "rate_service", case),
        "assess": stage.open and can(current_user, "write_assessment", case),
        "verdict": can(current_user, "give_verdict", case),
        "close": can(current_user, "close_case", case),
        "reopen": case.is_closed and can(current_user, "reopen_case", case),
        "drafts": can(current_user, "view_drafts", case),
        "rescore": can(current_user, "file_diagnosis", case),
        "all_ratings": can(current_user, "view_expert_ratings", case),
        "batch_results": can(current_user, "view_expert_ratings"),
    }
    context = {
        "L": _labels(),
        "case": case,
        "stage": stage,
        "may": may,
        "charts": {r.target.id: r.chart() for r in stage.rows if r.actual},
        "change_charts": {c.framework_id: change_chart(c) for c in stage.changes},
        "check_form": CheckForm(formdata=None),
        "close_form": CloseForm(formdata=None),
        "own_aggregate": own_aggregate(current_user) if current_user.role == Role.EXPERT else None,
    }
    if may["enter"]:
        given = actual_forms or {}
        context["actual_forms"] = {
            r.target.id: given.get(r.target.id)
            or ActualForm(
                formdata=None,
                prefix=f"t{r.target.id}",
                data={"actual": number(r.actual.actual), "period": r.actual.period}
                if r.actual
                else {},
            )
            for r in stage.rows
        }
    if may["rate"]:
        context["rating_forms"] = _rating_forms(stage, rating_forms or {})
        context["rated_keys"] = {_rating_key(r.expert_id) for r in stage.ratings}
    if may["assess"]:
        context["assessment_form"] = assessment_form or AssessmentForm(
            formdata=None,
            prefix="assessment",
            data={"assessment": stage.evaluation.assessment if stage.evaluation else ""},
        )
    if may["verdict"]:
        saved = stage.evaluation
        context["verdict_form"] = verdict_form or VerdictForm(
            formdata=None,
            prefix="verdict",
            data={"verdict": saved.verdict, "comment": saved.verdict_comment}
            if saved and saved.verdict
            else {},
        )
    if may["reopen"]:
        context["reopen_form"] = reopen_form or ReopenForm(formdata=None, prefix="reopen")
    return render_template("evaluation/show.html", **context), status


def _back(case: Case, anchor: str = ""):
    return redirect(url_for("evaluation.show", case_id=case.id) + anchor)


def _refuse_unless_open(case: Case):
    """A redirect with the reason when stage 6 is not open for input yet, else None."""
    facts = load_facts(db.session, [case])[case.id]
    if needs_open(evaluate(facts, today())):
        return None
    flash(
        _(
            "Stage 6 opens once the follow-up plan is approved and the training is done: "
            "nothing was saved."
        ),
        "error",
    )
    return _back(case)


@bp.get("/cases/<int:case_id>/evaluation")
@login_required
def show(case_id: int):
    case = get_case_or_404(case_id)
    return _render(case)


# Actuals ----------------------------------------------------------------------------------------


@bp.post("/cases/<int:case_id>/evaluation/targets/<int:target_id>/actual")
@login_required
def enter_actual(case_id: int, target_id: int):
    case = get_case_or_404(case_id, "enter_actuals")
    refusal = _refuse_unless_open(case)
    if refusal:
        return refusal
    target = db.session.get(WorkTarget, target_id)
    if target is None or target.case_id != case.id:
        flash(_("There is no such work target in this case."), "error")
        return _back(case, "#targets")
    form = ActualForm(prefix=f"t{target.id}")
    if not form.validate_on_submit():
        flash(_("Nothing was saved: correct the marked fields."), "error")
        return _render(case, actual_forms={target.id: form}, status=400)
    try:
        row = services.enter_actual(
            db.session,
            current_user,
            target,
            actual=form.number,
            period=form.period.data or "",
            note=form.note.data or "",
        )
        if form.evidence.data:
            save_upload(
                db.session,
                current_user,
                form.evidence.data,
                owner_type=ACTUAL_OWNER,
                owner_id=row.id,
                case_id=case.id,
            )
    except services.EvaluationError as error:
        db.session.rollback()
        form[error.field if error.field in form else "actual"].errors.append(str(error))
        return _render(case, actual_forms={target.id: form}, status=400)
    except FileRejected as error:
        db.session.rollback()
        form.evidence.errors.append(
            _("%(error)s Nothing was saved: enter the actual again.", error=error)
        )
        return _render(case, actual_forms={target.id: form}, status=400)
    db.session.commit()
    flash(_("The actual was saved; staff will check it."), "success")
    return _back(case, f"#target-{target.id}")


@bp.post("/cases/<int:case_id>/evaluation/actuals/<int:actual_id>/check")
@login_required
def check_actual(case_id: int, actual_id: int):
    case = get_case_or_404(case_id, "check_actuals")
    row = db.session.get(KpiActual, actual_id)
    form = CheckForm()
    if row is None or row.case_id != case.id or not form.validate_on_submit():
        flash(_("There is no such actual in this case."), "error")
        return _back(case, "#targets")
    if form.seen.data != f"{row.actual}@{row.entered_at.isoformat()}":
        flash(_("The actual was changed after you opened the page: check the new value."), "error")
        return _back(case, f"#target-{row.target_id}")
    try:
        services.check_actual(db.session, current_user, row)
    except services.EvaluationError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("The actual is checked."), "success")
    return _back(case, f"#target-{row.target_id}")


# The service rating -----------------------------------------------------------------------------


@bp.post("/cases/<int:case_id>/evaluation/ratings/<who>")
@login_required
def rate(case_id: int, who: str):
    if who != "overall" and not who.isdigit():
        abort(404)
    case = get_case_or_404(case_id, "rate_service")
    refusal = _refuse_unless_open(case)
    if refusal:
        return refusal
    expert_id = None if who == "overall" else int(who)
    if expert_id is not None and expert_id not in {a.expert_id for a in case.assignments}:
        flash(_("Rate one of the experts who served the firm."), "error")
        return _back(case, "#rating")
    form = RatingForm(prefix=f"rate{who}")
    if not form.validate_on_submit():
        flash(_("Nothing was saved: correct the marked fields."), "error")
        return _render(case, rating_forms={who: form}, status=400)
    # The firm rates for itself; only staff, rating on its behalf, give a reason.
    reason = (form.on_behalf_reason.data or "") if current_user.is_staff else ""
    try:
        services.rate(
            db.session,
            current_user,
            case,
            expert_id=expert_id,
            scores=form.scores(),
            comment=form.comment.data or "",
            on_behalf_reason=reason,
        )
    except services.EvaluationError as error:
        db.session.rollback()
        form[error.field if error.field in form else "comment"].errors.append(str(error))
        return _render(case, rating_forms={who: form}, status=400)
    db.session.commit()
    flash(_("Thank you: the rating was saved."), "success")
    return _back(case, "#rating")


# The closing assessment and the verdict ---------------------------------------------------------


@bp.post("/cases/<int:case_id>/evaluation/assessment")
@login_required
def assessment(case_id: int):
    case = get_case_or_404(case_id, "write_assessment")
    refusal = _refuse_unless_open(case)
    if refusal:
        return refusal
    form = AssessmentForm(prefix="assessment")
    if form.validate_on_submit():
        try:
            services.write_assessment(db.session, current_user, case, form.assessment.data or "")
        except services.EvaluationError as error:
            db.session.rollback()
            form.assessment.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("The closing assessment was saved."), "success")
            return _back(case, "#assessment")
    return _render(case, assessment_form=form, status=400)


@bp.post("/cases/<int:case_id>/evaluation/verdict")
@login_required
def verdict(case_id: int):
    case = get_case_or_404(case_id, "give_verdict")
    form = VerdictForm(prefix="verdict")
    if form.validate_on_submit():
        try:
            services.give_verdict(
                db.session, current_user, case, form.verdict.data, form.comment.data or ""
            )
        except services.EvaluationError as error:
            db.session.rollback()
            form[error.field if error.field in form else "verdict"].errors.append(str(error))
        else:
            db.session.commit()
            flash(_("The verdict was given."), "success")
            return _back(case, "#verdict")
    return _render(case, verdict_form=form, status=400)


# Closing and reopening --------------------------------------------------------------------------


@bp.post("/cases/<int:case_id>/evaluation/close")
@login_required
def close(case_id: int):
    case = get_case_or_404(case_id, "close_case")
    if not CloseForm().validate_on_submit():
        abort(400)
    try:
        unfinished = close_case(db.session, current_user, case, today())
    except CaseError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _back(case, "#closing")
    db.session.commit()
    _archive_final_report(case)
    if unfinished:
        flash(
            ngettext(
                "The case is closed; %(num)d item still open was recorded as unfinished.",
                "The case is closed; %(num)d items still open were recorded as unfinished.",
                len(unfinished),
            ),
            "success",
        )
    else:
        flash(_("The case is closed."), "success")
    return _back(case)


def _archive_final_report(case: Case) -> None:
    """DESIGN.md: the final report is generated and archived on closing. The case is closed and
    committed already; a report that fails to render must not undo that, and the report's
    download makes it when it is missing."""
    try:
        archive_final(db.session, current_user, case.id, today())
        db.session.commit()
    except Exception:  # noqa: BLE001 — see the docstring: closing stands whatever the PDF does
        db.session.rollback()
        current_app.logger.exception("The final report of case %s was not archived", case.id)


@bp.post("/cases/<int:case_id>/evaluation/reopen")
@login_required
def reopen(case_id: int):
    case = get_case_or_404(case_id, "reopen_case")
    if not case.is_closed:
        flash(_("The case is not closed."), "error")
        return _back(case)
    form = ReopenForm(prefix="reopen")
    if form.validate_on_submit():
        try:
            reopen_case(db.session, current_user, case, form.reason.data or "")
        except CaseError as error:
            db.session.rollback()
            form.reason.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("The case is reopened."), "success")
            return _back(case)
    return _render(case, reopen_form=form, status=400)


# The case page ----------------------------------------------------------------------------------


def case_section(case: Case) -> dict | None:
    """What the case page shows of this feature: {"template": ..., **data}, or None.

    Nothing until the baseline diagnosis is accepted (its work targets are what stage 6
    checks); then the targets with their achievement, the before/after totals, the overall
    rating (for staff and the firm), the verdict, the closing state and staff's close/reopen.
    """
    stage = load(case)
    if not stage.rows and not case.is_closed:
        return None
    return {
        "template": "evaluation/_section.html",
        "L": _labels(),
        "stage": stage,
        "close_form": CloseForm(formdata=None),
        "reopen_form": ReopenForm(formdata=None, prefix="reopen"),
        "may_close": can(current_user, "close_case", case),
        "may_reopen": case.is_closed and can(current_user, "reopen_case", case),
    }


# The batch's results ----------------------------------------------------------------------------


@dataclass
class CaseResult:
    case: Case
    firm: Firm
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
        return sum(self.achievements) / len(self.achievements) if self.achievements else None

    @property
    def counted(self) -> bool:
        """Withdrawn cases left the pilot: they are listed, not counted."""
        return not self.case.is_withdrawn

    @property
    def still_open(self) -> bool:
        return not self.case.is_read_only

    @property
    def why(self) -> list[str]:
        """Why an open case is not closed yet: each stage under way (stages 3–5 and 6 run side
        by side), and for stage 6 what it still lacks."""
        if self.progress["evaluation"].status == Status.DONE:
            return [_("Ready to close")]
        lines = []
        for state in self.progress.stages:
            if state.status in (Status.IN_PROGRESS, Status.OVERDUE):
                lines.append(f"{state.stage.label} · {STATUS_LABELS[state.status]}")
                if state.code == "evaluation":
                    lines += missing(self.facts, self.progress)
        return lines


@dataclass
class ExpertResult:
    expert: User | None
    summary: RatingSummary


def batch_summary(batch: Batch) -> dict:
    """Everything the results page shows, in a fixed number of queries."""
    session = db.session
    rows = session.exec(
        select(Case, Firm)
        .join(Firm, Firm.id == Case.firm_id)
        .where(Case.batch_id == batch.id)
        .order_by(Firm.name, Case.id)
    ).all()
    cases = [c for c, _f in rows]
    facts = load_facts(session, cases)
    day = today()
    results = {c.id: CaseResult(c, f, evaluate(facts[c.id], day), facts[c.id]) for c, f in rows}
    ids = list(results)
    if not ids:
        ids = [-1]
    # Work targets of accepted baselines, with their actuals.
    target_rows = session.exec(
        select(WorkTarget, KpiActual)
        .join(Diagnosis, Diagnosis.id == WorkTarget.diagnosis_id)
        .join(KpiActual, KpiActual.target_id == WorkTarget.id, isouter=True)
        .where(WorkTarget.case_id.in_(ids), Diagnosis.status == DiagnosisStatus.ACCEPTED)
    ).all()
    for target, actual in target_rows:
        result = results[target.case_id]
        result.targets += 1
        if actual is not None and actual.checked_at is not None:
            reached = services.achievement(
                target.direction, target.baseline, target.target, actual.actual
            )
            result.achievements.append(reached.percent)
            result.met += reached.met
    # Before and after, for cases whose both rounds are accepted.
    diagnoses = session.exec(
        select(Diagnosis)
        .where(Diagnosis.case_id.in_(ids), Diagnosis.status == DiagnosisStatus.ACCEPTED)
        .options(selectinload(Diagnosis.scores))
    ).all()
    rounds: dict[int, dict[str, Diagnosis]] = defaultdict(dict)
    for diagnosis in diagnoses:
        rounds[diagnosis.case_id][diagnosis.round] = diagnosis
    paired = {cid: r for cid, r in rounds.items() if Round.BASELINE in r and Round.FINAL in r}
    if paired:
        links = session.exec(
            select(DiagnosisFramework).where(
                DiagnosisFramework.diagnosis_id.in_([r[Round.BASELINE].id for r in paired.values()])
            )
        ).all()
        frameworks = {
            f.id: f
            for f in session.exec(
                select(Framework)
                .where(Framework.id.in_({link.framework_id for link in links}))
                .options(selectinload(Framework.categories).selectinload(FrameworkCategory.items))
            ).all()
        }
        by_diagnosis: dict[int, list[Framework]] = defaultdict(list)
        for link in links:
            by_diagnosis[link.diagnosis_id].append(frameworks[link.framework_id])
        for case_id, pair in paired.items():
            used = sorted(
                by_diagnosis[pair[Round.BASELINE].id], key=lambda f: (f.domain != "quality", f.id)
            )
            results[case_id].changes = compare(
                _results(used, pair[Round.BASELINE]), _results(used, pair[Round.FINAL])
            )
    for case_id, verdict_code in session.exec(
        select(Evaluation.case_id, Evaluation.verdict).where(Evaluation.case_id.in_(ids))
    ).all():
        results[case_id].verdict = verdict_code
    # Ratings of the batch's cases, per expert and overall.
    ratings = session.exec(select(ServiceRating).where(ServiceRating.case_id.in_(ids))).all()
    by_expert: dict[int | None, list[ServiceRating]] = defaultdict(list)
    for rating in ratings:
        by_expert[rating.expert_id].append(rating)
    experts = {
        u.id: u
        for u in session.exec(select(User).where(User.id.in_([k for k in by_expert if k]))).all()
    }
    expert_results = sorted(
        (ExpertResult(experts.get(k), summarise(v)) for k, v in by_expert.items() if k),
        key=lambda r: r.expert.display_name if r.expert else "",
    )
    counted = [r for r in results.values() if r.counted]
    achievements = [a for r in counted for a in r.achievements]
    verdicts = {code: 0 for code in services.VERDICT_LABELS}
    for r in counted:
        if r.verdict in verdicts:
            verdicts[r.verdict] += 1
    averages = average_changes(r.changes for r in counted if r.changes)
    return {
        "cases": list(results.values()),
        "counted": len(counted),
        "closed": sum(1 for r in counted if r.case.is_closed),
        "targets": sum(r.targets for r in counted),
        "met": sum(r.met for r in counted),
        "checked": len(achievements),
        "average": sum(achievements) / len(achievements) if achievements else None,
        "averages": averages,
        "charts": {c.framework_id: change_chart(c) for c in averages},
        "experts": expert_results,
        "overall_rating": summarise(by_expert.get(None, [])),
        "verdicts": verdicts,
        "no_verdict": sum(1 for r in counted if r.verdict is None),
        "open_cases": [r for r in counted if r.still_open],
        "withdrawn": [r for r in results.values() if not r.counted],
    }


@bp.get("/batches/<int:batch_id>/results")
@login_required
@require("view_expert_ratings")
def batch_results(batch_id: int):
    batch = db.get_or_abort(Batch, batch_id)
    return render_template(
        "evaluation/batch_results.html",
        batch=batch,
        L=_labels(),
        CLOSED=CLOSED,
        WITHDRAWN=WITHDRAWN,
        Verdict=Verdict,
        **batch_summary(batch),
    )
