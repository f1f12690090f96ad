"""The warehouse side of ingestion: manifest and quarantine tables, the load transaction, duplicates.

Everything a file changes — its ``raw.*`` rows, its ``ingest.quarantine`` rows and its
``ingest.manifest`` row — is written inside one DuckDB transaction (:class:`FileLoad`), so a crash
or ``kill -9`` at any point leaves the warehouse as if the file had never been seen, and a rerun
loads it completely. The two duplicate rules run at the end as set operations in DuckDB over the
whole file and the rows already in ``raw``, which keeps Python's memory bounded whatever the file
size (DuckDB spills to disk beyond its memory limit).

Batches are *staged* first: each checked batch (pseudonymised good rows, scrubbed quarantine
rows) is written as a Parquet file into a scratch folder next to the warehouse
(:func:`staging_path`), and the file's transaction then copies them into the warehouse with one
``INSERT … SELECT`` per table. Why: DuckDB keeps every row appended by many small statements
inside one open transaction in memory it does not count against ``memory_limit`` and never spills
(measured with DuckDB 1.5: ≈240 bytes per row, 7 GiB for a 19 M-row file), whereas one large
``INSERT … SELECT`` writes its row groups to the database file as it goes. Parquet rather than a
staging DuckDB table: Polars writes a batch in a few milliseconds without the GIL, and DuckDB
caches nothing of it until the copy. The warehouse itself is only touched inside the transaction;
a crash leaves at most the scratch folder, which the next load deletes.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from ingestion.pseudonym import PseudonymKey, check_key_fingerprint
from ingestion.rules import DETAIL_COLUMN, HASH_PREFIX, RULE_COLUMN, VALUES_COLUMN
from kernel.errors import PipelineFailure
from kernel.sources import Source, raw_columns, raw_table_ddl

MANIFEST_DDL = """create table if not exists ingest.manifest (
  file_sha256 VARCHAR PRIMARY KEY,
  file_name VARCHAR NOT NULL,
  source VARCHAR NOT NULL,
  status VARCHAR NOT NULL,          -- loaded | rejected
  encoding VARCHAR,
  rows_read BIGINT NOT NULL,
  rows_loaded BIGINT NOT NULL,
  rows_quarantined BIGINT NOT NULL,
  quarantine_reasons JSON,          -- rule -> count
  started_at TIMESTAMP NOT NULL,
  finished_at TIMESTAMP NOT NULL,
  error VARCHAR                     -- why a rejected file was rejected
)"""

QUARANTINE_DDL = """create table if not exists ingest.quarantine (
  file_name VARCHAR NOT NULL,
  file_sha256 VARCHAR NOT NULL,
  source VARCHAR NOT NULL,
  line_number BIGINT NOT NULL,
  rule VARCHAR NOT NULL,
  detail VARCHAR NOT NULL,
  offending_values JSON NOT NULL,   -- the row; identity numbers only as keyed hashes
  quarantined_at TIMESTAMP NOT NULL
)"""

#: Lineage column: when the file's load began (all its rows share it; visible from commit on).
#: dbt source freshness reads it.
LOADED_AT = "_loaded_at"


def staging_path(warehouse: Path) -> Path:
    """The scratch folder a file's batches are staged in (Parquet) before its transaction copies them."""
    return warehouse.with_name(warehouse.name + ".ingest-staging")


def remove_staging(path: Path) -> None:
    """Delete the staging folder (left over after a crash, or done with)."""
    shutil.rmtree(path, ignore_errors=True)


