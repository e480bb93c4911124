"""What every response and redirect must hold: security headers, ids the database can take, and
redirect targets that stay on this site."""

import re

from flask import Flask, url_for
from werkzeug.routing import BaseConverter

#: Ids are 32-bit integers in PostgreSQL; anything larger names no record.
MAX_ID = 2**31 - 1

#: No inline script anywhere (scripts are static files); pygal's inline SVG charts carry their
#: own <style>, hence inline styles.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


def record_id(value: str) -> int:
    """An id from a URL or a query string: ASCII digits within the database's range.

    Usable as `request.args.get(name, type=record_id)`: anything else is a ValueError, which the
    query-string parser turns into "not given".
    """
    if not re.fullmatch(r"[0-9]{1,10}", value or "") or int(value) > MAX_ID:
        raise ValueError(f"not a record id: {value!r}")
    return int(value)


class RecordIdConverter(BaseConverter):
    """`<int:...>` in every route: an id the database can hold, else 404 (never an overflow)."""

    regex = r"[0-9]{1,10}"
    weight = 50

    def to_python(self, value: str) -> int:
        from werkzeug.routing import ValidationError

        try:
            return record_id(value)
        except ValueError:
            raise ValidationError() from None

    def to_url(self, value: int) -> str:
        return str(int(value))


#: Characters a browser drops or reads as a slash before it follows a Location header.
_UNSAFE_IN_TARGET = re.compile(r"[\x00-\x20\x7f\\]")


def safe_next(target: str | None) -> str:
    """A redirect target that is a path on this site, else the home page.

    Browsers strip tabs and newlines and read a backslash as a slash, so `/\\t/evil.example`
    and `/\\\\evil.example` are refused along with `//evil.example` and `https:…`.
    """
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and not _UNSAFE_IN_TARGET.search(target)
    ):
        return target
    return url_for("board.home")


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = RecordIdConverter

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        if response.mimetype == "text/html":
            headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            headers.setdefault("X-Frame-Options", "DENY")
        return response

    if app.config.get("PROXY_COUNT"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        count = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)
