"""The administrator's assessment frameworks: list, read, and load a new one from YAML."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf.file import FileField, FileRequired
from sqlalchemy.orm import selectinload
from sqlmodel import select

from pilot.extensions import db
from pilot.forms import AppForm
from pilot.frameworks import services
from pilot.frameworks.models import Framework, FrameworkCategory
from pilot.permissions import require

bp = Blueprint("frameworks", __name__, url_prefix="/frameworks")

#: A framework file is a few kilobytes; anything much larger is a mistake.
MAX_YAML_BYTES = 256 * 1024


class UploadForm(AppForm):
    file = FileField(_l("Framework file (YAML)"), validators=[FileRequired()])


@bp.get("/")
@login_required
@require("manage_frameworks")
def index():
    frameworks = db.session.exec(
        select(Framework).order_by(Framework.code, Framework.version.desc())
    ).all()
    in_use = {f.id for f in frameworks if services.is_in_use(db.session, f)}
    return render_template(
        "frameworks/index.html", frameworks=frameworks, in_use=in_use, form=UploadForm()
    )


@bp.get("/<int:framework_id>")
@login_required
@require("manage_frameworks")
def show(framework_id: int):
    framework = db.session.exec(
        select(Framework)
        .where(Framework.id == framework_id)
        .options(selectinload(Framework.categories).selectinload(FrameworkCategory.items))
    ).first()
    if framework is None:
        return render_template("errors/error.html", code=404, message=_("No such framework.")), 404
    return render_template("frameworks/show.html", framework=framework)


@bp.post("/")
@login_required
@require("manage_frameworks")
def upload():
    form = UploadForm()
    if not form.validate_on_submit():
        flash(_("Choose a framework file."), "error")
        return redirect(url_for("frameworks.index"))
    raw = form.file.data.read(MAX_YAML_BYTES + 1)
    try:
        if len(raw) > MAX_YAML_BYTES:
            raise services.FrameworkError(_("The file is too large for a framework."))
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise services.FrameworkError(_("The file must be UTF-8 text.")) from None
        framework, written = services.load(db.session, current_user, text)
    except services.FrameworkError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("frameworks.index"))
    db.session.commit()
    if written:
        flash(
            _(
                "Loaded %(name)s, version %(version)s.",
                name=framework.name,
                version=framework.version,
            ),
            "success",
        )
    else:
        flash(_("This version is loaded already; nothing changed."), "success")
    return redirect(url_for("frameworks.show", framework_id=framework.id))
