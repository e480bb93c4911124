"""Batch pages: list, create and edit with validation, the batch page, opening cases."""

from datetime import date, timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from sqlmodel import select

from pilot.audit.models import AuditLog
from pilot.batches.models import DEFAULT_DUE_WEEKS, Batch
from pilot.cases.models import Case
from tests import factories
from tests.conftest import TODAY, login


class _FormReader(HTMLParser):
    """What a browser would send for one form of a page, as rendered (prefilled values)."""

    def __init__(self, action: str):
        super().__init__()
        self.action = action
        self.inside = False
        self.values: dict[str, list[str]] = {}
        self.select: str | None = None
        self.select_first: str | None = None
        self.textarea: str | None = None

    def _add(self, name: str, value: str) -> None:
        self.values.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action", "").split("#")[0] == self.action
        elif not self.inside:
            return
        elif tag == "input" and a.get("name") and a.get("name") != "csrf_token":
            if a.get("type") in ("checkbox", "radio"):
                if "checked" in a:
                    self._add(a["name"], a.get("value", "y"))
            else:
                self._add(a["name"], a.get("value", ""))
        elif tag == "select":
            self.select, self.select_first = a["name"], None
        elif tag == "option" and self.select:
            if self.select_first is None:
                self.select_first = a.get("value", "")
            if "selected" in a:
                self._add(self.select, a.get("value", ""))
        elif tag == "textarea":
            self.textarea = a["name"]
            self._add(self.textarea, "")

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self.select:
            if self.select not in self.values:
                self._add(self.select, self.select_first or "")
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data):
        if self.textarea:
            self.values[self.textarea][-1] += data.removeprefix("\n")


def form_values(html: str, action: str) -> dict:
    """The fields of the form posting to `action`, as the page prefilled them."""
    reader = _FormReader(action)
    reader.feed(html)
    assert reader.values, f"no form posting to {action}"
    return {k: v if len(v) > 1 else v[0] for k, v in reader.values.items()}


def use_english(client) -> None:
    client.post("/language", data={"lang": "en"})


