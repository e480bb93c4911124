"""Province-scale data (`pilot demo load --firms N`) and pages whose SQL does not grow with it.

The module starts from a copy of the run's demo (tests/demo.py); each variant is a copy of that
database with the demo's cases copied in bulk (`copy_cases`): more firms in the board's batch, or
more batches for the same expert. Every page of `make bench-pages` must send the same number of
SQL statements on each variant as on the demo alone.
"""

from datetime import date, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from sqlmodel import func, select

from pilot.accounts.models import User
from pilot.api.services import issue_token
from pilot.batches.models import Batch
from pilot.cases.models import Case
from pilot.database import today
from pilot.demo import DEMO_PASSWORD
from pilot.demo.scale import copy_cases
from pilot.extensions import db
from pilot.firms.models import Firm
from pilot.rectification.models import RectificationItem
from pilot.stages import progress
from pilot.visits.models import Visit
from tests import demo
from tests.conftest import PG_URL, copy_sqlite, drop_database, login, make_test_app

#: variant -> (firms, firms per batch); "demo" is the demo batch alone.
VARIANTS = {"demo": None, "wide": (60, 60), "long": (60, 20)}


@pytest.fixture(scope="module")
def worlds(tmp_path_factory, shared_demo):
    """variant -> its database URL, all sharing one folder of files."""
    folder = tmp_path_factory.mktemp("scale")
    base = demo.copy_database(shared_demo, folder / "demo.sqlite")
    demo.copy_files(shared_demo, folder / "files", folder / "instance" / "reports")
    made = [base] if PG_URL else []
    urls = {"demo": base}
    for name, sizes in VARIANTS.items():
        if sizes is None:
            continue
        if PG_URL:
            url = sa.make_url(base)
            engine = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
            copy = f"{url.database}_{name}"
            with engine.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{copy}" TEMPLATE "{url.database}"'))
            engine.dispose()
            urls[name] = url.set(database=copy).render_as_string(hide_password=False)
            made.append(urls[name])
        else:
            urls[name] = f"sqlite:///{folder / name}.sqlite"
            copy_sqlite(folder / "demo.sqlite", urls[name])
        variant = make_test_app(urls[name], folder)
        with variant.app_context():
            copy_cases(db.session, *sizes)
            db.session.close()
            db.engine.dispose()
    yield SimpleNamespace(urls=urls, folder=folder)
    for url in made:
        drop_database(url)


def open_app(worlds, name):
    return make_test_app(worlds.urls[name], worlds.folder)


# The loader's output -------------------------------------------------------------------------


def test_scale_data_copies_every_stage_of_the_demo_into_each_batch(worlds):
    demo, long = open_app(worlds, "demo"), open_app(worlds, "long")
    with demo.app_context():
        template = stage_counts(db.session)
        db.session.close()
        db.engine.dispose()
    with long.app_context():
        session = db.session
        batches = session.exec(select(Batch).order_by(Batch.start_date)).all()
        assert len(batches) == 3
        assert [b.start_date for b in batches] == [
            batches[-1].start_date - timedelta(weeks=26 * n) for n in (2, 1, 0)
        ]
        per_batch = [stage_counts(session, b.id) for b in batches]
        # The newest batch is the demo batch; the older ones hold the same stages (the running
        # cases there being overdue does not change their current stage).
        assert per_batch == [template] * 3
        assert set(template) >= {
            "survey", "diagnosis", "rectification", "training", "plan", "evaluation",
            "closed", "withdrawn",
        }  # fmt: skip
        assert session.exec(select(func.count()).select_from(Firm)).one() == 60
        assert session.exec(select(func.count()).select_from(Case)).one() == 60
        orphans = session.exec(
            select(func.count())
            .select_from(Case)
            .join(Firm, Firm.id == Case.firm_id, isouter=True)
            .where(Firm.id.is_(None))
        ).one()
        assert orphans == 0
        firm_users = session.exec(select(User).where(User.role == "firm")).all()
        assert len({u.firm_id for u in firm_users}) == 60
        assert len({u.username for u in session.exec(select(User)).all()}) == len(
            session.exec(select(User)).all()
        )
        check_dates(session, batches)
        items = session.exec(select(func.count()).select_from(RectificationItem)).one()
        assert items > 0 and items % 3 == 0
        db.session.close()
        db.engine.dispose()


