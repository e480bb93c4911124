"""The CJK fonts that arrive with the install (Noto Sans SC / Noto Serif SC from PyPI).

Pages name common system CJK fonts first and fall back to these as web fonts; the PDF report
embeds them. No font is ever downloaded at run time.
"""

from functools import cache
from pathlib import Path

from flask import Blueprint, abort, send_file

bp = Blueprint("fonts", __name__)

FONT_FILES = {"sans": "NotoSansSC-Regular.otf", "serif": "NotoSerifSC-Regular.otf"}


@cache
def font_dir() -> Path | None:
    try:
        import pylopdf_fonts_zh_cn
    except ImportError:
        return None
    return Path(pylopdf_fonts_zh_cn.__file__).parent


def font_path(kind: str) -> Path | None:
    folder = font_dir()
    path = folder / FONT_FILES[kind] if folder else None
    return path if path and path.is_file() else None


@bp.get("/fonts/<kind>.otf")
def font(kind: str):
    path = font_path(kind) if kind in FONT_FILES else None
    if path is None:
        abort(404)
    return send_file(path, mimetype="font/otf", max_age=31536000)
