"""Charts of diagnosis results: inline SVG made with pygal, for the page and the PDF alike.

The functions take plain result data and return markup; they read no request, no database and no
configuration, so the report can call them as the pages do. The SVG has no script, no external
reference and no comment; every label is text that pygal's XML tree escapes, set in the page's
font stack.
"""

from decimal import Decimal
from functools import lru_cache

# B405: Edits pygal's own tree, parses nothing.
from xml.etree import ElementTree  # nosec B405

import pygal
from markupsafe import Markup
from pygal.style import Style

from pilot.diagnosis.scoring import FrameworkResult
from pilot.numbers import decimal_text

#: The font stack of app.css: system CJK fonts first, then the bundled web font. The PDF declares
#: the same "Pilot Sans SC" family for its embedded font, so the chart finds it there too.
FONT_STACK = (
    '"PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", '
    '"Source Han Sans SC", "WenQuanYi Micro Hei", "Pilot Sans SC", system-ui, sans-serif'
)
INK, MUTED, LINE, BRAND = "#1f2933", "#616e7c", "#c3cfdb", "#124e78"

#: Drawing units of the viewBox; the SVG scales to its container's width.
WIDTH, HEIGHT = 660, 480
#: Room beside the web for the category names, which stay horizontal.
SIDE_MARGIN, END_MARGIN = 150, 64
LABEL_SIZE, VALUE_SIZE = 20, 17
#: Characters per line of a category name (Chinese names run to 14 characters).
LABEL_CHARS = 8

_STYLE = Style(
    font_family=FONT_STACK,
    background="transparent",
    plot_background="transparent",
    foreground=MUTED,
    foreground_strong=INK,
    foreground_subtle=LINE,
    colors=(BRAND,),
    opacity=".22",
    opacity_hover=".3",
    label_font_size=14,
    major_label_font_size=14,
)


def wrap_label(name: str, width: int = LABEL_CHARS) -> list[str]:
    """A category name in lines of at most `width` characters, broken after 、 where it can."""
    parts, part = [], ""
    for char in name:
        part += char
        if char in "、，, ":
            parts.append(part)
            part = ""
    if part:
        parts.append(part)
    lines = [""]
    for part in parts:
        while len(part) > width:  # a long run without a break: cut it
            room = width - len(lines[-1])
            lines[-1] += part[:room]
            part = part[room:]
            lines.append("")
        if lines[-1] and len(lines[-1]) + len(part) > width:
            lines.append("")
        lines[-1] += part
    return [line.strip() for line in lines if line.strip()]


def _tag(element: ElementTree.Element) -> str:
    return element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""


def _tidy(title: str, labels: list[tuple[str, str]]):
    """An xml filter: no script, comments nor hover titles; a name for the chart; labels laid out.

    Each spoke's label is set upright, anchored away from the web, with the name on one or two
    lines and the category's percentage beneath it.
    """

    def tidy(root: ElementTree.Element) -> ElementTree.Element:
        for parent in list(root.iter()):
            for child in list(parent):
                # Comments hold pygal's credits and URLs; the script its tooltip settings.
                if not isinstance(child.tag, str) or _tag(child) == "script":
                    parent.remove(child)
        for child in root:
            if _tag(child) == "title":
                child.text = title
        root.set("role", "img")
        root.set("aria-label", title)
        spokes = [
            guides
            for axis in root.iter()
            if _tag(axis) == "g" and {"axis", "x"} <= set(axis.get("class", "").split())
            for guides in axis
        ]
        for guides, (name, value) in zip(spokes, labels, strict=False):
            for hover in [e for e in guides if _tag(e) == "title"]:
                guides.remove(hover)  # it holds the spoke's angle in radians
            path = next(e for e in guides if _tag(e) == "path")
            text = next(e for e in guides if _tag(e) == "text")
            start, end = path.get("d").split("L")
            centre_x, centre_y = (float(v) for v in start.strip(" M").split())
            end_x, end_y = (float(v) for v in end.split())
            x = float(text.get("x"))
            text.attrib.pop("transform", None)
            if abs(end_x - centre_x) < 1:
                anchor = "middle"
            else:
                anchor = "start" if end_x > centre_x else "end"
            lines = wrap_label(name)
            count = len(lines) + 1
            # Grow the block of lines away from the web: up above it, down below, centred beside.
            if anchor == "middle" and end_y < centre_y:
                first = -(count - 1) * 1.15 - 0.6  # clear of the "100%" on this spoke
            elif anchor == "middle":
                first = 0.8
            else:
                first = 0.35 - (count - 1) * 0.575
            text.text = None
            for number, line in enumerate([*lines, value]):
                is_value = number == count - 1
                # Presentation attributes on the tspans: pygal's CSS styles `text`, not `tspan`,
                # so they hold in browsers, and WeasyPrint reads attributes (not style="…").
                span = ElementTree.SubElement(
                    text,
                    "tspan",
                    {
                        "x": f"{x:.2f}",
                        "dy": f"{first if number == 0 else 1.15:.3f}em",
                        "text-anchor": anchor,
                        "font-size": str(VALUE_SIZE if is_value else LABEL_SIZE),
                        "fill": BRAND if is_value else INK,
                    },
                )
                span.text = line
        return root

    return tidy


def radar_svg(result: FrameworkResult) -> Markup:
    """A radar chart of the framework's categories, each as a percentage of its maximum points.

    Returns SVG markup to embed as it is (a Markup string: Jinja does not escape it again).
    Drawn once per set of values and kept: the chart depends on nothing else.
    """
    # pygal goes round anticlockwise; the categories are read clockwise from the top.
    categories = result.categories[:1] + result.categories[:0:-1]
    return _radar(result.name, tuple((c.name, c.percent) for c in categories))


@lru_cache(maxsize=256)
def _radar(name: str, categories: tuple[tuple[str, Decimal], ...]) -> Markup:
    labels = [(category, f"{decimal_text(percent)}%") for category, percent in categories]
    chart = pygal.Radar(
        style=_STYLE,
        width=WIDTH,
        height=HEIGHT,
        margin_left=SIDE_MARGIN,
        margin_right=SIDE_MARGIN,
        margin_top=END_MARGIN,
        margin_bottom=END_MARGIN // 2,
        range=(0, 100),
        y_labels=[20, 40, 60, 80, 100],
        show_legend=False,
        fill=True,
        dots_size=4,
        js=[],  # pygal's default is a tooltip script from a CDN: none, ever
        disable_xml_declaration=True,
        explicit_size=False,
        value_formatter=lambda value: f"{value:g}%",
        classes=("pygal-chart", "radar"),
    )
    chart.x_labels = [label for label, _value in labels]
    chart.add(name, [float(percent) for _category, percent in categories])
    chart.add_xml_filter(_tidy(name, labels))
    # pygal escapes every label; the tree is tidied and carries no script.
    return Markup(chart.render(is_unicode=True))  # nosec
