"""Reference lists the app ships: GB/T 4754 divisions, Zhengzhou districts, certifications."""

import csv
from functools import cache
from importlib import resources

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l


@cache
def _rows(name: str) -> tuple[dict[str, str], ...]:
    with resources.files("pilot.data").joinpath(name).open(encoding="utf-8") as fh:
        return tuple(csv.DictReader(fh))


def _name_key() -> str:
    locale = get_locale()
    return "name_zh" if locale is None or locale.language == "zh" else "name_en"


def _localised(row: dict[str, str]) -> str:
    return row[_name_key()]


def industries() -> tuple[dict[str, str], ...]:
    """GB/T 4754-2017 divisions (大类): two-digit code, section letter, names."""
    return _rows("industries.csv")


def districts() -> tuple[dict[str, str], ...]:
    """Zhengzhou's districts, counties, county-level cities and development zones."""
    return _rows("districts.csv")


def industry_name(code: str) -> str:
    row = next((r for r in industries() if r["code"] == code), None)
    return f"{code} {_localised(row)}" if row else code


def district_name(code: str) -> str:
    row = next((r for r in districts() if r["code"] == code), None)
    return _localised(row) if row else code


def industry_choices() -> list[tuple[str, str]]:
    key = _name_key()
    return [(r["code"], f"{r['code']} {r[key]}") for r in industries()]


def district_choices() -> list[tuple[str, str]]:
    key = _name_key()
    return [(r["code"], r[key]) for r in districts()]


CERTIFICATIONS = {
    "ISO9001": _l("ISO 9001 quality management"),
    "ISO14001": _l("ISO 14001 environmental management"),
    "ISO45001": _l("ISO 45001 occupational health and safety"),
    "IATF16949": _l("IATF 16949 automotive quality"),
    "ISO13485": _l("ISO 13485 medical devices"),
    "ISO22000": _l("ISO 22000 food safety management"),
    "ISO50001": _l("ISO 50001 energy management"),
    "ISO27001": _l("ISO/IEC 27001 information security"),
    "GBT29490": _l("GB/T 29490 intellectual property management"),
    "GBT23001": _l("GB/T 23001 IT–industrialisation integration"),
    "CCC": _l("CCC compulsory product certification"),
    "GBT27925": _l("GB/T 27925 star brand"),
}

MUJUN_CLASSES = ("A", "B", "C", "D")
