"""What the plan pages show: the versions, who wrote and approved them, the findings and targets
they refer to, and the forms bound to the case."""

from dataclasses import dataclass

from flask import render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlmodel import select

from pilot.accounts.models import User
from pilot.cases.models import Case
from pilot.diagnosis.forms import DIRECTION_LABELS
from pilot.diagnosis.labels import number, short
from pilot.diagnosis.models import Diagnosis, DiagnosisStatus, Finding, Round, WorkTarget
from pilot.diagnosis.services import SEVERITY_LABELS, targets_of
from pilot.extensions import db
from pilot.forms import choices
from pilot.permissions import can
from pilot.plan import services
from pilot.plan.forms import (
    ButtonForm,
    PlanActionForm,
    PlanTextForm,
    ReturnForm,
    ReviewForm,
    RevisionForm,
)
from pilot.plan.models import FollowUpPlan, PlanStatus

STATUS_LABELS = {
    PlanStatus.DRAFT: _l("Draft"),
    PlanStatus.SUBMITTED: _l("Submitted"),
    PlanStatus.RETURNED: _l("Returned"),
    PlanStatus.APPROVED: _l("Approved"),
}


@dataclass(frozen=True)
class PlanState:
    """Where a version stands, as the templates ask it (they never compare status strings)."""

    draft: bool = False
    submitted: bool = False
    returned: bool = False
    approved: bool = False


def plan_state(plan: FollowUpPlan | None) -> PlanState:
    """No version yet: every flag is false."""
    if plan is None:
        return PlanState()
    return PlanState(
        draft=plan.status == PlanStatus.DRAFT,
        submitted=plan.status == PlanStatus.SUBMITTED,
        returned=plan.status == PlanStatus.RETURNED,
        approved=plan.status == PlanStatus.APPROVED,
    )


def labels() -> dict:
    """Words and formatters the plan templates use (`L` in them)."""
    return {
        "state": plan_state,
        "status": STATUS_LABELS,
        "severity": SEVERITY_LABELS,
        "direction": DIRECTION_LABELS,
        "number": number,
    }


# Loading ----------------------------------------------------------------------------------------


def versions_of(case: Case) -> list[FollowUpPlan]:
    """Every version, newest first, with actions and revisions (three queries)."""
    return services.versions_of(db.session, case)


def in_force(versions: list[FollowUpPlan]) -> FollowUpPlan | None:
    return next((v for v in versions if v.status == PlanStatus.APPROVED), None)


def baseline_accepted(case: Case) -> bool:
    status = db.session.exec(
        select(Diagnosis.status).where(
            Diagnosis.case_id == case.id, Diagnosis.round == Round.BASELINE
        )
    ).first()
    return status == DiagnosisStatus.ACCEPTED


def _people(versions: list[FollowUpPlan]) -> dict[int, User]:
    """Who drafted and who approved each version, in one query."""
    ids = {v.created_by_id for v in versions} | {v.approved_by_id for v in versions}
    ids.discard(None)
    if not ids:
        return {}
    return {u.id: u for u in db.session.exec(select(User).where(User.id.in_(ids))).all()}


def details(case: Case, versions: list[FollowUpPlan], drafting: bool = False) -> dict:
    """What the plan pages show beside the versions: people, carried findings, targets.

    Findings and targets are loaded when a version refers to them, or for drafting, whose forms
    offer them all.
    """
    carried: list[Finding] = (
        services.carried_findings(db.session, case) if versions or drafting else []
    )
    has_revisions = any(v.revisions for v in versions)
    targets = targets_of(db.session, case) if has_revisions or drafting else []
    return {
        "L": labels(),
        "people": _people(versions),
        "carried": carried,
        "findings": {f.id: f for f in carried},
        "targets": {t.id: t for t in targets},
    }


def seen_token(plan: FollowUpPlan) -> str:
    """What staff looked at: the version and its submission. A plan returned and submitted
    again meanwhile has another token, so a decision is never taken on a page gone stale."""
    stamp = plan.submitted_at.isoformat() if plan.submitted_at else ""
    return f"{plan.version}@{stamp}"


# Forms bound to the case ------------------------------------------------------------------------


def action_form(carried: list[Finding], **kwargs) -> PlanActionForm:
    form = PlanActionForm(prefix="action", **kwargs)
    form.finding_id.choices = choices(
        [(0, _("— none: an action of its own —"))]
        + [
            (f.id, f"[{SEVERITY_LABELS.get(f.severity, f.severity)}] {short(f.description)}")
            for f in carried
        ]
    )
    return form


def revision_form(targets: list[WorkTarget], **kwargs) -> RevisionForm:
    form = RevisionForm(prefix="revision", **kwargs)
    form.target_id.choices = choices(
        [(0, "—")]
        + [
            (
                t.id,
                _(
                    "%(name)s: %(target)s %(unit)s by %(date)s",
                    name=t.name,
                    target=number(t.target),
                    unit=t.unit,
                    date=t.target_date.isoformat(),
                ),
            )
            for t in targets
        ]
    )
    return form


# The working page -------------------------------------------------------------------------------


def render_page(case: Case, status: int = 200, **forms):
    """The plan's working page: the newest version, editable for the lead while it is open."""
    versions = versions_of(case)
    latest = versions[0] if versions else None
    accepted = baseline_accepted(case)
    may_draft = can(current_user, "draft_plan", case)
    editable = may_draft and accepted and (latest is None or not latest.is_frozen)
    reviewable = (
        latest is not None
        and latest.status == PlanStatus.SUBMITTED
        and can(current_user, "approve_plan", case)
    )
    shown = details(case, versions, drafting=editable)
    if editable:
        forms.setdefault(
            "text_form",
            PlanTextForm(
                formdata=None,
                data={
                    "summary": latest.summary if latest else "",
                    "further_service": latest.further_service if latest else "",
                },
            ),
        )
        forms.setdefault("action_form", action_form(shown["carried"], formdata=None))
        forms.setdefault(
            "revision_form", revision_form(list(shown["targets"].values()), formdata=None)
        )
        forms["button_form"] = ButtonForm(formdata=None)
    if reviewable:
        token = seen_token(latest)
        forms.setdefault(
            "review_form", ReviewForm(formdata=None, prefix="review", data={"seen": token})
        )
        forms.setdefault(
            "return_form", ReturnForm(formdata=None, prefix="return", data={"seen": token})
        )
    if may_draft and latest is not None and latest.status == PlanStatus.APPROVED:
        forms["button_form"] = ButtonForm(formdata=None)
    answered = {a.finding_id for a in latest.actions if a.finding_id} if latest else set()
    return render_template(
        "plan/edit.html",
        case=case,
        versions=versions,
        latest=latest,
        in_force=in_force(versions),
        accepted=accepted,
        editable=editable,
        reviewable=reviewable,
        can_start_new=may_draft and latest is not None and latest.status == PlanStatus.APPROVED,
        answered=answered,
        seen=seen_token,
        **shown,
        **forms,
    ), status
