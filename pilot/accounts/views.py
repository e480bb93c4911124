"""Signing in and out; each user's own profile; the administrator's user management."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlmodel import select

from pilot.accounts import services
from pilot.accounts.forms import (
    ROLE_LABELS,
    ConfirmForm,
    LoginForm,
    NewUserForm,
    PasswordForm,
    ProfileForm,
    UserForm,
)
from pilot.accounts.models import User
from pilot.database import EditConflict
from pilot.extensions import db, limiter, login_manager
from pilot.firms.models import Firm
from pilot.forms import choices, keep_input
from pilot.permissions import require
from pilot.security import safe_next

bp = Blueprint("accounts", __name__)

login_manager.login_view = "accounts.login"
login_manager.login_message = None


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    return services.user_of_session(db.session, session_id)


def failed_sign_in(response) -> bool:
    """Only failed attempts count against the limits (a success redirects)."""
    return response.status_code != 302


def account_key() -> str:
    return "sign-in:" + request.form.get("username", "").strip().lower()


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["SIGN_IN_LIMIT_PER_ACCOUNT"],
    key_func=account_key,
    methods=["POST"],
    deduct_when=failed_sign_in,
    scope="sign-in-account",
    error_message=lambda: _("Too many failed sign-ins. Wait a quarter of an hour, then try again."),
)
@limiter.limit(
    lambda: current_app.config["SIGN_IN_LIMIT_PER_ADDRESS"],
    methods=["POST"],
    deduct_when=failed_sign_in,
    scope="sign-in-address",
    error_message=lambda: _("Too many failed sign-ins. Wait a quarter of an hour, then try again."),
)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("board.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(db.session, form.username.data, form.password.data)
        if user is not None:
            db.session.commit()  # a first session token, for a user who had none
            login_user(user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next")))
        # One message whatever failed, so it tells nobody which usernames exist.
        form.password.errors.append(_("Wrong username or password."))
    return render_template("accounts/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    """Ends every session of the user, on every device, with their remember cookies."""
    services.end_sessions(current_user)
    db.session.commit()
    logout_user()
    return redirect(url_for("accounts.login"))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    """The signed-in user's own choices (their record only: no other user's is reachable)."""
    user = current_user._get_current_object()
    form = ProfileForm(obj=user if request.method == "GET" else None)
    if request.method == "GET" and not user.locale:
        form.locale.data = current_app.config["BABEL_DEFAULT_LOCALE"]
    if form.validate_on_submit():
        try:
            services.update_preferences(
                db.session,
                user,
                version=form.version.data,
                digest=form.digest.data,
                locale=form.locale.data,
            )
        except EditConflict as conflict:
            db.session.rollback()
            keep_input(form.version, conflict)
            return render_template("accounts/profile.html", form=form, user=user), 409
        except services.UserError as error:
            db.session.rollback()
            getattr(form, error.field or "digest").errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Your profile is saved."), "success")
            return redirect(url_for("accounts.profile"))
    return render_template("accounts/profile.html", form=form, user=user)


def _firm_choices():
    firms = db.session.exec(select(Firm).order_by(Firm.name)).all()
    return choices([(0, "—")] + [(f.id, f.name) for f in firms])


def _form_fields(form: UserForm) -> dict:
    return {name: getattr(form, name).data for name in services.PROFILE_FIELDS} | {
        "firm_id": form.firm_id.data or None
    }


@bp.get("/users")
@login_required
@require("manage_users")
def users():
    rows = db.session.exec(select(User).order_by(User.role, User.username)).all()
    firms = {f.id: f for f in db.session.exec(select(Firm)).all()}
    return render_template(
        "accounts/users.html", users=rows, firms=firms, roles=ROLE_LABELS, form=ConfirmForm()
    )


@bp.route("/users/new", methods=["GET", "POST"])
@login_required
@require("manage_users")
def new_user():
    form = NewUserForm()
    form.firm_id.choices = _firm_choices()
    if form.validate_on_submit():
        try:
            user = services.create_user(
                db.session, current_user, form.password.data, **_form_fields(form)
            )
        except services.UserError as error:
            db.session.rollback()
            getattr(form, error.field or "username").errors.append(str(error))
        else:
            db.session.commit()
            flash(_("User %(name)s created.", name=user.username), "success")
            return redirect(url_for("accounts.users"))
    return render_template("accounts/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@login_required
@require("manage_users")
def edit_user(user_id: int):
    user = db.get_or_abort(User, user_id)
    form = UserForm(obj=user if request.method == "GET" else None)
    form.firm_id.choices = _firm_choices()
    if request.method == "GET":
        form.firm_id.data = user.firm_id or 0
    if form.validate_on_submit():
        try:
            services.update_user(
                db.session, current_user, user, version=form.version.data, **_form_fields(form)
            )
        except EditConflict as conflict:
            db.session.rollback()
            keep_input(form.version, conflict)
            return render_template(
                "accounts/user_form.html",
                form=form,
                user=user,
                password_form=PasswordForm(prefix="pw"),
            ), 409
        except services.UserError as error:
            db.session.rollback()
            getattr(form, error.field or "username").errors.append(str(error))
        else:
            db.session.commit()
            flash(_("User %(name)s saved.", name=user.username), "success")
            return redirect(url_for("accounts.users"))
    return render_template(
        "accounts/user_form.html", form=form, user=user, password_form=PasswordForm(prefix="pw")
    )


@bp.post("/users/<int:user_id>/password")
@login_required
@require("manage_users")
def reset_password(user_id: int):
    user = db.get_or_abort(User, user_id)
    form = PasswordForm(prefix="pw")
    if form.validate_on_submit():
        try:
            services.reset_password(db.session, current_user, user, form.password.data)
        except services.UserError as error:
            db.session.rollback()
            form.password.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("The password of %(name)s was reset.", name=user.username), "success")
            return redirect(url_for("accounts.users"))
    edit_form = UserForm(obj=user)
    edit_form.firm_id.choices = _firm_choices()
    return render_template(
        "accounts/user_form.html", form=edit_form, user=user, password_form=form
    ), 400


@bp.post("/users/<int:user_id>/active")
@login_required
@require("manage_users")
def toggle_active(user_id: int):
    user = db.get_or_abort(User, user_id)
    if ConfirmForm().validate_on_submit():
        try:
            services.set_active(db.session, current_user, user, not user.active)
        except services.UserError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(
                _("%(name)s can sign in again.", name=user.username)
                if user.active
                else _("%(name)s can no longer sign in.", name=user.username),
                "success",
            )
    return redirect(url_for("accounts.users"))
