"""The e-mail digest (`pilot remind` and its daily task on the queue) against a real SMTP server
started here on 127.0.0.1 (aiosmtpd), on the demo's fixed day (Monday 2026-06-15): what is sent
and what it says, once a day, a refused recipient, the dry run, and each user's choice."""

import re
import socket
from datetime import datetime
from email import policy
from email.parser import BytesParser

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import select

from pilot import background
from pilot.accounts.models import User
from pilot.database import today
from pilot.demo import DEMO_PASSWORD
from pilot.next_actions import tasks_for
from pilot.reminders.digest import writing_for
from pilot.reminders.models import DigestSent
from tests.conftest import login

BASE_URL = "https://pilot.example.cn/zz"
SENDER = "质量提升试点 <pilot@example.cn>"
#: Who has something due or overdue on the demo's day and wants a digest that day: both staff,
#: the four experts (the fourth reads it weekly: it is a Monday) and the firms with overdue
#: tasks. The administrator chose none; the other firms' tasks fall due later.
RECIPIENTS = {
    "wangli@example.cn",
    "liuyang@example.cn",
    *(f"expert{n}@example.cn" for n in (1, 2, 3, 4)),
    *(f"firm{n:02d}@example.cn" for n in (12, 13, 14, 15, 16, 17, 19, 20)),
}


class Inbox:
    """An aiosmtpd handler that keeps each message received, refusing the addresses listed."""

    def __init__(self):
        self.messages = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = BytesParser(policy=policy.default).parsebytes(envelope.content)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address: str):
        [message] = [m for rcpt, m in self.messages if rcpt == [address]]
        return message

    @property
    def addresses(self) -> list[str]:
        return [address for rcpt, _m in self.messages for address in rcpt]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def inbox(app):
    """An SMTP server on 127.0.0.1, and the app configured to send through it."""
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(
        MAIL_HOST="127.0.0.1",
        MAIL_PORT=port,
        MAIL_SECURITY="none",
        MAIL_SENDER=SENDER,
        MAIL_TIMEOUT=5,
        BASE_URL=BASE_URL,
    )
    yield handler
    controller.stop()


def user(session, username: str) -> User:
    return session.exec(select(User).where(User.username == username)).one()


def parts(message) -> tuple[str, str]:
    return (
        message.get_body(("plain",)).get_content(),
        message.get_body(("html",)).get_content(),
    )


def test_each_user_gets_one_digest_of_what_waits_on_them_and_no_second_that_day(
    app, runner, session, demo_data, inbox
):
    result = runner.invoke(args=["remind"])
    assert result.exit_code == 0, result.output
    assert sorted(inbox.addresses) == sorted(RECIPIENTS)
    assert "14 digest(s) sent; 0 sent earlier today." in result.output

    # Staff's digest lists exactly staff's tasks (the home page's list), with links to them.
    staff = user(session, "staff1")
    with writing_for(staff, BASE_URL):
        tasks = tasks_for(session, staff, today())
        expected = [(t.label, "https://pilot.example.cn" + t.url, t.overdue) for t in tasks]
    message = inbox.to("wangli@example.cn")
    overdue = sum(1 for *_x, late in expected if late)
    assert message["Subject"] == f"质量提升试点：您有{len(tasks)}项待办，其中{overdue}项已逾期"
    assert message["From"] == SENDER
    assert message["To"].addresses[0].display_name == "王丽"
    assert message.get_content_type() == "multipart/alternative"
    text, html = parts(message)
    assert text.startswith("王丽，您好：")
    assert html.count("<li ") == len(expected) and text.count("\n- ") == len(expected)
    for label, url, _late in expected:
        assert url.startswith(BASE_URL + "/")
        assert label in text and f"  {url}\n" in text
        assert f'href="{url}"' in html
    assert "已逾期" in text and "已逾期（截止" in html
    assert f"{BASE_URL}/profile" in text and f'href="{BASE_URL}/profile"' in html

    # A firm's digest: its overdue items to work (its checklist) and the returned one (the
    # item's page, at the expert's reason).
    text, html = parts(inbox.to("firm12@example.cn"))
    assert re.search(
        rf"已逾期\n- .+ · 落实2项整改\n  已逾期（截止[-\d]+）\n  {BASE_URL}/cases/\d+/items\n", text
    )
    assert re.search(
        rf"已退回：补充后重新提交“.+”\n  已逾期（截止[-\d]+）\n  {BASE_URL}/items/\d+#returned\n",
        text,
    )
    assert "改为每周接收或不再接收" in text and "改为每周接收或不再接收" in html

    # The log holds one sent digest per recipient for the day.
    logged = session.exec(select(DigestSent)).all()
    assert len(logged) == len(RECIPIENTS)
    assert all(row.sent_at is not None and row.day == today() for row in logged)

    # Run again the same day (as a second worker or a retry would): nothing goes out.
    again = runner.invoke(args=["remind"])
    assert again.exit_code == 0, again.output
    assert "0 digest(s) sent; 14 sent earlier today." in again.output
    assert len(inbox.messages) == len(RECIPIENTS)


