"""Pages kept per data version (pilot.kept): the board, the batch results, the homes, the case
page, the checklist, the verification queue and the API's case list are rendered once per data
version, user, URL, language and day, and served again until any write through a session (a
flush with changes, a bulk statement) makes the next request render them again. Their tokens are
new on every request, a page kept for one user is never another's, and a message to flash is
never lost."""

import re

import pytest
import sqlalchemy as sa
from sqlmodel import select

from pilot import data_version
from pilot.accounts.models import User
from pilot.api.services import issue_token
from pilot.batches.models import Batch
from pilot.data_version import DataVersion
from pilot.extensions import db
from pilot.firms.models import Firm
from pilot.kept import CSRF_MARKER, SUBMISSION_MARKER
from tests.conftest import login

#: A form's CSRF token: signed with the time to the second, so it differs between two requests.
TOKEN = re.compile(r'(name="csrf_token" value=")[^"]*(")')


def counted(app, client, path: str) -> tuple[str, int]:
    """The page (its forms' tokens blanked) and the SQL statements it sent."""
    count = [0]

    def counter(*args):
        count[0] += 1

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", counter)
    try:
        response = client.get(path)
    finally:
        sa.event.remove(engine, "before_cursor_execute", counter)
    assert response.status_code == 200
    return TOKEN.sub(r"\1\2", response.get_data(as_text=True)), count[0]


def with_version_row(session) -> None:
    """The stamp's row, as the migration makes it (tests on PostgreSQL empty every table)."""
    if data_version.current(session) is None:
        session.add(DataVersion(id=1, value=0))
        session.commit()


def test_the_board_is_kept_until_a_write(app, client, session, world):
    with_version_row(session)
    login(client, "staff")
    path = f"/?batch={world.batch.id}"
    first, rendered = counted(app, client, path)
    again, kept = counted(app, client, path)
    assert again == first
    assert kept < rendered  # served from what was kept

    firm = session.get(Firm, world.firm_a.id)
    firm.name = "改名企业有限公司"
    session.commit()
    page, statements = counted(app, client, path)
    assert "改名企业有限公司" in page and "甲企业有限公司" not in page
    assert statements == rendered

    session.execute(sa.update(Firm).where(Firm.id == firm.id).values(name="批量企业有限公司"))
    session.commit()
    assert "批量企业有限公司" in counted(app, client, path)[0]

    # A write rolled back changes nothing: the kept board is still served.
    session.get(Firm, firm.id).name = "未提交企业"
    session.flush()
    session.rollback()
    page, statements = counted(app, client, path)
    assert "批量企业有限公司" in page and statements == kept


def test_renaming_the_batch_renders_the_board_again(app, client, session, world):
    with_version_row(session)
    login(client, "staff")
    path = f"/?batch={world.batch.id}"
    counted(app, client, path)
    batch = session.exec(select(Batch).where(Batch.id == world.batch.id)).one()
    before = data_version.current(session)
    batch.name = "第二批"
    session.commit()
    assert data_version.current(session) != before
    assert "第二批" in counted(app, client, path)[0]


def test_filters_and_language_are_kept_apart(app, client, session, world):
    with_version_row(session)
    login(client, "staff")
    path = f"/?batch={world.batch.id}"
    both = counted(app, client, path)[0]
    one = counted(app, client, f"{path}&district={world.firm_a.district}x")[0]
    assert both != one and "No case matches these filters." in one
    assert counted(app, client, path)[0] == both
    client.post("/language", data={"lang": "zh_CN"})
    assert "试点看板" in counted(app, client, path)[0]


def test_without_the_stamp_nothing_is_kept(app, client, session, world):
    session.execute(sa.delete(DataVersion))
    session.commit()
    assert data_version.current(session) is None
    login(client, "staff")
    path = f"/?batch={world.batch.id}"
    first, rendered = counted(app, client, path)
    assert counted(app, client, path) == (first, rendered)


