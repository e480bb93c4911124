"""Firms: list, add and edit."""

import base64

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlmodel import select

from pilot.batches.models import Batch
from pilot.cases.models import Case
from pilot.database import EditConflict, today
from pilot.excel import XLSX_MIMETYPE, download
from pilot.extensions import db
from pilot.firms import roster, roster_workbooks, services
from pilot.firms.forms import CONTACT_ROWS, EditFirmForm, FirmFilterForm, FirmForm, RosterForm
from pilot.firms.models import Firm
from pilot.forms import keep_input
from pilot.permissions import require
from pilot.reference import CERTIFICATIONS
from pilot.stages import progress

bp = Blueprint("firms", __name__, url_prefix="/firms")


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@bp.get("/")
@login_required
@require("manage_cases")
def index():
    form = FirmFilterForm(formdata=request.args)
    query = select(Firm).order_by(Firm.name)
    if form.validate():
        if form.q.data:
            pattern = _like(form.q.data)
            query = query.where(
                or_(
                    Firm.name.ilike(pattern, escape="\\"),
                    Firm.credit_code.ilike(pattern, escape="\\"),
                )
            )
        if form.district.data:
            query = query.where(Firm.district == form.district.data)
        if form.industry.data:
            query = query.where(Firm.industry_code == form.industry.data)
    firms = db.session.exec(query).all()
    return render_template("firms/index.html", firms=firms, form=form)


def _form_fields(form: FirmForm) -> dict:
    fields = {name: form[name].data for name in services.FIELDS if name != "contacts"}
    return fields | {"contacts": form.contact_rows()}


def _fill_contact_rows(form: FirmForm) -> None:
    """Leave at least one empty row to add a contact, and three rows in all."""
    while len(form.contacts) < CONTACT_ROWS or any(
        entry.form.data.get("name") for entry in form.contacts[-1:]
    ):
        form.contacts.append_entry()


def _save_error(form: FirmForm, error: services.FirmError) -> None:
    db.session.rollback()
    form[error.field if error.field in form else "name"].errors.append(str(error))


def _commit(form: FirmForm) -> bool:
    """Commit; another request may have saved the same credit code since the check."""
    try:
        db.session.commit()
    except IntegrityError:
        _save_error(
            form, services.FirmError(_("Another firm has this credit code."), "credit_code")
        )
        return False
    return True


@bp.route("/new", methods=["GET", "POST"])
@login_required
@require("manage_cases")
def new():
    form = FirmForm(data={"mujun_year": today().year - 1} if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            firm = services.create_firm(db.session, current_user, **_form_fields(form))
        except services.FirmError as error:
            _save_error(form, error)
        else:
            if _commit(form):
                flash(_("Firm %(name)s added.", name=firm.name), "success")
                return redirect(url_for("firms.show", firm_id=firm.id))
    return render_template("firms/form.html", form=form, firm=None)


@bp.route("/<int:firm_id>/edit", methods=["GET", "POST"])
@login_required
@require("manage_cases")
def edit(firm_id: int):
    firm = db.get_or_abort(Firm, firm_id)
    form = EditFirmForm(obj=firm if request.method == "GET" else None)
    if request.method == "GET":
        _fill_contact_rows(form)
    if form.validate_on_submit():
        try:
            services.update_firm(
                db.session, current_user, firm, version=form.version.data, **_form_fields(form)
            )
        except EditConflict as conflict:
            db.session.rollback()
            keep_input(form.version, conflict)
            return render_template("firms/form.html", form=form, firm=firm), 409
        except services.FirmError as error:
            _save_error(form, error)
        else:
            if _commit(form):
                flash(_("Firm %(name)s saved.", name=firm.name), "success")
                return redirect(url_for("firms.show", firm_id=firm.id))
    return render_template("firms/form.html", form=form, firm=firm)


@bp.get("/<int:firm_id>")
@login_required
@require("manage_cases")
def show(firm_id: int):
    firm = db.get_or_abort(Firm, firm_id)
    cases = db.session.exec(
        select(Case)
        .join(Batch, Case.batch_id == Batch.id)
        .where(Case.firm_id == firm.id)
        .options(selectinload(Case.batch))
        .order_by(Batch.start_date.desc())
    ).all()
    return render_template(
        "firms/show.html",
        firm=firm,
        cases=cases,
        states=progress(db.session, cases, today()),
        certifications=CERTIFICATIONS,
    )


# The roster import ----------------------------------------------------------------------------


@bp.get("/import/template.xlsx")
@login_required
@require("import_firms")
def roster_template():
    return download(roster_workbooks.template(), _("roster-template.xlsx"))


def _import_page(batch: Batch, form: RosterForm, status: int = 200, **shown):
    return render_template("firms/import.html", batch=batch, form=form, **shown), status


@bp.route("/import/<int:batch_id>", methods=["GET", "POST"])
@login_required
@require("import_firms")
def import_roster(batch_id: int):
    """Import a roster into the batch, all or nothing: the errors per row and column and a
    copy of the workbook with the bad cells marked, or what was added and changed."""
    batch = db.get_or_abort(Batch, batch_id)
    form = RosterForm()
    if request.method == "GET":
        return _import_page(batch, form)
    if not form.validate_on_submit():
        return _import_page(batch, form, 400)
    upload = form.file.data
    cap = current_app.config["MAX_UPLOAD_BYTES"]
    data = upload.read(cap + 1)
    if len(data) > cap:
        form.file.errors.append(_("The file is too large."))
        return _import_page(batch, form, 400)
    try:
        result = roster.import_roster(
            db.session, current_user, batch, data, update=form.update.data
        )
    except roster.RosterError as error:
        db.session.rollback()
        form.file.errors.append(str(error))
        return _import_page(batch, form, 400)
    if result.errors:
        db.session.rollback()
        marked = base64.b64encode(roster_workbooks.marked_copy(data, result.errors)).decode("ascii")
        stem = (upload.filename or "roster").rsplit(".", 1)[0]
        return _import_page(
            batch,
            form,
            400,
            result=result,
            marked_href=f"data:{XLSX_MIMETYPE};base64,{marked}",
            marked_name=_("%(name)s-errors.xlsx", name=stem),
        )
    try:
        db.session.commit()
    except IntegrityError:  # another request added one of these firms or cases meanwhile
        db.session.rollback()
        form.file.errors.append(_("A firm of the file was added meanwhile: import again."))
        return _import_page(batch, form, 409)
    return _import_page(batch, RosterForm(formdata=None), result=result)
