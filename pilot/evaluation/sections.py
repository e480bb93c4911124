"""The evaluation card on the case page."""

from flask_login import current_user

from pilot.cases.models import Case
from pilot.evaluation.forms import CloseForm, ReopenForm
from pilot.evaluation.labels import labels
from pilot.evaluation.queries import load
from pilot.permissions import can


def case_section(case: Case) -> dict | None:
    """What the case page shows of this feature: {"template": ..., **data}, or None.

    Nothing until the baseline diagnosis is accepted (its work targets are what stage 6
    checks); then the targets with their achievement, the before/after totals, the overall
    rating (for staff and the firm), the verdict, the closing state and staff's close/reopen.
    """
    stage = load(current_user, case)
    if not stage.rows and not case.is_closed:
        return None
    return {
        "template": "evaluation/_section.html",
        "L": labels(),
        "stage": stage,
        "close_form": CloseForm(formdata=None),
        "reopen_form": ReopenForm(formdata=None, prefix="reopen"),
        "may_close": stage.progress.ready_to_close and can(current_user, "close_case", case),
        "may_reopen": case.is_closed and can(current_user, "reopen_case", case),
    }
