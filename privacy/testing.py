"""Small builders for tests and benchmarks of the analysis room (real DuckDB and SQLite files).

Not used by the platform itself. Rows are written straight into ``raw.*`` tables created with
:func:`kernel.sources.raw_table_ddl`, so the room is tested against the real table shapes.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from pathlib import Path

from kernel.codelists import codes
from kernel.config import Settings


def person(i: int) -> str:
    """A pseudonym-shaped person_id (64 hex characters).

    >>> len(person(1))
    64
    """
    return hashlib.sha256(f"person-{i}".encode()).hexdigest()


def write_rows(settings: Settings, source_name: str, rows: Iterable[Sequence]) -> int:
    """Create ``raw.<source>`` (if needed) and append ``rows`` (lineage columns filled in)."""
    from kernel.sources import SOURCES, raw_columns, raw_table_ddl
    from kernel.warehouse import writer

    source = SOURCES[source_name]
    columns = [c.name for c in raw_columns(source) if not c.name.startswith("_")]
    file_sha256 = hashlib.sha256(f"privacy.testing:{source_name}".encode()).hexdigest()  # one "file" per source
    data = [tuple(r) + (file_sha256, n + 2) for n, r in enumerate(rows)]
    for r in data:
        if len(r) != len(columns) + 2:
            raise ValueError(f"{source_name} rows need {len(columns)} values ({columns}), got {len(r) - 2}")
    names = ", ".join(columns + ["_file_sha256", "_line_number"])
    with writer(settings) as con:
        con.execute(raw_table_ddl(source))
        _record_load(con, file_sha256, source_name, len(data))
        if data:
            import polars as pl

            frame = pl.DataFrame(data, schema=columns + ["_file_sha256", "_line_number"], orient="row",
                                 infer_schema_length=None)
            con.register("frame", frame)
            con.execute(f"insert into {source.raw_table} ({names}) select * from frame")
            con.unregister("frame")
    return len(data)


def _record_load(con, file_sha256: str, source_name: str, rows: int) -> None:
    """A manifest row for the rows written, as a load writes one (the room's extracts are keyed by it)."""
    import datetime as dt

    from ingestion.store import MANIFEST_DDL, FileCounts, write_manifest

    con.execute(MANIFEST_DDL)
    write_manifest(con, file_sha256, "privacy.testing", source_name, "loaded", "utf-8",
                   FileCounts(rows, rows, 0, {}), dt.datetime.now(dt.UTC).replace(tzinfo=None), None)


#: The welfare-technology codes of code list 9151 (the seed, as vft_mottakere's contract says).
WELFARE_TECHNOLOGY_CODES = sorted(int(c) for c in codes("codelist_tjenestetype", "tjenestetype_kode", where="velferdsteknologi"))


def vft_rows(n_persons: int, seed: int = 0, year: int = 2024,
             kommuner: Sequence[str] = ("0301", "1103", "4601")) -> list[tuple]:
    """Welfare-technology rows: 1–3 services per person (codes 6, 26, 27, 28)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n_persons):
        pid = person(i)
        born = rng.randint(1920, 2000)
        sex = rng.choice("KM")
        kommune = rng.choice(list(kommuner))
        for code in rng.sample(WELFARE_TECHNOLOGY_CODES, rng.randint(1, 3)):
            start = date(year, 1, 1) + timedelta(days=rng.randint(0, 364))
            rows.append((pid, born, sex, kommune, code, start, None, rng.random() < 0.5))
    return rows


def kontakter_rows(n_persons: int, seed: int = 0, year: int = 2024, mean_contacts: float = 4.0,
                   kommuner: Sequence[str] = ("0301", "1103", "4601", "5001", "3301")) -> list[tuple]:
    """Contact rows: a geometric-ish number of contacts per person in one year."""
    rng = random.Random(seed)
    kinds = sorted(codes("codelist_tjenesteyter", "tjenesteyter"))
    forms = sorted(codes("codelist_kontaktform", "kontaktform"))
    rows = []
    for i in range(n_persons):
        pid = person(i)
        born = rng.randint(1930, 2023)
        sex = rng.choice("KM")
        kommune = rng.choice(list(kommuner))
        for _ in range(1 + int(rng.expovariate(1 / mean_contacts))):
            rows.append((pid, born, sex, kommune, date(year, 1, 1) + timedelta(days=rng.randint(0, 364)),
                         rng.choice(kinds), rng.choice(forms)))
    return rows


def permit(settings: Settings, epsilon: str = "1", datasets: str = "vft_mottakere",
           researcher: str = "forsker", reviewer: str = "saksbehandler", **review_kwargs) -> str:
    """Apply and approve in one go; returns the permit id."""
    from privacy.room import apply, review

    app = apply(settings, researcher, "test", datasets, epsilon)["application_id"]
    return review(settings, app, reviewer, approve=True, **review_kwargs)["permit_id"]


def spend_worker(args: tuple[str, str, str, str]) -> str:
    """Run one count query in a fresh process (for concurrency tests): 'ok' or the refusal text.

    ``args`` is (HELSEDATA_HOME, permit_id, researcher, epsilon). Module-level so that
    ``multiprocessing`` can pickle it under the ``spawn`` start method.
    """
    from kernel.errors import RefusedError
    from privacy.budget import parse_epsilon
    from privacy.room import QueryRequest, query

    home, permit_id, researcher, epsilon = args
    settings = Settings(home=Path(home))
    req = QueryRequest(permit_id, researcher, "vft_mottakere", ("kjonn",), "count", parse_epsilon(epsilon))
    try:
        query(settings, req)
        return "ok"
    except RefusedError as e:
        return f"refused: {e}"
