"""Charts of the evaluation: inline SVG made with pygal, for the page and the PDF alike.

Like pilot.diagnosis.charts, the functions take plain data (names, numbers and the words to show)
and return markup; they read no request, no database and no configuration. The SVG has no
script, no external reference and no comment, and is set in the page's font stack.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

# B405: Edits pygal's own tree, parses nothing.
from xml.etree import ElementTree  # nosec B405

import pygal
from flask_babel import gettext as _
from markupsafe import Markup
from pygal.style import Style

from pilot.diagnosis.charts import BRAND, FONT_STACK, INK, LINE, MUTED, wrap_label
from pilot.diagnosis.scoring import FrameworkResult
from pilot.numbers import decimal_float

#: Baseline grey, and the actual's colour by whether the target is met.
BASELINE, MET, NOT_MET = "#9aa5b1", "#2f855a", "#b7791f"
FINAL = "#2f855a"

#: Drawing units of the viewBox; the SVG scales to its container's width.
TARGET_WIDTH, TARGET_BAR = 420, 34
COMPARE_WIDTH, COMPARE_ROW = 520, 56
LABEL_SIZE, VALUE_SIZE = 15, 14
#: Characters per line of a category name beside the bars.
LABEL_CHARS = 9


def _style(*colors: str) -> Style:
    return Style(
        font_family=FONT_STACK,
        background="transparent",
        plot_background="transparent",
        foreground=MUTED,
        foreground_strong=INK,
        foreground_subtle=LINE,
        colors=colors,
        opacity="1",
        opacity_hover="1",
        label_font_size=LABEL_SIZE,
        major_label_font_size=LABEL_SIZE,
        value_font_size=VALUE_SIZE,
        value_label_font_size=VALUE_SIZE,
        legend_font_size=LABEL_SIZE,
        title_font_size=LABEL_SIZE + 1,
        tooltip_font_size=LABEL_SIZE,
        guide_stroke_dasharray="none",
        major_guide_stroke_dasharray="none",
        guide_stroke_color=LINE,
        major_guide_stroke_color=LINE,
    )


def _tag(element: ElementTree.Element) -> str:
    return element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""


def _tidy(title: str):
    """An xml filter: no script, comments nor hover titles; a name for the chart; category names
    on up to three lines; each bar's value just past its end, left-aligned."""

    def tidy(root: ElementTree.Element) -> ElementTree.Element:
        for parent in list(root.iter()):
            for child in list(parent):
                # Comments hold pygal's credits and URLs; the script its tooltip settings; the
                # <desc> elements repeat each value for the tooltip.
                if not isinstance(child.tag, str) or _tag(child) in ("script", "desc"):
                    parent.remove(child)
        for child in root:
            if _tag(child) == "title":
                child.text = title
        root.set("role", "img")
        root.set("aria-label", title)
        for group in root.iter():
            classes = group.get("class", "").split() if _tag(group) == "g" else []
            if {"axis", "y"} <= set(classes):  # a horizontal chart's category names
                for guides in group:
                    for text in [e for e in guides if _tag(e) == "text"]:
                        _wrap(text)
                    for hover in [e for e in guides if _tag(e) == "title"]:
                        guides.remove(hover)
            if "text-overlay" in classes:
                for text in group.iter():
                    if _tag(text) == "text" and "value" in text.get("class", "").split():
                        # pygal centres the value 7 units past the bar's end.
                        text.set("text-anchor", "start")
                        text.set("x", f"{float(text.get('x')) - 3:.2f}")
        return root

    return tidy


def _wrap(text: ElementTree.Element) -> None:
    """A label's text in lines of tspans, centred on its row."""
    lines = wrap_label(text.text or "", LABEL_CHARS)[:3]
    if len(lines) < 2:
        return
    x = text.get("x")
    text.text = None
    for number, line in enumerate(lines):
        span = ElementTree.SubElement(text, "tspan", x=x or "0")
        first = -(len(lines) - 1) * 0.55
        span.set("dy", f"{first if number == 0 else 1.1:.2f}em")
        span.text = line


def _label_margin(names: Sequence[str]) -> float:
    """Extra left margin for category names: pygal measures a character as 0.6 of the font
    size, a Chinese one takes the whole size, and long names wrap at LABEL_CHARS."""
    longest = max((len(n) for n in names), default=0)
    needed = min(longest, LABEL_CHARS) * LABEL_SIZE + 8
    return max(needed - longest * 0.6 * LABEL_SIZE, 0)


def _render(chart, title: str) -> Markup:
    chart.add_xml_filter(_tidy(title))
    # pygal escapes every label; the tree is tidied and carries no script.
    return Markup(chart.render(is_unicode=True))  # nosec


@dataclass(frozen=True)
class TargetBars:
    """One work target's numbers, in its own unit."""

    name: str
    unit: str
    target: Decimal
    actual: Decimal | None
    baseline: Decimal | None = None
    met: bool = False


