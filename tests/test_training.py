"""Stage 4: training sessions entered in Beijing time, invitations and the attendance sheet, the
batch calendar, materials, experts' one-to-one coaching, the case page's training card, and who
may see or do what."""

import io
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html import unescape
from pathlib import Path

import pytest
from sqlmodel import func, select

from pilot.audit.models import AuditLog
from pilot.cases.services import mark_stage, withdraw_case
from pilot.diagnosis import services as diagnosis
from pilot.diagnosis.models import Finding, Round
from pilot.files.models import StoredFile
from pilot.frameworks.models import Scale
from pilot.kpis.models import Kpi
from pilot.permissions import firm_sessions, sees_every_session
from pilot.stages import Status, progress_of
from pilot.survey.services import save_survey, write_analysis
from pilot.training import services
from pilot.training.models import Attendance, CoachingRecord, SessionInvite, TrainingSession
from pilot.visits.services import confirm_visit, log_visit
from tests import factories
from tests.conftest import TODAY, login

TODAY_DATE = date.fromisoformat(TODAY)


@pytest.fixture(autouse=True)
def english(client):
    """Messages are checked in English (the msgids); the default language is Chinese."""
    client.post("/language", data={"lang": "en"})


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def checked(page: str, name: str) -> set[str]:
    """The values of the ticked checkboxes of that name."""
    inputs = re.findall(rf'<input[^>]*name="{name}"[^>]*>', page)
    return {re.search(r'value="([^"]*)"', i).group(1) for i in inputs if " checked" in i}


def session_form(world, **overrides) -> dict:
    data = {
        "topic": "卓越绩效模式导入",
        "day": "2026-06-10",
        "start_time": "09:30",
        "hours": "3",
        "place": "市局三楼会议室",
        "online_link": "",
        "trainer": "张教授",
        "areas": ["process", "brand"],
        "description": "面向质量负责人",
        "case_ids": [str(world.case_a.id), str(world.case_b.id)],
    }
    data.update(overrides)
    return data


def make_session(session, world, day: date = date(2026, 6, 10), case_ids=None, **fields):
    """A session at 09:30 Beijing time on the day, through the service."""
    finding_ids = fields.pop("finding_ids", [])
    values = {
        "topic": f"培训 {day.isoformat()}",
        "starts_at": datetime(day.year, day.month, day.day, 1, 30, tzinfo=UTC),
        "hours": Decimal(3),
        "place": "市局三楼会议室",
        "trainer": "张教授",
        "areas": ["process"],
    }
    values.update(fields)
    training = services.save_session(
        session,
        world.staff,
        world.batch,
        None,
        case_ids=[world.case_a.id, world.case_b.id] if case_ids is None else case_ids,
        finding_ids=finding_ids,
        **values,
    )
    session.commit()
    return training


def attend(session, world, training, case, count: int = 2):
    services.record_attendance(
        session, world.staff, training, case, names="王经理、李工", count=count, today=TODAY_DATE
    )
    session.commit()


def attendance_rows(session) -> list[Attendance]:
    session.expire_all()
    return session.exec(select(Attendance).order_by(Attendance.case_id)).all()


# Creating a session -----------------------------------------------------------------------------


def test_staff_creates_a_session_in_beijing_time_and_invites_firms(client, world, session):
    login(client, "staff")
    response = client.post(
        f"/batches/{world.batch.id}/training/new",
        data=session_form(world, case_ids=[str(world.case_a.id)]),
    )
    assert response.status_code == 302, text(response)[:3000]
    training = session.exec(select(TrainingSession)).one()
    # 09:30 in Asia/Shanghai is 01:30 UTC.
    assert training.starts_at == datetime(2026, 6, 10, 1, 30, tzinfo=UTC)
    assert training.areas == ["process", "brand"]
    invited = session.exec(select(SessionInvite.case_id)).all()
    assert invited == [world.case_a.id]
    assert response.headers["Location"] == f"/training/{training.id}"

    page = text(client.get(f"/training/{training.id}"))
    assert "2026-06-10" in page and "09:30–12:30" in page
    assert "Process management" in page and "Brand" in page
    edit = text(client.get(f"/training/{training.id}/edit"))
    assert 'value="09:30"' in edit and 'value="2026-06-10"' in edit
    assert checked(edit, "case_ids") == {str(world.case_a.id)}


