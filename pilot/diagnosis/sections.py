"""The diagnosis card on the case page."""

from flask_login import current_user
from sqlmodel import select

from pilot.cases.models import Case
from pilot.diagnosis import scoring, services
from pilot.diagnosis.charts import radar_svg
from pilot.diagnosis.labels import diagnosis_state, labels
from pilot.diagnosis.models import Round
from pilot.diagnosis.queries import (
    evidence_by_finding,
    item_labels,
    load_diagnosis,
    work_targets,
)
from pilot.extensions import db
from pilot.permissions import can, can_read_diagnosis
from pilot.rectification.models import RectificationItem


def case_section(case: Case) -> dict | None:
    """What the case page shows of this feature: {"template": ..., **data}, or None.

    Every reader of the case sees the accepted baseline: totals, radar charts, findings with
    their dispositions, work targets, the rectification items made from it. Staff and the
    assigned experts also see a draft's status and a link to it; the firm sees no draft at all.
    """
    diagnosis = load_diagnosis(case, Round.BASELINE)
    if not can_read_diagnosis(current_user, case, diagnosis):
        return None
    data = {
        "L": labels(),
        "template": "diagnosis/_section.html",
        "diagnosis": diagnosis,
        "state": diagnosis_state(diagnosis),
        "round": Round.BASELINE,
        "can_file": can(current_user, "file_diagnosis", case),
        "can_review": can(current_user, "accept_diagnosis", case),
    }
    if diagnosis is None or not diagnosis.is_accepted:
        return data
    frameworks = services.frameworks_of(db.session, diagnosis)
    framework_results = scoring.framework_results(frameworks, diagnosis)
    items = db.session.exec(
        select(RectificationItem)
        .where(RectificationItem.case_id == case.id)
        .order_by(RectificationItem.due_date, RectificationItem.id)
    ).all()
    return data | {
        "framework_results": framework_results,
        "charts": {r.framework_id: radar_svg(r) for r in framework_results if r.categories},
        "findings": diagnosis.findings,
        "evidence": evidence_by_finding(diagnosis),
        "item_labels": item_labels(frameworks),
        "targets": work_targets(diagnosis),
        "rectification_items": items,
    }
