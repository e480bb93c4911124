"""Scoring against the shipped frameworks, worked by hand: bands × points, levels ÷ 5 × points,
category and framework totals, one-decimal display, and the scores that are refused."""

from decimal import Decimal

import pytest

from pilot.diagnosis import scoring, services
from pilot.diagnosis.models import Round
from pilot.frameworks.models import Framework, Scale
from pilot.frameworks.services import load_kpi_catalogue, load_shipped, set_batch_frameworks
from pilot.numbers import decimal_text


@pytest.fixture
def shipped(session, world) -> dict[str, Framework]:
    frameworks = load_shipped(session)
    load_kpi_catalogue(session)
    set_batch_frameworks(session, world.batch.id, [f.id for f in frameworks])
    session.commit()
    return {f.domain: f for f in frameworks}


def ids(framework: Framework) -> dict[str, int]:
    return {item.code: item.id for item in framework.items}


def every(framework: Framework, percent=None, level=None) -> dict[int, tuple]:
    return {item.id: (percent, level) for item in framework.items}


# The frameworks as shipped ----------------------------------------------------------------------


def test_gbt19580_has_seven_categories_23_items_and_1000_points(shipped):
    quality = shipped["quality"]
    assert quality.scale == Scale.BAND
    assert len(quality.categories) == 7
    assert len(quality.items) == 23
    assert sum(item.points for item in quality.items) == quality.total_points == 1000
    assert [(c.name, c.points) for c in quality.categories] == [
        ("领导", 110),
        ("战略", 90),
        ("顾客与市场", 90),
        ("资源", 130),
        ("过程管理", 100),
        ("测量、分析与改进", 80),
        ("结果", 400),
    ]
    assert {item.kind for item in quality.categories[-1].items} == {"result"}
    assert {item.kind for c in quality.categories[:-1] for item in c.items} == {"process"}


def test_brand_framework_is_scored_by_maturity_on_100_points(shipped):
    brand = shipped["brand"]
    assert brand.scale == Scale.MATURITY
    assert sum(item.points for item in brand.items) == brand.total_points == 100
    assert [level["level"] for level in brand.levels] == [1, 2, 3, 4, 5]


# Band scale -------------------------------------------------------------------------------------


def test_band_item_is_points_times_percent(shipped):
    quality = shipped["quality"]
    item = ids(quality)
    result = scoring.result(quality, {item["4.1.2"]: (35, None)})
    part = result.items[item["4.1.2"]]
    assert part.score == Decimal("17.5")  # 50 points × 35 %
    assert part.max == 50
    assert decimal_text(part.score) == "17.5"


def test_band_category_and_framework_totals(shipped):
    quality = shipped["quality"]
    item = ids(quality)
    scores = every(quality, percent=50)
    scores[item["4.1.2"]] = (35, None)  # 50 × 35 % = 17.5
    scores[item["4.1.3"]] = (50, None)  # 30 × 50 % = 15
    scores[item["4.1.4"]] = (20, None)  # 30 × 20 % = 6
    scores[item["4.4.3"]] = (35, None)  # 15 × 35 % = 5.25
    result = scoring.result(quality, scores)
    leadership = result.categories[0]
    assert (leadership.name, leadership.score, leadership.max) == ("领导", Decimal("38.5"), 110)
    assert leadership.percent == Decimal(35)  # 38.5 ÷ 110
    resources = result.categories[3]
    # 60 × 50 % + 5.25 + (20 + 15 + 10 + 10) × 50 % = 30 + 5.25 + 27.5
    assert resources.score == Decimal("62.75")
    assert decimal_text(resources.score) == "62.8"  # half up, not to even
    # Everything else at 50 %: 500 − (55 − 38.5) − (7.5 − 5.25) = 481.25
    assert result.total == Decimal("481.25")
    assert decimal_text(result.total) == "481.3"
    assert result.max == 1000
    assert result.complete


def test_every_item_at_full_marks_is_1000(shipped):
    result = scoring.result(shipped["quality"], every(shipped["quality"], percent=100))
    assert result.total == 1000
    assert all(part.percent == 100 for part in result.categories)


def test_unscored_items_count_zero_and_leave_the_result_incomplete(shipped):
    quality = shipped["quality"]
    item = ids(quality)
    result = scoring.result(quality, {item["4.7.2"]: (60, None)})
    assert result.total == Decimal(48)  # 80 × 60 %
    assert not result.complete


def test_band_descriptor_follows_the_percentage(shipped):
    quality = shipped["quality"]
    assert scoring.band_of(quality, 35)["min"] == 30
    assert scoring.band_of(quality, 5)["max"] == 5
    assert scoring.band_of(quality, 100)["min"] == 90


# Maturity scale ---------------------------------------------------------------------------------


