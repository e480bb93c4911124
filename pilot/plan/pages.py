"""What the plan pages show: the versions with the findings and targets they refer to, their
words, and the working page."""

from dataclasses import dataclass

from flask import render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from pilot.cases.models import Case
from pilot.diagnosis.forms import DIRECTION_LABELS
from pilot.diagnosis.models import Finding
from pilot.diagnosis.services import SEVERITY_LABELS, targets_of
from pilot.extensions import db
from pilot.numbers import plain_text
from pilot.permissions import can
from pilot.plan import queries, services
from pilot.plan.forms import (
    ButtonForm,
    PlanTextForm,
    ReturnForm,
    ReviewForm,
    action_form,
    revision_form,
    seen_token,
)
from pilot.plan.models import FollowUpPlan, PlanStatus
from pilot.plan.queries import baseline_accepted, in_force, versions_of

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
        "number": plain_text,
    }


# Loading ----------------------------------------------------------------------------------------


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
        "people": queries.people(versions),
        "carried": carried,
        "findings": {f.id: f for f in carried},
        "targets": {t.id: t for t in targets},
    }


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
                    "edit_version": latest.edit_version if latest else 0,
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
