"""Filing a diagnosis (scores, findings, work targets), returning and accepting it.

Acceptance sets each finding's disposition; each `rectify` finding of the baseline round becomes
a rectification item, due by the batch's days for its severity, never after the rectification
stage's due date.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import partial

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload
from sqlmodel import Session, delete, select

from pilot.accounts.models import User
from pilot.audit.services import log
from pilot.cases.models import Case
from pilot.database import after_commit, compare_and_set, utcnow
from pilot.diagnosis import scoring
from pilot.diagnosis.models import (
    Diagnosis,
    DiagnosisFramework,
    DiagnosisStatus,
    Disposition,
    Finding,
    ItemScore,
    Round,
    Severity,
    WorkTarget,
)
from pilot.files.models import OwnerType, StoredFile
from pilot.files.store import files_root
from pilot.frameworks.models import BatchFramework, Framework, FrameworkCategory, Scale
from pilot.kpis.models import Direction, Kpi, wrong_side
from pilot.notifications.models import Kind
from pilot.notifications.services import experts_of, firm_users_of, notify
from pilot.rectification.models import RectificationItem
from pilot.stages import stage_open
from pilot.survey.services import baseline_values

SEVERITY_LABELS = {
    Severity.SEVERE: _l("Severe"),
    Severity.GENERAL: _l("General"),
    Severity.OBSERVATION: _l("Observation"),
}
DISPOSITION_LABELS = {Disposition.RECTIFY: _l("Rectify"), Disposition.CARRY: _l("Carry into plan")}
EDITABLE = (DiagnosisStatus.DRAFT, DiagnosisStatus.RETURNED)


class DiagnosisError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def diagnosis_of(session: Session, case: Case, round_: str) -> Diagnosis | None:
    return session.exec(
        select(Diagnosis)
        .where(Diagnosis.case_id == case.id, Diagnosis.round == round_)
        .options(selectinload(Diagnosis.scores), selectinload(Diagnosis.findings))
    ).first()


def diagnoses_of(session: Session, case: Case) -> dict[str, Diagnosis]:
    """The case's diagnoses by round, with their scores and findings, in one go."""
    return {
        d.round: d
        for d in session.exec(
            select(Diagnosis)
            .where(Diagnosis.case_id == case.id)
            .options(selectinload(Diagnosis.scores), selectinload(Diagnosis.findings))
        ).all()
    }


def frameworks_query():
    """Frameworks with their categories and items (a fixed number of queries), quality first."""
    return (
        select(Framework)
        .order_by(Framework.domain.desc(), Framework.id)
        .options(selectinload(Framework.categories).selectinload(FrameworkCategory.items))
    )


def frameworks_of(session: Session, diagnosis: Diagnosis) -> list[Framework]:
    """The diagnosis's frameworks."""
    return session.exec(
        frameworks_query()
        .join(DiagnosisFramework, DiagnosisFramework.framework_id == Framework.id)
        .where(DiagnosisFramework.diagnosis_id == diagnosis.id)
    ).all()


def start(session: Session, actor: User, case: Case, round_: str = Round.BASELINE) -> Diagnosis:
    """Open the case's diagnosis of this round, on the batch's frameworks."""
    existing = diagnosis_of(session, case, round_)
    if existing:
        return existing
    if round_ == Round.FINAL:
        baseline = diagnosis_of(session, case, Round.BASELINE)
        if baseline is None or not baseline.is_accepted:
            raise DiagnosisError(_("The final round re-scores an accepted baseline."))
        # The final re-scoring is stage 6's: it waits for the plan and the training too.
        if not stage_open(session, case, "evaluation"):
            raise DiagnosisError(
                _(
                    "Stage 6 opens once the follow-up plan is approved and the training is "
                    "done: nothing was saved."
                )
            )
        framework_ids = [
            f.framework_id
            for f in session.exec(
                select(DiagnosisFramework).where(DiagnosisFramework.diagnosis_id == baseline.id)
            ).all()
        ]
    else:
        framework_ids = session.exec(
            select(BatchFramework.framework_id).where(BatchFramework.batch_id == case.batch_id)
        ).all()
    if not framework_ids:
        raise DiagnosisError(_("The batch has no assessment framework chosen."))
    diagnosis = Diagnosis(case_id=case.id, round=round_, created_by_id=actor.id)
    session.add(diagnosis)
    session.flush()
    for framework_id in framework_ids:
        session.add(DiagnosisFramework(diagnosis_id=diagnosis.id, framework_id=framework_id))
    log(session, actor, diagnosis, "start", case_id=case.id, after={"round": round_})
    return diagnosis


