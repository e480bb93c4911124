"""Every route × every kind of user, driven by DESIGN.md's "Who may do what".

Each row names a route, how to call it and which users may. Everyone else must get 403 or 404
(never the data), and an anonymous visitor is sent to /login. A route missing from this table
fails test_every_route_is_in_the_matrix.
"""

from dataclasses import dataclass, field

import pytest

from tests.conftest import login

USERS = {
    "admin": "admin",
    "staff": "staff",
    "expert_assigned": "expert_a",
    "expert_other": "expert_b",
    "firm_own": "firm_a",
    "firm_other": "firm_b",
}
STAFF = {"admin", "staff"}
CASE_READERS = STAFF | {"expert_assigned", "firm_own"}
EVERYONE = set(USERS)


@dataclass
class Route:
    endpoint: str
    method: str
    path: str
    allowed: set[str]
    data: dict = field(default_factory=dict)
    #: Status codes that count as "allowed" (a redirect after a POST, say).
    ok: tuple[int, ...] = (200,)


ROUTES = [
    Route("board.home", "GET", "/", EVERYONE),
    Route("cases.show", "GET", "/cases/{case_a}", CASE_READERS),
    Route("cases.withdraw", "POST", "/cases/{case_a}/withdraw", STAFF, {"reason": "r"}, (302,)),
    Route("cases.reinstate", "POST", "/cases/{case_a}/reinstate", set(), {"reason": "r"}, (302,)),
    Route("cases.mark_stage", "POST", "/cases/{case_a}/stages/survey/mark", STAFF,
          {"reason": "r"}, (302,)),
    Route("cases.unmark_stage", "POST", "/cases/{case_a}/stages/survey/unmark", STAFF,
          {"reason": "r"}, (302,)),
    Route("cases.due_dates", "GET", "/cases/{case_a}/due-dates", STAFF),
    Route("cases.experts", "GET", "/cases/{case_a}/experts", STAFF),
    Route("accounts.users", "GET", "/users", {"admin"}),
    Route("accounts.new_user", "GET", "/users/new", {"admin"}),
    Route("accounts.edit_user", "GET", "/users/{firm_user_b}", {"admin"}),
    Route("accounts.reset_password", "POST", "/users/{firm_user_b}/password", {"admin"},
          {"pw-password": "new-password-1", "pw-confirm": "new-password-1"}, (302,)),
    Route("accounts.toggle_active", "POST", "/users/{firm_user_b}/active", {"admin"}, {},
          (302,)),
]

#: Routes open to anyone (no data behind them) or that only sign in/out.
PUBLIC = {"accounts.login", "accounts.logout", "static", "fonts.font", "i18n.set_language"}


def resolve(path: str, world) -> str:
    ids = {name: getattr(world, name).id for name in vars(world)}
    return path.format(**ids)


def call(client, route: Route, world):
    url = resolve(route.path, world)
    if route.method == "GET":
        return client.get(url)
    return client.post(url, data=dict(route.data))


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.endpoint}")
@pytest.mark.parametrize("who", list(USERS))
def test_route_permissions(client, world, route, who):
    login(client, USERS[who])
    response = call(client, route, world)
    if who in route.allowed:
        assert response.status_code in route.ok, response.get_data(as_text=True)[:300]
    else:
        assert response.status_code in (403, 404)
        # Nothing of firm A leaks into a refusal.
        assert world.firm_a.name not in response.get_data(as_text=True)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.endpoint}")
def test_anonymous_is_sent_to_login(client, world, route):
    response = call(client, route, world)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_every_route_is_in_the_matrix(app):
    covered = {r.endpoint for r in ROUTES} | PUBLIC
    missing = {rule.endpoint for rule in app.url_map.iter_rules()} - covered
    assert not missing, f"routes missing from the permission matrix: {sorted(missing)}"


def test_withdrawn_case_can_be_reinstated_by_staff_only(client, world, session):
    from pilot.cases.services import withdraw_case

    withdraw_case(session, world.staff, world.case_a, "moved away")
    session.commit()
    for who in ("expert_assigned", "firm_own"):
        login(client, USERS[who])
        assert client.post(f"/cases/{world.case_a.id}/reinstate", data={"reason": "x"}).status_code == 403
        client.post("/logout")
    login(client, "staff")
    response = client.post(f"/cases/{world.case_a.id}/reinstate", data={"reason": "back"})
    assert response.status_code == 302
    session.refresh(world.case_a)
    assert not world.case_a.is_withdrawn
