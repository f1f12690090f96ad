"""Measure the demo: generate at a scale, ingest, dbt build, and compare the marts with the published series.

Prints a Markdown table (docs/demo-data.md, "Demo vs published"): per series and year the
national mart value, the published figure × scale and the difference in per cent. Run from a
checkout root, e.g.::

    PYTHONPATH=$PWD .venv/bin/python scripts/demo_vs_published.py --scale 0.05 --home /tmp/demo-vs-published

It only uses APIs every version of the platform has (``synthetic.generate``,
``ingestion.ingest_files``, ``kernel.demo.record_demo_scale``, ``helsedata.build.build``), so the
same script measures an older checkout with ``PYTHONPATH`` pointing at it.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import duckdb

#: (mart indicator, breakdown code, seed tjenestetype, seed tjenestetype_kode, seed measure, report)
SERIES = (
    ("vft_mottakere", "alle", "Unike brukere av velferdsteknologi", "", "mottakere", "Omsorg 2020"),
    ("vft_mottakere", "alle", "Velferdsteknologi i alt", "", "mottakere_gjennom_aaret", "2021"),
    ("vft_mottakere", "alle", "Unike brukere av velferdsteknologi", "", "mottakere", "Omsorg 2022"),
    ("vft_mottakere_31des", "alle", "Velferdsteknologi i alt", "", "mottakere_per_31des", "2022"),
    ("vft_mottakere_teknologi", "6", "Trygghetsalarm", "6", "mottakere", "Omsorg 2020"),
    ("vft_mottakere_teknologi", "26", "Lokaliseringsteknologi (GPS)", "26", "mottakere", "Omsorg 2020"),
    ("vft_mottakere_teknologi", "27", "Elektronisk medisineringsstøtte", "27", "mottakere", "Omsorg 2020"),
    ("vft_mottakere_teknologi", "28", "Digitalt tilsyn", "28", "mottakere", "Omsorg 2020"),
)


def published(seed: Path) -> dict[tuple[str, str], dict[str, int]]:
    """Published figures per (indicator, breakdown) and year, from the seed ``kpr_nasjonale_tall``."""
    import csv

    out: dict[tuple[str, str], dict[str, int]] = {}
    with seed.open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["population_group"] == "alle"]
    for indicator, code, title, kode, measure, report in SERIES:
        for r in rows:
            if (r["tjenestetype"], r["tjenestetype_kode"], r["measure"]) == (title, kode, measure) \
                    and report in r["source_title"] and int(r["value"]) > 0:
                out.setdefault((indicator, code), {}).setdefault(r["year"], int(r["value"]))
    return out


def build_demo(home: Path, scale: float, seed: int) -> Path:
    import ingestion
    import synthetic
    from helsedata.build import build
    from kernel.config import Settings
    from kernel.demo import record_demo_scale
    from kernel.sources import SOURCES

    shutil.rmtree(home, ignore_errors=True)
    settings = Settings(home=home).ensure()
    files = synthetic.generate(home / "extracts", scale, seed, progress=False)
    for source in SOURCES:
        ingestion.ingest_files(settings, source, files[source], demo=True, progress=False)
    record_demo_scale(settings, scale, seed)
    result = build(settings, progress=False)
    if not result.to_json()["ok"]:
        raise SystemExit(f"dbt build failed: {result.to_json()['failed']}")
    return settings.warehouse


def table(warehouse: Path, scale: float, seed_csv: Path) -> str:
    con = duckdb.connect(str(warehouse), read_only=True)
    marts = {(i, b, p): v for i, b, p, v in con.execute("""
        select indicator_id, breakdown_code, period, value from marts.mart_indicator_values
        where geo_level = 'nasjonal' and period_type = 'year'""").fetchall()}
    lines = ["| series | year | mart | published × scale | difference |", "|---|---|---|---|---|"]
    for (indicator, code), years in published(seed_csv).items():
        for year, value in sorted(years.items()):
            want = scale * value
            got = marts.get((indicator, code, year))
            diff = "no value" if got is None else f"{100 * (got - want) / want:+.1f} %"
            name = indicator if code == "alle" else f"{indicator} {code}"
            lines.append(f"| {name} | {year} | {'' if got is None else f'{got:g}'} | {want:.1f} | {diff} |")
    for indicator in ("vft_mottakere_67_per_1000", "vft_mottakere_80_per_1000", "vkp_kommuner"):
        for (i, _, year), value in sorted(marts.items()):
            if i == indicator:
                lines.append(f"| {indicator} | {year} | {value:.1f} | | |")
    con.close()
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--home", type=Path, required=True, help="a scratch HELSEDATA_HOME (emptied first)")
    parser.add_argument("--seed-csv", type=Path, default=Path("dbt_project/seeds/reference/kpr_nasjonale_tall.csv"))
    args = parser.parse_args()
    print(table(build_demo(args.home, args.scale, args.seed), args.scale, args.seed_csv))


if __name__ == "__main__":
    main()
