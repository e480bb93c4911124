"""How numbers are shown: the same on the pages, in the charts and in the PDF."""

from decimal import Decimal

import pytest

from pilot.numbers import decimal_float, decimal_text, plain_text, signed_text


@pytest.mark.parametrize(
    ("value", "places", "shown"),
    [
        ("96.5000", None, "96.5"),
        ("100.0000", None, "100"),
        ("-0.0000", None, "0"),
        ("1E+3", None, "1000"),
        ("97.5050", 2, "97.51"),  # halves up, not to even
        ("18.0000", 2, "18"),
        ("0.0040", 2, "0"),
    ],
)
def test_plain_text_drops_padding_zeros(value, places, shown):
    assert plain_text(Decimal(value), places) == shown


@pytest.mark.parametrize(
    ("value", "shown"), [("12.45", "+12.5"), ("-3", "−3.0"), ("-0.04", "0.0"), ("0", "0.0")]
)
def test_signed_text_shows_the_sign_of_a_difference(value, shown):
    assert signed_text(Decimal(value)) == shown


def test_a_missing_value_is_a_dash():
    assert plain_text(None) == decimal_text(None) == signed_text(None) == "—"


def test_a_chart_draws_the_value_the_table_shows():
    assert decimal_float(Decimal("62.75")) == 62.8
    assert decimal_text(Decimal("62.75"), 2) == "62.75"
