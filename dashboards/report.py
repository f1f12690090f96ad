"""The published report pages under ``$HELSEDATA_HOME/reports/``.

* ``indicators.html`` — the strategy's status first (per goal: each indicator's latest value,
  target, status and trend, as in the status report of the national e-health strategy), then one
  section per indicator with its bokmål definition and charts (:mod:`dashboards.indicators`);
* ``registre/<register>.html`` — one page per health registry for its owner
  (:mod:`dashboards.registries`).

Every page is self-contained (inline CSS and SVG charts, no scripts, nothing fetched), so it can be
mailed, archived or opened offline; it is rendered only from the disclosure-controlled
``public.*`` rows, never from the marts, so it cannot show more than the public tables do.
Templates only loop and format: everything shown is computed before rendering.

Suppressed cells are shown with SSB's symbol ``:`` ("not published for confidentiality"). Cells
hidden for being small and cells hidden to protect them look the same on purpose: telling
them apart would tell a reader which hidden cells are small.

On demo data every page says so, with the scale (:mod:`kernel.demo`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dashboards.indicators import STATUSES, build_goals, build_indicators
from dashboards.registries import build_registry_pages, registry_names, thresholds
from kernel.config import Settings
from kernel.formats import (
    SUPPRESSED_SYMBOL,
    format_date,
    format_number,
    format_period,
    format_scale,
    format_share,
    format_unit,
)

TEMPLATES = Path(__file__).parent / "templates"
#: Folder of the registry pages, under the reports folder.
REGISTRY_DIR = "registre"
PUBLIC_COVERAGE = "public.registry_reporting_coverage"

GATE_LABELS = {"passed": "bestått", "overridden": "overstyrt (se revisjonsloggen)",
               "unavailable": "ikke tilgjengelig"}

__all__ = ["SUPPRESSED_SYMBOL", "Publication", "ReportPages", "demo_notice", "format_number", "render_report", "status_colour"]


@dataclass(frozen=True)
class ReportPages:
    """Where one publication's pages are."""

    report: Path
    registry_pages: tuple[Path, ...]

    @property
    def registry_dir(self) -> Path:
        return self.report.parent / REGISTRY_DIR


def status_colour(status: Any) -> str:
    """The colour class of a status mart value.

    >>> status_colour("green"), status_colour("no_target"), status_colour(None)
    ('green', 'grey', 'grey')
    """
    return STATUSES.get(str(status), STATUSES["no_data"]).colour


def demo_notice(scale: float | None) -> str | None:
    """The sentence every page shows on demo data (None on real data).

    >>> demo_notice(0.01)
    'Dette er demodata, skala 1\\u202f%: syntetiske data for 1\\u202f% av befolkningen. Mål som teller personer er skalert med samme faktor.'
    """
    if scale is None:
        return None
    return (f"Dette er demodata, skala {format_scale(scale)}: syntetiske data for {format_scale(scale)} av "
            "befolkningen. Mål som teller personer er skalert med samme faktor.")


def _environment():
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             autoescape=jinja2.select_autoescape(["html", "j2"]),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(num=format_number, share=format_share, period=format_period, date=format_date,
                       unit=format_unit)
    return env


@dataclass(frozen=True)
class Publication:
    """What every page says about the publication it belongs to (footer and demo notice)."""

    published_at: dt.datetime
    gate: str
    suppression_threshold: int
    rounding_base: int
    demo_scale: float | None = None

    def context(self, root: str) -> dict[str, Any]:
        """Template variables of a page ``root`` levels below the reports folder (``""`` or ``"../"``)."""
        return {"published": format_date(self.published_at), "gate": GATE_LABELS.get(self.gate, self.gate),
                "demo": demo_notice(self.demo_scale), "root": root, "suppressed_symbol": SUPPRESSED_SYMBOL,
                "threshold": self.suppression_threshold, "rounding_base": self.rounding_base}


def _write(path: Path, html: str) -> None:
    """Write atomically (temporary file, then rename): a reader never sees half a page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)


def _fetch(con, table: str) -> list[dict[str, Any]]:
    schema, name = table.split(".")
    exists = con.execute("select count(*) from information_schema.tables where table_schema = ? "
                         "and table_name = ?", [schema, name]).fetchone()[0]
    if not exists:
        return []
    cursor = con.execute(f"select * from {table}")
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, r)) for r in cursor.fetchall()]


def _published(settings: Settings, published_at: dt.datetime, gate: str) -> tuple[Publication, list[dict[str, Any]]]:
    """The publication's rules (``public.publication``, as privacy applied them) and the coverage rows.

    Read from the published tables rather than imported from :mod:`privacy`: the pages show only
    what was published, including the rules it was published under.
    """
    from kernel.demo import demo_scale_of
    from kernel.warehouse import read_only

    with read_only(settings) as con:
        [rules] = _fetch(con, "public.publication")
        coverage = _fetch(con, PUBLIC_COVERAGE)
        scale = demo_scale_of(con)
    return Publication(published_at, gate, int(rules["suppression_threshold"]), int(rules["rounding_base"]),
                       scale), coverage


def indicator_texts() -> dict[str, dict[str, str]]:
    """indicator_id → its bokmål texts (seed ``indicator_texts_nb``)."""
    from kernel.codelists import read_seed

    return {r["indicator_id"]: dict(r) for r in read_seed("indicator_texts_nb")}


def render_pages(values: Sequence[Mapping[str, Any]], status: Sequence[Mapping[str, Any]],
                 definitions: Mapping[str, Mapping[str, Any]], coverage: Sequence[Mapping[str, Any]],
                 publication: Publication) -> dict[str, str]:
    """Every page as HTML, by its path under the reports folder."""
    env = _environment()
    indicators = build_indicators(values, status, definitions, indicator_texts(), registry_names(),
                                  publication.demo_scale)
    registries = build_registry_pages(coverage)
    pages = {"indicators.html": env.get_template("indicators.html.j2").render(
        **publication.context(root=""), goals=build_goals(indicators),
        indicators=indicators, registries=registries, statuses=STATUSES)}
    limits = thresholds()
    for page in registries:
        pages[page.href] = env.get_template("registry.html.j2").render(
            **publication.context(root="../"), page=page, limits=limits)
    return pages


def render_report(settings: Settings, values, status, definitions, *, published_at: dt.datetime,
                  gate: str) -> Path:
    """Write the report pages; returns the path of ``indicators.html`` (registry pages beside it).

    Reads the rest of the publication (its rules, the registry coverage) and the demo scale from
    the warehouse, so the publication step calls one function.
    """
    publication, coverage = _published(settings, published_at, gate)
    pages = render_pages(values, status, definitions, coverage, publication)
    for name, html in pages.items():
        _write(settings.reports / name, html)
    return settings.reports / "indicators.html"


def report_pages(settings: Settings) -> ReportPages:
    """The pages the last publication wrote (for ``helsedata publish`` to say where they are)."""
    folder = settings.reports / REGISTRY_DIR
    return ReportPages(settings.reports / "indicators.html",
                       tuple(sorted(folder.glob("*.html"))) if folder.is_dir() else ())
