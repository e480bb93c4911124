"""What the diagnosis page and its card read: the diagnosis, the frameworks it scores, its work
targets and its findings' evidence."""

from sqlmodel import select

from pilot.cases.models import Case
from pilot.diagnosis import services
from pilot.diagnosis.models import Diagnosis, Round, WorkTarget
from pilot.extensions import db
from pilot.files.models import StoredFile
from pilot.frameworks.models import BatchFramework, Framework

#: StoredFile.owner_type of a finding's evidence.
FINDING_OWNER = "finding"


def load_diagnosis(case: Case, round_: str) -> Diagnosis | None:
    return services.diagnosis_of(db.session, case, round_)


def frameworks_to_score(case: Case, round_: str, diagnosis: Diagnosis | None) -> list[Framework]:
    """The frameworks scored: the diagnosis's own, or those it will start on."""
    if diagnosis is not None:
        return services.frameworks_of(db.session, diagnosis)
    if round_ == Round.FINAL:
        baseline = load_diagnosis(case, Round.BASELINE)
        if baseline is None or not baseline.is_accepted:
            return []
        return services.frameworks_of(db.session, baseline)
    return db.session.exec(
        services.frameworks_query()
        .join(BatchFramework, BatchFramework.framework_id == Framework.id)
        .where(BatchFramework.batch_id == case.batch_id)
    ).all()


def work_targets(diagnosis: Diagnosis | None) -> list[WorkTarget]:
    if diagnosis is None:
        return []
    return db.session.exec(
        select(WorkTarget).where(WorkTarget.diagnosis_id == diagnosis.id).order_by(WorkTarget.id)
    ).all()


def evidence_by_finding(diagnosis: Diagnosis | None) -> dict[int, list[StoredFile]]:
    """Current evidence files per finding id."""
    if diagnosis is None or not diagnosis.findings:
        return {}
    files = db.session.exec(
        select(StoredFile)
        .where(
            StoredFile.owner_type == FINDING_OWNER,
            StoredFile.owner_id.in_([f.id for f in diagnosis.findings]),
            StoredFile.is_current,
        )
        .order_by(StoredFile.id)
    ).all()
    by_finding: dict[int, list[StoredFile]] = {}
    for stored in files:
        by_finding.setdefault(stored.owner_id, []).append(stored)
    return by_finding


def item_labels(frameworks: list[Framework]) -> dict[int, str]:
    return {item.id: f"{item.code} {item.name}" for f in frameworks for item in f.items}
