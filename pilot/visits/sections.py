"""Stage 2's on-site visits card on the case page."""

from decimal import Decimal

from flask_login import current_user

from pilot.cases.models import Case
from pilot.extensions import db
from pilot.permissions import can
from pilot.visits.models import VisitStatus
from pilot.visits.queries import case_visits
from pilot.visits.services import confirms_for_the_firm


def case_section(case: Case) -> dict | None:
    """What the case page shows of this feature: {"template": ..., **data}, or None."""
    visits = case_visits(db.session, case)
    # The firm's own users confirm a logged visit; staff may confirm it only for the firm, so
    # for them (and everyone else) the row's link is for reading it.
    confirms = can(current_user, "confirm_visit", case) and not confirms_for_the_firm(current_user)
    return {
        "template": "visits/_section.html",
        "visits": visits,
        "awaiting_me": {v.id for v in visits if confirms and v.status == VisitStatus.LOGGED},
        "confirmed_hours": sum(
            (v.hours for v in visits if v.status == VisitStatus.CONFIRMED), Decimal(0)
        ),
        "awaiting": sum(1 for v in visits if v.status == VisitStatus.LOGGED),
    }