def _editable(diagnosis: Diagnosis) -> None:
    if diagnosis.status not in EDITABLE:
        raise DiagnosisError(_("The diagnosis has been submitted and cannot be changed now."))


@dataclass
class ScoreInput:
    item_id: int
    percent: int | None = None
    level: int | None = None
    strengths: str = ""
    opportunities: str = ""


def save_scores(
    session: Session, actor: User, diagnosis: Diagnosis, entries: list[ScoreInput]
) -> None:
    """Store item scores. Each must be on one of the diagnosis's frameworks and on its scale."""
    _editable(diagnosis)
    frameworks = frameworks_of(session, diagnosis)
    scale_of = {item.id: f.scale for f in frameworks for item in f.items}
    current = {s.item_id: s for s in diagnosis.scores}
    for entry in entries:
        scale = scale_of.get(entry.item_id)
        if scale is None:
            raise DiagnosisError(_("The item is not part of this diagnosis's frameworks."))
        score = current.get(entry.item_id)
        if entry.percent is None and entry.level is None:
            # Not scored (yet, or any more): a draft may leave items open; its notes are kept.
            if score is None and not (entry.strengths.strip() or entry.opportunities.strip()):
                continue
        elif scale == Scale.BAND:
            if entry.level is not None:
                raise DiagnosisError(_("This item is scored by percentage, not by level."))
            scoring.check_percent(entry.percent)
        else:
            if entry.percent is not None:
                raise DiagnosisError(_("This item is scored by maturity level, not percentage."))
            scoring.check_level(entry.level)
        if score is None:
            score = current[entry.item_id] = ItemScore(
                diagnosis_id=diagnosis.id, item_id=entry.item_id
            )
            diagnosis.scores.append(score)
        score.percent, score.level = entry.percent, entry.level
        score.strengths, score.opportunities = entry.strengths.strip(), entry.opportunities.strip()
    log(
        session,
        actor,
        diagnosis,
        "scores",
        case_id=diagnosis.case_id,
        after={"items": len(entries)},
    )


def framework_results(session: Session, diagnosis: Diagnosis) -> list[scoring.FrameworkResult]:
    return scoring.framework_results(frameworks_of(session, diagnosis), diagnosis)


def add_finding(
    session: Session,
    actor: User,
    diagnosis: Diagnosis,
    *,
    item_id: int,
    description: str,
    severity: str,
) -> Finding:
    _editable(diagnosis)
    items = {item.id for f in frameworks_of(session, diagnosis) for item in f.items}
    if item_id not in items:
        raise DiagnosisError(_("Choose an item of this diagnosis's frameworks."), "item_id")
    if severity not in SEVERITY_LABELS:
        raise DiagnosisError(_("Choose a severity."), "severity")
    if not description.strip():
        raise DiagnosisError(_("Describe the finding."), "description")
    finding = Finding(
        diagnosis_id=diagnosis.id,
        item_id=item_id,
        description=description.strip(),
        severity=severity,
    )
    diagnosis.findings.append(finding)
    session.flush()
    log(
        session,
        actor,
        finding,
        "add",
        case_id=diagnosis.case_id,
        after={"round": diagnosis.round, "description": finding.description, "severity": severity},
    )
    return finding


