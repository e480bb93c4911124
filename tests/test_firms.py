"""Firm pages: list and search, add and edit with validation, the firm page."""

from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import select

from pilot.audit.models import AuditLog
from pilot.firms.credit_code import complete
from pilot.firms.models import Firm
from tests import factories
from tests.conftest import login
from tests.test_batches import form_values, use_english

GOOD_CODE = complete("91410100MA44ABCD0")


def wrong_check(code: str) -> str:
    """The same code with a wrong last (check) character."""
    return code[:17] + ("1" if code[17] != "1" else "2")


def firm_data(**changes) -> dict:
    data = {
        "name": "丙企业有限公司",
        "credit_code": GOOD_CODE,
        "district": "410181",
        "industry_code": "32",
        "mujun_class": "A",
        "mujun_year": "2025",
        "land_mu": "126.50",
        "employees": "420",
        "revenue": "38600.25",
        "address": "巩义市站街镇工业园区1号",
        "contacts-0-name": "张伟",
        "contacts-0-title": "质量部部长",
        "contacts-0-phone": "13803710001",
        "contacts-0-email": "zhangwei@example.cn",
        "contacts-1-name": "",
        "contacts-1-title": "",
        "contacts-1-phone": "",
        "contacts-1-email": "",
        "contacts-2-name": "李娜",
        "contacts-2-title": "",
        "contacts-2-phone": "0371-6000000",
        "contacts-2-email": "",
        "certifications": ["ISO9001", "IATF16949"],
        "awards": "郑州市市长质量奖提名",
        "brands": "恒通\n华岳",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def firms_named(session, name: str) -> list[Firm]:
    session.expire_all()
    return session.exec(select(Firm).where(Firm.name == name)).all()


def error_of(html: str) -> str:
    """The first field marked in error, with its label and messages."""
    return html.split('class="field has-error">')[1].split("</div>")[0]


def test_staff_adds_firm_with_every_field(client, world, session):
    login(client, "staff")
    response = client.post("/firms/new", data=firm_data())
    assert response.status_code == 302, response.get_data(as_text=True)
    [firm] = firms_named(session, "丙企业有限公司")
    assert response.headers["Location"] == f"/firms/{firm.id}"
    assert firm.credit_code == GOOD_CODE
    assert (firm.district, firm.industry_code) == ("410181", "32")
    assert (firm.mujun_class, firm.mujun_year) == ("A", 2025)
    assert firm.land_mu == Decimal("126.50")
    assert firm.employees == 420
    assert firm.revenue == Decimal("38600.25")
    assert firm.address == "巩义市站街镇工业园区1号"
    assert firm.contacts == [  # the empty middle row is dropped
        {
            "name": "张伟",
            "title": "质量部部长",
            "phone": "13803710001",
            "email": "zhangwei@example.cn",
        },
        {"name": "李娜", "title": "", "phone": "0371-6000000", "email": ""},
    ]
    assert firm.certifications == ["ISO9001", "IATF16949"]
    assert (firm.awards, firm.brands) == ("郑州市市长质量奖提名", "恒通\n华岳")
    entry = session.exec(
        select(AuditLog).where(AuditLog.record_type == "firm", AuditLog.record_id == firm.id)
    ).one()
    assert (entry.action, entry.actor_id) == ("create", world.staff.id)


def test_new_firm_form_has_three_contact_rows_and_optional_numbers(client, world, session):
    login(client, "staff")
    page = client.get("/firms/new")
    assert page.status_code == 200
    data = form_values(page.get_data(as_text=True), "/firms/new")
    assert {f"contacts-{i}-name" for i in range(3)} <= set(data)
    assert "contacts-3-name" not in data
    assert data["mujun_year"] == "2025"  # the year before TODAY
    data.update(name="丁企业有限公司", credit_code=GOOD_CODE, district="410102", industry_code="14")
    response = client.post("/firms/new", data=data)
    assert response.status_code == 302, error_of(response.get_data(as_text=True))
    [firm] = firms_named(session, "丁企业有限公司")
    assert (firm.land_mu, firm.employees, firm.revenue) == (None, None, None)
    assert firm.contacts == [] and firm.certifications == []


def test_credit_code_is_normalised(client, world, session):
    login(client, "staff")
    response = client.post("/firms/new", data=firm_data(credit_code=f"  {GOOD_CODE.lower()} "))
    assert response.status_code == 302
    assert firms_named(session, "丙企业有限公司")[0].credit_code == GOOD_CODE


def test_invalid_credit_code_is_refused_with_message(client, world, session):
    login(client, "staff")
    use_english(client)
    response = client.post("/firms/new", data=firm_data(credit_code=wrong_check(GOOD_CODE)))
    assert response.status_code == 200
    error = error_of(response.get_data(as_text=True))
    assert '<label for="credit_code"' in error
    assert "the last one must match the check character" in error
    assert firms_named(session, "丙企业有限公司") == []


@pytest.mark.parametrize("code", ["91410100MA44ABCD", "91410100MA44ABCDOX", "无效代码"])
def test_malformed_credit_code_is_marked_in_error(client, world, session, code):
    login(client, "staff")  # the default language (zh_CN): assert on the marked field
    response = client.post("/firms/new", data=firm_data(credit_code=code))
    assert response.status_code == 200
    assert '<label for="credit_code"' in error_of(response.get_data(as_text=True))
    assert firms_named(session, "丙企业有限公司") == []


def test_duplicate_credit_code_is_refused(client, world, session):
    login(client, "staff")
    use_english(client)
    response = client.post("/firms/new", data=firm_data(credit_code=world.firm_a.credit_code))
    assert response.status_code == 200
    error = error_of(response.get_data(as_text=True))
    assert '<label for="credit_code"' in error
    assert "Another firm has this credit code: 甲企业有限公司." in error
    assert firms_named(session, "丙企业有限公司") == []


def test_changing_to_a_taken_credit_code_changes_nothing(client, world, session):
    login(client, "staff")
    use_english(client)
    response = client.post(
        f"/firms/{world.firm_b.id}/edit",
        data=firm_data(name="乙企业（改名）", credit_code=world.firm_a.credit_code, version="1"),
    )
    assert response.status_code == 200
    assert "Another firm has this credit code" in error_of(response.get_data(as_text=True))
    session.expire_all()
    firm_b = session.get(Firm, world.firm_b.id)
    assert firm_b.name == "乙企业有限公司"
    assert firm_b.credit_code != world.firm_a.credit_code


@pytest.mark.parametrize(
    "field, value",
    [
        ("employees", "abc"),
        ("employees", "-1"),
        ("employees", "99999999999999999999999"),
        ("mujun_year", "twenty"),
        ("mujun_year", "1899"),
        ("mujun_year", ""),
        ("land_mu", "NaN"),
        ("land_mu", "-Infinity"),
        ("land_mu", "1.234"),
        ("revenue", "1e999"),
        ("revenue", "sNaN"),
        ("revenue", "十万"),
        ("district", "999999"),
        ("district", ""),
        ("industry_code", "99"),
        ("mujun_class", "E"),
        ("certifications", "ISO0000"),
        ("name", ""),
        ("address", "路" * 301),
        ("contacts-0-email", "not-an-address"),
    ],
)
def test_bad_number_does_not_500(client, world, session, field, value):
    login(client, "staff")
    response = client.post("/firms/new", data=firm_data(**{field: value}))
    assert response.status_code == 200
    error = error_of(response.get_data(as_text=True))
    assert f'<label for="{field}"' in error
    assert error.count('class="error"') == 1  # one clear message, not one per validator
    session.expire_all()
    assert len(session.exec(select(Firm)).all()) == 2


def test_contact_without_a_name_is_refused(client, world, session):
    login(client, "staff")
    use_english(client)
    response = client.post("/firms/new", data=firm_data(**{"contacts-2-name": ""}))
    assert response.status_code == 200
    error = error_of(response.get_data(as_text=True))
    assert '<label for="contacts-2-name"' in error and "Give the contact's name." in error
    assert firms_named(session, "丙企业有限公司") == []


def test_edit_form_is_prefilled_and_saves_changes(client, world, session):
    firm = factories.make_firm(
        session,
        "丙企业有限公司",
        contacts=[{"name": "张伟", "title": "部长", "phone": "13800000000", "email": ""}],
        certifications=["ISO9001"],
        land_mu=Decimal("88.00"),
    )
    session.commit()
    login(client, "staff")
    page = client.get(f"/firms/{firm.id}/edit")
    assert page.status_code == 200
    data = form_values(page.get_data(as_text=True), f"/firms/{firm.id}/edit")
    assert data["name"] == "丙企业有限公司"
    assert data["credit_code"] == firm.credit_code
    assert data["district"] == "410105" and data["industry_code"] == "30"
    assert data["contacts-0-name"] == "张伟" and data["contacts-2-name"] == ""
    assert data["certifications"] == "ISO9001"
    assert data["land_mu"] == "88.00"
    data.update(
        {"employees": "500", "certifications": ["ISO9001", "ISO14001"], "contacts-1-name": "李娜"}
    )

    response = client.post(f"/firms/{firm.id}/edit", data=data)

    assert response.status_code == 302, error_of(response.get_data(as_text=True))
    session.expire_all()
    firm = session.get(Firm, firm.id)
    assert firm.employees == 500
    assert firm.certifications == ["ISO9001", "ISO14001"]
    assert [c["name"] for c in firm.contacts] == ["张伟", "李娜"]
    entry = session.exec(
        select(AuditLog).where(AuditLog.record_type == "firm", AuditLog.action == "update")
    ).one()
    assert set(entry.after) == {"employees", "certifications", "contacts"}


def test_edit_form_offers_an_empty_row_after_three_contacts(client, world, session):
    contacts = [{"name": n, "title": "", "phone": "", "email": ""} for n in ("甲", "乙", "丙")]
    firm = factories.make_firm(session, contacts=contacts)
    session.commit()
    login(client, "staff")
    page = client.get(f"/firms/{firm.id}/edit")
    data = form_values(page.get_data(as_text=True), f"/firms/{firm.id}/edit")
    assert data["contacts-2-name"] == "丙" and data["contacts-3-name"] == ""


def test_firm_list_searches_name_and_credit_code_and_filters(client, world, session):
    other = factories.make_firm(
        session, "郑州金穗速冻食品有限公司", district="410108", industry_code="14"
    )
    session.commit()
    login(client, "staff")

    def listed(query: str) -> set[str]:
        html = client.get(f"/firms/?{query}").get_data(as_text=True)
        return {name for name in ("甲企业", "乙企业", "金穗") if name in html}

    assert listed("") == {"甲企业", "乙企业", "金穗"}
    assert listed("q=金穗") == {"金穗"}
    assert listed(f"q={world.firm_b.credit_code[-8:].lower()}") == {"乙企业"}
    assert listed("district=410108") == {"金穗"}
    assert listed("industry=30") == {"甲企业", "乙企业"}
    assert listed("q=企业&district=410105") == {"甲企业", "乙企业"}
    assert listed("q=%25") == set()  # a literal "%", not a wildcard
    assert listed("district=nowhere") == set()
    assert other.name in client.get("/firms/?q=金穗").get_data(as_text=True)


def test_firm_page_shows_profile_and_cases_across_batches(client, world, session):
    later = factories.make_batch(session, "2027年首批", start=date(2027, 3, 1))
    case = factories.make_case(session, later, world.firm_a)
    session.commit()
    login(client, "staff")
    page = client.get(f"/firms/{world.firm_a.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert world.firm_a.credit_code in html
    assert "Jinshui District" in html
    assert f'href="/cases/{world.case_a.id}"' in html and f'href="/cases/{case.id}"' in html
    assert html.index("2027年首批") < html.index(world.batch.name)  # the newest batch first
    assert f'href="/cases/{world.case_b.id}"' not in html


def test_unknown_firm_is_404(client, world):
    login(client, "staff")
    assert client.get("/firms/999").status_code == 404
    assert client.get("/firms/999/edit").status_code == 404


def _firm_requests(world):
    f = world.firm_a.id
    return [
        ("GET", "/firms/", None),
        ("GET", "/firms/?q=甲", None),
        ("GET", "/firms/new", None),
        ("POST", "/firms/new", firm_data()),
        ("GET", f"/firms/{f}", None),
        ("GET", f"/firms/{f}/edit", None),
        ("POST", f"/firms/{f}/edit", firm_data(credit_code=world.firm_a.credit_code)),
    ]


@pytest.mark.parametrize("username", ["firm_a", "firm_b", "expert_a"])
def test_firm_user_cannot_open_firm_pages(client, world, session, username):
    login(client, username)
    for method, url, data in _firm_requests(world):
        response = client.open(url, method=method, data=data)
        assert response.status_code in (403, 404), (method, url)
        assert world.firm_a.credit_code not in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Firm, world.firm_a.id).name == "甲企业有限公司"
    assert firms_named(session, "丙企业有限公司") == []


def test_anonymous_visitor_is_sent_to_login(client, world):
    for method, url, data in _firm_requests(world):
        response = client.open(url, method=method, data=data)
        assert response.status_code == 302, (method, url)
        assert response.headers["Location"].startswith("/login")
