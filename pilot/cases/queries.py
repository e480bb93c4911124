"""Cases as plain rows for the pages that list many of them (board, expert's home, results):
the columns those pages show, read in one query, without an ORM object per case, firm, batch
and expert."""

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session

from pilot.accounts.models import User
from pilot.audit.models import AuditLog
from pilot.batches.models import Batch
from pilot.cases.models import Case, CaseState, ExpertAssignment
from pilot.firms.models import Firm


@dataclass(slots=True)
class CaseRow(CaseState):
    """A case's own columns, its firm's and batch's names and its lead expert (with `Case`'s
    `due`, `is_withdrawn` and `is_closed`)."""

    id: int
    batch_id: int
    batch_name: str
    firm_id: int
    firm_name: str
    district: str
    industry_code: str
    survey_due: date
    diagnosis_due: date
    rectification_due: date
    training_due: date
    plan_due: date
    evaluation_due: date
    withdrawn_at: datetime | None
    closed_at: datetime | None
    lead_expert_id: int | None
    lead_expert_name: str | None


_COLUMNS = (
    Case.id,
    Case.batch_id,
    Batch.name,
    Case.firm_id,
    Firm.name,
    Firm.district,
    Firm.industry_code,
    Case.survey_due,
    Case.diagnosis_due,
    Case.rectification_due,
    Case.training_due,
    Case.plan_due,
    Case.evaluation_due,
    Case.withdrawn_at,
    Case.closed_at,
    User.id,
    User.display_name,
)


def case_rows_query(cases: sa.Select, *order) -> sa.Select:
    """A query of `Case` (e.g. `visible_cases_query(user)` with its filters) turned into one
    reading `CaseRow` columns, in the given order then by case id; filter it on `Firm` or
    `Batch` columns as well if need be."""
    return (
        cases.with_only_columns(*_COLUMNS)
        .join(Firm, Firm.id == Case.firm_id)
        .join(Batch, Batch.id == Case.batch_id)
        .outerjoin(
            ExpertAssignment,
            sa.and_(ExpertAssignment.case_id == Case.id, ExpertAssignment.is_lead),
        )
        .outerjoin(User, User.id == ExpertAssignment.expert_id)
        .order_by(None)
        .order_by(*order, Case.id, ExpertAssignment.id)
    )


def case_rows(session: Session, query: sa.Select) -> list[CaseRow]:
    """The rows of a `case_rows_query`, one per case (its first lead expert, as
    `Case.lead_expert`), in the query's order."""
    rows: dict[int, CaseRow] = {}
    for values in session.execute(query):
        if values[0] not in rows:
            rows[values[0]] = CaseRow(*values)
    return list(rows.values())


def last_activity(session: Session, case_ids: list[int]) -> dict[int, datetime]:
    """Case id -> its last activity: the time of its last audit-log entry (anything anyone
    recorded on it), else when the case was made; in one grouped query."""
    if not case_ids:
        return {}
    ids = sa.bindparam("case_ids", list(case_ids), expanding=True)
    rows = session.execute(
        sa.select(Case.id, Case.created_at, sa.func.max(AuditLog.at))
        .outerjoin(AuditLog, AuditLog.case_id == Case.id)
        .where(Case.id.in_(ids))
        .group_by(Case.id, Case.created_at)
    )
    return {case_id: last or created for case_id, created, last in rows}
