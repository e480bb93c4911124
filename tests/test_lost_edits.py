"""No lost edit: a save made on a page gone stale (the record saved meanwhile in another tab) is
refused with 409 and the user's input kept; a create form sent twice makes one record; two staff
accepting one diagnosis at once give one success and one clear refusal."""

import threading
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from sqlmodel import Session, select

from pilot.accounts import services as accounts
from pilot.accounts.models import User
from pilot.batches import services as batches
from pilot.batches.models import Batch
from pilot.database import EditConflict
from pilot.diagnosis import services as diagnosis
from pilot.diagnosis.models import Diagnosis, DiagnosisStatus, Round, Severity
from pilot.extensions import db
from pilot.firms import services as firms
from pilot.firms.models import Firm
from pilot.frameworks.models import Scale
from pilot.plan import services as plan_services
from pilot.plan.models import FollowUpPlan
from pilot.rectification import services as rectification
from pilot.rectification.models import RectificationItem
from pilot.submissions.models import FormSubmission
from pilot.submissions.services import AlreadySubmitted
from pilot.survey.services import save_survey, survey_of, write_analysis
from pilot.training import services as training_services
from pilot.training.models import TrainingSession
from pilot.visits.models import Visit
from pilot.visits.services import confirm_visit, log_visit
from tests.conftest import TODAY, login
from tests.test_batches import form_values, use_english
from tests.test_plan import accepted_baseline
from tests.test_training import make_session

DAY = date.fromisoformat(TODAY)


# A stale save on each form ----------------------------------------------------------------------


@dataclass
class EditForm:
    """One form two people can edit: who opens it, where, which field the test changes, and how
    to read the saved value back."""

    user: str
    page: str
    field: str
    read: object
    action: str | None = None
    #: The name of the hidden version field.
    version: str = "version"
    #: What the pressed button adds to the post.
    button: dict = field(default_factory=dict)


def _survey_submitted(session, world) -> None:
    save_survey(
        session,
        world.firm_user_a,
        world.case_a,
        submit=True,
        baselines=[],
        wanted_help="品牌培育辅导",
    )
    session.commit()


def _form(session, world, name: str) -> EditForm:
    """The form `name` on the world, with what it needs set up first."""
    w = world
    if name == "firm":
        return EditForm(
            "staff", f"/firms/{w.firm_a.id}/edit", "name", lambda: _get(Firm, w.firm_a).name
        )
    if name == "batch":
        return EditForm(
            "staff",
            f"/batches/{w.batch.id}/edit",
            "contract_ref",
            lambda: _get(Batch, w.batch).contract_ref,
        )
    if name == "user":
        return EditForm(
            "admin",
            f"/users/{w.firm_user_b.id}",
            "display_name",
            lambda: _get(User, w.firm_user_b).display_name,
        )
    if name == "training":
        training = make_session(session, w)
        session.commit()
        return EditForm(
            "staff",
            f"/training/{training.id}/edit",
            "topic",
            lambda: _get(TrainingSession, training).topic,
        )
    if name == "survey":
        return EditForm(
            "firm_a",
            f"/cases/{w.case_a.id}/survey",
            "pain_points",
            lambda: survey_of(db.session, w.case_a).pain_points,
            button={"save_draft": "y"},
        )
    if name == "analysis":
        _survey_submitted(session, w)
        return EditForm(
            "staff",
            f"/cases/{w.case_a.id}/survey",
            "analysis",
            lambda: survey_of(db.session, w.case_a).analysis,
            action=f"/cases/{w.case_a.id}/analysis",
        )
    assert name == "plan"
    accepted_baseline(session, w.case_a, w.expert_a, w.staff, w.firm_user_a)
    return EditForm(
        "expert_a",
        f"/cases/{w.case_a.id}/plan",
        "summary",
        lambda: plan_services.versions_of(db.session, w.case_a)[0].summary,
        action=f"/cases/{w.case_a.id}/plan/save",
        version="edit_version",
    )


def _get(model, record):
    db.session.expire_all()
    return db.session.get(model, record.id)


FORMS = ["firm", "batch", "user", "training", "survey", "analysis", "plan"]


