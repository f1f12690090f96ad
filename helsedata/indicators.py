"""Reported figures: goal indicators no extract carries, imported with provenance (docs/indicators.md).

Most of the strategy's goal indicators (seed 003) are surveys, programme roll-outs or national
statistics; the platform cannot compute them. An indicator whose definition says
``origin = rapportert`` (seed ``indicator_definitions``) gets its values from a CSV file::

    indicator_id,period,geo_level,geo_code,value,unit,source,reported_by[,seed_reference]

:func:`import_figures` checks every row against the definitions and loads the file into
``raw.reported_figures`` **all or nothing**:

* an unknown indicator, a computed (``beregnet``) indicator, a unit other than the definition's,
  a value that is not a number or lies outside the definition's ``value_min``..``value_max``, a
  period that is not a year, an unknown geography, an empty source or reporter, or a period
  already reported (in the warehouse or earlier in the same file) is an error naming the line;
* with any error nothing is loaded (:class:`~kernel.errors.UserInputError`, exit 2);
* the same file again (same sha256) is skipped, not an error, so ``helsedata run --demo`` can
  import the strategy's own figures (:data:`STRATEGY_FIGURES`) on every run; a *different* file
  with a figure for a period already reported is an error, even when the value is equal:
  a correction is a decision someone makes, not something an import does.

Every loaded row keeps its provenance: ``source``, ``reported_by``, ``seed_reference`` and the
lineage columns ``_file_sha256``, ``_line_number``, ``_loaded_at`` every raw table has.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from kernel.config import Settings
from kernel.errors import UserInputError

__all__ = ["COLUMNS", "STRATEGY_FIGURES", "ImportResult", "ReportedFigure", "ensure_reported_figures_table",
           "import_figures", "parse_figures"]

#: The columns a figures file must have, in this order (docs/design.md §6).
COLUMNS = ("indicator_id", "period", "geo_level", "geo_code", "value", "unit", "source", "reported_by")
#: An optional last column: where in the strategy documents the figure is stated.
OPTIONAL_COLUMNS = ("seed_reference",)
GEO_LEVELS = ("nasjonal", "fylke", "kommune")
NATION = "NO"
#: The strategy's own figures (seeds 000 and 003): the first file, imported by ``run --demo``.
STRATEGY_FIGURES = Path(__file__).with_name("data") / "reported_figures.csv"
#: Errors listed in one message before "and N more".
MAX_LISTED_ERRORS = 20

_YEAR = re.compile(r"\d{4}")
_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")

DDL = """
create table if not exists raw.reported_figures (
    indicator_id varchar not null,
    period varchar not null,
    geo_level varchar not null,
    geo_code varchar not null,
    value double not null,
    unit varchar not null,
    source varchar not null,
    reported_by varchar not null,
    seed_reference varchar,
    _file_sha256 varchar not null,
    _line_number integer not null,
    _loaded_at timestamp not null
)
"""


@dataclass(frozen=True)
class ReportedFigure:
    """One checked row of a figures file."""

    indicator_id: str
    period: str
    geo_level: str
    geo_code: str
    value: float
    unit: str
    source: str
    reported_by: str
    seed_reference: str | None
    line_number: int

    @property
    def key(self) -> tuple[str, str, str, str]:
        """What may be reported once: indicator, period and geography."""
        return (self.indicator_id, self.period, self.geo_level, self.geo_code)


@dataclass(frozen=True)
class ImportResult:
    """What ``helsedata indicators import`` did with one file."""

    file: str
    sha256: str
    status: Literal["loaded", "skipped_duplicate"]
    rows_read: int
    rows_loaded: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def ensure_reported_figures_table(con: Any) -> None:
    """Create ``raw.reported_figures`` (dbt's source) when it does not exist."""
    con.execute("create schema if not exists raw")
    con.execute(DDL)


def import_figures(settings: Settings, path: Path) -> ImportResult:
    """Check ``path`` against the indicator definitions and load it, all or nothing.

    :raises UserInputError: naming every bad line (up to :data:`MAX_LISTED_ERRORS`); nothing loaded.
    """
    from kernel.warehouse import writer

    if not path.is_file():
        raise UserInputError(f"{path}: filen finnes ikke")
    data = path.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    with writer(settings) as con:
        ensure_reported_figures_table(con)
        if con.execute("select 1 from raw.reported_figures where _file_sha256 = ? limit 1", [sha256]).fetchone():
            rows_read = len(parse_figures(str(path), data, _definitions(), _geographies(), reported=set()))
            return ImportResult(str(path), sha256, "skipped_duplicate", rows_read, 0)
        reported = {tuple(r) for r in con.execute(
            "select indicator_id, period, geo_level, geo_code from raw.reported_figures").fetchall()}
        figures = parse_figures(str(path), data, _definitions(), _geographies(), reported)
        loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        con.execute("begin transaction")
        con.executemany(
            "insert into raw.reported_figures values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [[f.indicator_id, f.period, f.geo_level, f.geo_code, f.value, f.unit, f.source, f.reported_by,
              f.seed_reference, sha256, f.line_number, loaded_at] for f in figures])
        con.execute("commit")
    return ImportResult(str(path), sha256, "loaded", len(figures), len(figures))