def test_a_new_session_invites_every_firm_still_in_the_pilot(client, world, session):
    withdraw_case(session, world.staff, world.case_b, "搬迁")
    session.commit()
    login(client, "staff")
    page = text(client.get(f"/batches/{world.batch.id}/training/new"))
    assert checked(page, "case_ids") == {str(world.case_a.id)}
    assert "(withdrawn)" in page


def test_editing_a_session_changes_its_time_and_invitations(client, world, session):
    training = make_session(session, world)
    login(client, "staff")
    response = client.post(
        f"/training/{training.id}/edit",
        data=session_form(world, start_time="14:00", case_ids=[str(world.case_b.id)], version="1"),
    )
    assert response.status_code == 302
    session.expire_all()
    assert training.starts_at == datetime(2026, 6, 10, 6, 0, tzinfo=UTC)
    assert session.exec(select(SessionInvite.case_id)).all() == [world.case_b.id]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"topic": ""}, "This field is required."),
        ({"start_time": "25:99"}, "Give a time such as 09:30."),
        ({"hours": "0"}, "Hours must be more than 0 and at most 24."),
        ({"hours": "abc"}, "Not a valid decimal value."),
        ({"place": "", "online_link": ""}, "Give a place or an online link."),
        ({"online_link": "javascript:alert(1)"}, "Give a web address starting with"),
        ({"areas": ["nonsense"]}, "not a valid choice"),
        ({"case_ids": ["999"]}, "not a valid choice"),
    ],
)
def test_bad_session_input_is_refused_and_nothing_saved(client, world, session, overrides, message):
    login(client, "staff")
    response = client.post(
        f"/batches/{world.batch.id}/training/new", data=session_form(world, **overrides)
    )
    assert response.status_code == 400
    assert message in text(response)
    assert session.exec(select(func.count()).select_from(TrainingSession)).one() == 0


def test_an_online_session_shows_its_link(client, world, session):
    login(client, "staff")
    response = client.post(
        f"/batches/{world.batch.id}/training/new",
        data=session_form(world, place="", online_link="https://meeting.example.cn/j/123"),
    )
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert 'href="https://meeting.example.cn/j/123"' in page


# Materials --------------------------------------------------------------------------------------


def upload(name: str, data: bytes):
    return (io.BytesIO(data), name)


def test_materials_are_kept_and_downloaded_by_firms_of_the_batch_only(client, world, session):
    login(client, "staff")
    data = session_form(world)
    data["materials"] = [
        upload("讲义.pdf", factories.pdf_bytes("slides")),
        upload("讲义.pdf", factories.pdf_bytes("other")),
    ]
    response = client.post(
        f"/batches/{world.batch.id}/training/new", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 302, text(response)[:3000]
    files = session.exec(select(StoredFile).order_by(StoredFile.id)).all()
    training = session.exec(select(TrainingSession)).one()
    assert [(f.name, f.owner_type, f.owner_id, f.batch_id, f.version) for f in files] == [
        ("讲义.pdf", "training", training.id, world.batch.id, 1),
        ("讲义 (2).pdf", "training", training.id, world.batch.id, 1),
    ]
    assert f"/files/{files[0].id}" in text(client.get(f"/training/{training.id}"))
    client.post("/logout")

    login(client, "firm_a")
    response = client.get(f"/files/{files[0].id}")
    response.close()
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    client.post("/logout")

    other_batch = factories.make_batch(session)
    outsider = factories.make_firm(session)
    factories.make_case(session, other_batch, outsider)
    factories.make_user(session, "firm", "outsider", firm_id=outsider.id)
    session.commit()
    login(client, "outsider")
    assert client.get(f"/files/{files[0].id}").status_code == 404
    assert client.get(f"/training/{training.id}").status_code == 404


def test_a_refused_file_saves_nothing(client, world, session, app):
    login(client, "staff")
    data = session_form(world)
    data["materials"] = [
        upload("讲义.pdf", factories.pdf_bytes()),
        upload("notes.txt", b"just text, not an allowed kind"),
    ]
    response = client.post(
        f"/batches/{world.batch.id}/training/new", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 400
    page = text(response)
    assert "notes.txt" in page and "Nothing was saved" in page
    assert session.exec(select(func.count()).select_from(TrainingSession)).one() == 0
    assert session.exec(select(func.count()).select_from(StoredFile)).one() == 0
    root = Path(app.config["FILES_PATH"])
    assert not root.exists() or not [p for p in root.rglob("*") if p.is_file()]


# Attendance -------------------------------------------------------------------------------------


def test_staff_record_attendance_for_every_firm_at_once(client, world, session):
    training = make_session(session, world)
    login(client, "staff")
    a, b = world.case_a.id, world.case_b.id
    response = client.post(
        f"/training/{training.id}/attendance",
        data={
            f"names_{a}": "王经理、李工",
            f"count_{a}": "２",
            f"names_{b}": "",
            f"count_{b}": "0",
        },
    )
    assert response.status_code == 302, text(response)[:3000]
    rows = attendance_rows(session)
    assert [(r.case_id, r.names, r.count) for r in rows] == [(a, "王经理、李工", 2)]
    assert (
        session.exec(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "attendance")
        ).one()
        == 1
    )

    calendar = text(client.get(f"/batches/{world.batch.id}/training"))
    assert 'data-attendance="1/2"' in calendar

    # Saving again unchanged logs nothing; correcting to 0 marks the firm absent.
    client.post(
        f"/training/{training.id}/attendance",
        data={f"names_{a}": "王经理、李工", f"count_{a}": "2", f"names_{b}": "", f"count_{b}": "0"},
    )
    client.post(f"/training/{training.id}/attendance", data={f"count_{a}": "0", f"names_{a}": ""})
    rows = attendance_rows(session)
    assert [(r.case_id, r.count) for r in rows] == [(a, 0)]
    assert (
        session.exec(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "attendance")
        ).one()
        == 2
    )


