"""Serving and uploading stored files, always through the permission module."""

from flask import Blueprint, abort
from flask_login import login_required

bp = Blueprint("files", __name__, url_prefix="/files")


@bp.get("/<int:file_id>")
@login_required
def download(file_id: int):
    abort(404)


@bp.post("/cases/<int:case_id>")
@login_required
def upload_case_document(case_id: int):
    abort(404)
