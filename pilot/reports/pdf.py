"""Rendering the report to PDF with WeasyPrint, with the bundled CJK fonts and nothing else.

The URL fetcher lets the document load only the app's own font files (and data: URIs): no
network, no file of the machine. Rendering gets plain data and holds no database session.
WeasyPrint is imported on the first rendering, not with the app: loading it and its libraries
takes about a second, which every `pilot` command and server start would otherwise pay.
"""

import atexit
import ctypes.util
import logging
from dataclasses import dataclass
from functools import cache

from flask import render_template

from pilot import fonts
from pilot.reports.context import Report

log = logging.getLogger(__name__)

#: PDF/A-3b: an archival PDF that may carry attachments later.
PDF_VARIANT = "pdf/a-3b"


def own_files_only(allowed: set[str]):
    """A URL fetcher that serves the bundled fonts and data: URIs, and refuses everything else."""
    from weasyprint.urls import URLFetcher, URLFetchingError

    class OwnFilesOnly(URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith("data:") or url in allowed:
                return super().fetch(url, headers)
            raise URLFetchingError(f"the report may not load {url}")

    return OwnFilesOnly(allowed_protocols=("file", "data"))


@dataclass(frozen=True)
class Missing:
    what: str
    consequence: str


def missing_pieces() -> list[Missing]:
    """What the PDF needs and this machine lacks (the log and `pilot doctor` say it)."""
    problems = []
    for kind in ("sans", "serif"):
        if fonts.font_path(kind) is None:
            problems.append(
                Missing(
                    f"CJK font ({fonts.FONT_FILES[kind]}, package pylopdf-fonts-zh-cn)",
                    "Chinese text would print as empty boxes",
                )
            )
    if ctypes.util.find_library("harfbuzz-subset") is None:
        problems.append(
            Missing(
                "HarfBuzz subsetting (Debian package libharfbuzz-subset0)",
                "reports render about 3 times slower",
            )
        )
    return problems


@cache
def _fonts():
    """One font configuration per process: the CJK faces are loaded once, not per report."""
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    for problem in missing_pieces():
        log.warning("report: missing %s: %s", problem.what, problem.consequence)
    config = FontConfiguration()
    # Let it go while WeasyPrint's libraries are still loaded, not during interpreter shutdown
    # (where its finaliser fails with "'NoneType' object is not callable").
    atexit.register(_fonts.cache_clear)
    faces, allowed = [], set()
    for family, kind in (("Pilot Sans SC", "sans"), ("Pilot Serif SC", "serif")):
        path = fonts.font_path(kind)
        if path:
            faces.append(f'@font-face {{ font-family: "{family}"; src: url("{path.as_uri()}"); }}')
            allowed.add(path.as_uri())
    css = CSS(string="\n".join(faces), font_config=config, url_fetcher=own_files_only(allowed))
    return config, css, frozenset(allowed)


@dataclass(frozen=True)
class Rendered:
    pdf: bytes
    pages: int


def html_of(report: Report) -> str:
    return render_template("reports/report.html", r=report)


def render_html(html: str) -> Rendered:
    """WeasyPrint alone, on the report's HTML (the benchmark compares against this)."""
    from weasyprint import HTML

    config, font_css, allowed = _fonts()
    document = HTML(string=html, url_fetcher=own_files_only(set(allowed))).render(
        stylesheets=[font_css], font_config=config, pdf_variant=PDF_VARIANT
    )
    return Rendered(document.write_pdf(pdf_variant=PDF_VARIANT), len(document.pages))


def render(report: Report) -> Rendered:
    return render_html(html_of(report))
