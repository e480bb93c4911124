"""Firms: list, add and edit."""

from flask import Blueprint
from flask_login import login_required

from pilot.permissions import require

bp = Blueprint("firms", __name__, url_prefix="/firms")


@bp.get("/")
@login_required
@require("manage_cases")
def index():
    return "TODO"


@bp.get("/<int:firm_id>/edit")
@login_required
@require("manage_cases")
def edit(firm_id: int):
    return "TODO"
