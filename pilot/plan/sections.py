"""The follow-up plan's card on the case page."""

from flask_login import current_user

from pilot.cases.models import Case
from pilot.permissions import can
from pilot.plan.pages import details
from pilot.plan.queries import baseline_accepted, in_force, versions_of


def case_section(case: Case) -> dict | None:
    """What the case page shows of this feature: {"template": ..., **data}, or None.

    Every reader of the case sees the plan in force (the newest approved version): actions with
    owners and dates, revisions against the accepted targets, further service. Staff and the
    assigned experts also see where the newest version stands, with links; the firm sees no
    unapproved version at all, and no card until a version is approved.
    """
    versions = versions_of(case)
    approved = in_force(versions)
    sees_drafts = can(current_user, "view_drafts", case)
    if not sees_drafts and approved is None:
        return None
    latest = versions[0] if versions else None
    shown = [v for v in (latest, approved) if v is not None and (sees_drafts or v is approved)]
    return {
        "template": "plan/_section.html",
        "case": case,
        "in_force": approved,
        "latest": latest if sees_drafts else approved,
        "sees_drafts": sees_drafts,
        "can_draft": can(current_user, "draft_plan", case),
        "can_review": can(current_user, "approve_plan", case),
        "accepted": sees_drafts and latest is None and baseline_accepted(case),
        **details(case, shown),
    }