@pytest.mark.parametrize("bad", ["abc", "-1", "501", "1.5", "9" * 5000])
def test_a_bad_count_is_refused_and_nothing_saved(client, world, session, bad):
    training = make_session(session, world)
    login(client, "staff")
    a, b = world.case_a.id, world.case_b.id
    response = client.post(
        f"/training/{training.id}/attendance",
        data={f"names_{a}": "王经理", f"count_{a}": "1", f"names_{b}": "赵工", f"count_{b}": bad},
    )
    assert response.status_code == 400
    page = text(response)
    assert "Give a number of attendees between 0 and 500." in page
    assert "Nothing was saved" in page
    assert attendance_rows(session) == []


def test_names_without_a_count_are_refused(client, world, session):
    training = make_session(session, world)
    login(client, "staff")
    a = world.case_a.id
    response = client.post(
        f"/training/{training.id}/attendance", data={f"names_{a}": "王经理", f"count_{a}": "0"}
    )
    assert response.status_code == 400
    assert "Give how many attended, or clear the names." in text(response)
    assert attendance_rows(session) == []


def test_attendance_waits_for_the_day_of_the_session(client, world, session):
    training = make_session(session, world, day=TODAY_DATE + timedelta(days=3))
    login(client, "staff")
    a = world.case_a.id
    assert "Attendance can be recorded from the day of the session." in text(
        client.get(f"/training/{training.id}")
    )
    response = client.post(
        f"/training/{training.id}/attendance", data={f"names_{a}": "王经理", f"count_{a}": "1"}
    )
    assert response.status_code == 302
    assert attendance_rows(session) == []


def test_service_refuses_attendance_before_the_day_of_the_session(world, session):
    training = make_session(session, world, day=TODAY_DATE + timedelta(days=1))
    with pytest.raises(services.TrainingError, match="from the day of the session"):
        services.record_attendance(
            session, world.staff, training, world.case_a, names="王经理", count=1, today=TODAY_DATE
        )
    session.rollback()
    assert attendance_rows(session) == []
    on_the_day = TODAY_DATE + timedelta(days=1)
    services.record_attendance(
        session, world.staff, training, world.case_a, names="王经理", count=1, today=on_the_day
    )
    assert [r.count for r in attendance_rows(session)] == [1]


# Stage 4 ----------------------------------------------------------------------------------------


