"""Sending a form as a browser does after opening its page: with the version the page carries,
so a save is made on what the user saw (a stale one is refused with 409)."""

import re


def shown_version(client, path: str, name: str = "version") -> str | None:
    """The value of the page's hidden version field (the first of that name), if it has one."""
    page = client.get(path).get_data(as_text=True)
    found = re.search(rf'name="{name}" type="hidden" value="(\d+)"', page)
    return found.group(1) if found else None


def send(client, path: str, data: dict, *, page: str | None = None, name: str = "version", **kw):
    """Post data to path with the version its form page (`page`, else path) shows, unless the
    data carries one. A user who may not open the page posts without it."""
    if name not in data:
        shown = shown_version(client, page or path, name)
        if shown is not None:
            data = {**data, name: shown}
    return client.post(path, data=data, **kw)
