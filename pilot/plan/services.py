"""Drafting, submitting, returning and approving (认定) the follow-up service plan."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload
from sqlmodel import Session, select

from pilot.accounts.models import User
from pilot.audit.services import log
from pilot.cases.models import Case
from pilot.database import EditConflict, bump_version, utcnow
from pilot.diagnosis.models import Diagnosis, Disposition, Finding, Round, WorkTarget
from pilot.diagnosis.services import diagnosis_of
from pilot.notifications.models import Kind
from pilot.notifications.services import experts_of, firm_users_of, notify
from pilot.plan.models import FollowUpPlan, PlanAction, PlanStatus, TargetRevision


class PlanError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class PlanConflict(EditConflict, PlanError):
    """The version being drafted changed since the user loaded it; `current` is the plan now."""

    message = _l(
        "Someone else changed the plan while you were editing it. "
        "Your input is kept below; check the current plan before saving again."
    )


def _bump(session: Session, plan: FollowUpPlan, expected: int | None = None) -> None:
    """Raise the drafted version's edit counter, refusing a save made on an older one. Every
    change calls it; only the text form sends what it saw (actions are added, not overwritten)."""
    bump_version(session, plan, expected, column="edit_version", conflict=PlanConflict)


def versions_of(session: Session, case: Case) -> list[FollowUpPlan]:
    """Every version, newest first, with actions and revisions loaded."""
    return session.exec(
        select(FollowUpPlan)
        .where(FollowUpPlan.case_id == case.id)
        .order_by(FollowUpPlan.version.desc())
        .options(selectinload(FollowUpPlan.actions), selectinload(FollowUpPlan.revisions))
    ).all()


def approved_plan(session: Session, case: Case) -> FollowUpPlan | None:
    """The newest approved version: the plan in force."""
    return next((p for p in versions_of(session, case) if p.status == PlanStatus.APPROVED), None)


def carried_findings(session: Session, case: Case) -> list[Finding]:
    """Findings of the accepted baseline that staff carried into the plan."""
    return session.exec(
        select(Finding)
        .join(Diagnosis, Diagnosis.id == Finding.diagnosis_id)
        .where(Diagnosis.case_id == case.id, Diagnosis.round == Round.BASELINE)
        .where(Finding.disposition == Disposition.CARRY)
        .order_by(Finding.id)
    ).all()


def _latest(session: Session, case: Case) -> FollowUpPlan | None:
    versions = versions_of(session, case)
    return versions[0] if versions else None


def _require_accepted_baseline(session: Session, case: Case) -> None:
    baseline = diagnosis_of(session, case, Round.BASELINE)
    if baseline is None or not baseline.is_accepted:
        raise PlanError(_("The follow-up plan is drafted once the diagnosis is accepted."))


def _refuse_frozen(plan: FollowUpPlan) -> None:
    """Only a draft or returned version takes changes: a submitted one waits for staff, an
    approved one is frozen and changes only through a new version."""
    if plan.status == PlanStatus.SUBMITTED:
        raise PlanError(_("The plan is waiting for approval and cannot be changed now."))
    if plan.status not in (PlanStatus.DRAFT, PlanStatus.RETURNED):
        raise PlanError(
            _(
                "Version %(num)d is approved and cannot be changed: start a new version to "
                "change the plan.",
                num=plan.version,
            )
        )


def open_version(session: Session, case: Case) -> FollowUpPlan | None:
    """The version the lead writes to: the current draft or returned one, or None when there is
    no version yet (the first write opens version 1). Refuses when the newest is frozen."""
    latest = _latest(session, case)
    if latest is not None:
        _refuse_frozen(latest)
    return latest


def draft(session: Session, actor: User, case: Case) -> FollowUpPlan:
    """The version to write to: the current draft or returned one, else a new version 1.

    Never reopens a frozen version: after an approval, `start_new_version` is the explicit way
    to change the plan.
    """
    _require_accepted_baseline(session, case)
    latest = open_version(session, case)
    if latest is not None:
        return latest
    plan = FollowUpPlan(case_id=case.id, version=1, created_by_id=actor.id)
    session.add(plan)
    session.flush()
    log(session, actor, plan, "draft", case_id=case.id, after={"version": plan.version})
    return plan


def start_new_version(session: Session, actor: User, case: Case) -> FollowUpPlan:
    """Open the next version: version 1 when there is none, else a copy of the approved newest
    one, which stays in force until the new one is approved."""
    _require_accepted_baseline(session, case)
    latest = _latest(session, case)
    if latest is None:
        return draft(session, actor, case)
    if latest.status == PlanStatus.SUBMITTED:
        raise PlanError(_("The plan is waiting for approval and cannot be changed now."))
    if latest.status != PlanStatus.APPROVED:
        raise PlanError(_("Version %(num)d is already open for drafting.", num=latest.version))
    plan = FollowUpPlan(
        case_id=case.id,
        version=latest.version + 1,
        created_by_id=actor.id,
        summary=latest.summary,
        further_service=latest.further_service,
    )
    plan.actions = [
        PlanAction(
            what=a.what,
            owner=a.owner,
            start_date=a.start_date,
            due_date=a.due_date,
            finding_id=a.finding_id,
        )
        for a in latest.actions
    ]
    plan.revisions = [
        TargetRevision(
            target_id=r.target_id, new_target=r.new_target, new_date=r.new_date, reason=r.reason
        )
        for r in latest.revisions
    ]
    session.add(plan)
    session.flush()
    log(
        session,
        actor,
        plan,
        "draft",
        case_id=case.id,
        after={"version": plan.version, "copied_from": latest.version},
    )
    return plan


def save_text(
    session: Session,
    actor: User,
    plan: FollowUpPlan,
    *,
    summary: str,
    further_service: str,
    version: int | None = None,
) -> None:
    """Save the summary and further service; PlanConflict when `version` (the edit version the
    form showed, 0 before the first save) is not the plan's."""
    _refuse_frozen(plan)
    _bump(session, plan, version)
    plan.summary, plan.further_service = summary.strip(), further_service.strip()
    log(
        session,
        actor,
        plan,
        "save",
        case_id=plan.case_id,
        after={"version": plan.version, "summary": plan.summary},
    )