def batch_data(**changes) -> dict:
    data = {
        "name": "2026年第二批",
        "year": "2026",
        "start_date": "2026-07-01",
        "end_date": "2026-12-30",
        **{f"{code}_due_weeks": str(weeks) for code, weeks in DEFAULT_DUE_WEEKS.items()},
        "required_training_sessions": "2",
        "severe_due_days": "30",
        "general_due_days": "60",
        "evidence_required": "y",
        "service_provider": "河南中质卓越质量管理咨询有限公司",
        "contract_ref": "ZZSJG-2026-ZL-021",
        "expert_hours_bought": "480.5",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def batches_named(session, name: str) -> list[Batch]:
    session.expire_all()
    return session.exec(select(Batch).where(Batch.name == name)).all()


def test_staff_creates_batch_with_default_offsets(client, world, session):
    login(client, "staff")
    page = client.get("/batches/new")
    assert page.status_code == 200
    data = form_values(page.get_data(as_text=True), "/batches/new")
    start = date.fromisoformat(TODAY)
    assert data["start_date"] == start.isoformat()
    assert data["end_date"] == (start + timedelta(weeks=26)).isoformat()
    assert data["evidence_required"] == "y"
    data["name"] = "2026年第二批质量提升试点"

    response = client.post("/batches/new", data=data)

    assert response.status_code == 302, response.get_data(as_text=True)
    [batch] = batches_named(session, "2026年第二批质量提升试点")
    assert response.headers["Location"] == f"/batches/{batch.id}"
    assert {code: batch.due_weeks(code) for code in DEFAULT_DUE_WEEKS} == DEFAULT_DUE_WEEKS
    assert (batch.year, batch.start_date, batch.end_date) == (
        2026,
        start,
        start + timedelta(weeks=26),
    )
    assert batch.required_training_sessions == 2
    assert (batch.severe_due_days, batch.general_due_days) == (30, 60)
    assert batch.evidence_required is True
    entry = session.exec(
        select(AuditLog).where(AuditLog.record_type == "batch", AuditLog.record_id == batch.id)
    ).one()
    assert (entry.action, entry.actor_id) == ("create", world.staff.id)


def test_admin_creates_batch_with_every_field(client, world, session):
    login(client, "admin")
    data = batch_data(
        survey_due_weeks="2",
        evaluation_due_weeks="25",
        required_training_sessions="0",
        severe_due_days="15",
        evidence_required=None,
    )
    response = client.post("/batches/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    [batch] = batches_named(session, "2026年第二批")
    assert batch.survey_due_weeks == 2
    assert batch.evaluation_due_weeks == 25
    assert batch.required_training_sessions == 0
    assert batch.severe_due_days == 15
    assert batch.evidence_required is False
    assert batch.service_provider == "河南中质卓越质量管理咨询有限公司"
    assert batch.contract_ref == "ZZSJG-2026-ZL-021"
    assert batch.expert_hours_bought == Decimal("480.5")


def test_batch_list_shows_dates_case_count_and_provider(client, world, session):
    factories.make_batch(
        session, "2027年首批", start=date(2027, 3, 1), service_provider="某咨询公司"
    )
    session.commit()
    login(client, "staff")
    page = client.get("/batches/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert world.batch.name in html and "2027年首批" in html
    assert "某咨询公司" in html
    assert "2027-03-01" in html
    assert 'href="/batches/new"' in html
    row = html.split(f'data-batch="{world.batch.id}"')[1].split("</tr>")[0]
    assert ">2<" in row  # case_a and case_b


def test_end_date_before_start_is_refused(client, world, session):
    login(client, "staff")
    use_english(client)
    response = client.post(
        "/batches/new", data=batch_data(start_date="2026-07-01", end_date="2026-06-01")
    )
    assert response.status_code == 200
    assert "The end date must come after the start date." in response.get_data(as_text=True)
    assert batches_named(session, "2026年第二批") == []


@pytest.mark.parametrize(
    "field, value",
    [
        ("year", "abc"),
        ("year", "99999999999999999999999"),
        ("survey_due_weeks", "-3"),
        ("survey_due_weeks", "1.5"),
        ("plan_due_weeks", ""),
        ("required_training_sessions", "-1"),
        ("severe_due_days", "0"),
        ("general_due_days", "1e3"),
        ("expert_hours_bought", "NaN"),
        ("expert_hours_bought", "sNaN"),
        ("expert_hours_bought", "Infinity"),
        ("expert_hours_bought", "-5"),
        ("expert_hours_bought", "12.25"),
        ("expert_hours_bought", "1e999"),
        ("start_date", "2026-02-30"),
        ("start_date", "9999-12-01"),
        ("name", ""),
        ("name", "x" * 101),
    ],
)
def test_bad_number_does_not_500(client, world, session, field, value):
    login(client, "staff")
    response = client.post("/batches/new", data=batch_data(**{field: value}))
    assert response.status_code == 200
    error = response.get_data(as_text=True).split('class="field has-error">')[1].split("</div>")[0]
    assert f'<label for="{field}"' in error
    assert error.count('class="error"') == 1  # one clear message, not one per validator
    assert session.exec(select(Batch).where(Batch.name != world.batch.name)).all() == []


def test_stage_due_before_the_stage_it_follows_is_refused(client, world, session):
    login(client, "staff")
    use_english(client)
    response = client.post("/batches/new", data=batch_data(plan_due_weeks="5"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "cannot be due before" in html
    assert '<label for="plan_due_weeks"' in html.split('class="field has-error">')[1]
    assert batches_named(session, "2026年第二批") == []


def test_stage_due_after_the_batch_ends_is_refused(client, world, session):
    login(client, "staff")
    use_english(client)
    response = client.post(
        "/batches/new", data=batch_data(end_date="2026-10-01", evaluation_due_weeks="26")
    )
    assert response.status_code == 200
    assert "This is due after the batch ends (2026-10-01)." in response.get_data(as_text=True)
    assert batches_named(session, "2026年第二批") == []


def test_duplicate_batch_name_is_refused_on_the_field(client, world, session):
    login(client, "staff")
    use_english(client)
    response = client.post("/batches/new", data=batch_data(name=world.batch.name))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    error = html.split('class="field has-error">')[1].split("</div>")[0]
    assert '<label for="name"' in error and "Another batch has this name." in error
    assert len(batches_named(session, world.batch.name)) == 1


def test_renaming_a_batch_to_a_taken_name_changes_nothing(client, world, session):
    other = factories.make_batch(session, "2027年首批", start=date(2027, 3, 1))
    session.commit()
    login(client, "staff")
    use_english(client)
    response = client.post(
        f"/batches/{other.id}/edit",
        data=batch_data(
            name=world.batch.name,
            start_date="2027-03-01",
            end_date="2027-12-31",
            contract_ref="changed",
            version="1",
        ),
    )
    assert response.status_code == 200
    assert "Another batch has this name." in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Batch, other.id).name == "2027年首批"
    assert session.get(Batch, other.id).contract_ref == ""


def test_editing_a_batch_keeps_the_due_dates_of_open_cases(client, world, session):
    login(client, "staff")
    page = client.get(f"/batches/{world.batch.id}/edit")
    assert page.status_code == 200
    data = form_values(page.get_data(as_text=True), f"/batches/{world.batch.id}/edit")
    assert data["name"] == world.batch.name
    assert data["survey_due_weeks"] == "3"
    survey_due = world.case_a.survey_due
    data.update(survey_due_weeks="4", service_provider="新服务机构")

    response = client.post(f"/batches/{world.batch.id}/edit", data=data)

    assert response.status_code == 302
    session.expire_all()
    batch = session.get(Batch, world.batch.id)
    assert (batch.survey_due_weeks, batch.service_provider) == (4, "新服务机构")
    assert session.get(Case, world.case_a.id).survey_due == survey_due
    entry = session.exec(
        select(AuditLog).where(AuditLog.record_type == "batch", AuditLog.action == "update")
    ).one()
    assert entry.after == {"survey_due_weeks": 4, "service_provider": "新服务机构"}


def test_batch_page_lists_its_cases_and_offers_the_other_firms(client, world, session):
    newcomer = factories.make_firm(session, "丙企业有限公司")
    session.commit()
    login(client, "staff")
    page = client.get(f"/batches/{world.batch.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'href="/cases/{world.case_a.id}">甲企业有限公司</a>' in html
    assert f'href="/cases/{world.case_b.id}">乙企业有限公司</a>' in html
    assert "Jinshui District" in html  # the district of both firms, in English
    open_form = html.split(f'action="/batches/{world.batch.id}/cases')[1].split("</form>")[0]
    assert f'value="{newcomer.id}"' in open_form and "丙企业有限公司" in open_form
    assert f'value="{world.firm_a.id}"' not in open_form


def test_opening_a_case_copies_due_dates_from_batch(client, world, session):
    firm = factories.make_firm(session, "丙企业有限公司")
    session.commit()
    login(client, "staff")
    response = client.post(f"/batches/{world.batch.id}/cases", data={"firm_ids": [str(firm.id)]})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/batches/{world.batch.id}"
    session.expire_all()
    case = session.exec(select(Case).where(Case.firm_id == firm.id)).one()
    start = world.batch.start_date
    for code, weeks in DEFAULT_DUE_WEEKS.items():
        assert case.due(code) == start + timedelta(weeks=weeks)
    page = client.get(f"/batches/{world.batch.id}")
    assert f'href="/cases/{case.id}">丙企业有限公司</a>' in page.get_data(as_text=True)


def test_opening_cases_for_several_firms_at_once(client, world, session):
    firms = [factories.make_firm(session) for _ in range(3)]
    session.commit()
    login(client, "staff")
    use_english(client)
    response = client.post(
        f"/batches/{world.batch.id}/cases",
        data={"firm_ids": [str(f.id) for f in firms]},
        follow_redirects=True,
    )
    assert "Opened 3 cases in" in response.get_data(as_text=True)
    session.expire_all()
    opened = session.exec(select(Case).where(Case.batch_id == world.batch.id)).all()
    assert {c.firm_id for c in opened} == {world.firm_a.id, world.firm_b.id} | {f.id for f in firms}


def test_opening_cases_without_a_firm_gives_a_message(client, world, session):
    factories.make_firm(session, "丙企业有限公司")
    session.commit()
    login(client, "staff")
    use_english(client)
    response = client.post(f"/batches/{world.batch.id}/cases", data={})
    assert response.status_code == 400
    assert "Choose at least one firm." in response.get_data(as_text=True)
    session.expire_all()
    assert len(session.exec(select(Case)).all()) == 2


def test_opening_a_case_for_a_firm_already_in_the_batch_opens_none(client, world, session):
    newcomer = factories.make_firm(session, "丙企业有限公司")
    session.commit()
    login(client, "staff")
    response = client.post(
        f"/batches/{world.batch.id}/cases",
        data={"firm_ids": [str(newcomer.id), str(world.firm_a.id)]},
    )
    assert response.status_code == 400
    assert "has-error" in response.get_data(as_text=True)
    session.expire_all()
    assert session.exec(select(Case).where(Case.firm_id == newcomer.id)).all() == []
    assert len(session.exec(select(Case).where(Case.firm_id == world.firm_a.id)).all()) == 1


def test_unknown_batch_is_404(client, world):
    login(client, "staff")
    assert client.get("/batches/999").status_code == 404
    assert client.get("/batches/999/edit").status_code == 404
    assert client.post("/batches/999/cases", data={"firm_ids": ["1"]}).status_code == 404


def _batch_requests(world):
    b = world.batch.id
    return [
        ("GET", "/batches/", None),
        ("GET", "/batches/new", None),
        ("POST", "/batches/new", batch_data()),
        ("GET", f"/batches/{b}", None),
        ("GET", f"/batches/{b}/edit", None),
        ("POST", f"/batches/{b}/edit", batch_data()),
        ("POST", f"/batches/{b}/cases", {"firm_ids": [str(world.firm_a.id)]}),
    ]


@pytest.mark.parametrize("username", ["firm_a", "expert_a", "expert_b"])
def test_firm_user_cannot_open_batch_pages(client, world, session, username):
    login(client, username)
    for method, url, data in _batch_requests(world):
        response = client.open(url, method=method, data=data)
        assert response.status_code in (403, 404), (method, url)
        assert world.batch.name not in response.get_data(as_text=True)
    assert batches_named(session, "2026年第二批") == []


def test_anonymous_visitor_is_sent_to_login(client, world):
    for method, url, data in _batch_requests(world):
        response = client.open(url, method=method, data=data)
        assert response.status_code == 302, (method, url)
        assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("username", ["admin", "staff"])
def test_admin_and_staff_may_open_batch_pages(client, world, username):
    login(client, username)
    for url in (
        "/batches/",
        "/batches/new",
        f"/batches/{world.batch.id}",
        f"/batches/{world.batch.id}/edit",
    ):
        assert client.get(url).status_code == 200, url
