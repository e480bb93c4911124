"""Every API error in one JSON shape: {status, code, message, fields, current_version}.

`fields` maps a request field to its messages (422); `current_version` is the record's version
now, when a write was refused because the record changed or its state forbids it (409).
"""

from flask import jsonify, request
from flask_babel import gettext as _
from pydantic import BaseModel, Field

#: The stable `code` of each status.
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid",
    429: "too_many_requests",
    500: "server_error",
}


class Error(BaseModel):
    """What every refused API call answers."""

    status: int = Field(description="The HTTP status, repeated.")
    code: str = Field(
        description="A stable word for the kind of error: " + ", ".join(CODES.values())
    )
    message: str = Field(description="What went wrong, in the user's language.")
    fields: dict[str, list[str]] = Field(
        default_factory=dict, description="Messages per request field (422)."
    )
    current_version: int | None = Field(
        default=None, description="The record's version now, when a write was refused (409)."
    )


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        fields: dict[str, list[str]] | None = None,
        current_version: int | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields or {}
        self.current_version = current_version


def default_message(status: int) -> str:
    messages = {
        400: _("The request could not be understood."),
        401: _("Give a valid API token: Authorization: Bearer <token>."),
        403: _("You are not allowed to do this."),
        404: _("There is no such record, or you may not see it."),
        405: _("This method is not available here."),
        409: _("The record is not in a state that allows this."),
        413: _("The file is larger than the allowed size."),
        422: _("Some fields are not valid."),
        429: _("Too many requests. Wait a few minutes, then try again."),
    }
    return messages.get(status, _("Something went wrong on our side. The error has been logged."))


def error_response(error: ApiError):
    body = Error(
        status=error.status,
        code=CODES.get(error.status, "error"),
        message=error.message or default_message(error.status),
        fields=error.fields,
        current_version=error.current_version,
    )
    response = jsonify(body.model_dump())
    response.status_code = error.status
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="pilot"'
    return response


def is_api_request() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")
