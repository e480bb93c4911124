"""The service ratings: their averages, and which of them a user may see.

The firm sees the ratings given on its case; an expert sees, of ratings, only their own aggregate
over the cases they served (never one firm's); staff see everything.
"""

from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import select

from pilot.accounts.models import User
from pilot.cases.models import Case
from pilot.evaluation import services
from pilot.evaluation.models import ServiceRating
from pilot.extensions import db
from pilot.permissions import can

#: An expert's own ratings are shown once this many firms rated them, so that no average is
#: one firm's rating in disguise.
MIN_FIRMS_FOR_AGGREGATE = 2


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


def visible_ratings(user: User, case: Case) -> list[ServiceRating]:
    """The case's ratings this user sees ("view_case_ratings"), the service overall first."""
    if not can(user, "view_case_ratings", case):
        return []
    ratings = db.session.exec(
        select(ServiceRating).where(ServiceRating.case_id == case.id).order_by(ServiceRating.id)
    ).all()
    return sorted(ratings, key=lambda r: (r.expert_id is not None, r.id))


def rating_key(expert_id: int | None) -> str:
    """Who a rating is of, as in its URL and form prefix: "overall" or the expert's id."""
    return "overall" if expert_id is None else str(expert_id)