def parse_figures(name: str, data: bytes, definitions: Mapping[str, Mapping[str, str]],
                  geographies: Mapping[str, frozenset[str]],
                  reported: set[tuple[str, ...]]) -> list[ReportedFigure]:
    """Every row of a figures file, checked; raises :class:`UserInputError` listing the bad lines.

    ``reported`` holds the (indicator, period, geo level, geo code) keys already in the warehouse.

    >>> defs = {"x": {"origin": "rapportert", "unit": "prosent", "value_min": "0", "value_max": "100",
    ...               "geo_levels": "nasjonal"}}
    >>> text = "indicator_id,period,geo_level,geo_code,value,unit,source,reported_by\\nx,2023,nasjonal,NO,76,prosent,S,R\\n"
    >>> [f.value for f in parse_figures("f.csv", text.encode(), defs, {"nasjonal": frozenset({"NO"})}, set())]
    [76.0]
    >>> parse_figures("f.csv", text.replace(",76,", ",176,").encode(), defs, {"nasjonal": frozenset({"NO"})}, set())
    Traceback (most recent call last):
    ...
    kernel.errors.UserInputError: f.csv: 1 feil, ingenting er lastet inn: linje 2: verdien 176 for x er utenfor gyldig område 0–100
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UserInputError(f"{name}: filen er ikke UTF-8 (byte {e.start})") from None
    reader = csv.reader(io.StringIO(text))
    header = [c.strip() for c in next(reader, [])]
    if tuple(header) not in (COLUMNS, COLUMNS + OPTIONAL_COLUMNS):
        raise UserInputError(f"{name}: linje 1: kolonnene må være {','.join(COLUMNS)}[,seed_reference], "
                             f"ikke {','.join(header) or '(tom)'}")
    figures: list[ReportedFigure] = []
    errors: list[str] = []
    seen: dict[tuple[str, ...], int] = {}
    for line_number, fields in enumerate(reader, start=2):
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != len(header):
            errors.append(f"linje {line_number}: {len(fields)} felt, ventet {len(header)}")
            continue
        row = dict(zip(header, (f.strip() for f in fields), strict=True))
        problem = _check_row(row, definitions, geographies)
        if problem:
            errors.append(f"linje {line_number}: {problem}")
            continue
        figure = _figure(row, line_number)
        if figure.key in reported:
            errors.append(f"linje {line_number}: {figure.indicator_id} for {figure.period} ({_where(figure)}) "
                          "er allerede rapportert")
        elif figure.key in seen:
            errors.append(f"linje {line_number}: {figure.indicator_id} for {figure.period} ({_where(figure)}) "
                          f"står også på linje {seen[figure.key]}")
        else:
            seen[figure.key] = line_number
            figures.append(figure)
    if errors:
        listed = "; ".join(errors[:MAX_LISTED_ERRORS])
        more = f"; og {len(errors) - MAX_LISTED_ERRORS} til" if len(errors) > MAX_LISTED_ERRORS else ""
        raise UserInputError(f"{name}: {len(errors)} feil, ingenting er lastet inn: {listed}{more}")
    if not figures:
        raise UserInputError(f"{name}: filen har ingen rader")
    return figures


def _check_row(row: Mapping[str, str], definitions: Mapping[str, Mapping[str, str]],
               geographies: Mapping[str, frozenset[str]]) -> str | None:
    """What is wrong with one row, in bokmål, or None."""
    indicator = row["indicator_id"]
    definition = definitions.get(indicator)
    if definition is None:
        return f"ukjent indikator {indicator!r}"
    if definition["origin"] != "rapportert":
        return f"{indicator} beregnes fra plattformens data og kan ikke rapporteres inn"
    if row["unit"] != definition["unit"]:
        return f"enheten for {indicator} er {definition['unit']!r}, ikke {row['unit']!r}"
    if not _YEAR.fullmatch(row["period"]):
        return f"perioden {row['period']!r} er ikke et årstall (ÅÅÅÅ)"
    if not _NUMBER.fullmatch(row["value"]):
        return f"verdien {row['value']!r} er ikke et tall"
    value = float(row["value"].replace(",", "."))
    low, high = definition.get("value_min") or "", definition.get("value_max") or ""
    if (low and value < float(low)) or (high and value > float(high)):
        shown = row["value"].replace(".", ",")
        return f"verdien {shown} for {indicator} er utenfor gyldig område {low or '−∞'}–{high or '∞'}"
    level = row["geo_level"]
    if level not in GEO_LEVELS:
        return f"geo_level {level!r} er ikke en av {', '.join(GEO_LEVELS)}"
    if level not in definition["geo_levels"].split(";"):
        return f"{indicator} rapporteres ikke på nivået {level}"
    if row["geo_code"] not in geographies.get(level, frozenset()):
        return f"ukjent geo_code {row['geo_code']!r} for {level}" + (" (landet er NO)" if level == "nasjonal" else "")
    for column in ("source", "reported_by"):
        if not row[column]:
            return f"{column} er tom; et rapportert tall må ha kilde og avsender"
    return None


def _figure(row: Mapping[str, str], line_number: int) -> ReportedFigure:
    return ReportedFigure(
        indicator_id=row["indicator_id"], period=row["period"], geo_level=row["geo_level"],
        geo_code=row["geo_code"], value=float(row["value"].replace(",", ".")), unit=row["unit"],
        source=row["source"], reported_by=row["reported_by"],
        seed_reference=row.get("seed_reference") or None, line_number=line_number)


def _where(figure: ReportedFigure) -> str:
    return figure.geo_code if figure.geo_level == "nasjonal" else f"{figure.geo_level} {figure.geo_code}"


def _definitions() -> dict[str, dict[str, str]]:
    from kernel.codelists import read_seed

    return {row["indicator_id"]: row for row in read_seed("indicator_definitions")}


def _geographies() -> dict[str, frozenset[str]]:
    from kernel.codelists import codes

    return {"nasjonal": frozenset({NATION}),
            "fylke": codes("fylker_2024", "fylkesnummer"),
            "kommune": codes("kommuner_2024", "kommunenummer")}


def import_strategy_figures(settings: Settings) -> ImportResult:
    """Import :data:`STRATEGY_FIGURES` (what ``helsedata run --demo`` does; skipped when already in)."""
    return import_figures(settings, STRATEGY_FIGURES)


def describe(results: Sequence[ImportResult]) -> str:
    """One bokmål line per file, for the human-readable CLI output."""
    from kernel.formats import format_number

    return "\n".join(
        f"{r.file}: {format_number(r.rows_loaded)} tall lastet inn" if r.status == "loaded"
        else f"{r.file}: allerede lastet inn (samme sha256), hoppet over" for r in results)
