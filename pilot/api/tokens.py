"""The API tokens page (/profile/tokens): one's own API tokens, created and revoked."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from pilot.accounts.forms import ConfirmForm
from pilot.api import services
from pilot.api.forms import TokenForm
from pilot.api.models import ApiToken
from pilot.extensions import db

bp = Blueprint("tokens", __name__)


def _render(form: TokenForm | None = None, secret: str | None = None, status: int = 200):
    return render_template(
        "api/profile.html",
        tokens=services.live_tokens(db.session, current_user),
        form=form or TokenForm(formdata=None),
        revoke_form=ConfirmForm(),
        secret=secret,
    ), status


@bp.get("/profile/tokens")
@login_required
def profile():
    return _render()


@bp.post("/profile/tokens")
@login_required
def create():
    form = TokenForm()
    if not form.validate_on_submit():
        return _render(form, status=400)
    try:
        _token, secret = services.issue_token(db.session, current_user, form.name.data)
    except services.TokenError as error:
        db.session.rollback()
        form.name.errors.append(str(error))
        return _render(form, status=400)
    db.session.commit()
    # Shown on this answer only: the secret is not kept, and no redirect carries it.
    return _render(secret=secret)


@bp.post("/profile/tokens/<int:token_id>/revoke")
@login_required
def revoke(token_id: int):
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    if ConfirmForm().validate_on_submit():
        services.revoke_token(db.session, current_user, token)
        db.session.commit()
        flash(_("The token is revoked: calls with it are refused from now on."), "success")
    return redirect(url_for("tokens.profile"))