def diagnosis_done(session, world, frameworks) -> list[Finding]:
    """Stages 1 and 2 of case_a done through the services; returns the accepted findings."""
    case = world.case_a
    save_survey(
        session,
        world.firm_user_a,
        case,
        baselines=[],
        submit=True,
        weak_areas=["process", "brand"],
        wanted_help="导入卓越绩效模式",
    )
    write_analysis(session, world.staff, case, "需求集中在过程管理")
    visit = log_visit(
        session,
        world.expert_a,
        case,
        visit_date=TODAY_DATE,
        hours=Decimal(6),
        expert_ids=[],
        activities="现场诊断",
        today=TODAY_DATE,
    )
    confirm_visit(session, world.firm_user_a, visit)
    d = diagnosis.start(session, world.expert_a, case, Round.BASELINE)
    for framework in frameworks:
        diagnosis.save_scores(
            session,
            world.expert_a,
            d,
            [
                diagnosis.ScoreInput(
                    item.id,
                    percent=50 if framework.scale == Scale.BAND else None,
                    level=None if framework.scale == Scale.BAND else 3,
                )
                for item in framework.items
            ],
        )
    quality = next(f for f in frameworks if f.domain == "quality")
    items = {item.code: item for item in quality.items}
    for code, text_ in (("4.1.2", "质量目标未分解到车间"), ("4.3.3", "顾客投诉处理记录不完整")):
        diagnosis.add_finding(
            session,
            world.expert_a,
            d,
            item_id=items[code].id,
            description=text_,
            severity="general",
        )
    kpi = session.exec(select(Kpi)).first()
    diagnosis.add_target(
        session,
        world.expert_a,
        d,
        diagnosis.TargetInput(kpi_id=kpi.id, target=Decimal(99), target_date=case.evaluation_due),
    )
    diagnosis.submit(session, world.expert_a, d)
    diagnosis.accept(session, world.staff, d, {}, TODAY_DATE)
    session.commit()
    assert progress_of(session, case, TODAY_DATE)["diagnosis"].status == Status.DONE
    return list(d.findings)


def test_two_attended_sessions_complete_stage_four(client, world, session, frameworks):
    diagnosis_done(session, world, frameworks)
    first = make_session(session, world, day=date(2026, 6, 1))
    second = make_session(session, world, day=date(2026, 6, 8))
    login(client, "staff")
    a = world.case_a.id

    client.post(
        f"/training/{first.id}/attendance", data={f"names_{a}": "王经理", f"count_{a}": "1"}
    )
    session.expire_all()
    assert progress_of(session, world.case_a, TODAY_DATE)["training"].status == Status.IN_PROGRESS

    client.post(
        f"/training/{second.id}/attendance", data={f"names_{a}": "王经理", f"count_{a}": "1"}
    )
    session.expire_all()
    assert progress_of(session, world.case_a, TODAY_DATE)["training"].status == Status.DONE
    page = text(client.get(f"/cases/{a}"))
    assert 'data-attended="2" data-required="2"' in page


def test_a_firm_marked_done_by_staff_counts_as_done_on_the_calendar(
    client, world, session, frameworks
):
    diagnosis_done(session, world, frameworks)
    attend(session, world, make_session(session, world, day=date(2026, 6, 1)), world.case_a)
    login(client, "staff")
    calendar = f"/batches/{world.batch.id}/training"
    assert '<div class="count" data-total="met"><b>0 / 2</b>' in text(client.get(calendar))

    mark_stage(session, world.staff, world.case_a, "training", "因生产任务改为线上自学并考核")
    session.commit()
    assert progress_of(session, world.case_a, TODAY_DATE)["training"].status == Status.DONE
    assert '<div class="count" data-total="met"><b>1 / 2</b>' in text(client.get(calendar))


def test_the_case_card_shows_which_weak_areas_were_covered(client, world, session, frameworks):
    findings = diagnosis_done(session, world, frameworks)
    held = make_session(
        session,
        world,
        day=date(2026, 6, 1),
        topic="过程管理专题",
        areas=["process"],
        finding_ids=[findings[0].id],
    )
    make_session(session, world, day=date(2026, 6, 2), topic="缺席的培训", areas=["brand"])
    make_session(session, world, day=date(2026, 7, 1), topic="品牌培育专题", areas=["brand"])
    attend(session, world, held, world.case_a)

    login(client, "firm_a")
    page = text(client.get(f"/cases/{world.case_a.id}"))
    card = page[page.index('id="training"') :]
    rows = re.findall(r"<tr data-(?:area|item)>(.*?)</tr>", card, re.S)
    covered = {
        re.sub(r"<[^>]+>", "", r.split("</td>")[0]).strip(): 'data-covered="yes"' in r for r in rows
    }
    assert covered == {
        "Process management": True,
        "Brand": False,
        f"4.1.2 {_item_name(frameworks, '4.1.2')}": True,
        f"4.3.3 {_item_name(frameworks, '4.3.3')}": False,
    }
    assert "过程管理专题" in card  # attended
    assert "品牌培育专题" in card  # upcoming invitation
    assert "Invited to 1 past session not attended" in card