@dataclass
class ActionInput:
    what: str
    owner: str
    start_date: date
    due_date: date
    finding_id: int | None = None


def add_action(session: Session, actor: User, plan: FollowUpPlan, data: ActionInput) -> PlanAction:
    _refuse_frozen(plan)
    _bump(session, plan)
    if not data.what.strip():
        raise PlanError(_("Say what will be done."), "what")
    if not data.owner.strip():
        raise PlanError(_("Name who at the firm owns the action."), "owner")
    if data.due_date < data.start_date:
        raise PlanError(_("The action cannot end before it starts."), "due_date")
    case = session.get(Case, plan.case_id)
    if data.finding_id and data.finding_id not in {f.id for f in carried_findings(session, case)}:
        raise PlanError(_("Choose one of the findings carried into the plan."), "finding_id")
    action = PlanAction(
        what=data.what.strip(),
        owner=data.owner.strip(),
        start_date=data.start_date,
        due_date=data.due_date,
        finding_id=data.finding_id or None,
    )
    plan.actions.append(action)
    session.flush()
    log(
        session,
        actor,
        plan,
        "add_action",
        case_id=plan.case_id,
        after={"version": plan.version, "what": action.what},
    )
    return action


def remove_action(session: Session, actor: User, plan: FollowUpPlan, action: PlanAction) -> None:
    _refuse_frozen(plan)
    _bump(session, plan)
    if action not in plan.actions:
        raise PlanError(_("There is no such action in the version being drafted."))
    log(
        session,
        actor,
        plan,
        "remove_action",
        case_id=plan.case_id,
        before={"version": plan.version, "what": action.what},
    )
    plan.actions.remove(action)


