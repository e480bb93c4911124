"""The JSON API: bearer tokens (created, revoked, refused), one error shape, the same permission
rules and services as the pages, optimistic locking, and firm isolation."""

import io
from datetime import date, timedelta

import pytest
from sqlmodel import select

from pilot.api import services as tokens
from pilot.api.models import ApiToken
from pilot.files.models import StoredFile
from pilot.rectification import services as items
from pilot.rectification.models import ItemStatus
from pilot.reports.archive import store
from pilot.reports.pdf import Rendered
from tests.conftest import TODAY, login
from tests.factories import make_batch, make_case, pdf_bytes

ON = date.fromisoformat(TODAY)
ERROR_KEYS = {"status", "code", "message", "fields", "current_version"}


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}", "Accept-Language": "en"}


def token_of(session, user) -> str:
    _token, secret = tokens.issue_token(session, user, "test")
    session.commit()
    return secret


@pytest.fixture
def secrets(session, world) -> dict[str, str]:
    """A token for each of the world's users, by username."""
    users = [world.admin, world.staff, world.expert_a, world.expert_b]
    users += [world.firm_user_a, world.firm_user_b]
    return {user.username: token_of(session, user) for user in users}


@pytest.fixture
def item(session, world):
    made = items.add_item(
        session,
        world.staff,
        world.case_a,
        description="质量目标未分解",
        severity="general",
        due_date=None,
        today=ON,
    )
    session.commit()
    return made


def get(client, url, secret, **kwargs):
    return client.get(url, headers=bearer(secret), **kwargs)


def send(client, method, url, secret, json=None, headers=None, **kwargs):
    return client.open(
        url, method=method, json=json, headers={**bearer(secret), **(headers or {})}, **kwargs
    )


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == ERROR_KEYS
    assert body["status"] == status and body["code"] == code and body["message"]
    return body


# Tokens -----------------------------------------------------------------------------------------


