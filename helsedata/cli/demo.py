"""`helsedata demo-data --out DIR [--scale F] [--seed N]` — synthetic extracts (docs/demo-data.md)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from helsedata.cli import emit, json_option
from helsedata.cli.bokmal import Command
from kernel.formats import format_number


@click.command(name="demo-data", cls=Command)
@click.option("--out", "out_dir", required=True, metavar="DIR",
              type=click.Path(file_okay=False, writable=True, path_type=Path),
              help="Mappen det skrives til: DIR/<kilde>/<kilde>_<år>.csv og DIR/manifest.json. "
                   "Lages hvis den mangler; filer med samme navn overskrives.")
@click.option("--scale", type=click.FloatRange(min=0, max=1, min_open=True), default=0.01, show_default=True,
              metavar="F",
              help="Andel av det nasjonale volumet, 0 < F <= 1. 1 er hele landet (omtrent 5,5 millioner "
                   "personer og 160 millioner kontaktrader, ~7,5 GB); 0.01 tar sekunder.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, metavar="N",
              help="Startverdi for tilfeldighetene. Samme --seed og --scale gir byte-identiske filer.")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Vis fremdriftslinje på standard feil.")
@json_option
def demo_data(out_dir: Path, scale: float, seed: int, progress: bool, as_json: bool) -> None:
    """Skriv syntetiske uttrekk for alle fire kildene (docs/ingestion.md), 2017–2024.

    Bare syntetiske fødselsnumre brukes (måned + 80, noen D-numre): ingen virkelig person finnes i
    dataene. Mottakere av velferdsteknologi og av helse- og omsorgstjenester er kalibrert mot
    Helsedirektoratets nasjonale tall; se docs/demo-data.md.

    Med --json skrives {"files": {kilde: [stier]}, "rows": {kilde: {fil: rader}}, ...}.
    """
    import synthetic

    files = synthetic.generate(out_dir, scale=scale, seed=seed, progress=progress)
    manifest_path = out_dir / synthetic.MANIFEST
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    result = {
        "ok": True,
        "out": str(out_dir),
        "scale": scale,
        "seed": seed,
        "manifest": str(manifest_path),
        "files": {source: [str(p) for p in paths] for source, paths in files.items()},
        "rows": manifest["files"],
    }
    lines = [f"{source:<20} {len(paths)} filer {format_number(manifest['rows'][source]):>12} rader"
             for source, paths in files.items()]
    emit(result, as_json, "\n".join([f"Skrev syntetiske uttrekk til {out_dir} (--scale {scale:g}, --seed {seed}):",
                                     *lines, f"Manifest: {manifest_path}"]))
