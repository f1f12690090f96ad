"""The HTML quality report people read: ``$HELSEDATA_HOME/reports/quality.html``."""

from __future__ import annotations

from pathlib import Path

from kernel.config import Settings

TEMPLATE = "quality_report.html.j2"


def render(run) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("quality", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]))
    from quality.labels import LABEL_NAMES, format_percent, format_share

    return env.get_template(TEMPLATE).render(run=run, label_names=LABEL_NAMES, share=format_share,
                                             percent=format_percent)


def write_report(settings: Settings, run) -> Path:
    settings.reports.mkdir(parents=True, exist_ok=True)
    path = settings.reports / "quality.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render(run), encoding="utf-8")
    tmp.replace(path)
    return path