def ensure_tables(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    con.execute(MANIFEST_DDL)
    con.execute(QUARANTINE_DDL)
    con.execute(raw_table_ddl(source))


def is_loaded(con: duckdb.DuckDBPyConnection, file_sha256: str) -> bool:
    """The manifest records this exact file (by sha256) as loaded."""
    return con.execute("select count(*) from ingest.manifest where file_sha256 = ? and status = 'loaded'",
                       [file_sha256]).fetchone()[0] > 0


@dataclass(frozen=True)
class FileCounts:
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    quarantine_reasons: dict[str, int]


class FileLoad:
    """One file's load; call :meth:`begin`, :meth:`add_batch`..., :meth:`finish`, or :meth:`abort`.

    Each batch's good and bad rows are written to Parquet files in the staging folder (so neither
    Python nor DuckDB holds anything of earlier batches). :meth:`finish`
    opens the file's transaction, copies the staged rows into ``raw.<source>`` and
    ``ingest.quarantine`` with one statement each (invisible to other connections until commit),
    and then the duplicate rules find the rows to take out again:

    1. every row of the file gets DuckDB's 64-bit ``hash()`` of its columns — cheap to group and
       join, unlike eight string columns;
    2. only rows whose hash occurs twice in the file, or also among other files' rows, are
       compared column by column (``is not distinct from``), so a hash collision never
       quarantines a row that is not an exact duplicate;
    3. the duplicates are copied to ``ingest.quarantine`` and deleted from ``raw``.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, source: Source, file_name: str, file_sha256: str,
                 encoding: str, started_at: dt.datetime, key: PseudonymKey, staging: Path):
        self.con, self.source, self.staging = con, source, staging
        self.file_name, self.file_sha256 = file_name, file_sha256
        self.encoding, self.started_at, self.key = encoding, started_at, key
        self.rows_read = 0
        self.rows_inserted = 0
        #: Every raw column except lineage: person_id, derived and data columns.
        self._data_columns = [c.name for c in raw_columns(source) if not c.name.startswith("_")]
        self._has_loaded_at = LOADED_AT in [c.name for c in raw_columns(source)]
        self._staged: dict[str, list[str]] = {"good": [], "bad": []}

    def begin(self) -> None:
        """Start a fresh staging folder (a stale one is a crashed load's, never committed)."""
        remove_staging(self.staging)
        self.staging.mkdir(parents=True)
        self._staged = {"good": [], "bad": []}

    def add_batch(self, rows_read: int, good: pl.DataFrame, bad: pl.DataFrame) -> None:
        """Stage one checked batch as a Parquet file; nothing of it stays in memory afterwards."""
        self.rows_read += rows_read
        if good.height:
            self._stage("good", good)
            self.rows_inserted += good.height
        if bad.height:
            self._stage("bad", bad)

    def _stage(self, kind: str, frame: pl.DataFrame) -> None:
        path = self.staging / f"{kind}-{len(self._staged[kind]):06d}.parquet"
        frame.write_parquet(path, compression="uncompressed", statistics=False)  # DuckDB reads it back ~20 % faster than LZ4
        self._staged[kind].append(str(path))

    def finish(self) -> FileCounts:
        """Copy the staged rows, run the duplicate rules, reconcile, write the manifest row and commit."""
        self.con.begin()
        check_key_fingerprint(self.con, self.key, record=True)
        self._copy_staged()
        duplicates = self._quarantine_duplicates()
        counts = self._counts()
        if counts.rows_read != counts.rows_loaded + counts.rows_quarantined or \
                counts.rows_loaded != self.rows_inserted - duplicates:
            raise PipelineFailure(
                f"{self.file_name}: avstemmingen stemmer ikke: lest {counts.rows_read} ≠ lastet {counts.rows_loaded}"
                f" + i karantene {counts.rows_quarantined}; ingenting er lastet inn"
            )
        self._write_manifest("loaded", counts, error=None)
        self._drop_temp()
        self.con.commit()
        self._discard_staging()
        return counts

    def abort(self) -> None:
        """Undo everything this file wrote (the transaction never committed) and drop the staging."""
        try:
            self.con.rollback()
        except duckdb.Error:  # no transaction open (still staging), or the connection failed
            pass
        self._discard_staging()

    def _copy_staged(self) -> None:
        """The staged batches into ``raw`` and ``ingest.quarantine``: one statement each."""
        if self._staged["good"]:
            loaded_at = ", ?::TIMESTAMP as _loaded_at" if self._has_loaded_at else ""
            self.con.execute(
                f"""insert into {self.source.raw_table} by name
                    select *{loaded_at} from read_parquet(?, union_by_name = true)""",
                [*([self.started_at] if self._has_loaded_at else []), self._staged["good"]])
        if self._staged["bad"]:
            self.con.execute(
                f"""insert into ingest.quarantine
                    select ?, ?, ?, _line_number, {RULE_COLUMN}, {DETAIL_COLUMN}, {VALUES_COLUMN}, ?
                    from read_parquet(?, union_by_name = true)""",
                [self.file_name, self.file_sha256, self.source.name, self.started_at, self._staged["bad"]],
            )

    def _discard_staging(self) -> None:
        remove_staging(self.staging)

    def _quarantine_duplicates(self) -> int:
        """Quarantine and delete this file's exact duplicates; return how many.

        Costs in proportion to this file's rows: its rows are hashed once, and earlier files are
        reached only through the persisted index (:class:`RowHashIndex`), whose 8-byte hashes are
        scanned, never their rows — except the few rows whose hash matches, which are compared
        column by column.
        """
        if not self.rows_inserted:
            return 0
        raw, cols = self.source.raw_table, self._data_columns
        index = RowHashIndex(self.con, self.source)
        index.ensure_current(self.file_sha256, self.rows_inserted)

        def same(a: str, b: str) -> str:
            return " and ".join(f"{a}.{c} is not distinct from {b}.{c}" for c in cols)

        this_file = [self.file_sha256]
        self.con.execute(f"""create temp table ingest_hashes as
            select _line_number, {row_hash(cols)} as h from {raw} where _file_sha256 = ?""", this_file)
        # Within the file: rows whose hash repeats, then exact comparison among those few.
        self.con.execute(f"""create temp table ingest_repeats as
            select r.* from {raw} r semi join (
                select _line_number from temp.ingest_hashes where h in (
                    select h from temp.ingest_hashes group by h having count(*) > 1)) c using (_line_number)
            where r._file_sha256 = ?""", this_file)
        self.con.execute(f"""create temp table ingest_firsts as
            select {", ".join(cols)}, min(_line_number) as first_line from temp.ingest_repeats group by all""")
        # Across files: the index's entries with a hash this file has; only those rows are read back.
        index.find_matches("temp.ingest_hashes", "ingest_candidates")
        files = [f for (f,) in self.con.execute("select distinct file_sha256 from temp.ingest_candidates").fetchall()]
        in_files = f"in ({', '.join('?' * len(files))})" if files else "is null and false"  # literal list: zonemaps skip other files
        self.con.execute(f"""create temp table ingest_others as
            select r.* from {raw} r semi join temp.ingest_candidates c
                on r._file_sha256 = c.file_sha256 and r._line_number = c.line_number
            where r._file_sha256 {in_files}""", files)
        self.con.execute(f"""create temp table ingest_duplicates as
            select d._line_number, 'duplicate_in_file' as rule, 'nøyaktig lik linje ' || f.first_line as detail
            from temp.ingest_repeats d join temp.ingest_firsts f on {same("d", "f")}
            where d._line_number <> f.first_line
            union all
            select t._line_number, 'duplicate_in_warehouse',
                   'nøyaktig lik linje ' || arg_min(o._line_number, (o._file_sha256, o._line_number))
                   || ' i den allerede lastede filen ' || min(o._file_sha256)
            from (select * from {raw} r semi join temp.ingest_others o on {same("r", "o")}
                  where r._file_sha256 = ?) t
            join temp.ingest_others o on {same("t", "o")}
            where t._line_number not in (select d._line_number from temp.ingest_repeats d
                                         join temp.ingest_firsts f on {same("d", "f")} where d._line_number <> f.first_line)
            group by t._line_number""", this_file)
        [(duplicates,)] = self.con.execute("select count(*) from temp.ingest_duplicates").fetchall()
        if duplicates:
            self._move_duplicates_to_quarantine()
        index.add_file(self.file_sha256, "temp.ingest_hashes", "temp.ingest_duplicates")
        return duplicates

    def _move_duplicates_to_quarantine(self) -> None:
        raw = self.source.raw_table
        self.con.register("ingest_person_hashes", self._quarantine_hashes_of_duplicates())
        self.con.execute(
            f"""insert into ingest.quarantine
                select ?, ?, ?, d._line_number, d.rule, d.detail, {self._values_json()}, ?
                from temp.ingest_duplicates d
                join (select * from {raw} where _file_sha256 = ?) s using (_line_number)
                {"left join ingest_person_hashes h on h.person_id = s.person_id" if self.source.has_identity_number else ""}""",
            [self.file_name, self.file_sha256, self.source.name, self.started_at, self.file_sha256],
        )
        self.con.unregister("ingest_person_hashes")
        self.con.execute(f"""delete from {raw} where _file_sha256 = ?
                             and _line_number in (select _line_number from temp.ingest_duplicates)""", [self.file_sha256])

    def _quarantine_hashes_of_duplicates(self) -> pl.DataFrame:
        """person_id → quarantine hash, for the persons on duplicate rows (usually few)."""
        if not self.source.has_identity_number:
            return pl.DataFrame({"person_id": [], "qhash": []}, schema={"person_id": pl.String, "qhash": pl.String})
        person_ids = self.con.execute(
            f"""select distinct s.person_id from temp.ingest_duplicates d
                join (select * from {self.source.raw_table} where _file_sha256 = ?) s using (_line_number)""",
            [self.file_sha256],
        ).pl()["person_id"]
        return pl.DataFrame({"person_id": person_ids, "qhash": self.key.quarantine_hashes_of_pseudonyms(person_ids)})

    def _values_json(self) -> str:
        """The extract's columns as JSON text, with the identity number as its quarantine hash."""
        parts = []
        for column in self.source.columns:
            if column.name == "fodselsnummer":
                parts.append(f"'fodselsnummer', '{HASH_PREFIX}' || h.qhash")
            else:
                parts.append(f"'{column.name}', s.{column.name}::VARCHAR")
        return f"json_object({', '.join(parts)})"

    def _counts(self) -> FileCounts:
        [(loaded,)] = self.con.execute(f"select count(*) from {self.source.raw_table} where _file_sha256 = ?",
                                       [self.file_sha256]).fetchall()
        reasons = dict(self.con.execute(
            "select rule, count(*) from ingest.quarantine where file_sha256 = ? group by rule order by rule",
            [self.file_sha256],
        ).fetchall())
        return FileCounts(self.rows_read, loaded, sum(reasons.values()), reasons)

    def _write_manifest(self, status: str, counts: FileCounts, error: str | None) -> None:
        write_manifest(self.con, self.file_sha256, self.file_name, self.source.name, status, self.encoding,
                       counts, self.started_at, error)

    def _drop_temp(self) -> None:
        for table in ("ingest_hashes", "ingest_repeats", "ingest_firsts", "ingest_candidates", "ingest_others",
                      "ingest_duplicates"):
            self.con.execute(f"drop table if exists temp.{table}")


def row_hash(columns: list[str]) -> str:
    """DuckDB's 64-bit hash of a row's data columns (lineage excluded): the duplicate index's key."""
    return f"hash({', '.join(columns)})"


class RowHashIndex:
    """``ingest.row_hashes_<source>``: one 64-bit hash per loaded row, with the row's file and line.

    Why: the cross-file duplicate rule used to hash the rows of earlier files of the source at
    each load, so the 8th yearly file cost more than the 1st. With the index, a load scans
    8 bytes per earlier row (column ``h``) and reads back only the rows whose hash it shares;
    those are compared column by column, so a hash collision never quarantines a row.

    The index is written in the same transaction as the rows it describes. It is rebuilt from
    ``raw`` (inside that transaction) when it cannot be trusted: it does not exist yet (a
    warehouse loaded before the index existed), its row count differs from the raw table's (rows
    deleted or added by something other than ingestion), or another DuckDB version made it, whose
    ``hash()`` may differ. ``ingest.row_hash_index`` records that version per source.
    """

    META_DDL = """create table if not exists ingest.row_hash_index (
  source VARCHAR PRIMARY KEY,
  duckdb_version VARCHAR NOT NULL   -- whose hash() made the index's hashes
)"""

    def __init__(self, con: duckdb.DuckDBPyConnection, source: Source):
        self.con, self.source = con, source
        self.table = f"ingest.row_hashes_{source.name}"
        self.columns = [c.name for c in raw_columns(source) if not c.name.startswith("_")]

    def ensure_current(self, exclude_file: str, exclude_rows: int) -> None:
        """Create the index, or rebuild it from ``raw`` without ``exclude_file`` (the file being loaded,
        ``exclude_rows`` rows so far). Counting every row is table metadata in DuckDB, not a scan."""
        self.con.execute(self.META_DDL)
        self.con.execute(f"create table if not exists {self.table} "
                         "(h UBIGINT NOT NULL, file_sha256 VARCHAR NOT NULL, line_number BIGINT NOT NULL)")
        version = self.con.execute("select duckdb_version from ingest.row_hash_index where source = ?",
                                   [self.source.name]).fetchone()
        [(indexed,)] = self.con.execute(f"select count(*) from {self.table}").fetchall()
        [(rows,)] = self.con.execute(f"select count(*) from {self.source.raw_table}").fetchall()
        if version == (duckdb.__version__,) and indexed == rows - exclude_rows:
            return
        self.con.execute(f"delete from {self.table}")
        self.con.execute(f"""insert into {self.table}
            select {row_hash(self.columns)}, _file_sha256, _line_number from {self.source.raw_table}
            where _file_sha256 <> ?""", [exclude_file])
        self.con.execute("insert or replace into ingest.row_hash_index values (?, ?)", [self.source.name, duckdb.__version__])

    def find_matches(self, hashes: str, into: str) -> None:
        """Temp table ``into``: (file_sha256, line_number) of every indexed row whose hash is in ``hashes``."""
        self.con.execute(f"""create temp table {into} as select distinct i.file_sha256, i.line_number
            from {self.table} i semi join {hashes} t on i.h = t.h""")

    def add_file(self, file_sha256: str, hashes: str, removed: str) -> None:
        """Index the rows of ``file_sha256`` that stay in ``raw``: those in ``hashes`` but not in ``removed``."""
        self.con.execute(f"""insert into {self.table}
            select h, ?, _line_number from {hashes} anti join {removed} using (_line_number)""", [file_sha256])


def write_manifest(con: duckdb.DuckDBPyConnection, file_sha256: str, file_name: str, source: str, status: str,
                   encoding: str, counts: FileCounts, started_at: dt.datetime, error: str | None) -> None:
    """Insert or replace the file's manifest row (a rejected file may later load, same sha256)."""
    con.execute(
        "insert or replace into ingest.manifest values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [file_sha256, file_name, source, status, encoding, counts.rows_read, counts.rows_loaded,
         counts.rows_quarantined, json.dumps(counts.quarantine_reasons), started_at, now(), error],
    )


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
