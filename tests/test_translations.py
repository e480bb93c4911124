"""Every string the app shows is translatable, and the Chinese catalogue translates all of them."""

import itertools
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "pilot" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "_l": None,
    "lazy_gettext": None,
    "lazy_ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "lazy_pgettext": ((1, "c"), 2),
}


def source_messages() -> set[tuple[str | None, str]]:
    """Each message of the source as (its context or None, its text)."""
    found = set()
    for folder in ("pilot", "templates"):
        for _file, _line, message, _comments, context in extract_from_dir(
            ROOT / folder,
            method_map=[("**.py", "python"), ("**.html", "jinja2"), ("**.txt", "jinja2")],
            keywords=KEYWORDS,
        ):
            found.add((context, message[0] if isinstance(message, tuple) else message))
    return found


def catalogue():
    with CATALOGUE.open("rb") as fh:
        return read_po(fh, locale="zh_CN")


def test_every_message_of_the_source_is_in_the_chinese_catalogue():
    ids = {(m.context, m.id[0] if isinstance(m.id, tuple) else m.id) for m in catalogue() if m.id}
    missing = sorted(source_messages() - ids, key=str)
    assert not missing, f"run `make messages` and translate: {missing[:20]}"


def test_every_chinese_message_is_translated_and_keeps_its_placeholders():
    import re

    placeholder = re.compile(r"%\(\w+\)[sd]")
    problems = []
    for message in catalogue():
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        source = message.id[0] if isinstance(message.id, tuple) else message.id
        if not all(strings) or message.fuzzy:
            problems.append(f"untranslated: {source}")
            continue
        for text in strings:
            if set(placeholder.findall(text)) != set(placeholder.findall(source)):
                problems.append(f"placeholders differ: {source} → {text}")
            # Templates always %-format a message: a stray % would break the page.
            names = {name: 1 for name in re.findall(r"%\((\w+)\)", source)}
            try:
                text % names
            except (ValueError, TypeError, KeyError):
                problems.append(f"does not format: {text}")
    assert not problems, "\n".join(problems[:30])


def test_no_message_is_in_the_chinese_catalogue_twice():
    """Two entries for one message (two branches each adding it) leave one of them unused, and
    which one wins is an accident of the file's order."""
    seen, twice = set(), []
    for block in CATALOGUE.read_text(encoding="utf-8").split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith("#")]
        # The context and the message id, up to the translation (obsolete entries are comments).
        key = tuple(itertools.takewhile(lambda line: not line.startswith("msgstr"), lines))
        if key and key in seen:
            twice.append(key)
        seen.add(key)
    assert twice == []
