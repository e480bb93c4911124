"""Batches: create, edit, list, and open cases for firms."""

from datetime import timedelta
from decimal import Decimal

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlmodel import select

from pilot.batches import services
from pilot.batches.forms import BatchForm, EditBatchForm, OpenCasesForm
from pilot.batches.models import DEFAULT_DUE_WEEKS, Batch
from pilot.batches.weekly import Week, review_of, week_day
from pilot.cases.models import Case
from pilot.cases.services import CaseError, batch_due_dates, open_case
from pilot.database import EditConflict, today
from pilot.extensions import db
from pilot.firms.models import Firm
from pilot.forms import choices, keep_input
from pilot.frameworks.models import Framework
from pilot.frameworks.services import current_frameworks, framework_ids, set_batch_frameworks
from pilot.permissions import require
from pilot.stages import progress

bp = Blueprint("batches", __name__, url_prefix="/batches")

#: A half-year batch, as DESIGN.md describes it.
BATCH_WEEKS = 26


def _new_batch_defaults() -> dict:
    start = today()
    return {
        "year": start.year,
        "start_date": start,
        "end_date": start + timedelta(weeks=BATCH_WEEKS),
        **{f"{code}_due_weeks": weeks for code, weeks in DEFAULT_DUE_WEEKS.items()},
        "required_training_sessions": 2,
        "severe_due_days": 30,
        "general_due_days": 60,
        "evidence_required": True,
        "expert_hours_bought": Decimal(0),
        "framework_ids": [f.id for f in current_frameworks(db.session)],
    }


def _form_fields(form: BatchForm) -> dict:
    return {name: form[name].data for name in services.FIELDS}


def _batch_form(batch: Batch | None) -> BatchForm:
    """The batch form, offering the current frameworks and any the batch already uses; a
    batch's own carries its version."""
    chosen = framework_ids(db.session, batch.id) if batch else []
    form_class = BatchForm if batch is None else EditBatchForm
    if request.method == "GET":
        data = {"framework_ids": chosen} if batch else _new_batch_defaults()
        form = form_class(obj=batch, data=data)
    else:
        form = form_class()
    offered = {f.id: f for f in current_frameworks(db.session)}
    offered.update(
        {f.id: f for f in db.session.exec(select(Framework).where(Framework.id.in_(chosen))).all()}
    )
    form.framework_ids.choices = choices(
        (f.id, f"{f.name}（{f.edition}）" if f.edition else f.name) for f in offered.values()
    )
    return form


def _save_error(form: BatchForm, error: services.BatchError) -> None:
    db.session.rollback()
    form[error.field if error.field in form else "name"].errors.append(str(error))


def _commit(form: BatchForm) -> bool:
    """Commit; another request may have taken the same name since the check."""
    try:
        db.session.commit()
    except IntegrityError:
        _save_error(form, services.BatchError(_("Another batch has this name."), "name"))
        return False
    return True


@bp.get("/")
@login_required
@require("manage_cases")
def index():
    batches = db.session.exec(select(Batch).order_by(Batch.start_date.desc(), Batch.id)).all()
    counts = dict(
        db.session.exec(select(Case.batch_id, func.count(Case.id)).group_by(Case.batch_id)).all()
    )
    return render_template("batches/index.html", batches=batches, counts=counts)


@bp.route("/new", methods=["GET", "POST"])
@login_required
@require("manage_cases")
def new():
    form = _batch_form(None)
    if form.validate_on_submit():
        try:
            batch = services.create_batch(db.session, current_user, **_form_fields(form))
            set_batch_frameworks(db.session, batch.id, form.framework_ids.data)
        except services.BatchError as error:
            _save_error(form, error)
        else:
            if _commit(form):
                flash(_("Batch %(name)s created.", name=batch.name), "success")
                return redirect(url_for("batches.show", batch_id=batch.id))
    return render_template("batches/form.html", form=form, batch=None)


@bp.route("/<int:batch_id>/edit", methods=["GET", "POST"])
@login_required
@require("manage_cases")
def edit(batch_id: int):
    batch = db.get_or_abort(Batch, batch_id)
    form = _batch_form(batch)
    if form.validate_on_submit():
        try:
            services.update_batch(
                db.session, current_user, batch, version=form.version.data, **_form_fields(form)
            )
            set_batch_frameworks(db.session, batch.id, form.framework_ids.data)
        except EditConflict as conflict:
            db.session.rollback()
            keep_input(form.version, conflict)
            return render_template("batches/form.html", form=form, batch=batch), 409
        except services.BatchError as error:
            _save_error(form, error)
        else:
            if _commit(form):
                flash(_("Batch %(name)s saved.", name=batch.name), "success")
                return redirect(url_for("batches.show", batch_id=batch.id))
    return render_template("batches/form.html", form=form, batch=batch)


def _firms_outside(batch: Batch) -> list[Firm]:
    inside = select(Case.firm_id).where(Case.batch_id == batch.id)
    return db.session.exec(select(Firm).where(Firm.id.not_in(inside)).order_by(Firm.name)).all()


def _open_cases_form(batch: Batch) -> OpenCasesForm:
    form = OpenCasesForm()
    form.firm_ids.choices = choices((f.id, f.name) for f in _firms_outside(batch))
    return form


def _show(batch: Batch, form: OpenCasesForm):
    cases = db.session.exec(
        select(Case)
        .join(Firm, Case.firm_id == Firm.id)
        .where(Case.batch_id == batch.id)
        .options(selectinload(Case.firm))
        .order_by(Firm.name)
    ).all()
    frameworks = db.session.exec(
        select(Framework).where(Framework.id.in_(framework_ids(db.session, batch.id)))
    ).all()
    return render_template(
        "batches/show.html",
        batch=batch,
        frameworks=frameworks,
        due=batch_due_dates(batch),
        cases=cases,
        states=progress(db.session, cases, today()),
        form=form,
    )


@bp.get("/<int:batch_id>")
@login_required
@require("manage_cases")
def show(batch_id: int):
    batch = db.get_or_abort(Batch, batch_id)
    return _show(batch, _open_cases_form(batch))


@bp.get("/<int:batch_id>/week")
@login_required
@require("manage_cases")
def week(batch_id: int):
    """Staff's weekly review: the week holding `on` (default today), Monday to Sunday."""
    batch = db.get_or_abort(Batch, batch_id)
    chosen = Week.of(request.args.get("on", type=week_day) or today())
    review = review_of(db.session, batch, chosen, today())
    return render_template("batches/week.html", batch=batch, review=review)


@bp.post("/<int:batch_id>/cases")
@login_required
@require("manage_cases")
def open_cases(batch_id: int):
    batch = db.get_or_abort(Batch, batch_id)
    form = _open_cases_form(batch)
    if form.validate_on_submit():
        firms = db.session.exec(
            select(Firm).where(Firm.id.in_(form.firm_ids.data)).order_by(Firm.name)
        ).all()
        try:
            for firm in firms:
                open_case(db.session, current_user, batch, firm)
            db.session.commit()
        except CaseError as error:
            db.session.rollback()
            form.firm_ids.errors.append(str(error))
        except IntegrityError:  # another request opened one of these cases meanwhile
            db.session.rollback()
            form.firm_ids.errors.append(_("A chosen firm already has a case in this batch."))
        else:
            flash(
                ngettext(
                    "Opened %(num)d case in %(batch)s.",
                    "Opened %(num)d cases in %(batch)s.",
                    len(firms),
                    batch=batch.name,
                ),
                "success",
            )
            return redirect(url_for("batches.show", batch_id=batch.id))
    return _show(batch, form), 400
