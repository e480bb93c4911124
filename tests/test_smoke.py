from tests.conftest import login


def test_staff_sees_board_and_case(client, world):
    login(client, "staff")
    page = client.get("/")
    assert page.status_code == 200
    assert "甲企业有限公司" in page.get_data(as_text=True)
    page = client.get(f"/cases/{world.case_a.id}")
    assert page.status_code == 200, page.get_data(as_text=True)
