"""How numbers are shown, on the pages, in the charts and in the PDF: rounded half up (as people
round on paper), "—" for a missing value."""

from decimal import ROUND_HALF_UP, Decimal

MISSING = "—"


def _rounded(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def decimal_text(value: Decimal | None, places: int = 1) -> str:
    """To `places` decimals, zeros kept: 62.75 → 62.8, 60 → 60.0."""
    if value is None:
        return MISSING
    return str(_rounded(value, places))


def plain_text(value: Decimal | None, places: int | None = None) -> str:
    """Without padding zeros, as typed: 96.5000 → 96.5, 100.0000 → 100 (rounded to `places`
    decimals first when given; never "-0")."""
    if value is None:
        return MISSING
    if places is not None:
        value = _rounded(value, places)
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "+0") else text


def signed_text(value: Decimal | None, places: int = 1) -> str:
    """A difference with its sign: +12.5, −3.0, 0.0."""
    if value is None:
        return MISSING
    rounded = _rounded(value, places)
    if rounded > 0:
        return f"+{rounded}"
    if rounded < 0:
        return f"−{-rounded}"
    return str(abs(rounded))


def decimal_float(value: Decimal, places: int = 1) -> float:
    """The value a chart draws, rounded as the tables show it, so a bar's label matches them."""
    return float(_rounded(value, places))
