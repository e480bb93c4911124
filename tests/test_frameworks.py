"""Assessment frameworks as data: the shipped ones, YAML loading, versions, batches' choice."""

import io
from decimal import Decimal

import pytest
import yaml
from sqlmodel import select

from pilot.frameworks import services
from pilot.frameworks.models import BatchFramework, Framework, Scale
from pilot.kpis.models import Kpi
from tests.conftest import login

SMALL = {
    "code": "T1",
    "version": 1,
    "name": "测试准则",
    "domain": "quality",
    "scale": "maturity",
    "total_points": 10,
    "levels": [{"level": n, "name": str(n), "descriptor": "d"} for n in range(1, 6)],
    "categories": [
        {
            "code": "1",
            "name": "甲",
            "points": 6,
            "items": [
                {"code": "1.1", "name": "a", "points": 4},
                {"code": "1.2", "name": "b", "points": 2},
            ],
        },
        {
            "code": "2",
            "name": "乙",
            "points": 4,
            "items": [{"code": "2.1", "name": "c", "points": 4}],
        },
    ],
}


def dump(data) -> str:
    return yaml.safe_dump(data, allow_unicode=True)


def test_shipped_gbt19580_has_seven_categories_23_items_1000_points(session):
    quality, brand = services.load_shipped(session)
    assert quality.edition == "GB/T 19580-2012" and quality.scale == Scale.BAND
    assert [c.points for c in quality.categories] == [110, 90, 90, 130, 100, 80, 400]
    assert len(quality.items) == 23
    assert sum(i.points for i in quality.items) == quality.total_points == 1000
    assert {i.kind for i in quality.categories[-1].items} == {"result"}
    assert brand.scale == Scale.MATURITY and brand.domain == "brand"
    assert [lvl["level"] for lvl in brand.levels] == [1, 2, 3, 4, 5]
    assert sum(i.points for i in brand.items) == brand.total_points


def test_loading_the_shipped_frameworks_twice_changes_nothing(session):
    first = services.load_shipped(session)
    again = services.load_shipped(session)
    assert [f.id for f in first] == [f.id for f in again]
    assert services.load_kpi_catalogue(session) == 12
    assert services.load_kpi_catalogue(session) == 0
    assert (
        session.exec(select(Kpi).where(Kpi.code == "quality_loss_rate")).one().direction == "lower"
    )


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d["categories"][0]["items"][0].update(points=5), "add up to 7"),
        (lambda d: d.update(total_points=11), "not the total of 11"),
        (lambda d: d.update(scale="stars"), "scale"),
        (lambda d: d["categories"][1].update(items=[]), "has no items"),
        (lambda d: d["categories"][1]["items"][0].update(points="four"), "must be a number"),
    ],
)
def test_a_framework_whose_points_do_not_add_up_is_refused(session, change, message):
    data = yaml.safe_load(dump(SMALL))
    change(data)
    with pytest.raises(services.FrameworkError, match=message):
        services.load(session, None, dump(data))
    assert session.exec(select(Framework)).all() == []


def test_a_framework_in_use_is_never_changed_only_superseded(session, world):
    v1, written = services.load(session, None, dump(SMALL))
    assert written
    services.set_batch_frameworks(session, world.batch.id, [v1.id])
    changed = yaml.safe_load(dump(SMALL))
    changed["name"] = "改过的名字"
    with pytest.raises(services.FrameworkError, match="in use"):
        services.load(session, None, dump(changed))
    changed["version"] = 2
    v2, _ = services.load(session, None, dump(changed))
    assert v1.superseded_by_id == v2.id
    assert services.current_frameworks(session) == [v2]
    # The batch keeps the version it chose.
    assert session.exec(select(BatchFramework.framework_id)).all() == [v1.id]
    assert services.load(session, None, dump(SMALL)) == (v1, False)  # the same file again


def test_an_older_version_cannot_come_after_a_newer_one(session):
    newer = yaml.safe_load(dump(SMALL))
    newer["version"] = 3
    services.load(session, None, dump(newer))
    with pytest.raises(services.FrameworkError, match="exists already"):
        services.load(session, None, dump(SMALL))


def test_an_unused_version_can_be_corrected(session):
    services.load(session, None, dump(SMALL))
    corrected = yaml.safe_load(dump(SMALL))
    corrected["categories"][0]["name"] = "甲（更正）"
    framework, written = services.load(session, None, dump(corrected))
    assert written and framework.categories[0].name == "甲（更正）"
    assert len(session.exec(select(Framework)).all()) == 1


def test_admin_loads_a_framework_file_and_reads_it(client, world, session):
    login(client, "admin")
    response = client.post(
        "/frameworks/",
        data={"file": (io.BytesIO(dump(SMALL).encode()), "t1.yaml")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "测试准则" in page and "1.2 b" in page
    assert session.exec(
        select(Framework).where(Framework.code == "T1")
    ).one().total_points == Decimal(10)


def test_bad_framework_file_is_a_message_and_saves_nothing(client, world, session):
    login(client, "admin")
    client.post("/language", data={"lang": "en"})
    bad = yaml.safe_load(dump(SMALL))
    bad["total_points"] = 12
    response = client.post(
        "/frameworks/",
        data={"file": (io.BytesIO(dump(bad).encode()), "bad.yaml")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "not the total of 12" in response.get_data(as_text=True)
    response = client.post(
        "/frameworks/",
        data={"file": (io.BytesIO(b"\xff\xfe not text"), "bad.yaml")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "UTF-8" in response.get_data(as_text=True)
    assert session.exec(select(Framework)).all() == []


def test_a_new_batch_diagnoses_against_the_current_frameworks_by_default(client, world, session):
    quality, brand = services.load_shipped(session)
    session.commit()
    login(client, "staff")
    page = client.get("/batches/new").get_data(as_text=True)
    assert page.count('name="framework_ids"') == 2
    assert page.count("checked") >= 2
