"""The cohort board is rendered once per data version and kept: any write through a session
(a flush with changes, a bulk statement) makes the next request render it again."""

import re

import sqlalchemy as sa
from sqlmodel import select

from pilot import data_version
from pilot.batches.models import Batch
from pilot.data_version import DataVersion
from pilot.extensions import db
from pilot.firms.models import Firm
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