def target_svg(bars: TargetBars, words: Sequence[str]) -> Markup:
    """See _target_svg: drawn once per set of values and words, and kept."""
    return _target_svg(bars, tuple(str(w) for w in words))


@lru_cache(maxsize=512)
def _target_svg(bars: TargetBars, words: tuple[str, ...]) -> Markup:
    """Baseline, target and actual of one work target as three horizontal bars, in its unit.

    `words` names the bars: (baseline, target, actual), translated by the caller. A missing
    baseline or actual leaves its bar out.
    """
    rows = [
        (words[0], bars.baseline, BASELINE),
        (words[1], bars.target, BRAND),
        (words[2], bars.actual, MET if bars.met else NOT_MET),
    ]
    rows = [(label, value, color) for label, value, color in rows if value is not None]
    unit = bars.unit if bars.unit and len(bars.unit) <= 6 else ""
    low, high = _bar_range([value for _label, value, _color in rows])
    chart = pygal.HorizontalBar(
        style=_style(BRAND),
        width=TARGET_WIDTH,
        height=TARGET_BAR * len(rows) + 40,
        margin=6,
        spacing=6,
        show_legend=False,
        margin_left=_label_margin(words),
        margin_right=90,
        show_y_guides=False,
        show_x_guides=False,
        show_x_labels=False,
        print_values=True,
        print_values_position="top",
        range=(low, high),
        zero=low,
        js=[],  # pygal's default is a tooltip script from a CDN: none, ever
        disable_xml_declaration=True,
        explicit_size=False,
        value_formatter=lambda value: f"{_trim(value)}{unit}",
        classes=("pygal-chart", "target-bars"),
    )
    # pygal draws a horizontal chart's first label at the bottom: list them bottom-up.
    chart.x_labels = [label for label, _value, _color in reversed(rows)]
    chart.add(
        bars.name,
        [{"value": float(value), "color": color} for _label, value, color in reversed(rows)],
    )
    return _render(chart, bars.name)


def _bar_range(values: Sequence[Decimal]) -> tuple[float, float]:
    """Where the bars start and end: near the smallest value rather than at zero, so that
    96.5 against 97.5 shows a difference, yet every bar keeps some length."""
    low, high = float(min(values)), float(max(values))
    span = (high - low) or abs(high) or 1.0
    start = low - span * 0.6
    if low >= 0 > start:
        start = 0.0
    return start, high


def _trim(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") if value is not None else ""


@dataclass(frozen=True)
class CategoryBars:
    """One category's result before and after, each as a percentage of its points."""

    name: str
    before: Decimal
    after: Decimal


def grouped_bars_svg(
    title: str, categories: Sequence[CategoryBars], words: Sequence[str]
) -> Markup:
    """Grouped bars, baseline against final, for each category of one framework (0–100 %).

    `words` names the two series: (baseline, final), translated by the caller. Drawn once per
    set of values and words, and kept.
    """
    return _grouped_bars(title, tuple(categories), tuple(str(w) for w in words))


@lru_cache(maxsize=256)
def _grouped_bars(
    title: str, categories: tuple[CategoryBars, ...], words: tuple[str, ...]
) -> Markup:
    chart = pygal.HorizontalBar(
        style=_style(BASELINE, FINAL),
        width=COMPARE_WIDTH,
        height=COMPARE_ROW * len(categories) + 90,
        margin=8,
        margin_left=_label_margin([c.name for c in categories]),
        margin_right=56,
        spacing=8,
        range=(0, 100),
        x_labels_major_every=None,
        y_labels=[0, 20, 40, 60, 80, 100],
        show_legend=True,
        legend_at_bottom=True,
        legend_at_bottom_columns=2,
        print_values=True,
        print_values_position="top",
        truncate_label=-1,
        js=[],
        disable_xml_declaration=True,
        explicit_size=False,
        value_formatter=lambda value: f"{value:g}%",
        classes=("pygal-chart", "before-after"),
    )
    # Bottom-up in pygal: reversed, so the first category is read at the top.
    ordered = list(reversed(categories))
    chart.x_labels = [c.name for c in ordered]
    chart.add(words[0], [decimal_float(c.before) for c in ordered])
    chart.add(words[1], [decimal_float(c.after) for c in ordered])
    return _render(chart, title)


def before_after_svg(
    before: FrameworkResult, after: FrameworkResult, words: Sequence[str] | None = None
) -> Markup:
    """The baseline's and the final round's results of one framework as grouped bars, each
    category as a percentage of its points (categories matched by code).

    `words` names the two series; by default "Baseline" and "Final" in the current language.
    """
    after_of = {c.code: c for c in after.categories}
    bars = [
        CategoryBars(c.name, c.percent, after_of[c.code].percent)
        for c in before.categories
        if c.code in after_of
    ]
    return grouped_bars_svg(before.name, bars, words or (_("Baseline"), _("Final")))