def remove_finding(session: Session, actor: User, finding: Finding) -> None:
    """Remove a finding of an editable diagnosis, and its evidence with it.

    The evidence rows go now (each removal logged with its name and hash), the bytes once the
    removal commits: no stored file is left pointing at a finding that is gone.
    """
    _editable(finding.diagnosis)
    case_id = finding.diagnosis.case_id
    evidence = session.exec(
        select(StoredFile).where(
            StoredFile.owner_type == OwnerType.FINDING, StoredFile.owner_id == finding.id
        )
    ).all()
    for stored in evidence:
        log(
            session,
            actor,
            stored,
            "remove",
            case_id=case_id,
            before={
                "owner": f"{OwnerType.FINDING}:{finding.id}",
                "name": stored.name,
                "version": stored.version,
                "sha256": stored.sha256,
            },
        )
        after_commit(session, partial((files_root() / stored.storage_key).unlink, missing_ok=True))
    log(
        session,
        actor,
        finding,
        "remove",
        case_id=case_id,
        before={
            "round": finding.diagnosis.round,
            "description": finding.description,
            "severity": finding.severity,
        },
    )
    if evidence:
        # One statement: the versions refer to each other (previous_id).
        session.execute(delete(StoredFile).where(StoredFile.id.in_([s.id for s in evidence])))
    finding.diagnosis.findings.remove(finding)
    session.delete(finding)


@dataclass
class TargetInput:
    target: Decimal
    target_date: date
    kpi_id: int | None = None
    name: str = ""
    unit: str = ""
    direction: str = ""
    #: None on a catalogue KPI: the firm's baseline from the needs survey, if it gave one.
    baseline: Decimal | None = None
    #: The user confirmed a target that is no improvement on its baseline.
    confirmed_wrong_side: bool = False


def add_target(
    session: Session, actor: User, diagnosis: Diagnosis, data: TargetInput
) -> WorkTarget:
    """A work target on a catalogue KPI (its name, unit and direction copied, its baseline from
    the needs survey unless one is given) or a custom one."""
    _editable(diagnosis)
    if diagnosis.round != Round.BASELINE:
        raise DiagnosisError(_("Work targets are set with the baseline diagnosis."))
    baseline = data.baseline
    if data.kpi_id:
        kpi = session.get(Kpi, data.kpi_id)
        if kpi is None:
            raise DiagnosisError(_("Unknown KPI."), "kpi_id")
        name, unit, direction = kpi.name_zh, kpi.unit, kpi.direction
        if baseline is None:
            case = session.get(Case, diagnosis.case_id)
            baseline = baseline_values(session, case).get(kpi.id)
    else:
        name, unit, direction = data.name.strip(), data.unit.strip(), data.direction
        if not name:
            raise DiagnosisError(_("Name the target or choose a KPI."), "name")
        if direction not in (Direction.HIGHER, Direction.LOWER):
            raise DiagnosisError(_("Say whether higher or lower is better."), "direction")
    if wrong_side(direction, baseline, data.target) and not data.confirmed_wrong_side:
        raise DiagnosisError(
            _(
                "This target is no improvement on its baseline for its direction. "
                "Tick the box to confirm it is meant so."
            ),
            "confirm_wrong_side",
        )
    target = WorkTarget(
        case_id=diagnosis.case_id,
        diagnosis_id=diagnosis.id,
        kpi_id=data.kpi_id or None,
        name=name,
        unit=unit,
        direction=direction,
        baseline=baseline,
        target=data.target,
        target_date=data.target_date,
    )
    session.add(target)
    session.flush()
    log(
        session,
        actor,
        target,
        "add",
        case_id=diagnosis.case_id,
        after={"name": name, "baseline": str(baseline), "target": str(data.target)},
    )
    return target


def remove_target(session: Session, actor: User, target: WorkTarget, diagnosis: Diagnosis) -> None:
    _editable(diagnosis)
    if target.diagnosis_id != diagnosis.id:
        raise DiagnosisError(_("There is no such work target in this diagnosis."))
    log(session, actor, target, "remove", case_id=target.case_id, before={"name": target.name})
    session.delete(target)


def targets_of(session: Session, case: Case) -> list[WorkTarget]:
    return session.exec(
        select(WorkTarget).where(WorkTarget.case_id == case.id).order_by(WorkTarget.id)
    ).all()


def submit(session: Session, actor: User, diagnosis: Diagnosis) -> None:
    _editable(diagnosis)
    incomplete = [r.name for r in framework_results(session, diagnosis) if not r.complete]
    if incomplete:
        raise DiagnosisError(
            _("Score every item before submitting: %(names)s.", names="、".join(incomplete))
        )
    if (
        diagnosis.round == Round.BASELINE
        and not session.exec(
            select(WorkTarget).where(WorkTarget.diagnosis_id == diagnosis.id).limit(1)
        ).first()
    ):
        raise DiagnosisError(_("Set at least one work target before submitting."))
    diagnosis.status = DiagnosisStatus.SUBMITTED
    diagnosis.submitted_at = utcnow()
    diagnosis.submitted_by_id = actor.id
    log(
        session,
        actor,
        diagnosis,
        "submit",
        case_id=diagnosis.case_id,
        after={"round": diagnosis.round},
        public=True,
    )


