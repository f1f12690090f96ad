"""Person-bounded aggregation in DuckDB — the exact part of a release, never returned to users.

Two steps, so that a DP query costs about what an exact ``GROUP BY`` costs:

1. **Bounded extract (once per data load).** For each dataset, a DuckDB file under
   ``HELSEDATA_HOME/room_cache/`` holds the dataset's view with at most ``k`` rows per person
   and *without* ``person_id``. The k rows kept are the first in an order fixed by each row's own
   content (``order by hash(columns), columns``), so which rows survive is a deterministic
   function of that person's rows alone — not of physical row order or thread scheduling, which
   other people's rows could influence. Hence adding or removing one person changes the extract
   by at most k rows — the stability OpenDP's ``unit_of(contributions=k)`` (or
   ``truncate_per_group(k)`` with an identifier) assumes. Rows equal in every dataset column are
   interchangeable, so ties do not matter. It is built in one streaming pass (a window
   DuckDB sorts out of core), so it holds at most the memory limit at any scale. The file
   name carries a fingerprint of the dataset definition, ``k`` and the data's version — for a
   source the raw table's row count (DuckDB metadata) and its latest load in
   ``ingest.manifest``, for a dbt table the build's invocation id — so each query checks
   freshness without reading the table; a new load gives a new fingerprint and a rebuild.
   Building is serialised by a file lock and published by an atomic rename. The pipeline builds
   the extracts right after a load (:func:`prepare_extracts`, called by ``helsedata ingest`` and
   ``helsedata run``), so the first query after a load costs about what a warm one does instead
   of paying for the build.
2. **Per query.** A plain ``GROUP BY`` on the extract (values clipped to the query bounds, nulls
   dropped), after the query's filters (``--where``: equality on group-by columns, values bound
   as parameters). Groups whose key is not in the public domains are discarded before the
   measurement; missing public keys are filled with zero by the caller, so every public key is
   released.

A filter is a *stable transformation*: it keeps or drops whole rows by their own values, so a
person who has at most k rows in the extract has at most k rows after it, and neighbouring
extracts stay neighbours. The sensitivity, and so the noise scale, is the same with and without
a filter (tests/integration/test_room_linked.py checks the OpenDP measurement). Datasets that
count distinct persons keep a ``_unit`` column in the extract, a 64-bit hash of the pseudonym (not
the pseudonym itself; two persons share one with probability about n²/2⁶⁵, which would undercount a
cell by one); a person still reaches at most k cells, each by one, so the count's sensitivity is k
as for rows.

Dropping non-public keys after the truncation (rather than before) is equally private — a row
filter keeps "≤ k rows per person" — and only costs utility for people with invalid codes.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from kernel.config import Settings
from kernel.errors import ConfigurationError
from privacy.catalogue import COUNTS_PERSONS, DATASETS, Dataset, domain

#: Folder (under HELSEDATA_HOME) of the bounded extracts.
CACHE_DIR = "room_cache"

STATISTICS = ("count", "sum", "mean", "quantile")


@dataclass(frozen=True)
class AggregateSpec:
    dataset: Dataset
    by: tuple[str, ...]
    statistic: str
    column: str | None = None
    bounds: tuple[int, int] | None = None
    #: Filters: (group-by column, public key) pairs, all of which a row must match.
    where: tuple[tuple[str, str], ...] = ()
    #: The day whose calendar sets the public year domain (needed when grouping by ``aar``).
    today: date | None = None


def extract_columns(ds: Dataset) -> list[str]:
    """The columns the bounded extract keeps: group-by, numeric, and the unit for person counts."""
    unit = ["hash(person_id) as _unit"] if ds.counts == COUNTS_PERSONS else []
    return [c.name for c in ds.group_by] + list(ds.numeric) + unit


def bounded_sql(ds: Dataset) -> str:
    """The bounded extract of a dataset: ≤ k rows per person, ``person_id`` dropped.

    One streaming pass: a window numbers each person's rows in the content order and keeps the
    first k. DuckDB's window operator sorts out of core, so the build holds at most the memory
    limit whatever the data's size. (An earlier form counted rows per person first and windowed
    only people above k through a CTE referenced three times; DuckDB materialised that CTE and
    nearly everyone in ``kpr_kontakter`` is above k, so it cost three times as long and the
    whole memory limit. A per-person ``min(hash, k)`` aggregate is faster still but its list
    states cannot spill: it ran out of memory under a 400 MB limit where this form did not.)

    >>> from privacy.catalogue import get_dataset
    >>> sql = bounded_sql(get_dataset("vft_mottakere"))
    >>> "partition by person_id order by hash(aar, " in sql, sql.endswith("<= 10")
    (True, True)
    """
    columns = ", ".join([c.name for c in ds.group_by] + list(ds.numeric))
    kept = ", ".join(extract_columns(ds))
    return (f"select {kept} from ({ds.select_sql})\n"
            f"qualify row_number() over (partition by person_id order by hash({columns}), {columns})"
            f" <= {ds.rows_per_person}")


def aggregate_sql(spec: AggregateSpec) -> str:
    """The per-query aggregation over the bounded extract (table ``bounded``); ``?`` per filter.

    >>> from privacy.catalogue import get_dataset
    >>> aggregate_sql(AggregateSpec(get_dataset("kpr_kontakter"), ("kjonn",), "count"))
    'select kjonn, count(*)::bigint as n from bounded group by kjonn'
    >>> aggregate_sql(AggregateSpec(get_dataset("vft_mottakere"), ("aar",), "count", where=(("fylke", "03"),)))
    'select aar, count(distinct _unit)::bigint as n from bounded where fylke = ? group by aar'
    """
    if spec.statistic not in STATISTICS:
        raise ValueError(f"unknown statistic {spec.statistic!r}")
    ds = spec.dataset
    key_cols = [ds.group_column(c).name for c in spec.by]
    conditions = [f"{ds.group_column(c).name} = ?" for c, _ in spec.where]
    value = ""
    if spec.statistic != "count":
        if spec.column is None or spec.bounds is None:
            raise ValueError(f"a {spec.statistic} needs a column and bounds")
        col = ds.numeric_column(spec.column)
        lo, hi = (int(b) for b in spec.bounds)
        value = f"least(greatest(cast({col} as bigint), {lo}), {hi})"
        conditions.append(f"{col} is not null")
    where = f" where {' and '.join(conditions)}" if conditions else ""
    count = "count(distinct _unit)::bigint as n" if ds.counts == COUNTS_PERSONS else "count(*)::bigint as n"
    aggregates = {
        "count": count,
        "sum": f"count(*)::bigint as n, sum({value})::bigint as s",
        "mean": f"count(*)::bigint as n, sum({value})::bigint as s",
        "quantile": f"count(*)::bigint as n, list({value}) as vs",
    }[spec.statistic]
    keys = ", ".join(key_cols)
    group = f" group by {keys}" if key_cols else ""
    return f"select {keys + ', ' if key_cols else ''}{aggregates} from bounded{where}{group}"


def key_domains(spec: AggregateSpec) -> list[tuple[str, ...]]:
    return [domain(spec.dataset.group_column(c).domain, spec.today) for c in spec.by]


def sql_path(path: Path) -> str:
    """A file path as a SQL string literal, for ``ATTACH`` (which takes no bind parameters).

    DuckDB 1.5 parses ``ATTACH`` before binding, so ``attach ? as x`` is a syntax error; the path
    is quoted the SQL way instead, doubling every single quote, so a home folder such as
    ``/data/o'brien`` is one literal and never a second statement.

    >>> sql_path(Path("/data/o'brien/warehouse.duckdb"))
    "'/data/o''brien/warehouse.duckdb'"
    """
    return "'" + str(path).replace("'", "''") + "'"


def _connect(settings: Settings):
    """A DuckDB connection under the platform's memory limit (``kernel.warehouse.duckdb_config``).

    Without it an in-memory connection may take 80 % of RAM: building the kpr_kontakter extract
    at scale 0.05 peaked at 3.6 GiB.
    """
    import duckdb

    from kernel.warehouse import duckdb_config

    con = duckdb.connect(":memory:", config=duckdb_config(settings))
    con.execute("set enable_progress_bar = false")
    return con


def bounded_extract(settings: Settings, ds: Dataset, con=None) -> Path:
    """The current bounded extract of ``ds`` (built when the source table or definition changed).

    :param con: a DuckDB connection to use and leave open (the query's own), else one of its own.
    """
    warehouse = settings.warehouse
    if not warehouse.exists():
        raise ConfigurationError(f"fant ikke noe varehus i {warehouse}; kjør 'helsedata ingest' (eller 'helsedata run --demo') først")
    cache = warehouse.parent / CACHE_DIR
    cache.mkdir(exist_ok=True)
    own = con is None
    con = _connect(settings) if own else con
    try:
        con.execute(f"attach {sql_path(warehouse)} as wh (read_only)")
        con.execute("use wh")
        path = _current_extract(con, cache, ds)
    finally:
        if own:
            con.close()
    if not own:  # reached on success only, when the snapshot transaction has ended
        con.execute("use memory")
        con.execute("detach wh")
    return path


def _current_extract(con, cache: Path, ds: Dataset) -> Path:
    """Fingerprint ``ds`` in one snapshot of the attached warehouse; build its extract if missing."""
    import duckdb

    con.execute("begin transaction")  # one snapshot for the fingerprint and the build
    try:
        fingerprint = con.execute(f"select {ds.fingerprint_sql} from {ds.table}").fetchone()
    except (duckdb.CatalogException, duckdb.BinderException):  # missing, or built by an older definition
        step = "helsedata build" if ds.table.startswith("analysis.") else "helsedata ingest"
        raise ConfigurationError(f"datasettet {ds.name!r} finnes ikke i lageret slik rommet leser det "
                                 f"({ds.table} mangler eller er bygget av en eldre versjon); kjør '{step}' først") from None
    key = hashlib.sha256(f"{bounded_sql(ds)}|{fingerprint}".encode()).hexdigest()[:20]
    path = cache / f"{ds.name}-{key}.duckdb"
    if path.exists():
        con.execute("rollback")
        return path
    with (cache / f"{ds.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            con.execute("rollback")
            return path
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        # Beyond the memory limit DuckDB spills here, next to the extracts (same protection).
        con.execute(f"set temp_directory = {sql_path(cache / 'spill')}")
        con.execute(f"attach {sql_path(tmp)} as extract")
        con.execute(f"create table extract.main.bounded as {bounded_sql(ds)}")
        con.execute("commit")
        con.execute("detach extract")
        os.replace(tmp, path)
        for old in cache.glob(f"{ds.name}-*.duckdb"):
            if old != path:
                old.unlink(missing_ok=True)
    return path


def prepare_extracts(settings: Settings, tables: Sequence[str] | None = None) -> dict[str, Path]:
    """Build the bounded extract of every dataset over ``tables`` (default: every dataset) now.

    The hook the pipeline calls after a load. A dataset whose table does not exist yet (its
    source never loaded, or a mart not built) is skipped; it is built by its first query.
    :returns: dataset name → extract file, for the datasets built or already current.
    """
    built = {}
    for ds in DATASETS.values():
        if tables is not None and ds.table not in tables:
            continue
        try:
            built[ds.name] = bounded_extract(settings, ds)
        except ConfigurationError:  # not loaded yet
            continue
    return built


def run_aggregate(settings: Settings, spec: AggregateSpec) -> dict[tuple[str, ...], tuple]:
    """Exact bounded aggregates of the **public** keys present: ``{key tuple: (n, s | values)}``."""
    con = _connect(settings)  # one connection for the fingerprint and the query (each costs ~20 ms to open)
    try:
        path = bounded_extract(settings, spec.dataset, con)
        con.execute(f"attach {sql_path(path)} as extract (read_only)")
        con.execute("use extract")
        rows = con.execute(aggregate_sql(spec), [value for _, value in spec.where]).fetchall()
    finally:
        con.close()
    public = [frozenset(d) for d in key_domains(spec)]
    width = len(spec.by)
    return {
        tuple(r[:width]): tuple(r[width:])
        for r in rows
        if all(r[i] in public[i] for i in range(width))
    }


def all_keys(domains: Sequence[Sequence[str]]) -> list[tuple[str, ...]]:
    """Every combination of public keys, in a stable order.

    >>> all_keys([("K", "M"), ("2024",)])
    [('K', '2024'), ('M', '2024')]
    """
    import itertools

    return [tuple(k) for k in itertools.product(*domains)]