def test_a_token_from_the_command_line_calls_the_api_as_its_user(runner, client, world):
    result = runner.invoke(args=["tokens", "create", "--username", "firm_a", "--name", "平台"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip()
    assert secret.startswith("pcm_")
    response = get(client, "/api/v1/me", secret)
    assert response.status_code == 200
    assert response.get_json()["username"] == "firm_a"
    assert response.get_json()["role"] == "firm"


def test_only_the_hash_of_a_secret_is_kept(session, world):
    token, secret = tokens.issue_token(session, world.staff, "x")
    session.commit()
    assert secret not in (token.token_hash, token.prefix)
    assert token.token_hash == tokens.hash_secret(secret)
    assert secret.startswith(token.prefix)


def test_the_command_line_lists_and_revokes_a_token(runner, client, world, session):
    secret = runner.invoke(args=["tokens", "create", "--username", "staff"]).output.strip()
    listed = runner.invoke(args=["tokens", "list", "--username", "staff"]).output
    token_id = listed.split("\t")[0]
    assert secret[:10] in listed and secret not in listed
    result = runner.invoke(args=["tokens", "revoke", "--username", "staff", token_id])
    assert result.exit_code == 0, result.output
    assert_error(get(client, "/api/v1/me", secret), 401, "unauthorized")
    unknown = runner.invoke(args=["tokens", "create", "--username", "nobody"])
    assert unknown.exit_code != 0 and "nobody" in unknown.output


def test_a_revoked_token_is_refused_at_once(client, session, world):
    secret = token_of(session, world.firm_user_a)
    assert get(client, "/api/v1/cases", secret).status_code == 200
    token = session.exec(select(ApiToken)).one()
    tokens.revoke_token(session, world.firm_user_a, token)
    session.commit()
    response = get(client, "/api/v1/cases", secret)
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_deactivated_users_token_is_refused(client, session, world):
    secret = token_of(session, world.expert_a)
    world.expert_a.active = False
    session.commit()
    assert_error(get(client, "/api/v1/me", secret), 401, "unauthorized")


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer pcm_not-a-token", "Basic c3RhZmY6cGFzc3dvcmQ=", "pcm_x"],
)
def test_a_call_without_a_valid_token_is_refused(client, world, header):
    headers = {"Authorization": header} if header else {}
    response = client.get(f"/api/v1/cases/{world.case_a.id}", headers=headers)
    body = assert_error(response, 401, "unauthorized")
    assert world.firm_a.name not in str(body)


def test_a_signed_in_browser_session_is_no_api_credential(client, world, item):
    """The API takes bearer tokens only: a cookie session reads nothing and writes nothing, so
    another site cannot make a signed-in browser call it (and the API needs no CSRF token)."""
    login(client, "firm_a")
    assert_error(client.get("/api/v1/cases"), 401, "unauthorized")
    response = client.patch(f"/api/v1/items/{item.id}", json={"measure": "m", "version": 1})
    assert_error(response, 401, "unauthorized")


def test_a_token_call_needs_no_csrf_token(client, session, world, item):
    secret = token_of(session, world.firm_user_a)
    response = send(
        client, "PATCH", f"/api/v1/items/{item.id}", secret, {"measure": "m", "version": 1}
    )
    assert response.status_code == 200, response.get_data(as_text=True)


def test_a_user_creates_and_revokes_tokens_on_the_profile_page(client, session, world):
    login(client, "expert_a")
    page = client.get("/profile/tokens")
    assert page.status_code == 200 and "API tokens" in page.get_data(as_text=True)
    created = client.post("/profile/tokens", data={"name": "我的脚本"})
    assert created.status_code == 200
    token = session.exec(select(ApiToken).where(ApiToken.user_id == world.expert_a.id)).one()
    html = created.get_data(as_text=True)
    secret = html.split('id="new-token">')[1].split("<")[0]
    assert tokens.hash_secret(secret) == token.token_hash
    # Shown once: the list shows only the first characters.
    again = client.get("/profile/tokens").get_data(as_text=True)
    assert secret not in again and token.prefix in again
    assert get(client, "/api/v1/me", secret).get_json()["username"] == "expert_a"
    revoked = client.post(f"/profile/tokens/{token.id}/revoke")
    assert revoked.status_code == 302
    assert_error(get(client, "/api/v1/me", secret), 401, "unauthorized")


def test_a_text_holding_a_nul_character_is_refused_on_its_field(client, session, world):
    """PostgreSQL cannot store a NUL character: every form refuses it as a field error."""
    login(client, "expert_a")
    refused = client.post("/profile/tokens", data={"name": "a\x00b"})
    assert refused.status_code == 400
    assert "Remove the invisible control character" in refused.get_data(as_text=True)
    assert session.exec(select(ApiToken).where(ApiToken.user_id == world.expert_a.id)).all() == []


def test_a_nul_character_in_a_call_is_refused(client, session, world, item):
    """Nor in the API: the body, the query string and a form field, answered 422 before any
    service sees it (PostgreSQL would fail on it)."""
    _token, secret = tokens.issue_token(session, world.firm_user_a, "a")
    session.commit()
    patched = send(
        client, "PATCH", f"/api/v1/items/{item.id}", secret, {"measure": "a\x00b", "version": 1}
    )
    assert_error(patched, 422, "invalid")
    assert_error(get(client, "/api/v1/cases?stage=a%00b", secret), 422, "invalid")
    session.refresh(item)
    assert item.measure == ""


def test_nobody_revokes_another_users_token(client, session, world):
    token, secret = tokens.issue_token(session, world.firm_user_b, "b")
    session.commit()
    login(client, "firm_a")
    assert client.post(f"/profile/tokens/{token.id}/revoke").status_code == 404
    assert get(client, "/api/v1/me", secret).status_code == 200


def test_the_token_form_needs_a_name_and_its_csrf_token(client, world):
    login(client, "staff")
    assert client.post("/profile/tokens", data={"name": ""}).status_code == 400
    assert client.post("/profile/tokens", data={"name": "x"}, csrf=False).status_code == 400


# Errors -----------------------------------------------------------------------------------------


def test_unknown_addresses_and_methods_answer_the_error_shape(client, secrets):
    assert_error(get(client, "/api/v1/nothing", secrets["staff"]), 404, "not_found")
    response = send(client, "DELETE", "/api/v1/cases", secrets["staff"])
    assert_error(response, 405, "method_not_allowed")


def test_invalid_fields_answer_422_with_messages_per_field(client, secrets, world):
    response = get(client, "/api/v1/cases?per_page=1000&stage=nowhere", secrets["staff"])
    body = assert_error(response, 422, "invalid")
    assert set(body["fields"]) == {"per_page", "stage"}
    response = send(
        client,
        "POST",
        f"/api/v1/cases/{world.case_a.id}/items",
        secrets["staff"],
        {"description": "d", "severity": "observation"},
    )
    assert set(assert_error(response, 422, "invalid")["fields"]) == {"severity"}


def test_a_services_refusal_of_a_field_is_a_422_for_that_field(client, secrets, item):
    response = send(
        client, "POST", f"/api/v1/items/{item.id}/return", secrets["expert_a"], {"reason": " "}
    )
    # The item is open: the state refuses first (409), whatever the reason says.
    assert_error(response, 409, "conflict")
    response = send(
        client, "POST", f"/api/v1/items/{item.id}/waive", secrets["staff"], {"reason": " "}
    )
    assert assert_error(response, 422, "invalid")["fields"] == {
        "reason": ["Give a reason for waiving the item."]
    }


def test_messages_follow_accept_language(client, secrets):
    response = client.get(
        "/api/v1/nothing",
        headers={"Authorization": f"Bearer {secrets['staff']}", "Accept-Language": "zh-CN"},
    )
    assert response.get_json()["message"] != "There is no such record, or you may not see it."


# Cases ------------------------------------------------------------------------------------------


def test_each_role_lists_the_cases_it_may_see(client, secrets, world):
    def ids(who):
        response = get(client, "/api/v1/cases", secrets[who])
        assert response.status_code == 200
        return {case["id"] for case in response.get_json()["items"]}

    both = {world.case_a.id, world.case_b.id}
    assert ids("staff") == both and ids("admin") == both
    assert ids("expert_a") == {world.case_a.id}
    assert ids("expert_b") == set()
    assert ids("firm_a") == {world.case_a.id}
    assert ids("firm_b") == {world.case_b.id}


def test_cases_filter_by_batch_stage_and_overdue_and_come_in_pages(client, session, secrets, world):
    # The world's batch started 2026-03-02: its survey was due 2026-03-23, overdue on TODAY.
    other = make_case(session, make_batch(session, start=ON), world.firm_a)
    session.commit()
    url = "/api/v1/cases"
    body = get(client, f"{url}?batch={world.batch.id}", secrets["staff"]).get_json()
    assert {c["id"] for c in body["items"]} == {world.case_a.id, world.case_b.id}
    body = get(client, f"{url}?overdue=false", secrets["staff"]).get_json()
    assert [c["id"] for c in body["items"]] == [other.id]
    assert body["items"][0]["is_overdue"] is False
    body = get(client, f"{url}?stage=survey&overdue=true", secrets["staff"]).get_json()
    assert {c["id"] for c in body["items"]} == {world.case_a.id, world.case_b.id}
    assert body["items"][0]["stages"][0]["status"] == "overdue"
    assert get(client, f"{url}?stage=plan", secrets["staff"]).get_json()["total"] == 0
    first = get(client, f"{url}?per_page=2&page=1", secrets["staff"]).get_json()
    second = get(client, f"{url}?per_page=2&page=2", secrets["staff"]).get_json()
    assert first["total"] == second["total"] == 3
    assert len(first["items"]) == 2 and len(second["items"]) == 1
    assert not {c["id"] for c in first["items"]} & {c["id"] for c in second["items"]}


def test_a_case_and_its_stages(client, secrets, world):
    case = get(client, f"/api/v1/cases/{world.case_a.id}", secrets["firm_a"]).get_json()
    assert case["firm"]["name"] == world.firm_a.name
    assert case["current_stage"] == "survey"
    assert case["lead_expert"]["id"] == world.expert_a.id
    stages = get(client, f"/api/v1/cases/{world.case_a.id}/stages", secrets["expert_a"]).get_json()
    assert [s["code"] for s in stages["stages"]] == [
        "survey",
        "diagnosis",
        "rectification",
        "training",
        "plan",
        "evaluation",
    ]
    assert stages["stages"][0]["due"] == world.case_a.survey_due.isoformat()


def test_batches_and_firms(client, secrets, world, session):
    make_batch(session, name="另一批")
    session.commit()

    def names(who):
        return {b["name"] for b in get(client, "/api/v1/batches", secrets[who]).get_json()["items"]}

    assert "另一批" in names("staff")
    assert names("firm_a") == {world.batch.name}
    assert names("expert_b") == set()
    firms = get(client, "/api/v1/firms", secrets["staff"]).get_json()
    assert firms["total"] == 2
    assert_error(get(client, "/api/v1/firms", secrets["firm_a"]), 404, "not_found")
    assert_error(
        get(client, f"/api/v1/firms/{world.firm_a.id}", secrets["expert_a"]), 404, "not_found"
    )


# Items: the firm's work, the expert's check, optimistic locking ----------------------------------


def test_firm_works_uploads_and_submits_then_the_expert_verifies(client, secrets, world, item):
    url = f"/api/v1/items/{item.id}"
    read = get(client, url, secrets["firm_a"])
    assert read.headers["ETag"] == '"1"'
    worked = send(
        client,
        "PATCH",
        url,
        secrets["firm_a"],
        {"root_cause": "考核缺失", "measure": "分解目标到车间", "note": "已开会"},
        headers={"If-Match": read.headers["ETag"]},
    )
    assert worked.status_code == 200, worked.get_data(as_text=True)
    assert worked.get_json()["status"] == "in_progress"
    assert worked.get_json()["notes"][0]["text"] == "已开会"
    upload = client.post(
        f"{url}/evidence",
        headers=bearer(secrets["firm_a"]),
        data={"files": [(io.BytesIO(pdf_bytes()), "签到表.pdf")]},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 201, upload.get_data(as_text=True)
    file_id = upload.get_json()["items"][0]["id"]
    version = get(client, url, secrets["firm_a"]).get_json()["version"]
    submitted = send(client, "POST", f"{url}/submit", secrets["firm_a"], {"version": version})
    assert submitted.get_json()["status"] == "submitted"
    # The firm may not verify its own item; the assigned expert may.
    assert_error(send(client, "POST", f"{url}/verify", secrets["firm_a"]), 403, "forbidden")
    verified = send(client, "POST", f"{url}/verify", secrets["expert_a"])
    assert verified.status_code == 200
    assert verified.get_json()["status"] == ItemStatus.VERIFIED
    assert verified.get_json()["verified_by_id"] == world.expert_a.id
    assert verified.get_json()["evidence"][0]["id"] == file_id
    download = get(client, f"/api/v1/files/{file_id}", secrets["expert_a"])
    assert download.status_code == 200 and download.data.startswith(b"%PDF")


def test_the_expert_returns_a_submitted_item_with_a_reason(client, session, secrets, world, item):
    item.measure = "m"
    world.batch.evidence_required = False
    session.commit()
    send(client, "POST", f"/api/v1/items/{item.id}/submit", secrets["firm_a"])
    returned = send(
        client, "POST", f"/api/v1/items/{item.id}/return", secrets["expert_a"], {"reason": "缺记录"}
    )
    assert returned.get_json()["status"] == "returned"
    assert returned.get_json()["reason"] == "缺记录"


def test_a_save_on_an_older_version_is_refused_with_the_current_version(client, secrets, item):
    url = f"/api/v1/items/{item.id}"
    assert (
        send(client, "PATCH", url, secrets["firm_a"], {"measure": "a", "version": 1}).status_code
        == 200
    )
    stale = send(client, "PATCH", url, secrets["firm_a"], {"measure": "b", "version": 1})
    body = assert_error(stale, 409, "conflict")
    assert body["current_version"] == 2
    assert get(client, url, secrets["firm_a"]).get_json()["measure"] == "a"
    stale = send(
        client, "PATCH", url, secrets["firm_a"], {"measure": "b"}, headers={"If-Match": '"1"'}
    )
    assert assert_error(stale, 409, "conflict")["current_version"] == 2


def test_a_change_without_a_version_or_with_two_different_ones_is_refused(client, secrets, item):
    url = f"/api/v1/items/{item.id}"
    body = assert_error(
        send(client, "PATCH", url, secrets["firm_a"], {"measure": "a"}), 422, "invalid"
    )
    assert set(body["fields"]) == {"version"}
    both = send(
        client,
        "PATCH",
        url,
        secrets["firm_a"],
        {"measure": "a", "version": 1},
        headers={"If-Match": "2"},
    )
    assert set(assert_error(both, 422, "invalid")["fields"]) == {"version"}
    bad = send(client, "PATCH", url, secrets["firm_a"], {"measure": "a"}, headers={"If-Match": "*"})
    assert set(assert_error(bad, 422, "invalid")["fields"]) == {"If-Match"}


def test_staff_and_the_assigned_expert_add_items_the_firm_may_not(client, secrets, world):
    url = f"/api/v1/cases/{world.case_a.id}/items"
    new = {"description": "补充问题", "severity": "severe"}
    added = send(client, "POST", url, secrets["expert_a"], new)
    assert added.status_code == 201
    assert added.get_json()["due_date"] == (ON + timedelta(days=30)).isoformat()
    assert_error(send(client, "POST", url, secrets["firm_a"], new), 403, "forbidden")
    assert_error(send(client, "POST", url, secrets["expert_b"], new), 404, "not_found")


# A firm never reaches another firm's records ---------------------------------------------------


def test_a_firm_token_never_reaches_another_firms_case_item_file_or_report(
    client, session, secrets, world, item
):
    evidence = client.post(
        f"/api/v1/items/{item.id}/evidence",
        headers=bearer(secrets["firm_a"]),
        data={"files": [(io.BytesIO(pdf_bytes()), "证据.pdf")]},
        content_type="multipart/form-data",
    ).get_json()["items"][0]["id"]
    store(session, world.staff, world.case_a, Rendered(pdf_bytes(), 1))
    session.commit()
    case = world.case_a.id
    secret = secrets["firm_b"]
    for url in (
        f"/api/v1/cases/{case}",
        f"/api/v1/cases/{case}/stages",
        f"/api/v1/cases/{case}/items",
        f"/api/v1/cases/{case}/visits",
        f"/api/v1/cases/{case}/plan",
        f"/api/v1/cases/{case}/diagnosis/baseline",
        f"/api/v1/cases/{case}/report",
        f"/api/v1/items/{item.id}",
        f"/api/v1/files/{evidence}",
        f"/api/v1/batches/{world.batch.id + 99}",
    ):
        response = get(client, url, secret)
        body = assert_error(response, 404, "not_found")
        assert world.firm_a.name not in str(body), url
    for method, url, data in (
        ("PATCH", f"/api/v1/items/{item.id}", {"measure": "x", "version": 1}),
        ("POST", f"/api/v1/items/{item.id}/submit", {}),
        ("POST", f"/api/v1/cases/{case}/items", {"description": "d", "severity": "general"}),
    ):
        assert_error(send(client, method, url, secret, data), 404, "not_found")
    listed = get(client, "/api/v1/cases", secret).get_json()["items"]
    assert world.firm_a.name not in str(listed)
    assert session.get(StoredFile, evidence) is not None
    # Its own firm reads the same records.
    assert get(client, f"/api/v1/files/{evidence}", secrets["firm_a"]).status_code == 200


def test_an_open_cases_report_is_a_draft_made_now(client, secrets, world):
    response = get(client, f"/api/v1/cases/{world.case_a.id}/report", secrets["firm_a"])
    assert response.status_code == 200
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
    assert "attachment" in response.headers["Content-Disposition"]


def test_the_report_of_a_closed_case_is_the_archived_one(client, session, secrets, world):
    from pilot.database import utcnow

    archived = pdf_bytes("archived")
    store(session, world.staff, world.case_a, Rendered(archived, 1))
    world.case_a.closed_at = utcnow()
    session.commit()
    response = get(client, f"/api/v1/cases/{world.case_a.id}/report", secrets["firm_a"])
    assert response.status_code == 200
    assert response.mimetype == "application/pdf" and response.data == archived


# The document -----------------------------------------------------------------------------------


def test_the_openapi_document_covers_every_endpoint(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert doc["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    documented = {
        (method.upper(), path) for path, operations in doc["paths"].items() for method in operations
    }
    from pilot.api.spec import _openapi_path

    routes = {
        (method, _openapi_path(str(rule)))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.") and rule.endpoint not in ("api.openapi", "api.docs")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routes == documented
    upload = doc["paths"]["/api/v1/items/{item_id}/evidence"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    report = doc["paths"]["/api/v1/cases/{case_id}/report"]["get"]["responses"]["200"]
    assert "application/pdf" in report["content"]


def test_the_docs_page_loads_nothing_from_other_sites(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "/api/v1/cases" in html and "Authorization: Bearer" in html
    assert '<script src="http' not in html and "cdn" not in html.lower()
