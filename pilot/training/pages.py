"""What the training pages show: the calendar, the session form, and one session with its
attendance sheet, materials and linked findings."""

from flask import render_template
from flask_login import current_user

from pilot.batches.models import Batch
from pilot.permissions import can, sees_every_session
from pilot.training.forms import sheet_form
from pilot.training.labels import area_labels
from pilot.training.models import TrainingSession
from pilot.training.queries import (
    SheetRow,
    calendar_rows,
    firms_meeting_requirement,
    linked_finding_rows,
    materials,
    sheet,
)
from pilot.training.times import ends_at, local, sheet_open, start_of_today

# Time and words ---------------------------------------------------------------------------------


# The calendar -----------------------------------------------------------------------------------


# One session and its attendance sheet -----------------------------------------------------------


def render_show(
    training: TrainingSession,
    batch: Batch,
    case_ids: set[int] | None,
    rows: list[SheetRow] | None = None,
    form=None,
    status: int = 200,
):
    """The session's page; rows and form given are shown as sent (with their errors)."""
    rows = rows if rows is not None else sheet(current_user, training, case_ids)
    return render_template(
        "training/show.html",
        training=training,
        firm_view=not sees_every_session(current_user),
        batch=batch,
        starts=local(training.starts_at),
        ends=local(ends_at(training)),
        past=training.starts_at < start_of_today(),
        areas=area_labels(training.areas),
        materials=materials(training),
        findings=linked_finding_rows(training, case_ids),
        rows=rows,
        form=form or sheet_form(rows),
        sheet_open=sheet_open(training),
        attended=sum(1 for r in rows if r.attendance and r.attendance.count > 0),
        invited=sum(1 for r in rows if r.invited),
    ), status


def render_calendar(batch: Batch, case_ids: set[int] | None, firm_view: bool):
    """The batch's sessions; staff also see how many firms meet the training requirement."""
    return render_template(
        "training/calendar.html",
        batch=batch,
        rows=calendar_rows(batch, case_ids, firm_view),
        firm_view=firm_view,
        met=firms_meeting_requirement(batch) if can(current_user, "manage_training") else None,
        area_labels=area_labels,
    )


def render_session_form(batch: Batch, training: TrainingSession | None, form, status: int = 200):
    return render_template(
        "training/form.html",
        batch=batch,
        training=training,
        form=form,
        materials=materials(training),
    ), status
