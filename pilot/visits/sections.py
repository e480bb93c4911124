"""Stage 2's on-site visits card on the case page."""

from decimal import Decimal

from pilot.cases.models import Case
from pilot.extensions import db
from pilot.visits.models import VisitStatus
from pilot.visits.queries import case_visits


def case_section(case: Case) -> dict | None:
    """What the case page shows of this feature: {"template": ..., **data}, or None."""
    visits = case_visits(db.session, case)
    return {
        "template": "visits/_section.html",
        "visits": visits,
        "confirmed_hours": sum(
            (v.hours for v in visits if v.status == VisitStatus.CONFIRMED), Decimal(0)
        ),
        "awaiting": sum(1 for v in visits if v.status == VisitStatus.LOGGED),
    }
