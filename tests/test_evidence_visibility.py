"""Evidence of drafts stays hidden from the firm: a finding's until its diagnosis is accepted,
an actual's until staff checked it. Staff and the assigned experts see them all along."""

from datetime import date
from decimal import Decimal
from io import BytesIO

from werkzeug.datastructures import FileStorage

from pilot.diagnosis import services as diagnosis
from pilot.evaluation import services as evaluation
from pilot.files.store import save_upload
from pilot.frameworks.services import load_shipped, set_batch_frameworks
from tests.conftest import login
from tests.factories import pdf_bytes


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


def test_finding_and_actual_evidence_wait_for_acceptance_and_check(client, session, world):
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
    target = diagnosis.add_target(
        session,
        world.expert_a,
        draft,
        diagnosis.TargetInput(
            name="一次交检合格率",
            unit="%",
            direction="higher",
            baseline=Decimal("95"),
            target=Decimal("97"),
            target_date=date(2026, 12, 1),
        ),
    )
    actual = evaluation.enter_actual(
        session, world.expert_a, target, actual=Decimal("96"), period="2026年"
    )
    finding_file = upload(session, world, "finding", finding.id)
    actual_file = upload(session, world, "actual", actual.id)

    for stored in (finding_file, actual_file):
        assert status(client, "firm_a", stored) == 404
        assert status(client, "staff", stored) == 200
        assert status(client, "expert_a", stored) == 200

    evaluation.check_actual(session, world.staff, actual)
    session.commit()
    assert status(client, "firm_a", actual_file) == 200
    assert status(client, "firm_a", finding_file) == 404  # the diagnosis is still a draft