def _item_name(frameworks, code: str) -> str:
    quality = next(f for f in frameworks if f.domain == "quality")
    return next(i.name for i in quality.items if i.code == code)


def test_only_findings_of_accepted_diagnoses_can_be_linked(client, world, session, frameworks):
    findings = diagnosis_done(session, world, frameworks)
    login(client, "staff")
    page = text(client.get(f"/batches/{world.batch.id}/training/new"))
    assert f'<optgroup label="{world.firm_a.name}">' in page
    response = client.post(
        f"/batches/{world.batch.id}/training/new",
        data=session_form(world, finding_ids=[str(findings[0].id)]),
    )
    assert response.status_code == 302
    shown = text(client.get(response.headers["Location"]))
    assert "质量目标未分解到车间" in shown
    response = client.post(
        f"/batches/{world.batch.id}/training/new", data=session_form(world, finding_ids=["9999"])
    )
    assert response.status_code == 400


# Who sees what ----------------------------------------------------------------------------------


def test_the_firm_sees_its_sessions_and_not_another_batchs(client, world, session):
    ours = make_session(session, world, topic="我们的培训", case_ids=[world.case_a.id])
    theirs = make_session(session, world, topic="别人的培训", case_ids=[world.case_b.id])
    attend(session, world, theirs, world.case_b)
    other_batch = factories.make_batch(session)
    factories.make_case(session, other_batch, world.firm_b)
    session.commit()
    elsewhere = services.save_session(
        session,
        world.staff,
        other_batch,
        None,
        case_ids=[],
        finding_ids=[],
        topic="他批培训",
        starts_at=datetime(2026, 6, 1, 1, 30, tzinfo=UTC),
        hours=Decimal(2),
        place="市局",
        trainer="李老师",
        areas=[],
    )
    session.commit()

    login(client, "firm_a")
    calendar = text(client.get(f"/batches/{world.batch.id}/training"))
    assert "我们的培训" in calendar
    assert "别人的培训" not in calendar
    assert world.firm_b.name not in calendar
    assert client.get(f"/training/{ours.id}").status_code == 200
    assert client.get(f"/training/{theirs.id}").status_code == 404
    assert client.get(f"/batches/{other_batch.id}/training").status_code == 404
    assert client.get(f"/training/{elsewhere.id}").status_code == 404
    assert client.get(f"/cases/{world.case_b.id}").status_code == 404
    page = text(client.get(f"/cases/{world.case_a.id}"))
    assert "我们的培训" in page and "别人的培训" not in page


def test_which_sessions_each_role_sees_is_decided_in_permissions(world, session):
    """Staff and experts see every session of a batch in sight; a firm those it was invited to
    or attended (attendance of zero does not count)."""
    make_session(session, world, topic="受邀", case_ids=[world.case_a.id])
    attended = make_session(session, world, topic="到场", case_ids=[world.case_b.id])
    absent = make_session(session, world, topic="缺席", case_ids=[world.case_b.id])
    attend(session, world, attended, world.case_a)
    attend(session, world, absent, world.case_a, count=0)
    assert sees_every_session(world.staff) and sees_every_session(world.expert_a)
    assert not sees_every_session(world.firm_user_a)
    seen = session.exec(
        select(TrainingSession.topic)
        .where(firm_sessions({world.case_a.id}))
        .order_by(TrainingSession.id)
    ).all()
    assert seen == ["受邀", "到场"]


def test_the_firm_sees_only_its_own_row_of_the_attendance_sheet(client, world, session):
    training = make_session(session, world)
    attend(session, world, training, world.case_a)
    attend(session, world, training, world.case_b)
    login(client, "firm_a")
    page = text(client.get(f"/training/{training.id}"))
    assert world.firm_a.name in page
    assert world.firm_b.name not in page
    assert "<form" not in page.split('id="attendance"')[1]


