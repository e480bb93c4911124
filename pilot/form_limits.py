"""The app's request class: a form refused for its size says which limit it passed.

Werkzeug refuses a request body over MAX_CONTENT_LENGTH, a form of more than MAX_FORM_PARTS
fields and files, and a text field over MAX_FORM_MEMORY_SIZE, all with the same 413. The error
page tells the three apart, so a form with too many files is not reported as a file too large.
"""

from typing import IO

from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser


class TooManyFormParts(RequestEntityTooLarge):
    """More fields and files in one form than MAX_FORM_PARTS."""


class FormFieldTooLarge(RequestEntityTooLarge):
    """A text field of a form larger than MAX_FORM_MEMORY_SIZE."""


class _BoundaryCounter:
    """Reads a multipart body through, counting its part boundaries (a marker split across two
    reads counts once: the tail kept is shorter than the marker)."""

    def __init__(self, stream: IO[bytes], marker: bytes):
        self.stream, self.marker, self.tail, self.count = stream, marker, b"", 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        window = self.tail + data
        self.count += window.count(self.marker)
        self.tail = window[-(len(self.marker) - 1) :]
        return data


class _FormDataParser(FormDataParser):
    def _parse_multipart(self, stream, mimetype, content_length, options):
        boundary = options.get("boundary", "").encode("ascii", "replace")
        counter = _BoundaryCounter(stream, b"--" + boundary)
        try:
            _read, form, files = super()._parse_multipart(
                counter, mimetype, content_length, options
            )
        except RequestEntityTooLarge as error:
            # Each part opens with a boundary; the closing one follows the last part.
            if self.max_form_parts is not None and counter.count > self.max_form_parts:
                raise TooManyFormParts() from error
            raise FormFieldTooLarge() from error
        return stream, form, files


class PilotRequest(Request):
    form_data_parser_class = _FormDataParser
