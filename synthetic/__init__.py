"""Synthetic extracts for all four sources (docs/demo-data.md; demo data, never real people).

``generate(out_dir, scale, seed, last_year=...)`` writes ``out_dir/<source>/<source>_<year>.csv``
for 2017 to ``last_year`` (default: the last year of the published series the demo reproduces)
and ``out_dir/manifest.json``. The same seed and scale give byte-identical files. Scale 1 is the
whole country (≈5.55 M persons, ≈160 M contact rows) and streams to disk in bounded memory.
See ``docs/demo-data.md`` for what is generated and how it is calibrated.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import numpy as np
import polars as pl

from kernel.errors import UserInputError
from kernel.sources import KPR_KONTAKTER, KPR_TJENESTER, REGISTRY_REPORTING, SOURCES, VFT_MOTTAKERE
from synthetic.calibration import FIRST_YEAR, LAST_PUBLISHED_YEAR, calibration_summary
from synthetic.episodes import start_year
from synthetic.geography import geography
from synthetic.writer import YearFiles, write_extract

__all__ = ["MANIFEST", "MAX_SCALE", "generate", "write_extract"]

#: Scale 1 is the national volume; more is refused (≈7.5 GB of contacts at 1 already).
MAX_SCALE = 1.0
MANIFEST = "manifest.json"
#: Independent random streams (with the seed): 1 population, 2 care, 3 contacts, 4 registries, 5 vft.
_POPULATION, _CARE, _VFT = 1, 2, 5


def _check(scale: float, seed: int, last_year: int) -> None:
    if not (0 < scale <= MAX_SCALE):
        raise UserInputError(f"scale må være > 0 og høyst {MAX_SCALE:g} (1 = nasjonalt volum), ikke {scale!r}")
    if not isinstance(seed, int) or seed < 0:
        raise UserInputError(f"seed må være et ikke-negativt heltall, ikke {seed!r}")
    if not (isinstance(last_year, int) and FIRST_YEAR <= last_year <= LAST_PUBLISHED_YEAR):
        raise UserInputError(f"last_year må være mellom {FIRST_YEAR} og {LAST_PUBLISHED_YEAR} (siste år i den "
                             f"publiserte serien demoen gjenskaper; ingen framskriving), ikke {last_year!r}")


def generate(out_dir: Path, scale: float = 0.01, seed: int = 0, progress: bool = True,
             last_year: int = LAST_PUBLISHED_YEAR) -> dict[str, list[Path]]:
    """Write synthetic extracts of every source and return the files per source.

    :param out_dir: folder; files go to ``out_dir/<source>/`` (existing files of the same name
        are overwritten) and ``out_dir/manifest.json`` records scale, seed, rows and calibration.
    :param scale: share of the national volume, 0 < scale ≤ 1.
    :param seed: the same seed and scale give byte-identical files.
    :param progress: show a rich progress bar on stderr.
    :param last_year: the horizon: files for 2017 … ``last_year``; episodes running on 31 December
        of it have an empty sluttdato.
    """
    from synthetic.kontakter import contact_chunks
    from synthetic.population import build_population
    from synthetic.registry import registry_frame
    from synthetic.tjenester import care_frame
    from synthetic.vft import vft_frame

    _check(scale, seed, last_year)
    years = tuple(range(FIRST_YEAR, last_year + 1))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    output = _Output(out_dir, years)
    with _Progress(progress) as bar:
        geo = geography()
        population = build_population(geo, scale, np.random.default_rng([seed, _POPULATION]))
        bar.advance("persons")
        care, care_recipient = care_frame(population, geo, scale, np.random.default_rng([seed, _CARE]), years)
        output.write_frame(KPR_TJENESTER.name, care, start_year())
        del care
        bar.advance(KPR_TJENESTER.name)
        vft = vft_frame(population, geo, scale, np.random.default_rng([seed, _VFT]), care_recipient, years)
        output.write_frame(VFT_MOTTAKERE.name, vft, start_year())
        del vft
        bar.advance(VFT_MOTTAKERE.name)
        period_year = pl.col("periode").str.slice(0, 4).cast(pl.Int32)
        registry = registry_frame(geo, seed).filter(period_year <= last_year)
        output.write_frame(REGISTRY_REPORTING.name, registry, period_year)
        bar.advance(REGISTRY_REPORTING.name)
        jobs = list(contact_chunks(population, geo, scale, seed, years))
        bar.start_contacts(len(jobs))

        def write_contacts(w: YearFiles) -> None:
            for job in jobs:
                for year, frame in job():
                    w.write(year, frame)
                bar.advance(KPR_KONTAKTER.name)

        output.write(KPR_KONTAKTER.name, write_contacts)
    manifest = {
        "generator": "synthetic (helsedata demo-data)",
        "scale": scale,
        "seed": seed,
        "years": [years[0], years[-1]],
        "persons": len(population),
        "files": {s: output.rows[s] for s in SOURCES},
        "rows": {s: sum(output.rows[s].values()) for s in SOURCES},
        "calibration": calibration_summary(scale),
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return {s: output.files[s] for s in SOURCES}


@dataclass
class _Output:
    """The year files written so far: rows per file and paths per source."""

    out_dir: Path
    years: tuple[int, ...]
    rows: dict[str, dict[str, int]] = field(default_factory=dict)
    files: dict[str, list[Path]] = field(default_factory=dict)

    def write(self, source: str, fill: Callable[[YearFiles], None]) -> None:
        """Open the year files of ``source``, let ``fill`` write to them, record rows and paths."""
        with YearFiles(self.out_dir / source, SOURCES[source], self.years) as writer:
            fill(writer)
        self.rows[source] = {writer.paths[y].name: writer.rows[y] for y in self.years}
        self.files[source] = [writer.paths[y] for y in self.years]

    def write_frame(self, source: str, frame: pl.DataFrame, year: pl.Expr) -> None:
        """Write ``frame`` split into year files by ``year`` (the frame is not kept: callers may drop it)."""
        self.write(source, lambda w: w.write_by_year(frame, year))


class _Progress:
    """A rich progress bar on stderr (or nothing): one step per source, one per contact chunk."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._bar = None
        self._tasks: dict[str, int] = {}

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("{task.description:<20}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=Console(stderr=True))
            self._bar.__enter__()
            for name in ("persons", KPR_TJENESTER.name, VFT_MOTTAKERE.name, REGISTRY_REPORTING.name):
                self._tasks[name] = self._bar.add_task(name, total=1)
        return self

    def start_contacts(self, chunks: int) -> None:
        if self._bar is not None:
            self._tasks[KPR_KONTAKTER.name] = self._bar.add_task(KPR_KONTAKTER.name, total=chunks)

    def advance(self, name: str) -> None:
        if self._bar is not None:
            self._bar.advance(self._tasks[name])

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.__exit__(exc_type, exc, tb)