def revise_target(
    session: Session,
    actor: User,
    plan: FollowUpPlan,
    *,
    target_id: int,
    new_target: Decimal,
    new_date: date,
    reason: str,
) -> TargetRevision:
    _refuse_frozen(plan)
    _bump(session, plan)
    target = session.get(WorkTarget, target_id)
    if target is None or target.case_id != plan.case_id:
        raise PlanError(_("Choose one of the case's work targets."), "target_id")
    if not reason.strip():
        raise PlanError(_("Say why the target should change."), "reason")
    revision = next((r for r in plan.revisions if r.target_id == target_id), None)
    if revision is None:
        revision = TargetRevision(
            target_id=target_id, new_target=new_target, new_date=new_date, reason=reason.strip()
        )
        plan.revisions.append(revision)
    else:
        revision.new_target, revision.new_date = new_target, new_date
        revision.reason = reason.strip()
    session.flush()
    log(
        session,
        actor,
        plan,
        "revise_target",
        case_id=plan.case_id,
        after={"target": target.name, "from": str(target.target), "to": str(new_target)},
    )
    return revision


def remove_revision(
    session: Session, actor: User, plan: FollowUpPlan, revision: TargetRevision
) -> None:
    _refuse_frozen(plan)
    _bump(session, plan)
    if revision not in plan.revisions:
        raise PlanError(_("There is no such revision in the version being drafted."))
    plan.revisions.remove(revision)
    log(
        session,
        actor,
        plan,
        "remove_revision",
        case_id=plan.case_id,
        before={"target_id": revision.target_id},
    )


def unanswered_findings(session: Session, plan: FollowUpPlan) -> list[Finding]:
    answered = {a.finding_id for a in plan.actions if a.finding_id}
    case = session.get(Case, plan.case_id)
    return [f for f in carried_findings(session, case) if f.id not in answered]


def submit(session: Session, actor: User, plan: FollowUpPlan) -> None:
    _refuse_frozen(plan)
    _bump(session, plan)
    if not plan.actions:
        raise PlanError(_("Add at least one action before submitting."))
    missing = unanswered_findings(session, plan)
    if missing:
        raise PlanError(
            _(
                "Every carried finding needs an action; not yet answered: %(list)s",
                list="；".join(f.description for f in missing),
            )
        )
    plan.status = PlanStatus.SUBMITTED
    plan.submitted_at = utcnow()
    log(
        session,
        actor,
        plan,
        "submit",
        case_id=plan.case_id,
        after={"version": plan.version},
        public=True,
    )


def return_plan(session: Session, actor: User, plan: FollowUpPlan, comment: str) -> None:
    if plan.status != PlanStatus.SUBMITTED:
        raise PlanError(_("Only a submitted plan can be returned."))
    if not comment.strip():
        raise PlanError(_("Say what needs to change."), "comment")
    _bump(session, plan)
    plan.status = PlanStatus.RETURNED
    plan.return_comment = comment.strip()
    log(
        session,
        actor,
        plan,
        "return",
        case_id=plan.case_id,
        reason=plan.return_comment,
        after={"version": plan.version},
        public=False,
    )
    # Only the lead drafts the plan, and the firm never sees a draft.
    case = session.get(Case, plan.case_id)
    notify(
        session,
        experts_of(case, lead_only=True),
        Kind.PLAN_RETURNED,
        case,
        actor=actor,
        record_id=plan.id,
        version=plan.version,
    )


def approve(session: Session, actor: User, plan: FollowUpPlan) -> None:
    if plan.status != PlanStatus.SUBMITTED:
        raise PlanError(_("Only a submitted plan can be approved."))
    _bump(session, plan)
    plan.status = PlanStatus.APPROVED
    plan.approved_at = utcnow()
    plan.approved_by_id = actor.id
    log(
        session,
        actor,
        plan,
        "approve",
        case_id=plan.case_id,
        after={"version": plan.version},
        public=True,
    )
    # The approved plan is the firm's to follow too: the experts and the firm are told.
    case = session.get(Case, plan.case_id)
    notify(
        session,
        [*experts_of(case), *firm_users_of(session, case)],
        Kind.PLAN_APPROVED,
        case,
        actor=actor,
        record_id=plan.id,
        version=plan.version,
    )
