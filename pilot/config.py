"""Documented defaults; instance/config.py and PILOT_* environment variables override them."""

import os
from pathlib import Path

#: Top of the source tree: templates/ and migrations/ live beside the package.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Keys the app refuses to run with outside debug and tests.
PLACEHOLDER_KEYS = {"", "change-me"}


class DefaultConfig:
    #: Signs sessions and CSRF tokens. Set PILOT_SECRET_KEY (or SECRET_KEY in
    #: instance/config.py) in production; the app refuses the placeholder outside debug/tests.
    # B105: The placeholder create_app refuses to run with.
    SECRET_KEY = "change-me"  # nosec B105
    #: SQLAlchemy URL. Default: a SQLite file in the instance folder.
    DATABASE_URL: str | None = None
    #: Where uploaded files are kept. Default: <instance>/files.
    FILES_PATH: str | None = None
    #: Where archived reports are kept. Default: <instance>/reports.
    REPORTS_PATH: str | None = None
    #: Largest accepted upload in bytes (20 MB).
    MAX_UPLOAD_BYTES = 20 * 1024 * 1024
    #: Largest whole request (several files in one form: visit photos, evidence).
    MAX_REQUEST_BYTES = 100 * 1024 * 1024
    #: Time zone in which due dates are calendar dates.
    TIME_ZONE = "Asia/Shanghai"
    #: Set to an ISO date (2026-05-01) to pin "today" for a demo or a test.
    TODAY: str | None = None
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh_CN", "en")
    #: werkzeug hash method for passwords (tests use a cheap one).
    # B105: A hash method's name, not a password.
    PASSWORD_HASH_METHOD = "scrypt"  # nosec B105
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    #: Send the session and remember cookies over HTTPS only (set it behind TLS).
    SESSION_COOKIE_SECURE = False
    #: "Remember me" keeps a user signed in for two weeks: long enough for a firm contact who
    #: signs in from a phone now and then, short enough that a lost phone's cookie runs out.
    #: Signing out, a password reset and deactivation end it at once.
    REMEMBER_COOKIE_DURATION = 14 * 24 * 3600
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    #: Redis (redis://host:6379/0) shared by the app's workers and machines for throttling.
    #: Without it each worker counts in its own memory.
    REDIS_URL: str | None = None
    #: Background work (batch ZIPs, reports archived after closing): an SQLite file that the
    #: web and `pilot worker` on this machine share; in Redis when REDIS_URL is set, so workers
    #: on several machines take from one queue. Default: <instance>/queue.sqlite.
    QUEUE_FILE: str | None = None
    #: The queue's name: instances sharing one Redis need names of their own.
    QUEUE_NAME = "pilot"
    #: Run each background task at once in the process that asks for it (tests).
    QUEUE_IMMEDIATE = False
    #: Failed sign-ins allowed per account and per address (an office behind one address).
    SIGN_IN_LIMIT_PER_ACCOUNT = "10 per 15 minutes"
    SIGN_IN_LIMIT_PER_ADDRESS = "50 per 15 minutes"
    #: Draft reports rendered on request, per user (each takes a worker about a second).
    DRAFT_REPORT_LIMIT = "10 per 5 minutes"
    #: How many reverse proxies stand in front of the app and set X-Forwarded-For/-Proto/-Host.
    #: 0 (the default) trusts none of those headers; set 1 behind one nginx.
    PROXY_COUNT = 0
    SESSION_COOKIE_SAMESITE = "Lax"
    #: Where users reach the app (https://pilot.example.cn, with a path prefix if any): the links
    #: of e-mails, which are written outside any request. Needed to send the digest.
    BASE_URL: str | None = None
    #: SMTP server of the e-mail digest (`pilot remind`). Without it only --dry-run works.
    MAIL_HOST: str | None = None
    MAIL_PORT = 587
    #: Sign-in to the SMTP server; none when the server takes mail without.
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    #: "starttls" (a plain connection upgraded to TLS, port 587), "ssl" (TLS from the start,
    #: port 465) or "none" (no encryption: only for a relay on the same machine or network).
    MAIL_SECURITY = "starttls"
    #: The From of every e-mail, e.g. "质量提升试点 <pilot@example.cn>". Needed to send.
    MAIL_SENDER: str | None = None
    #: Seconds to wait for the SMTP server before a message counts as failed.
    MAIL_TIMEOUT = 30
    #: A user gets a digest when a task of theirs is overdue, has no due date, or falls due
    #: within this many days; the digest then lists all their open tasks.
    DIGEST_DAYS_AHEAD = 7


def _coerce(value: str):
    """Turn an environment string into int/bool when it plainly is one."""
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    if value.isdigit():
        return int(value)
    return value


def env_overrides(prefix: str = "PILOT_") -> dict:
    return {
        key[len(prefix) :]: _coerce(value)
        for key, value in os.environ.items()
        if key.startswith(prefix) and key != prefix + "INSTANCE_PATH"
    }