def _decide(session: Session, diagnosis: Diagnosis, status: str) -> None:
    """Move a submitted diagnosis to accepted or returned, refusing if someone else decided it
    meanwhile: of two staff accepting at once (two tabs, a double click), one succeeds and the
    other is told, and no finding becomes two items."""
    if not compare_and_set(session, diagnosis, "status", DiagnosisStatus.SUBMITTED, status):
        session.refresh(diagnosis)
        raise DiagnosisError(
            _(
                "Someone else accepted or returned this diagnosis meanwhile: "
                "look at it again before deciding."
            )
        )


def return_diagnosis(session: Session, actor: User, diagnosis: Diagnosis, comment: str) -> None:
    if diagnosis.status != DiagnosisStatus.SUBMITTED:
        raise DiagnosisError(_("Only a submitted diagnosis can be returned."))
    if not comment.strip():
        raise DiagnosisError(_("Say what needs to change."), "comment")
    _decide(session, diagnosis, DiagnosisStatus.RETURNED)
    diagnosis.return_comment = comment.strip()
    # Not on the public timeline: the comment is about a draft, which the firm never sees.
    log(session, actor, diagnosis, "return", case_id=diagnosis.case_id, reason=comment.strip())
    case = session.get(Case, diagnosis.case_id)
    notify(
        session,
        experts_of(case),
        Kind.DIAGNOSIS_RETURNED,
        case,
        actor=actor,
        record_id=diagnosis.id,
        round=diagnosis.round,
    )


def default_disposition(finding: Finding) -> str:
    return Disposition.CARRY if finding.severity == Severity.OBSERVATION else Disposition.RECTIFY


def item_due_date(case: Case, severity: str, accepted_on: date) -> date:
    """Due by the batch's days for the severity, never after the rectification stage is due."""
    batch = case.batch
    days = batch.severe_due_days if severity == Severity.SEVERE else batch.general_due_days
    return min(accepted_on + timedelta(days=days), case.rectification_due)


def accept(
    session: Session,
    actor: User,
    diagnosis: Diagnosis,
    dispositions: dict[int, str],
    today: date,
) -> list[RectificationItem]:
    """Accept a submitted diagnosis; turn each `rectify` finding of the baseline into an item."""
    if diagnosis.status != DiagnosisStatus.SUBMITTED:
        raise DiagnosisError(_("Only a submitted diagnosis can be accepted."))
    _decide(session, diagnosis, DiagnosisStatus.ACCEPTED)
    case = session.get(Case, diagnosis.case_id)
    items = []
    for finding in diagnosis.findings:
        disposition = dispositions.get(finding.id) or default_disposition(finding)
        if disposition not in DISPOSITION_LABELS:
            raise DiagnosisError(_("Choose rectify or carry for every finding."))
        finding.disposition = disposition
        if disposition == Disposition.RECTIFY and diagnosis.round == Round.BASELINE:
            item = RectificationItem(
                case_id=case.id,
                finding_id=finding.id,
                framework_item_id=finding.item_id,
                description=finding.description,
                severity=finding.severity,
                due_date=item_due_date(case, finding.severity, today),
                created_by_id=actor.id,
            )
            session.add(item)
            items.append(item)
    diagnosis.status = DiagnosisStatus.ACCEPTED
    diagnosis.accepted_at = utcnow()
    diagnosis.accepted_by_id = actor.id
    log(
        session,
        actor,
        diagnosis,
        "accept",
        case_id=case.id,
        after={"round": diagnosis.round, "items": len(items)},
        public=True,
    )
    notify(
        session,
        [*experts_of(case), *firm_users_of(session, case)],
        Kind.DIAGNOSIS_ACCEPTED,
        case,
        actor=actor,
        record_id=diagnosis.id,
        round=diagnosis.round,
    )
    return items