def test_the_batch_results_are_kept_until_a_write(app, client, session, world):
    with_version_row(session)
    login(client, "staff")
    path = f"/batches/{world.batch.id}/results"
    first, rendered = counted(app, client, path)
    again, kept = counted(app, client, path)
    assert again == first and "甲企业有限公司" in first
    assert kept < rendered

    session.get(Firm, world.firm_a.id).name = "改名企业有限公司"
    session.commit()
    page, statements = counted(app, client, path)
    assert "改名企业有限公司" in page and "甲企业有限公司" not in page
    assert statements == rendered


@pytest.mark.parametrize("username", ["expert_a", "firm_a"])
def test_the_expert_and_firm_homes_are_kept_per_user_until_a_write(
    app, client, session, world, username
):
    with_version_row(session)
    login(client, username)
    first, rendered = counted(app, client, "/")
    again, kept = counted(app, client, "/")
    assert again == first and "甲企业有限公司" in first
    assert kept < rendered
    # Another user's home is their own, not the one kept for this user.
    other = app.test_client()
    login(other, "firm_b")
    assert "乙企业有限公司" in counted(app, other, "/")[0]

    session.get(Firm, world.firm_a.id).name = "改名企业有限公司"
    session.commit()
    page, statements = counted(app, client, "/")
    assert "改名企业有限公司" in page and "甲企业有限公司" not in page
    assert statements == rendered


def hidden(page: str, name: str) -> str:
    return re.search(rf'name="{name}"[^>]*value="([^"]*)"', page).group(1)


def test_a_kept_page_gets_new_tokens_on_every_request(app, session, world):
    with_version_row(session)
    client = app.test_client()
    login(client, "staff")
    path = f"/cases/{world.case_a.id}/items"
    pages = [client.get(path).get_data(as_text=True) for _ in range(2)]
    for page in pages:
        assert CSRF_MARKER not in page and SUBMISSION_MARKER not in page
    # The add form's submission token is the page's own: a new one for each rendering.
    tokens = [hidden(page, "token") for page in pages]
    assert tokens[0] != tokens[1] and all(tokens)
    # The kept page's CSRF token is this session's: a form posted from it goes through, without
    # the test client adding a token of its own.
    response = client.post(
        "/language",
        data={"lang": "zh_CN", "csrf_token": hidden(pages[1], "csrf_token")},
        csrf=False,
    )
    assert response.status_code == 302


def test_a_page_kept_for_one_user_is_not_served_to_another(app, session, world):
    with_version_row(session)
    path = f"/cases/{world.case_a.id}"
    staff, firm_b = app.test_client(), app.test_client()
    login(staff, "staff")
    login(firm_b, "firm_b")
    assert staff.get(path).status_code == 200
    assert staff.get(path).status_code == 200  # kept
    assert firm_b.get(path).status_code == 404
    assert firm_b.get("/").get_data(as_text=True).count("甲企业有限公司") == 0


def test_a_message_to_flash_is_shown_on_a_kept_page(app, client, session, world):
    with_version_row(session)
    login(client, "staff")
    path = f"/cases/{world.case_a.id}"
    client.get(path)
    with client.session_transaction() as flask_session:
        flask_session["_flashes"] = [("success", "Saved just now.")]
    assert "Saved just now." in client.get(path).get_data(as_text=True)
    assert "Saved just now." not in client.get(path).get_data(as_text=True)


def test_the_apis_case_list_is_kept_per_user_until_a_write(app, session, world):
    with_version_row(session)
    secrets = {}
    for name in ("staff", "firm_b"):
        user = session.exec(select(User).where(User.username == name)).one()
        secrets[name] = issue_token(session, user, "test")[1]
    session.commit()
    client = app.test_client()

    def names(user: str) -> set[str]:
        answer = client.get("/api/v1/cases", headers={"Authorization": f"Bearer {secrets[user]}"})
        assert answer.status_code == 200 and answer.mimetype == "application/json"
        assert "Set-Cookie" not in answer.headers
        return {case["firm"]["name"] for case in answer.get_json()["items"]}

    assert names("staff") == names("staff") == {"甲企业有限公司", "乙企业有限公司"}
    assert names("firm_b") == {"乙企业有限公司"}
    session.get(Firm, world.firm_a.id).name = "改名企业有限公司"
    session.commit()
    assert names("staff") == {"改名企业有限公司", "乙企业有限公司"}
