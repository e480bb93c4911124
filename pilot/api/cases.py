"""Batches, firms, cases and their stages, through the permission module and the stage rules."""

from flask import abort, request
from flask_login import current_user
from sqlmodel import select

from pilot.api.blueprint import bp, paginate
from pilot.api.schemas import (
    BatchList,
    BatchOut,
    CaseOut,
    CasePage,
    CaseQuery,
    FirmOut,
    FirmPage,
    Me,
    PageQuery,
    StageList,
    StageOut,
)
from pilot.api.spec import responses, spec
from pilot.batches.models import Batch
from pilot.cases.models import Case
from pilot.cases.queries import CaseRow, case_rows, case_rows_query
from pilot.database import today
from pilot.extensions import db
from pilot.firms.models import Firm
from pilot.kept import kept_page
from pilot.permissions import get_case_or_404, require, visible_cases_query
from pilot.stages import Progress, progress, progress_of


@bp.get("/me")
@spec.validate(resp=responses(200, Me), tags=["me"], operation_id="me")
def me():
    """The token's user."""
    return Me.model_validate(current_user)


# Batches ----------------------------------------------------------------------------------------


def _visible_batch_ids() -> set[int] | None:
    """The batches the user has a case in; None for staff (every batch)."""
    if current_user.is_staff:
        return None
    return {case.batch_id for case in db.session.exec(visible_cases_query(current_user)).all()}


@bp.get("/batches")
@spec.validate(resp=responses(200, BatchList), tags=["batches"], operation_id="list_batches")
def list_batches():
    """Staff: every batch; experts and firm users: the batches of their cases."""
    query = select(Batch).order_by(Batch.start_date.desc(), Batch.id)
    ids = _visible_batch_ids()
    if ids is not None:
        query = query.where(Batch.id.in_(ids))
    return BatchList(items=[BatchOut.model_validate(b) for b in db.session.exec(query).all()])


@bp.get("/batches/<int:batch_id>")
@spec.validate(resp=responses(200, BatchOut), tags=["batches"], operation_id="get_batch")
def get_batch(batch_id: int):
    """One batch (staff: any; others: a batch they have a case in)."""
    batch = db.session.get(Batch, batch_id)
    ids = _visible_batch_ids()
    if batch is None or (ids is not None and batch.id not in ids):
        abort(404)
    return BatchOut.model_validate(batch)


# Firms (staff) ----------------------------------------------------------------------------------


@bp.get("/firms")
@require("manage_cases")
@spec.validate(
    query=PageQuery, resp=responses(200, FirmPage, 403), tags=["firms"], operation_id="list_firms"
)
def list_firms():
    """Every firm, by name (staff)."""
    query: PageQuery = request.context.query
    firms = db.session.exec(select(Firm).order_by(Firm.name, Firm.id)).all()
    shown, total = paginate(firms, query.page, query.per_page)
    return FirmPage(
        items=[FirmOut.model_validate(f) for f in shown],
        page=query.page,
        per_page=query.per_page,
        total=total,
    )


@bp.get("/firms/<int:firm_id>")
@require("manage_cases")
@spec.validate(resp=responses(200, FirmOut, 403), tags=["firms"], operation_id="get_firm")
def get_firm(firm_id: int):
    """One firm (staff)."""
    firm = db.session.get(Firm, firm_id)
    if firm is None:
        abort(404)
    return FirmOut.model_validate(firm)


# Cases ------------------------------------------------------------------------------------------


def _stages(state: Progress) -> list[StageOut]:
    return [
        StageOut(
            code=s.code, number=s.stage.number, label=str(s.stage.label), status=s.status, due=s.due
        )
        for s in state.stages
    ]


def _case_out(row: CaseRow, state: Progress) -> CaseOut:
    return CaseOut(
        id=row.id,
        batch={"id": row.batch_id, "name": row.batch_name},
        firm={
            "id": row.firm_id,
            "name": row.firm_name,
            "district": row.district,
            "industry_code": row.industry_code,
        },
        current_stage=state.current,
        is_overdue=state.is_overdue,
        lead_expert=(
            {"id": row.lead_expert_id, "display_name": row.lead_expert_name}
            if row.lead_expert_id is not None
            else None
        ),
        closed_at=row.closed_at,
        withdrawn_at=row.withdrawn_at,
        stages=_stages(state),
    )


def _rows(query) -> list[CaseRow]:
    return case_rows(db.session, case_rows_query(query, Batch.start_date.desc(), Firm.name))


#: How many case lists (per user, filter and page) each worker keeps.
KEPT_LISTS = 64


@bp.get("/cases")
@kept_page("api_cases", KEPT_LISTS)
@spec.validate(
    query=CaseQuery, resp=responses(200, CasePage), tags=["cases"], operation_id="list_cases"
)
def list_cases():
    """The cases the user may see (staff: all; an expert: assigned; a firm user: its own), newest
    batch first, then by firm; filtered by batch, current stage and overdue."""
    query: CaseQuery = request.context.query
    cases = visible_cases_query(current_user)
    if query.batch is not None:
        cases = cases.where(Case.batch_id == query.batch)
    rows = _rows(cases)
    states = progress(db.session, rows, today())
    rows = [
        row
        for row in rows
        if (query.stage is None or states[row.id].current == query.stage)
        and (query.overdue is None or states[row.id].is_overdue == query.overdue)
    ]
    shown, total = paginate(rows, query.page, query.per_page)
    return CasePage(
        items=[_case_out(row, states[row.id]) for row in shown],
        page=query.page,
        per_page=query.per_page,
        total=total,
    )


@bp.get("/cases/<int:case_id>")
@spec.validate(resp=responses(200, CaseOut), tags=["cases"], operation_id="get_case")
def get_case(case_id: int):
    """One case with its stages."""
    case = get_case_or_404(case_id)
    row = _rows(select(Case).where(Case.id == case.id))[0]
    return _case_out(row, progress_of(db.session, case, today()))


@bp.get("/cases/<int:case_id>/stages")
@spec.validate(resp=responses(200, StageList), tags=["cases"], operation_id="list_stages")
def list_stages(case_id: int):
    """Each stage's status (derived from the records, as on the case page) and due date."""
    case = get_case_or_404(case_id)
    state = progress_of(db.session, case, today())
    return StageList(case_id=case.id, current_stage=state.current, stages=_stages(state))
