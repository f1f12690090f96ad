"""`helsedata demo-data --out DIR [--scale F] [--seed N]` — synthetic extracts (docs/demo-data.md)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from helsedata.cli import emit, json_option


@click.command(name="demo-data")
@click.option("--out", "out_dir", required=True, metavar="DIR",
              type=click.Path(file_okay=False, writable=True, path_type=Path),
              help="Folder to write into: DIR/<source>/<source>_<year>.csv and DIR/manifest.json. "
                   "Created if missing; files of the same name are overwritten.")
@click.option("--scale", type=click.FloatRange(min=0, max=1, min_open=True), default=0.01, show_default=True,
              metavar="F",
              help="Share of the national volume, 0 < F <= 1. 1 is the whole country (about 5.5 million "
                   "persons and 160 million contact rows, ~7.5 GB); 0.01 takes seconds.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, metavar="N",
              help="Random seed. The same seed and scale give byte-identical files.")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Show a progress bar on stderr.")
@json_option
def demo_data(out_dir: Path, scale: float, seed: int, progress: bool, as_json: bool) -> None:
    """Write synthetic extracts for all four sources (docs/ingestion.md), 2017–2024.

    Only synthetic identity numbers (month + 80, some D-numbers) are used: no real person is in
    the data. Welfare-technology recipients and care recipients are calibrated to
    Helsedirektoratet's national figures; see docs/demo-data.md.

    With --json, prints {"files": {source: [paths]}, "rows": {source: {file: rows}}, ...}.
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
    lines = [f"{source:<20} {len(paths)} files {manifest['rows'][source]:>12,} rows"
             for source, paths in files.items()]
    emit(result, as_json, "\n".join([f"Wrote synthetic extracts to {out_dir} (scale {scale:g}, seed {seed}):", *lines,
                                     f"Manifest: {manifest_path}"]))
