"""The operations log reads as sentences in the reader's language: field labels, values as the
pages show them, an item's number and a round's name, and nothing internal."""

import re
from datetime import date

from flask_babel import force_locale
from sqlmodel import select

from pilot.audit.entries import readable_log
from pilot.audit.models import AuditLog
from pilot.audit.services import log
from pilot.diagnosis.models import Diagnosis, DiagnosisStatus, Round
from pilot.evaluation.models import Evaluation
from pilot.rectification import services as rectification
from tests import factories
from tests.conftest import login

#: What an entry must never show: ids, nulls, codes, ISO timestamps, Python's None.
INTERNAL = re.compile(r"\bid\b|_id\b|null|None|\d{4}-\d\d-\d\dT|\[|\{|[a-z]+_[a-z]+")
#: In Chinese no code word is left either (final, general, submitted …).
LATIN_WORD = re.compile(r"[a-z]{3,}")


def log_a_case(session, world):
    """A few of the case's events, logged as the services log them."""
    case, staff = world.case_a, world.staff
    first = rectification.add_item(
        session,
        staff,
        case,
        description="质量目标未分解到部门",
        severity="general",
        due_date=date(2026, 6, 30),
        today=date(2026, 5, 1),
    )
    second = rectification.add_item(
        session,
        staff,
        case,
        description="检验记录不全",
        severity="severe",
        due_date=date(2026, 7, 31),
        today=date(2026, 5, 1),
    )
    log(
        session,
        world.expert_a,
        second,
        "verify",
        case_id=case.id,
        before={"status": "submitted"},
        after={"status": "verified"},
        public=True,
    )
    final = Diagnosis(
        case_id=case.id,
        round=Round.FINAL,
        status=DiagnosisStatus.SUBMITTED,
        created_by_id=world.expert_a.id,
    )
    session.add(final)
    log(session, world.expert_a, final, "submit", case_id=case.id, after={"round": "final"})
    # An entry that does not carry its round names it all the same (from the diagnosis).
    log(session, staff, final, "return", case_id=case.id, reason="请补充说明")
    log(session, staff, final, "accept", case_id=case.id, after={"round": "final", "items": 0})
    evaluation = Evaluation(case_id=case.id)
    session.add(evaluation)
    log(session, staff, evaluation, "verdict", case_id=case.id, after={"verdict": "basically_met"})
    factories.make_case_document(session, case, staff)
    log(session, staff, case, "close", case_id=case.id, after={"unfinished_items": [first.id]})
    log(session, staff, case, "reopen", case_id=case.id, after={"unfinished_items": []})
    session.commit()


def lines(session, case):
    rows = session.exec(
        select(AuditLog).where(AuditLog.case_id == case.id).order_by(AuditLog.at, AuditLog.id)
    ).all()
    return readable_log(session, [(entry, None) for entry in rows])


def by_sentence(lines_):
    return {line.what: line.details for line in lines_}


def test_every_entry_reads_as_a_chinese_sentence_without_internals(session, world):
    log_a_case(session, world)
    with force_locale("zh_CN"):
        read = by_sentence(lines(session, world.case_a))
    assert read["建立档案"]
    opened = " ".join(read["建立档案"])
    assert "调研需求分析截止日期：" in opened
    assert read["指派专家"] == ("专家：expert_a（牵头）",)
    assert read["整改项2核验通过"] == ("状态：待核验 → 已核验",)
    assert "描述：质量目标未分解到部门" in read["添加整改项1"]
    assert "严重程度：一般" in read["添加整改项1"]
    assert "截止日期：2026-06-30" in read["添加整改项1"]
    assert "提交终期复评" in read
    assert "退回终期复评" in read
    assert read["终期复评审核通过"] == ()  # the final round creates no items: none to count
    assert read["作出评价结论"] == ("评价结论：基本达标",)
    assert read["结案"] == ("结案时未完成的整改项：整改项1",)
    uploaded = read["上传文件"]
    assert uploaded[:2] == ("所属：档案文件", "文件名：一企一策协议.pdf")
    assert re.fullmatch(r"大小：\d+ 字节|大小：[\d.]+ KB", uploaded[2]) and len(uploaded) == 3
    assert read["重新开启档案"] == ("结案时未完成的整改项：无",)
    for sentence, details in read.items():
        for text in (sentence, *details):
            typed = text.replace("expert_a", "").replace(".pdf", "")  # names people gave
            assert not INTERNAL.search(typed), text
            assert not LATIN_WORD.search(typed), text


def test_the_same_entries_read_in_english(session, world):
    log_a_case(session, world)
    with force_locale("en"):
        read = by_sentence(lines(session, world.case_a))
    assert read["Rectification item 2 verified"] == ("Status: Awaiting verification → Verified",)
    assert "Final re-scoring submitted" in read
    assert read["Verdict given"] == ("Verdict: Basically met",)
    assert read["Case closed"] == ("Items unfinished at closing: item 1",)
    assert read["Experts assigned"] == ("Experts: expert_a (lead)",)
    for sentence, details in read.items():
        for text in (sentence, *details):
            assert not INTERNAL.search(text.replace("expert_a", "")), text


def test_staff_read_the_log_and_the_firm_the_timeline_in_their_language(client, session, world):
    log_a_case(session, world)
    login(client, "staff")
    client.forget_language()
    page = client.get(f"/cases/{world.case_a.id}").get_data(as_text=True)
    assert "整改项2核验通过" in page and "状态：待核验 → 已核验" in page
    assert "batch_id" not in page and "null" not in page
    client.post("/logout")
    login(client, "firm_a")
    client.forget_language()
    page = client.get(f"/cases/{world.case_a.id}").get_data(as_text=True)
    assert "整改项2核验通过" in page  # the public timeline, without the values
    assert "状态：待核验 → 已核验" not in page


def test_the_report_names_its_rectification_column_and_signs_off_in_sentences(app, session, world):
    from pilot.reports.context import build
    from pilot.reports.pdf import html_of

    log_a_case(session, world)
    with app.test_request_context(), force_locale("zh_CN"):
        html = html_of(build(session, world.case_a.id, date(2026, 6, 1)))
    rectification = html[html.index('id="rectification"') : html.index('id="training"')]
    assert "<th>整改项</th>" in rectification and "评分项" not in rectification
    sign_offs = html[html.index('id="sign-offs"') :]
    assert "整改项2核验通过" in sign_offs
