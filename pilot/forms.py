"""Small helpers shared by the feature forms."""

from collections.abc import Iterable

from wtforms import SelectChoice


def choices(pairs: Iterable[tuple]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms select choices."""
    return [SelectChoice(value, label) for value, label in pairs]
