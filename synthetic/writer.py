"""Writing extract files: the header of the source contract, ``;``-separated, ISO dates.

Large sources are written in chunks: :class:`YearFiles` keeps one file per year open and
appends each chunk's rows to the file of the row's year, so memory stays bounded.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import polars as pl

from kernel.sources import Source, get_source

SEPARATOR = ";"


def file_name(source: Source, year: int) -> str:
    """``kpr_kontakter_2021.csv``: one file per source per year."""
    return f"{source.name}_{year}.csv"


class YearFiles:
    """One open extract file per year of a source; ``write`` appends a chunk, split by year."""

    def __init__(self, folder: Path, source: Source, years: Iterable[int]):
        folder.mkdir(parents=True, exist_ok=True)
        self.source = source
        self.paths = {y: folder / file_name(source, y) for y in years}
        self.rows = dict.fromkeys(self.paths, 0)
        self._files: dict[int, IO[bytes]] = {}

    def __enter__(self) -> YearFiles:
        header = (SEPARATOR.join(self.source.header) + "\n").encode("utf-8")
        for year, path in self.paths.items():
            f = path.open("wb")
            f.write(header)
            self._files[year] = f
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        for f in self._files.values():
            f.close()

    def write(self, year: int, frame: pl.DataFrame) -> None:
        """Append rows (columns exactly the source header) to the file of ``year``."""
        if frame.columns != self.source.header:
            raise ValueError(f"columns {frame.columns} are not the {self.source.name} header {self.source.header}")
        if frame.height:
            frame.write_csv(self._files[year], include_header=False, separator=SEPARATOR,
                            date_format="%Y-%m-%d", null_value="")
            self.rows[year] += frame.height

    def write_by_year(self, frame: pl.DataFrame, year: pl.Expr) -> None:
        """Split ``frame`` by the year expression (clipped to the file years) and append each part."""
        first, last = min(self.paths), max(self.paths)
        keyed = frame.with_columns(_year=year.clip(first, last))
        for y in sorted(self.paths):
            self.write(y, keyed.filter(pl.col("_year") == y).drop("_year"))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def write_extract(path: Path | str, source: str | Source, rows: Iterable[Mapping[str, Any]],
                  encoding: str = "utf-8") -> Path:
    """Write a small extract of ``source`` from dict rows (for crafted test files).

    Keys missing from a row are written empty; keys not in the header raise ``ValueError``.
    Booleans become ``true``/``false``, dates ISO, ``None`` empty.

    >>> import tempfile, pathlib
    >>> p = write_extract(pathlib.Path(tempfile.mkdtemp()) / "x.csv", "registry_reporting",
    ...                   [{"register": "KPR", "rapporteringsenhet": "0301", "periode": "2024-01",
    ...                     "forventet": 3, "mottatt": 3, "mottatt_digitalt": 3, "mottatt_innen_frist": 2}])
    >>> p.read_text().splitlines()[1]
    'KPR;0301;2024-01;3;3;3;2'
    """
    src = source if isinstance(source, Source) else get_source(source)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.writer(f, delimiter=SEPARATOR, lineterminator="\n")
        writer.writerow(src.header)
        for row in rows:
            unknown = set(row) - set(src.header)
            if unknown:
                raise ValueError(f"columns {sorted(unknown)} are not in the {src.name} header")
            writer.writerow([_cell(row.get(c)) for c in src.header])
    return path