@pytest.mark.parametrize("name", FORMS)
def test_a_save_from_a_stale_page_gets_409_keeps_the_input_and_saves_next_time(
    client, session, world, name
):
    form = _form(session, world, name)
    login(client, form.user)
    use_english(client)
    action = form.action or form.page
    # The same page open in two tabs.
    page = client.get(form.page).get_data(as_text=True)
    first = form_values(page, action) | form.button
    second = dict(first)
    first.pop("materials", None), second.pop("materials", None)
    first[form.field], second[form.field] = "第一个标签页写的", "第二个标签页写的"

    assert client.post(action, data=first).status_code == 302
    response = client.post(action, data=second)

    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "while you were editing it" in page
    with session.no_autoflush:
        assert form.read() == "第一个标签页写的"
    # The form shows the user's input, on the version saved meanwhile …
    shown = form_values(page, action)
    assert shown[form.field].strip() == "第二个标签页写的"
    assert int(shown[form.version]) == int(first[form.version]) + 1
    # … so sending it again saves it.
    again = shown | form.button
    again.pop("materials", None)
    assert client.post(action, data=again).status_code == 302
    assert form.read() == "第二个标签页写的"


def test_a_version_out_of_range_is_refused_as_bad_input(client, session, world):
    login(client, "staff")
    page = client.get(f"/firms/{world.firm_a.id}/edit").get_data(as_text=True)
    data = form_values(page, f"/firms/{world.firm_a.id}/edit") | {"version": "9" * 20}
    data["name"] = "改名"
    assert client.post(f"/firms/{world.firm_a.id}/edit", data=data).status_code == 200
    assert _get(Firm, world.firm_a).name != "改名"


# The services refuse on their own (no HTTP) -----------------------------------------------------


def _stale_calls(session, world):
    """Each service that saves an edit form, called with the version before the record's."""
    w = world
    training = make_session(session, w)
    _survey_submitted(session, w)
    survey = survey_of(session, w.case_a)
    return {
        "firm": lambda v: firms.update_firm(session, w.staff, w.firm_a, version=v, name="新"),
        "batch": lambda v: batches.update_batch(
            session, w.staff, w.batch, version=v, contract_ref="新"
        ),
        "user": lambda v: accounts.update_user(
            session, w.admin, w.firm_user_b, version=v, display_name="新"
        ),
        "training": lambda v: training_services.save_session(
            session, w.staff, w.batch, training, case_ids=[], finding_ids=[], version=v, topic="新"
        ),
        "survey": lambda v: save_survey(
            session, w.staff, w.case_a, baselines=[], version=v, pain_points="新"
        ),
        "analysis": lambda v: write_analysis(session, w.staff, w.case_a, "新", version=v),
    }, {
        "firm": w.firm_a,
        "batch": w.batch,
        "user": w.firm_user_b,
        "training": training,
        "survey": survey,
        "analysis": survey,
    }


@pytest.mark.parametrize("name", ["firm", "batch", "user", "training", "survey", "analysis"])
def test_the_service_refuses_a_save_on_an_older_version(session, world, name):
    calls, records = _stale_calls(session, world)
    record = records[name]
    calls[name](record.version)  # saved on the current version: goes through
    session.commit()
    saved = record.version
    with pytest.raises(EditConflict) as refused:
        calls[name](saved - 1)
    session.rollback()
    assert refused.value.current.version == saved
    session.expire_all()
    assert session.get(type(record), record.id).version == saved


def test_the_plan_service_refuses_a_text_save_on_an_older_edit_version(session, world):
    accepted_baseline(session, world.case_a, world.expert_a, world.staff, world.firm_user_a)
    plan = plan_services.draft(session, world.expert_a, world.case_a)
    plan_services.save_text(
        session, world.expert_a, plan, summary="一", further_service="", version=0
    )
    session.commit()
    with pytest.raises(plan_services.PlanConflict):
        plan_services.save_text(
            session, world.expert_a, plan, summary="二", further_service="", version=0
        )
    session.rollback()
    assert session.get(FollowUpPlan, plan.id).summary == "一"