def test_a_refused_address_does_not_stop_the_others_and_is_tried_again_later(
    runner, session, demo_data, inbox
):
    inbox.refuse = {"firm13@example.cn"}
    result = runner.invoke(args=["remind"])
    assert result.exit_code == 1
    assert sorted(inbox.addresses) == sorted(RECIPIENTS - inbox.refuse)
    assert "failed\tfirm13@example.cn\t550 5.1.1 Mailbox unavailable" in result.output
    assert "1 digest(s) failed." in result.output
    refused = user(session, "firm13")
    assert not session.exec(select(DigestSent).where(DigestSent.user_id == refused.id)).all()

    # The address is fixed: the next run sends only the digest that failed.
    inbox.refuse = set()
    again = runner.invoke(args=["remind"])
    assert again.exit_code == 0, again.output
    assert inbox.addresses.count("firm13@example.cn") == 1
    assert len(inbox.messages) == len(RECIPIENTS)


def addressed(output: str) -> set[str]:
    """The addresses a dry run printed a digest for."""
    return set(re.findall(r"^To: .+ <(.+)>$", output, re.MULTILINE))


def test_a_dry_run_prints_each_digest_with_its_address_and_sends_nothing(
    runner, session, demo_data, inbox
):
    result = runner.invoke(args=["remind", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert inbox.messages == []
    assert not session.exec(select(DigestSent)).all()
    assert addressed(result.output) == RECIPIENTS
    assert "To: 王丽 <wangli@example.cn>\nSubject: 质量提升试点：您有" in result.output
    assert f"{BASE_URL}/cases/" in result.output
    assert "14 digest(s) would be sent" in result.output


def test_sending_without_an_smtp_server_configured_is_refused(runner, demo_data):
    result = runner.invoke(args=["remind"])
    assert result.exit_code == 1
    assert "MAIL_HOST is not set" in result.output


def test_weekly_comes_on_mondays_none_never_and_each_in_its_own_language(
    app, client, runner, session, demo_data, inbox
):
    # A firm user chooses weekly and English on their profile page; the administrator's "none"
    # stands from the demo.
    login(client, "firm12", DEMO_PASSWORD)
    page = client.get("/profile").get_data(as_text=True)
    assert re.search(r'<input checked [^>]*value="daily"', page)
    version = user(session, "firm12").version
    saved = client.post("/profile", data={"digest": "weekly", "locale": "en", "version": version})
    assert saved.status_code == 302
    stale = client.post("/profile", data={"digest": "none", "locale": "en", "version": version})
    assert stale.status_code == 409
    refused = client.post(
        "/profile", data={"digest": "hourly", "locale": "en", "version": version + 1}
    )
    assert refused.status_code == 200 and "Not a valid choice" in refused.get_data(as_text=True)
    session.expire_all()
    assert (user(session, "firm12").digest, user(session, "firm12").locale) == ("weekly", "en")

    # Tuesday: the weekly readers (expert4, firm12) get nothing, the daily ones do (a dry run
    # chooses exactly as a run that sends: test_a_dry_run_...).
    app.config["TODAY"] = "2026-06-16"
    tuesday = runner.invoke(args=["remind", "--dry-run"])
    assert tuesday.exit_code == 0, tuesday.output
    assert addressed(tuesday.output) == RECIPIENTS - {"expert4@example.cn", "firm12@example.cn"}

    # The next Monday they do, firm12 in English; never the administrator.
    app.config["TODAY"] = "2026-06-22"
    monday = runner.invoke(args=["remind"])
    assert monday.exit_code == 0, monday.output
    assert {"expert4@example.cn", "firm12@example.cn"} <= set(inbox.addresses)
    assert "admin@example.cn" not in inbox.addresses
    english = inbox.to("firm12@example.cn")
    assert english["Subject"].startswith("Quality pilot: ")
    text, _html = parts(english)
    assert text.startswith("Dear 孙秀英,") and "\nOverdue\n- " in text


def test_the_daily_digest_is_a_periodic_task_of_the_queue_running_the_same_run(
    app, session, demo_data, inbox
):
    huey = background.queue_of(app).huey
    # 07:30 in Zhengzhou, as Huey's scheduler asks (UTC).
    assert "reminders.digest" in {t.name for t in huey.read_periodic(datetime(2026, 6, 14, 23, 30))}
    assert "reminders.digest" not in {
        t.name for t in huey.read_periodic(datetime(2026, 6, 15, 7, 30))
    }
    background.queue_of(app).tasks["reminders.digest"]()  # the queue runs it at once here
    assert sorted(inbox.addresses) == sorted(RECIPIENTS)
    assert inbox.to("wangli@example.cn")["Subject"].startswith("质量提升试点：")
    assert len(session.exec(select(DigestSent)).all()) == len(RECIPIENTS)
