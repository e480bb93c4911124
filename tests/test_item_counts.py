"""Item counts on the board: per case by status and overdue; per batch closure by severity."""

from datetime import timedelta

from pilot.database import today
from pilot.rectification import services
from pilot.rectification.queries import batch_counts, counts_by_case
from tests.conftest import login


def make_items(session, world):
    day = today()
    add = lambda severity, due: services.add_item(  # noqa: E731
        session,
        world.staff,
        world.case_a,
        description=f"{severity} {due}",
        severity=severity,
        due_date=due,
        today=day,
    )
    items = [
        add("severe", day),
        add("severe", day + timedelta(days=9)),
        add("general", day + timedelta(days=9)),
        add("general", day + timedelta(days=9)),
    ]
    world.batch.evidence_required = False
    for item in items[1:3]:
        services.work(session, world.firm_user_a, item, version=None, measure="措施")
        services.submit(session, world.firm_user_a, item)
    services.return_item(session, world.expert_a, items[1], "证据不足")
    services.verify(session, world.expert_a, items[2])
    services.waive(session, world.staff, items[3], "已随技改解决")
    session.commit()
    return items


def test_counts_per_case_and_batch(session, world):
    make_items(session, world)
    later = today() + timedelta(days=1)  # the first item is now past due
    c = counts_by_case(session, [world.case_a.id, world.case_b.id], later)[world.case_a.id]
    assert (c.total, c.open, c.submitted, c.returned, c.closed, c.overdue) == (4, 1, 0, 1, 2, 1)
    b = batch_counts(session, world.batch.id, later)
    assert dict(b.by_severity) == {"severe": [0, 2], "general": [2, 2]}
    assert b.closure_rate == 0.5


def test_board_shows_item_counts_and_closure_rate(client, session, world):
    make_items(session, world)
    login(client, "staff")
    page = client.get(f"/?batch={world.batch.id}").get_data(as_text=True)
    assert f'data-items="{world.case_a.id}"' in page
    assert 'data-closure="general">100%' in page
    assert 'data-closure="severe">0%' in page


def test_no_items_show_a_dash(client, world):
    login(client, "staff")
    page = client.get(f"/?batch={world.batch.id}").get_data(as_text=True)
    assert f'data-items="{world.case_b.id}">—' in page


def late_items(app, session, world):
    """Two items due today, one of them submitted; then the calendar moves a day on."""
    day = today()
    world.batch.evidence_required = False
    open_item, submitted = (
        services.add_item(
            session,
            world.staff,
            world.case_a,
            description=description,
            severity="general",
            due_date=day,
            today=day,
        )
        for description in ("仍待整改", "已提交待验证")
    )
    services.work(session, world.firm_user_a, submitted, version=None, measure="措施")
    services.submit(session, world.firm_user_a, submitted)
    session.commit()
    app.config["TODAY"] = (day + timedelta(days=1)).isoformat()
    return open_item, submitted


def test_a_submitted_item_past_due_is_not_overdue_on_the_board(app, client, session, world):
    open_item, submitted = late_items(app, session, world)
    later = today()
    assert services.is_overdue(open_item, later)
    assert not services.is_overdue(submitted, later)
    assert counts_by_case(session, [world.case_a.id], later)[world.case_a.id].overdue == 1
    login(client, "staff")
    page = client.get(f"/?batch={world.batch.id}").get_data(as_text=True)
    assert 'data-count="overdue-items">1<' in page


def test_a_submitted_item_past_due_is_not_overdue_on_the_checklist(app, client, session, world):
    open_item, submitted = late_items(app, session, world)
    login(client, "firm_a")
    page = client.get(f"/cases/{world.case_a.id}/items").get_data(as_text=True)
    assert 'data-overdue-count="1"' in page
    open_row = page[page.index(f'id="item-{open_item.id}"') :].split(">", 1)[0]
    submitted_row = page[page.index(f'id="item-{submitted.id}"') :].split(">", 1)[0]
    assert "data-overdue" in open_row
    assert "data-overdue" not in submitted_row
    case_page = client.get(f"/cases/{world.case_a.id}").get_data(as_text=True)
    assert 'data-overdue-count="1"' in case_page


def test_the_cli_counts_overdue_items_by_the_same_rule(app, runner, session, world):
    late_items(app, session, world)
    result = runner.invoke(args=["cases", "list", "--batch", world.batch.name])
    assert result.exit_code == 0, result.output
    rows = {r[2]: r for r in (line.split("\t") for line in result.output.splitlines())}
    assert rows[str(world.case_a.id)][6] == "1"
    assert rows[str(world.case_b.id)][6] == "0"
