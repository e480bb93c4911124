"""Batches: create, edit, list, and open cases for firms."""

from flask import Blueprint
from flask_login import login_required

from pilot.permissions import require

bp = Blueprint("batches", __name__, url_prefix="/batches")


@bp.get("/")
@login_required
@require("manage_cases")
def index():
    return "TODO"


@bp.get("/new")
@login_required
@require("manage_cases")
def new():
    return "TODO"
