"""``helsedata run``: every step of the platform, in order, as one command."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import click
from rich.console import Console

from helsedata.cli import emit, json_option, settings
from helsedata.cli.bokmal import Command
from kernel.formats import format_number

#: Default demo size: 1 % of Norway (about 1.6 million contact rows over 2017–2024).
DEFAULT_DEMO_SCALE = 0.01


@click.command(name="run", cls=Command)
@click.option("--demo", is_flag=True,
              help="Lag først syntetiske uttrekk i mottaksmappen (og en demonøkkel for pseudonymisering).")
@click.option("--scale", type=click.FloatRange(min=0, min_open=True, max=1), default=DEFAULT_DEMO_SCALE,
              show_default=True, metavar="F", help="Med --demo: andel av befolkningen som lages (1 = hele Norge).")
@click.option("--seed", type=int, default=0, show_default=True, metavar="N", help="Med --demo: generatorens startverdi for tilfeldighetene.")
@json_option
def run(demo: bool, scale: float, seed: int, as_json: bool) -> None:
    """Kjør alle stegene i rekkefølge: [demodata →] ingest → build → quality → labels → publish.

    Laster inn hver ny uttrekksfil i HELSEDATA_HOME/landing/<kilde>/ (filer som allerede er lastet
    inn, hoppes over), importerer med --demo strategiens rapporterte tall
    (helsedata/data/reported_figures.csv, hoppes over når de allerede er importert), bygger
    dbt-martene, kjører kvalitetskontrollene, fører de nye kvalitetsmerkene inn i martene og
    publiserer de utleveringskontrollerte tabellene og HTML-rapporten. Stopper ved første steg som
    feiler, og nevner filen, modellen eller kontrollen.
    """
    from helsedata import pipeline

    cfg = settings().ensure()
    console = Console(stderr=True, quiet=as_json)
    summary: dict[str, Any] = {"home": str(cfg.home), "steps": {}}

    def step(name: str, action: Callable[[], Any]) -> Any:
        console.rule(f"[bold]{name}")
        started = time.perf_counter()
        result = action()
        summary["steps"][name] = {"seconds": round(time.perf_counter() - started, 1)}
        return result

    if demo:
        files = step("demo-data", lambda: pipeline.demo_to_landing(cfg, scale, seed, progress=not as_json))
        summary["steps"]["demo-data"]["files"] = sum(len(v) for v in files.values())

    def ingest_all() -> list[dict[str, Any]]:
        results = []
        for source in pipeline.SOURCES:
            loaded = pipeline.ingest_landing(cfg, source, demo=demo, progress=not as_json)
            pipeline.raise_for_rejected(source, loaded)
            results += [pipeline.result_json(r) for r in loaded]
        return results

    ingested = step("ingest", ingest_all)
    summary["steps"]["ingest"].update(
        files=len(ingested),
        rows_loaded=sum(r["rows_loaded"] for r in ingested),
        rows_quarantined=sum(r["rows_quarantined"] for r in ingested),
    )
    if demo:
        # the strategy's own figures (seeds 000 and 003); skipped when this file is already in
        from helsedata.indicators import import_strategy_figures

        figures = step("indicators", lambda: import_strategy_figures(cfg))
        summary["steps"]["indicators"]["rows_loaded"] = figures.rows_loaded
    step("build", lambda: _build(cfg, as_json))
    step("quality", lambda: _quality(cfg))
    step("labels", lambda: _refresh_labels(cfg, as_json))
    step("publish", lambda: _publish(cfg))
    summary["ok"] = True
    emit(summary, as_json, _human_summary(summary, cfg))


#: The run summary's counters in bokmål (the JSON keeps the English keys).
_COUNTERS = {"files": "filer", "rows_loaded": "rader lastet", "rows_quarantined": "rader i karantene",
             "rows_read": "rader lest"}


def _human_summary(summary: dict[str, Any], cfg) -> str:
    """One line per step in bokmål with Norwegian numbers (``ingest  17,8 s  filer 32, rader lastet 1 804 723``)."""
    lines = [f"{name:<10} {format_number(info.pop('seconds')):>7} s  "
             + ", ".join(f"{_COUNTERS.get(key, key.replace('_', ' '))} {format_number(value) if isinstance(value, int | float) else value}"
                         for key, value in info.items())
             for name, info in ((n, dict(i)) for n, i in summary["steps"].items())]
    return "\n".join([*lines, f"Varehus:   {cfg.warehouse}",
                      f"Rapporter: {cfg.reports / 'indicators.html'}, {cfg.reports / 'quality.html'}"])


def _build(cfg, as_json: bool) -> Any:
    from helsedata.build import build

    return build(cfg, progress=not as_json)


def _refresh_labels(cfg, as_json: bool) -> Any:
    from helsedata.build import refresh_quality_labels

    return refresh_quality_labels(cfg, progress=not as_json)


def _quality(cfg) -> Any:
    import quality

    return quality.run_quality(cfg)


def _publish(cfg) -> Any:
    from helsedata.publish import publish

    return publish(cfg)