def test_maturity_item_is_points_times_level_over_five(shipped):
    brand = shipped["brand"]
    item = ids(brand)
    result = scoring.result(brand, {item["7.3"]: (None, 3), item["6.1"]: (None, 2)})
    assert result.items[item["7.3"]].score == Decimal(9)  # 15 × 3 ÷ 5
    assert result.items[item["6.1"]].score == Decimal("1.6")  # 4 × 2 ÷ 5
    assert result.categories[3].score == Decimal(9)
    assert result.categories[2].score == Decimal("1.6")
    assert result.total == Decimal("10.6")


def test_maturity_totals_at_levels_one_and_five(shipped):
    brand = shipped["brand"]
    assert scoring.result(brand, every(brand, level=1)).total == 20
    assert scoring.result(brand, every(brand, level=5)).total == 100


# Showing to one decimal -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("17.5", "17.5"),
        ("5.25", "5.3"),
        ("2.25", "2.3"),
        ("0.05", "0.1"),
        ("0.04", "0.0"),
        ("481.25", "481.3"),
        ("1000", "1000.0"),
        ("9", "9.0"),
    ],
)
def test_one_decimal_rounds_halves_up(value, shown):
    assert decimal_text(Decimal(value)) == shown


# Refusals ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("percent", [33, 105, -5, 101, 2])
def test_percent_off_the_5_percent_steps_is_refused(percent):
    with pytest.raises(scoring.ScoreError, match="steps of 5"):
        scoring.check_percent(percent)


@pytest.mark.parametrize("level", [0, 6, -1])
def test_level_outside_one_to_five_is_refused(level):
    with pytest.raises(scoring.ScoreError, match="between 1 and 5"):
        scoring.check_level(level)


def test_a_non_integer_score_is_refused():
    with pytest.raises(scoring.ScoreError):
        scoring.check_percent(35.5)
    with pytest.raises(scoring.ScoreError):
        scoring.check_level("3")


def _started(session, world):
    diagnosis = services.start(session, world.expert_a, world.case_a, Round.BASELINE)
    session.flush()
    return diagnosis


def test_service_refuses_an_item_of_another_framework(session, world, shipped):
    quality, brand = shipped["quality"], shipped["brand"]
    set_batch_frameworks(session, world.batch.id, [quality.id])
    session.flush()
    diagnosis = _started(session, world)
    with pytest.raises(services.DiagnosisError, match="not part of this diagnosis"):
        services.save_scores(
            session,
            world.expert_a,
            diagnosis,
            [
                services.ScoreInput(item_id=quality.items[0].id, percent=50),
                services.ScoreInput(item_id=brand.items[0].id, level=3),
            ],
        )


def test_service_refuses_the_wrong_scale(session, world, shipped):
    diagnosis = _started(session, world)
    band_item, level_item = shipped["quality"].items[0].id, shipped["brand"].items[0].id
    with pytest.raises(services.DiagnosisError, match="by percentage"):
        services.save_scores(
            session, world.expert_a, diagnosis, [services.ScoreInput(band_item, level=3)]
        )
    with pytest.raises(services.DiagnosisError, match="by maturity level"):
        services.save_scores(
            session, world.expert_a, diagnosis, [services.ScoreInput(level_item, percent=60)]
        )
    with pytest.raises(scoring.ScoreError):
        services.save_scores(
            session, world.expert_a, diagnosis, [services.ScoreInput(band_item, percent=33)]
        )


def test_submit_refuses_an_unscored_item(session, world, shipped):
    diagnosis = _started(session, world)
    quality, brand = shipped["quality"], shipped["brand"]
    entries = [services.ScoreInput(i.id, percent=50) for i in quality.items[1:]]
    entries += [services.ScoreInput(i.id, level=3) for i in brand.items]
    services.save_scores(session, world.expert_a, diagnosis, entries)
    with pytest.raises(services.DiagnosisError, match="Score every item") as refusal:
        services.submit(session, world.expert_a, diagnosis)
    assert "卓越绩效评价准则" in str(refusal.value)
    assert "品牌培育成熟度评价" not in str(refusal.value)


def test_results_of_a_diagnosis_follow_its_saved_scores(session, world, shipped):
    diagnosis = _started(session, world)
    quality, brand = shipped["quality"], shipped["brand"]
    services.save_scores(
        session,
        world.expert_a,
        diagnosis,
        [services.ScoreInput(i.id, percent=50) for i in quality.items]
        + [services.ScoreInput(i.id, level=3) for i in brand.items],
    )
    totals = {
        r.domain: (r.total, r.complete) for r in services.framework_results(session, diagnosis)
    }
    assert totals == {"quality": (Decimal(500), True), "brand": (Decimal(60), True)}
