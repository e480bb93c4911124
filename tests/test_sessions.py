"""Sessions that can be ended, sign-in that resists guessing, and the password policy.

A copied session or remember cookie stops working once its user signs out, has their password
reset or is deactivated; failed sign-ins are throttled per account and per address (in Redis when
REDIS_URL is set); an unknown user costs as much time as a wrong password; weak passwords are
refused by the service, whichever door calls it.
"""

import statistics
import time
import uuid
from http.cookies import SimpleCookie

import pytest
import redis

from pilot import create_app
from pilot.accounts import services
from pilot.extensions import db
from tests import factories
from tests.conftest import CSRFClient, login

REDIS_URL = "redis://127.0.0.1:6379/15"


def _cookie(client, name: str) -> str:
    cookie = client.get_cookie(name)
    assert cookie is not None, f"no {name} cookie"
    return cookie.value


def _client_with(app, **cookies) -> CSRFClient:
    other = app.test_client()
    for name, value in cookies.items():
        other.set_cookie(name, value)
    return other


def _signed_in_with_remember(client) -> str:
    response = client.post(
        "/login", data={"username": "staff", "password": factories.PASSWORD, "remember": "y"}
    )
    assert response.status_code == 302
    return _cookie(client, "remember_token")


def test_a_copied_session_cookie_stops_working_after_sign_out(app, client, world):
    login(client, "staff")
    copy = _client_with(app, session=_cookie(client, "session"))
    assert copy.get("/").status_code == 200
    client.post("/logout")
    assert copy.get("/").status_code == 302


def test_a_remember_cookie_stops_working_after_sign_out(app, client, world):
    remember = _signed_in_with_remember(client)
    assert _client_with(app, remember_token=remember).get("/").status_code == 200
    client.post("/logout")
    assert _client_with(app, remember_token=remember).get("/").status_code == 302


