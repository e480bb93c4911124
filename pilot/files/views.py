"""Serving and uploading stored files, always through the permission module."""

from flask import Blueprint, abort, current_app, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from pilot.extensions import db
from pilot.files.models import StoredFile
from pilot.files.store import FileRejected, open_stored, save_upload
from pilot.permissions import can_download_file, get_case_or_404

bp = Blueprint("files", __name__, url_prefix="/files")


@bp.get("/<int:file_id>")
@login_required
def download(file_id: int):
    stored = db.session.get(StoredFile, file_id)
    if stored is None or not can_download_file(db.session, current_user, stored):
        abort(404)
    try:
        path = open_stored(stored)
    except FileNotFoundError:
        current_app.logger.error(
            "Stored file %s is missing its bytes (%s)", stored.id, stored.storage_key
        )
        abort(404)
    response = send_file(
        path,
        mimetype=stored.content_type,
        as_attachment=True,
        download_name=stored.name,
        etag=stored.sha256,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Should a browser still render it, the file gets no scripts and no access to this site.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.cache_control.private = True
    return response


@bp.post("/cases/<int:case_id>")
@login_required
def upload_case_document(case_id: int):
    case = get_case_or_404(case_id, "upload_case_document")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a file to upload."), "error")
        return redirect(url_for("cases.show", case_id=case.id))
    try:
        stored = save_upload(
            db.session,
            current_user,
            upload,
            owner_type="case",
            owner_id=case.id,
            case_id=case.id,
        )
    except FileRejected as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        if stored.version > 1:
            message = _(
                "%(name)s was uploaded as version %(version)s.",
                name=stored.name,
                version=stored.version,
            )
        else:
            message = _("%(name)s was uploaded.", name=stored.name)
        flash(message, "success")
    return redirect(url_for("cases.show", case_id=case.id))
