"""The notification list, following one (which marks it read) and marking all read. Each user
sees only their own: another user's notification answers 404, as if it did not exist."""

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from pilot.extensions import db
from pilot.notifications import messages, services
from pilot.notifications.models import Notification
from pilot.notifications.queries import page_of

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


def unread_count() -> int:
    """The bell's number for the signed-in user, counted once per request (0 signed out)."""
    if not current_user.is_authenticated:
        return 0
    if "pilot_unread" not in g:
        g.pilot_unread = services.unread_count(db.session, current_user.id)
    return g.pilot_unread


def _own_or_404(notification_id: int) -> Notification:
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.recipient_id != current_user.id:
        abort(404)
    return notification


def _page_number() -> int:
    return request.values.get("page", 1, type=int)


@bp.get("/")
@login_required
def index():
    page = page_of(db.session, current_user.id, _page_number())
    return render_template(
        "notifications/index.html",
        page=page,
        message=messages.message,
        link=messages.link,
    )


@bp.post("/<int:notification_id>/read")
@login_required
def read(notification_id: int):
    """Mark one read; with `go`, follow it to where it happened."""
    notification = _own_or_404(notification_id)
    services.mark_read(db.session, current_user, notification)
    db.session.commit()
    if request.form.get("go"):
        return redirect(messages.link(notification))
    return redirect(url_for("notifications.index", page=_page_number()))


@bp.post("/read-all")
@login_required
def read_all():
    count = services.mark_all_read(db.session, current_user)
    db.session.commit()
    if count:
        flash(
            ngettext(
                "%(num)d notification marked read.", "%(num)d notifications marked read.", count
            ),
            "success",
        )
    else:
        flash(_("Nothing unread."), "success")
    return redirect(url_for("notifications.index"))