def test_experts_see_the_batchs_sessions_and_their_firms_attendance(client, world, session):
    training = make_session(session, world, case_ids=[world.case_b.id])
    attend(session, world, training, world.case_b)
    login(client, "expert_a")
    assert "培训 2026-06-10" in text(client.get(f"/batches/{world.batch.id}/training"))
    page = text(client.get(f"/training/{training.id}"))
    assert world.firm_b.name not in page
    client.post("/logout")
    login(client, "expert_b")  # assigned to nothing
    assert client.get(f"/batches/{world.batch.id}/training").status_code == 404
    assert client.get(f"/training/{training.id}").status_code == 404


@pytest.mark.parametrize("who", ["firm_a", "expert_a"])
def test_firm_users_and_experts_cannot_manage_sessions(client, world, session, who):
    training = make_session(session, world)
    login(client, who)
    a = world.case_a.id
    assert client.get(f"/batches/{world.batch.id}/training/new").status_code == 404
    assert (
        client.post(f"/batches/{world.batch.id}/training/new", data=session_form(world)).status_code
        == 404
    )
    assert client.get(f"/training/{training.id}/edit").status_code == 404
    assert (
        client.post(
            f"/training/{training.id}/attendance", data={f"names_{a}": "王", f"count_{a}": "1"}
        ).status_code
        == 404
    )
    assert session.exec(select(func.count()).select_from(TrainingSession)).one() == 1
    assert attendance_rows(session) == []
    assert "New session" not in text(client.get(f"/batches/{world.batch.id}/training"))


def test_calendar_lists_sessions_in_date_order(client, world, session):
    make_session(session, world, day=date(2026, 7, 1), topic="七月")
    make_session(session, world, day=date(2026, 5, 1), topic="五月")
    make_session(session, world, day=date(2026, 6, 1), topic="六月")
    login(client, "staff")
    page = text(client.get(f"/batches/{world.batch.id}/training"))
    assert page.index("五月") < page.index("六月") < page.index("七月")
    assert "New session" in page


# Coaching ---------------------------------------------------------------------------------------


def coaching_form(**overrides) -> dict:
    data = {
        "coached_on": "2026-06-12",
        "hours": "2",
        "topic": "QC小组活动辅导",
        "notes": "讲解PDCA",
    }
    data.update(overrides)
    return data


def test_an_assigned_expert_records_coaching(client, world, session):
    login(client, "expert_a")
    response = client.post(f"/cases/{world.case_a.id}/coaching", data=coaching_form())
    assert response.status_code == 302
    record = session.exec(select(CoachingRecord)).one()
    assert (record.case_id, record.expert_id, record.coached_on, record.hours) == (
        world.case_a.id,
        world.expert_a.id,
        date(2026, 6, 12),
        Decimal(2),
    )
    client.post("/logout")
    login(client, "firm_a")
    page = text(client.get(f"/cases/{world.case_a.id}"))
    assert "QC小组活动辅导" in page and "讲解PDCA" in page


def test_coaching_on_a_case_not_assigned_is_404(client, world, session):
    login(client, "expert_a")
    assert (
        client.post(f"/cases/{world.case_b.id}/coaching", data=coaching_form()).status_code == 404
    )
    client.post("/logout")
    login(client, "expert_b")
    assert (
        client.post(f"/cases/{world.case_a.id}/coaching", data=coaching_form()).status_code == 404
    )
    assert session.exec(select(func.count()).select_from(CoachingRecord)).one() == 0


@pytest.mark.parametrize("who", ["staff", "firm_a"])
def test_only_experts_record_coaching(client, world, session, who):
    login(client, who)
    assert (
        client.post(f"/cases/{world.case_a.id}/coaching", data=coaching_form()).status_code == 403
    )
    assert session.exec(select(func.count()).select_from(CoachingRecord)).one() == 0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"coached_on": "2026-06-16"}, "Coaching cannot be recorded ahead of time."),
        ({"hours": "abc"}, "Not a valid decimal value."),
        ({"hours": "30"}, "Hours must be more than 0 and at most 24."),
        ({"topic": ""}, "This field is required."),
    ],
)
def test_bad_coaching_input_is_refused(client, world, session, overrides, message):
    login(client, "expert_a")
    response = client.post(f"/cases/{world.case_a.id}/coaching", data=coaching_form(**overrides))
    assert response.status_code == 400
    assert message in text(response)
    assert session.exec(select(func.count()).select_from(CoachingRecord)).one() == 0
