"""Evidence of drafts stays hidden from the firm: a finding's until its diagnosis is accepted,
an actual's until staff checked it. Staff and the assigned experts see them all along."""

from decimal import Decimal
from io import BytesIO

from sqlmodel import select
from werkzeug.datastructures import FileStorage

from pilot.diagnosis import services as diagnosis
from pilot.diagnosis.models import Finding, Round
from pilot.evaluation import services as evaluation
from pilot.files.store import save_upload
from pilot.frameworks.services import load_shipped, set_batch_frameworks
from tests.conftest import login
from tests.factories import pdf_bytes
from tests.test_evaluation import to_stage6


def upload(session, world, owner_type: str, owner_id: int):
    stored = save_upload(
        session,
        world.expert_a,
        FileStorage(BytesIO(pdf_bytes()), filename="证据.pdf", content_type="application/pdf"),
        owner_type=owner_type,
        owner_id=owner_id,
        case_id=world.case_a.id,
    )
    session.commit()
    return stored


def status(client, username: str, stored) -> int:
    login(client, username)
    response = client.get(f"/files/{stored.id}")
    response.close()
    client.post("/logout")
    return response.status_code


def test_finding_evidence_waits_for_the_diagnosis_to_be_accepted(client, session, world):
    frameworks = load_shipped(session)
    set_batch_frameworks(session, world.batch.id, [f.id for f in frameworks])
    draft = diagnosis.start(session, world.expert_a, world.case_a)
    finding = diagnosis.add_finding(
        session,
        world.expert_a,
        draft,
        item_id=frameworks[0].items[0].id,
        description="草稿问题",
        severity="general",
    )
    finding_file = upload(session, world, "finding", finding.id)
    assert status(client, "firm_a", finding_file) == 404
    assert status(client, "staff", finding_file) == 200
    assert status(client, "expert_a", finding_file) == 200
    assert status(client, "firm_b", finding_file) == 404


def test_actual_evidence_waits_for_staff_to_check_it(client, session, world, frameworks):
    """Stage 6 open on case_a (its baseline accepted), an actual entered with evidence."""
    to_stage6(session, world, world.case_a, world.firm_user_a, world.expert_a)
    target = diagnosis.targets_of(session, world.case_a)[0]
    actual = evaluation.enter_actual(
        session, world.expert_a, target, actual=Decimal("96"), period="2026年"
    )
    actual_file = upload(session, world, "actual", actual.id)
    assert status(client, "firm_a", actual_file) == 404
    assert status(client, "staff", actual_file) == 200
    assert status(client, "expert_a", actual_file) == 200

    evaluation.check_actual(session, world.staff, actual)
    session.commit()
    assert status(client, "firm_a", actual_file) == 200
    assert status(client, "firm_b", actual_file) == 404


def test_finding_evidence_shows_once_the_diagnosis_is_accepted(client, session, world, frameworks):
    to_stage6(session, world, world.case_a, world.firm_user_a, world.expert_a)
    accepted = diagnosis.diagnosis_of(session, world.case_a, Round.BASELINE)
    finding = session.exec(select(Finding).where(Finding.diagnosis_id == accepted.id)).first()
    finding_file = upload(session, world, "finding", finding.id)
    assert status(client, "firm_a", finding_file) == 200
    assert status(client, "firm_b", finding_file) == 404
