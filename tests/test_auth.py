"""Signing in and out, the login redirect, CSRF, the language switch."""

from sqlmodel import select

from pilot.accounts.models import User
from tests.conftest import login


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_wrong_password_and_unknown_user_get_the_same_message(client, world):
    client.post("/language", data={"lang": "en"})
    wrong = client.post("/login", data={"username": "staff", "password": "nope-nope"})
    unknown = client.post("/login", data={"username": "nobody", "password": "nope-nope"})
    assert wrong.status_code == unknown.status_code == 200
    assert "Wrong username or password." in wrong.get_data(as_text=True)
    assert "Wrong username or password." in unknown.get_data(as_text=True)


def test_deactivated_user_cannot_sign_in(client, world, session):
    world.staff.active = False
    session.commit()
    response = client.post("/login", data={"username": "staff", "password": "correct-horse-9"})
    assert response.status_code == 200


def test_login_redirects_back_only_to_this_site(client, world):
    response = client.post(
        "/login?next=//evil.example/x",
        data={"username": "staff", "password": "correct-horse-9"},
    )
    assert response.headers["Location"] == "/"


def test_post_without_csrf_token_is_400(client, world):
    login(client, "staff")
    response = client.post(f"/cases/{world.case_a.id}/withdraw", data={"reason": "x"}, csrf=False)
    assert response.status_code == 400
    assert not world.case_a.is_withdrawn


def test_logout_ends_the_session(client, world):
    login(client, "staff")
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_chinese_by_default_english_on_request(client, world):
    client.forget_language()
    login(client, "staff")
    assert 'lang="zh-CN"' in client.get("/").get_data(as_text=True)
    client.post("/language", data={"lang": "en", "next": "/"})
    assert 'lang="en"' in client.get("/").get_data(as_text=True)


def test_unknown_case_is_the_404_page(client, world):
    login(client, "staff")
    response = client.get("/cases/999999")
    assert response.status_code == 404
    assert "<h1>404</h1>" in response.get_data(as_text=True)


def test_chinese_interface_speaks_chinese_messages(client, world):
    """The default language: a refused credit code gets its message in Chinese."""
    client.forget_language()
    login(client, "staff")
    page = client.post("/firms/new", data={"name": "某企业", "credit_code": "91410100000000000X"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "统一社会信用代码无效" in text
    assert "首页" in client.get("/").get_data(as_text=True)


def test_a_new_account_has_no_role_until_the_admin_chooses_one(client, world, session):
    login(client, "admin")
    page = client.get("/users/new").get_data(as_text=True)
    role = page.split('name="role"')[1].split("</select>")[0]
    assert 'value="" selected' in role or "selected" not in role  # the blank choice shows first
    assert "Choose a role" in role
    form = {
        "username": "newstaff",
        "display_name": "新同事",
        "password": "Quality-Pilot-2026!",
        "confirm": "Quality-Pilot-2026!",
        "firm_id": "0",
    }
    refused = client.post("/users/new", data=form)
    assert refused.status_code == 200
    print(refused.get_data(as_text=True))
    assert '<span class="error">Choose the account' in refused.get_data(as_text=True)
    assert session.exec(select(User).where(User.username == "newstaff")).first() is None
    created = client.post("/users/new", data={**form, "role": "staff"})
    assert created.status_code == 302
    assert session.exec(select(User).where(User.username == "newstaff")).one().role == "staff"
