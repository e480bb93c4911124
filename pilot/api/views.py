"""The API blueprint with every endpoint registered (importing the modules adds their routes)."""

from pilot.api import cases, docs, items, records  # noqa: F401
from pilot.api.blueprint import bp

__all__ = ["bp"]