# One record per form page -----------------------------------------------------------------------


def _visit_data(token: str) -> dict:
    return {"visit_date": "2026-06-10", "hours": "2", "activities": "现场诊断", "token": token}


def test_a_visit_form_sent_twice_logs_one_visit(client, session, world):
    login(client, "expert_a")
    page = client.get(f"/cases/{world.case_a.id}/visits/new").get_data(as_text=True)
    data = form_values(page, f"/cases/{world.case_a.id}/visits/new") | _visit_data("")
    data["token"] = form_values(page, f"/cases/{world.case_a.id}/visits/new")["token"]
    data.pop("photos", None)
    assert len(data["token"]) >= 32

    first = client.post(f"/cases/{world.case_a.id}/visits/new", data=data)
    second = client.post(f"/cases/{world.case_a.id}/visits/new", data=data)

    [visit] = session.exec(select(Visit).where(Visit.case_id == world.case_a.id)).all()
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"] == f"/visits/{visit.id}"
    # A new page is a new form: it logs a second visit.
    page = client.get(f"/cases/{world.case_a.id}/visits/new").get_data(as_text=True)
    other = form_values(page, f"/cases/{world.case_a.id}/visits/new")["token"]
    assert other != data["token"]
    client.post(f"/cases/{world.case_a.id}/visits/new", data=_visit_data(other))
    session.expire_all()
    assert len(session.exec(select(Visit).where(Visit.case_id == world.case_a.id)).all()) == 2


def test_an_item_form_sent_twice_adds_one_item(client, session, world):
    login(client, "staff")
    path = f"/cases/{world.case_a.id}/items"
    token = form_values(client.get(path).get_data(as_text=True), path)["token"]
    data = {"description": "计量器具未按期检定", "severity": "severe", "token": token}

    first = client.post(path, data=data)
    second = client.post(path, data=data)

    [item] = rectification.items_of(session, world.case_a.id)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"] == f"{path}#item-{item.id}"


def test_a_send_refused_by_the_service_keeps_no_token(client, session, world):
    """A send the service refuses rolls its claim back: the corrected send makes the record."""
    login(client, "staff")
    path = f"/cases/{world.case_a.id}/items"
    data = {"description": " ", "severity": "severe", "token": "t" * 32}
    assert client.post(path, data=data).status_code == 400
    assert session.exec(select(FormSubmission)).all() == []
    assert client.post(path, data=data | {"description": "标识不清"}).status_code == 302
    assert len(rectification.items_of(session, world.case_a.id)) == 1


def _add_item(session, world, token: str) -> RectificationItem:
    case = session.get(type(world.case_a), world.case_a.id)
    return rectification.add_item(
        session,
        session.get(User, world.staff.id),
        case,
        description="标识不清",
        severity=Severity.GENERAL,
        due_date=None,
        today=DAY,
        token=token,
    )


def test_two_sends_at_once_make_one_item_and_the_second_is_told_the_first(app, session, world):
    """The second send writes while the first send's transaction is still open: on
    PostgreSQL it waits for that transaction, on SQLite for the write lock, then its claim finds
    the token taken and the item the first send made."""
    token = "same-page-token-0123456789abcdef"
    claiming = threading.Event()
    outcome = {}

    def second_send():
        with app.app_context(), force_locale("en"), Session(db.engine) as second:

            @sa.event.listens_for(second.connection(), "before_cursor_execute")
            def started(conn, cursor, statement, *args):
                # Its first write (the data version's stamp, then the claim) waits for the
                # first send's transaction.
                if statement.startswith(("INSERT", "UPDATE")):
                    claiming.set()

            try:
                _add_item(second, world, token)
                second.commit()
                outcome["made"] = True
            except AlreadySubmitted as sent:
                second.rollback()
                outcome["told"] = sent.record_id

    with Session(db.engine, expire_on_commit=False) as first:
        item_id = _add_item(first, world, token).id
        thread = threading.Thread(target=second_send)
        thread.start()
        try:
            assert claiming.wait(timeout=30)
            first.commit()
        finally:
            first.rollback()
            thread.join(timeout=30)
    assert not thread.is_alive()
    assert outcome == {"told": item_id}
    assert [i.id for i in rectification.items_of(session, world.case_a.id)] == [item_id]