def stage_counts(session, batch_id: int | None = None) -> dict[str, int]:
    query = select(Case)
    if batch_id is None:
        query = query.join(Batch).where(
            Batch.start_date == select(func.max(Batch.start_date)).scalar_subquery()
        )
    else:
        query = query.where(Case.batch_id == batch_id)
    states = progress(session, session.exec(query).all(), today())
    counts: dict[str, int] = {}
    for state in states.values():
        counts[state.current] = counts.get(state.current, 0) + 1
    return counts


def check_dates(session, batches: list[Batch]) -> None:
    for batch in batches:
        assert batch.end_date - batch.start_date == timedelta(weeks=26)
        cases = session.exec(select(Case).where(Case.batch_id == batch.id)).all()
        for case in cases:
            dues = [case.survey_due, case.diagnosis_due, case.plan_due, case.evaluation_due]
            assert batch.start_date < dues[0] <= dues[1] <= dues[2] <= dues[3]
            assert dues[3] == batch.end_date
            created = case.created_at.date()
            for moment in (case.closed_at, case.withdrawn_at):
                assert moment is None or created <= moment.date() <= date.today()
        visits = session.exec(
            select(Visit.visit_date).join(Case).where(Case.batch_id == batch.id)
        ).all()
        assert visits and all(batch.start_date <= d <= today() for d in visits)


# SQL statements per page ---------------------------------------------------------------------

PAGES = {
    "board": ("staff1", "/?batch={batch}"),
    "batch results": ("staff1", "/batches/{batch}/results"),
    "case page": ("staff1", "/cases/{case}"),
    "checklist": ("{firm_user}", "/cases/{case}/items"),
    "verification queue": ("{expert}", "/verification"),
    "firm home": ("{firm_user}", "/"),
    "expert home": ("{expert}", "/"),
    # Called with staff1's bearer token (see `statements`).
    "API case list": ("staff1", "/api/v1/cases?batch={batch}"),
}


def statements(worlds, name: str) -> dict[str, int]:
    """page -> SQL statements it sends, on one variant, for the demo's case in evaluation."""
    app = open_app(worlds, name)
    app.config["RATELIMIT_ENABLED"] = False
    with app.app_context():
        newest = db.session.exec(select(Batch).order_by(Batch.start_date.desc())).first()
        cases = db.session.exec(select(Case).where(Case.batch_id == newest.id)).all()
        states = progress(db.session, cases, today())
        case = min(
            (c for c in cases if states[c.id].is_running and states[c.id].current == "evaluation"),
            key=lambda c: c.id,
        )
        ids = {
            "batch": newest.id,
            "case": case.id,
            "firm_user": db.session.exec(select(User).where(User.firm_id == case.firm_id))
            .first()
            .username,
            "expert": case.lead_expert.username,
        }
        staff = db.session.exec(select(User).where(User.username == "staff1")).one()
        api = {"Authorization": f"Bearer {issue_token(db.session, staff, 'scale')[1]}"}
        db.session.commit()
        engine = db.engine
        db.session.close()
    count = [0]

    def counter(*args):
        count[0] += 1

    clients = {}
    found = {}
    sa.event.listen(engine, "before_cursor_execute", counter)
    try:
        for page, (user, path) in PAGES.items():
            user = user.format(**ids)
            if user not in clients:
                clients[user] = app.test_client()
                login(clients[user], user, DEMO_PASSWORD)
            client = clients[user]
            url = path.format(**ids)
            headers = api if url.startswith("/api/") else {}
            # Warm: the session's user, caches.
            assert client.get(url, headers=headers).status_code == 200, url
            for kept in [name for name in app.extensions if name.startswith("pilot_kept_")]:
                app.extensions.pop(kept)  # the page rendered, not kept
            count[0] = 0
            response = client.get(url, headers=headers)
            assert response.status_code == 200, url
            found[page] = count[0]
    finally:
        sa.event.remove(engine, "before_cursor_execute", counter)
        with app.app_context():
            db.engine.dispose()
    return found


@pytest.mark.parametrize("variant", ["wide", "long"])
def test_statements_per_page_do_not_grow_with_firms_items_visits_or_users(worlds, variant):
    small, large = statements(worlds, "demo"), statements(worlds, variant)
    assert large == small
    assert all(n > 0 for n in small.values())