def test_a_password_reset_ends_every_session_of_the_user(app, client, world):
    remember = _signed_in_with_remember(client)
    session_cookie = _cookie(client, "session")
    admin = app.test_client()
    login(admin, "admin")
    response = admin.post(
        f"/users/{world.staff.id}/password",
        data={"pw-password": "quiet-river-lantern-7", "pw-confirm": "quiet-river-lantern-7"},
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 302
    assert _client_with(app, session=session_cookie).get("/").status_code == 302
    assert _client_with(app, remember_token=remember).get("/").status_code == 302
    assert admin.get("/").status_code == 200  # the admin's own session goes on


def test_deactivation_ends_every_session_of_the_user(app, client, world, session):
    remember = _signed_in_with_remember(client)
    services.set_active(session, world.admin, world.staff, False)
    session.commit()
    services.set_active(session, world.admin, world.staff, True)
    session.commit()
    assert client.get("/").status_code == 302
    assert _client_with(app, remember_token=remember).get("/").status_code == 302


def test_remember_cookie_is_httponly_samesite_and_two_weeks(app, client, world):
    response = client.post(
        "/login", data={"username": "staff", "password": factories.PASSWORD, "remember": "y"}
    )
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("remember_token")]
    assert len(headers) == 1
    cookie = SimpleCookie(headers[0])["remember_token"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and not cookie["secure"]
    expires = time.mktime(time.strptime(cookie["expires"], "%a, %d %b %Y %H:%M:%S GMT"))
    days = (expires - time.mktime(time.gmtime())) / 86400
    assert 13.9 < days < 14.1


def test_cookies_are_secure_when_the_setting_says_so(app, client, world):
    app.config["SESSION_COOKIE_SECURE"] = True
    app.config["REMEMBER_COOKIE_SECURE"] = True
    response = client.post(
        "/login",
        data={"username": "staff", "password": factories.PASSWORD, "remember": "y"},
        base_url="https://localhost",
    )
    for header in response.headers.getlist("Set-Cookie"):
        assert "; Secure" in header, header


def _fail(client, username: str, address: str = "127.0.0.1"):
    return client.post(
        "/login",
        data={"username": username, "password": "wrong-password-0"},
        environ_base={"REMOTE_ADDR": address},
    )


def test_failed_sign_ins_are_throttled_per_account(app, client, world):
    app.config["SIGN_IN_LIMIT_PER_ACCOUNT"] = "3 per 15 minutes"
    client.forget_language()
    for _ in range(3):
        assert _fail(client, "staff").status_code == 200
    refused = _fail(client, "staff", address="10.0.0.9")  # another address, the same account
    assert refused.status_code == 429
    assert "登录失败次数过多" in refused.get_data(as_text=True)
    # Even the right password waits; another account does not.
    right = client.post("/login", data={"username": "staff", "password": factories.PASSWORD})
    assert right.status_code == 429
    login(client, "expert_a")


def test_failed_sign_ins_are_throttled_per_address(app, client, world):
    app.config["SIGN_IN_LIMIT_PER_ADDRESS"] = "4 per 15 minutes"
    for n in range(4):
        assert _fail(client, f"guess{n}").status_code == 200
    assert _fail(client, "guess-next").status_code == 429
    assert _fail(client, "guess-next", address="10.0.0.7").status_code == 200


def test_successful_sign_ins_do_not_count(app, client, world):
    app.config["SIGN_IN_LIMIT_PER_ACCOUNT"] = "2 per 15 minutes"
    for _ in range(4):
        login(client, "staff")
        client.post("/logout")


def test_throttling_counts_in_redis_when_configured(app, database_url, tmp_path):
    """With REDIS_URL the counts live in Redis, so every worker and machine sees them: a new app
    (another worker) refuses the attempt that the first one's failures used up."""
    run = uuid.uuid4().hex  # this run's own account and address, so no count of another run
    username, address = f"nobody-{run}", f"10.{run[0:2]}.{run[2:4]}.{run[4:6]}"
    config = {
        **{k: app.config[k] for k in ("SECRET_KEY", "TODAY", "PASSWORD_HASH_METHOD")},
        "TESTING": True,
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "REDIS_URL": REDIS_URL,
        "SIGN_IN_LIMIT_PER_ACCOUNT": "2 per 15 minutes",
    }
    store = redis.Redis.from_url(REDIS_URL)
    workers = []

    def worker():
        workers.append(create_app(config))
        workers[-1].test_client_class = CSRFClient
        return workers[-1].test_client()

    try:
        first = worker()
        for _ in range(2):
            assert _fail(first, username, address).status_code == 200
        assert store.keys(f"*{run}*"), "the counts are kept in Redis"
        assert _fail(worker(), username, address).status_code == 429
    finally:
        for key in store.keys(f"*{run}*"):
            store.delete(key)
        store.close()
        for each in workers:
            with each.app_context():
                db.engine.dispose()


def test_an_unknown_user_takes_as_long_as_a_wrong_password(app, client, world, session):
    app.config["PASSWORD_HASH_METHOD"] = "scrypt"
    app.config["SIGN_IN_LIMIT_PER_ACCOUNT"] = app.config["SIGN_IN_LIMIT_PER_ADDRESS"] = "1000/hour"
    world.staff.set_password(factories.PASSWORD)
    session.commit()

    def median_seconds(username: str) -> float:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            _fail(client, username)
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    median_seconds("staff")  # warm up
    wrong, unknown = median_seconds("staff"), median_seconds("nobody-here")
    # Without the decoy check an unknown user answered about 14 times faster.
    assert 0.5 < unknown / wrong < 2, (wrong, unknown)


@pytest.mark.parametrize("password", ["12345678", "aaaaaaaa", "aaaaaaaaaaaa", "password123!"])
def test_weak_passwords_are_refused_by_the_service(session, world, password):
    with pytest.raises(services.UserError) as refused:
        services.create_user(
            session, world.admin, password, username="newbie", display_name="N", role="staff"
        )
    assert refused.value.field == "password"
    with pytest.raises(services.UserError):
        services.reset_password(session, world.admin, world.staff, password)


def test_a_password_made_of_the_username_is_refused(session, world):
    with pytest.raises(services.UserError, match="too easy"):
        services.create_user(
            session,
            world.admin,
            "zhangwei2026",
            username="zhangwei",
            display_name="张伟",
            role="staff",
        )


def test_the_admin_page_shows_the_policy_message(client, world):
    login(client, "admin")
    response = client.post(
        f"/users/{world.staff.id}/password",
        data={"pw-password": "12345678", "pw-confirm": "12345678"},
    )
    assert response.status_code == 400
    assert "at least 10 characters" in response.get_data(as_text=True)
