"""Languages: Chinese (zh_CN) by default, English on request; the choice is kept in the session."""

from flask import Blueprint, Flask, redirect, request, session
from flask_login import current_user

from pilot.config import PROJECT_ROOT
from pilot.extensions import babel
from pilot.security import safe_next

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    from flask import current_app, has_request_context

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # the command line speaks the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


@bp.post("/language")
def set_language():
    from flask import current_app

    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
    return redirect(safe_next(request.form.get("next")))


def init_app(app: Flask) -> None:
    app.config.setdefault(
        "BABEL_TRANSLATION_DIRECTORIES", str(PROJECT_ROOT / "pilot" / "translations")
    )
    babel.init_app(app, locale_selector=select_locale)
    app.register_blueprint(bp)