# Two staff accepting one diagnosis --------------------------------------------------------------


def _submitted_baseline(session, world) -> Diagnosis:
    """case_a's baseline diagnosis, scored with one severe finding and a work target, submitted
    by the lead (stage 1 and a confirmed visit first)."""
    from pilot.frameworks.services import load_kpi_catalogue, load_shipped, set_batch_frameworks
    from pilot.kpis.models import Kpi

    case, lead = world.case_a, world.expert_a
    frameworks = load_shipped(session)
    load_kpi_catalogue(session)
    set_batch_frameworks(session, case.batch_id, [f.id for f in frameworks])
    save_survey(session, world.firm_user_a, case, submit=True, baselines=[], wanted_help="辅导")
    write_analysis(session, world.staff, case, "分析")
    visit = log_visit(
        session,
        lead,
        case,
        visit_date=date(2026, 5, 12),
        hours=Decimal(6),
        expert_ids=[],
        activities="现场诊断",
        today=DAY,
    )
    confirm_visit(session, world.firm_user_a, visit)
    d = diagnosis.start(session, lead, case, Round.BASELINE)
    for framework in diagnosis.frameworks_of(session, d):
        diagnosis.save_scores(
            session,
            lead,
            d,
            [
                diagnosis.ScoreInput(item.id, percent=50)
                if framework.scale == Scale.BAND
                else diagnosis.ScoreInput(item.id, level=3)
                for item in framework.items
            ],
        )
    first_item = diagnosis.frameworks_of(session, d)[0].items[0]
    diagnosis.add_finding(
        session, lead, d, item_id=first_item.id, description="记录不全", severity=Severity.SEVERE
    )
    kpi = session.exec(select(Kpi).where(Kpi.code == "first_pass_yield")).one()
    diagnosis.add_target(
        session,
        lead,
        d,
        diagnosis.TargetInput(
            kpi_id=kpi.id,
            baseline=Decimal("95.2"),
            target=Decimal("97.5"),
            target_date=date(2026, 12, 31),
        ),
    )
    diagnosis.submit(session, lead, d)
    session.commit()
    return d


def test_two_sessions_accepting_one_diagnosis_give_one_success_and_a_refusal(app, session, world):
    submitted = _submitted_baseline(session, world)
    with Session(db.engine) as one, Session(db.engine) as other:
        # Both staff opened the submitted diagnosis.
        mine = one.get(Diagnosis, submitted.id)
        theirs = other.get(Diagnosis, submitted.id)
        assert mine.status == theirs.status == DiagnosisStatus.SUBMITTED
        made = diagnosis.accept(one, one.get(User, world.staff.id), mine, {}, DAY)
        one.commit()
        with pytest.raises(diagnosis.DiagnosisError, match="accepted or returned"):
            diagnosis.accept(other, other.get(User, world.admin.id), theirs, {}, DAY)
        other.rollback()
    assert len(made) == 1
    assert len(rectification.items_of(session, world.case_a.id)) == 1
    session.expire_all()
    assert session.get(Diagnosis, submitted.id).accepted_by_id == world.staff.id


def test_an_accept_after_a_return_is_refused_with_a_message(client, session, world):
    submitted = _submitted_baseline(session, world)
    with Session(db.engine) as other:
        stale = other.get(Diagnosis, submitted.id)
        diagnosis.return_diagnosis(session, world.staff, submitted, "补充证据")
        session.commit()
        with pytest.raises(diagnosis.DiagnosisError):
            diagnosis.accept(other, other.get(User, world.admin.id), stale, {}, DAY)
    login(client, "admin")
    use_english(client)
    response = client.post(
        f"/cases/{world.case_a.id}/diagnosis/baseline/accept", follow_redirects=True
    )
    assert response.status_code == 200
    assert "Only a submitted diagnosis can be accepted." in response.get_data(as_text=True)
    assert rectification.items_of(session, world.case_a.id) == []
