"""Error pages in the user's language; a refused form token is a 400 with a plain message."""

from flask import Flask, render_template
from flask_babel import gettext as _
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from pilot.api.errors import ApiError, error_response, is_api_request
from pilot.extensions import db
from pilot.form_limits import FormFieldTooLarge, TooManyFormParts


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        message = _("The form has expired or did not come from this site. Please try again.")
        return render_template("errors/error.html", code=400, message=message), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if is_api_request():  # an unknown API address or method: JSON, like every API error
            return error_response(ApiError(error.code or 500))
        messages = {
            400: _("The request could not be understood."),
            403: _("You are not allowed to do this."),
            404: _("There is no such page, or you may not see it."),
            405: _("This action is not available here."),
            413: _("The file is larger than the allowed size."),
            429: _("Too many requests. Wait a few minutes, then try again."),
        }
        message = messages.get(error.code, _("Something went wrong."))
        if isinstance(error, TooManyFormParts):
            message = _(
                "The form had too many fields and files to be accepted at once: send fewer "
                "files in one go (add the rest in a second upload), then try again."
            )
        elif isinstance(error, FormFieldTooLarge):
            message = _(
                "A text in the form is too long to be accepted: shorten it, then try again."
            )
        if isinstance(error, RateLimitExceeded) and error.limit.error_message:
            message = error.description  # the limit says what was too much

        return render_template("errors/error.html", code=error.code, message=message), error.code

    @app.errorhandler(500)
    def server_error(error):
        # A failed statement leaves the session unusable (PostgreSQL refuses every later query
        # of the transaction), and the error page itself reads the signed-in user.
        db.session.rollback()
        if is_api_request():
            return error_response(ApiError(500))
        message = _("Something went wrong on our side. The error has been logged.")
        return render_template("errors/error.html", code=500, message=message), 500
