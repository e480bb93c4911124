"""Languages: Chinese (zh_CN) by default, English on request; the choice is kept in the session."""

from flask import Blueprint, Flask, redirect, request, session
from flask.globals import _cv_app
from flask_babel import Domain
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
    from pilot.api.errors import is_api_request

    if is_api_request():
        # The API reads no cookie: the caller's Accept-Language, else the user's own language.
        asked = request.accept_languages.best_match(languages)
        if asked:
            return asked
    else:
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


class RequestDomain(Domain):
    """Flask-Babel's message domain, keeping the request's catalogue once found: Flask-Babel
    looks up the request's locale and its catalogue again for every message (about 18 µs a
    message, which a page of a few hundred rows with translated labels repeats thousands of
    times). Kept with the locale it was found for, so `force_locale` and `refresh` still
    take effect."""

    def get_translations(self):
        app_context = _cv_app.get(None)
        state = app_context.g.__dict__.get("_flask_babel") if app_context else None
        locale = getattr(state, "babel_locale", None)
        kept = getattr(state, "pilot_translations", None)
        if locale is not None and kept is not None and kept[0] is locale:
            return kept[1]
        translations = super().get_translations()
        if state is not None and state.__dict__.get("babel_locale") is not None:
            state.pilot_translations = (state.babel_locale, translations)
        return translations


def init_app(app: Flask) -> None:
    app.config.setdefault(
        "BABEL_TRANSLATION_DIRECTORIES", str(PROJECT_ROOT / "pilot" / "translations")
    )
    babel.init_app(app, locale_selector=select_locale)
    # The extension's default domain (its `domain_instance`), as the one above.
    babel.domain_instance = RequestDomain(domain=app.extensions["babel"].default_domain)
    app.register_blueprint(bp)
