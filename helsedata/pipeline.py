"""Glue between the steps, shared by ``helsedata run`` and the Airflow DAGs (``dags/``).

The steps themselves live in the packages that own them (``ingestion``, ``helsedata.build``,
``quality``, ``helsedata.publish``). This module only answers the questions an orchestrator asks
between them, the same way for the CLI and for Airflow:

* which extract files in ``$HELSEDATA_HOME/landing/<source>/`` are new
  (:func:`landing_files`: not yet loaded, judged by the file's sha256 in ``ingest.manifest``),
* load exactly those (:func:`ingest_landing`) and turn files of which nothing loaded — rejected
  whole, or every row quarantined — into one failure that names them (:func:`raise_for_rejected`),
* put demo extracts where the ingestion picks them up (:func:`demo_to_landing`),
* and the names of the data the steps produce (``*_ASSET_URI``), which Airflow uses for
  data-aware scheduling.

Nothing here imports Airflow, and heavy libraries are imported inside the functions, so the CLI
and DAG parsing stay fast.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from kernel.config import Settings
from kernel.errors import UserInputError
from kernel.sources import SOURCES, get_source

#: Name endings of extract files in ``landing/<source>/``; anything else (a ``*.part`` still being
#: copied, a ``*.tmp``) is left alone until it is renamed.
LANDING_SUFFIXES = (".csv", ".txt")

#: Airflow pool serialising every task that opens the DuckDB warehouse: a DuckDB file has one
#: writer process at a time, and a reader process cannot open it while another process writes.
WAREHOUSE_POOL = "warehouse_writer"


def raw_asset_uri(source: str) -> str:
    """The asset one source's ingestion updates.

    >>> raw_asset_uri("kpr_kontakter")
    'duckdb://warehouse/raw/kpr_kontakter'
    """
    return f"duckdb://warehouse/raw/{get_source(source).name}"


def landing_asset_uri(source: str) -> str:
    """The asset announcing new extract files in ``landing/<source>/``.

    >>> landing_asset_uri("vft_mottakere")
    'helsedata://landing/vft_mottakere'
    """
    return f"helsedata://landing/{get_source(source).name}"


#: dbt build finished: staging, intermediate and marts models built and tested.
MARTS_ASSET_URI = "duckdb://warehouse/marts"
#: Quality checks ran and the publication gate passed (no failing critical check).
QUALITY_ASSET_URI = "duckdb://warehouse/quality/gate"
#: Disclosure-controlled public tables, the HTML report and the Superset refresh are done.
PUBLIC_ASSET_URI = "duckdb://warehouse/public"


def landing_dir(settings: Settings, source: str) -> Path:
    """``$HELSEDATA_HOME/landing/<source>/``: where extracts of ``source`` are dropped."""
    return settings.landing / get_source(source).name


def loaded_hashes(settings: Settings) -> set[str]:
    """sha256 of every file ``ingest.manifest`` records as loaded (empty before the first load).

    Opens the warehouse read-only and briefly; it does not create it.
    """
    if not settings.warehouse.exists():
        return set()
    from kernel.warehouse import read_only

    with read_only(settings) as con:
        exists = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'ingest' and table_name = 'manifest'"
        ).fetchone()[0]
        if not exists:
            return set()
        rows = con.execute("select file_sha256 from ingest.manifest where status = 'loaded'").fetchall()
    return {row[0] for row in rows}


def landing_files(settings: Settings, source: str) -> list[Path]:
    """Extract files in ``landing/<source>/`` whose content has not been loaded yet, by name.

    A file counts as loaded when a file with the same sha256 is in ``ingest.manifest`` with
    status ``loaded``, whatever its name; so a rerun never picks it up again. A file that was
    rejected stays new until it is replaced or removed: it fails every run that sees it, loudly.
    Hidden files and files still being written by convention (``*.part``, ``*.tmp``) are ignored.
    """
    folder = landing_dir(settings, source)
    if not folder.is_dir():
        return []
    candidates = sorted(
        p for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in LANDING_SUFFIXES
    )
    if not candidates:
        return []
    from ingestion.reader import file_sha256

    done = loaded_hashes(settings)
    return [p for p in candidates if file_sha256(p) not in done]


def ingest_landing(settings: Settings, source: str, *, demo: bool = False, progress: bool = False) -> list[Any]:
    """Ingest the new files of ``landing/<source>/`` (see :func:`landing_files`).

    Returns ingestion's ``IngestResult`` per file (an empty list when nothing is new). Files that
    ingestion rejects are recorded by it and returned with status ``rejected``; call
    :func:`raise_for_rejected` to turn them into a failure once the good files are loaded.
    """
    paths = landing_files(settings, source)
    if not paths:
        return []
    from ingestion import ingest_files

    results = ingest_files(settings, source, paths, demo=demo, progress=progress)
    prepare_room(settings, source, results)
    return results


def prepare_room(settings: Settings, source: str, results: Iterable[Any]) -> None:
    """After a load of ``source``: build the analysis room's bounded extracts over its raw table.

    Why here: the extract is rebuilt whenever the raw table changes, and building it inside the
    first researcher's query made that query ~66× a warm one. Nothing is built when no file of
    this load added rows.
    """
    if not any(result_json(r).get("status") == "loaded" and result_json(r).get("rows_loaded") for r in results):
        return
    from privacy.aggregate import prepare_extracts

    prepare_extracts(settings, [get_source(source).raw_table])


def result_json(result: Any) -> dict[str, Any]:
    """One ingestion result as the JSON object of ``helsedata ingest --json`` (docs/ingestion.md)."""
    return dict(result) if isinstance(result, Mapping) else result.to_json()


class NothingLoaded(UserInputError):
    """Files of which no row loaded: rejected whole, or every row quarantined (bad input, exit 2)."""


def raise_for_rejected(source: str, results: Iterable[Any]) -> None:
    """Raise :class:`NothingLoaded` naming every file of which no row loaded and why; otherwise do nothing.

    A file is a failure when ingestion rejected it whole, and also when it was read but every row
    went to quarantine (ingestion recorded it, so it is not offered again, but nothing reached the
    warehouse). Files with some rows loaded are not failures: their quarantine is reported with the
    load. Accepts ``IngestResult`` objects or their JSON form (what an Airflow task passes on).

    >>> raise_for_rejected("kpr_kontakter", [{"file": "a.csv", "source": "kpr_kontakter", "sha256": "0",
    ...                     "status": "loaded", "rows_read": 3, "rows_loaded": 1, "rows_quarantined": 2}])
    >>> raise_for_rejected("kpr_kontakter", [{"file": "b.csv", "source": "kpr_kontakter", "sha256": "0",
    ...                     "status": "rejected", "error": "feil overskrift"}])
    Traceback (most recent call last):
    ...
    helsedata.pipeline.NothingLoaded: kpr_kontakter: ingen rader lastet inn fra 1 fil: b.csv: avvist: feil overskrift
    """
    from ingestion import IngestResult

    failed = []
    for result in (IngestResult(**result_json(r)) for r in results):
        if result.status == "rejected":
            failed.append(f"{result.file}: avvist: {result.error or 'ukjent feil'}")
        elif result.nothing_loaded:
            failed.append(f"{result.file}: alle {result.quarantine_summary()}")
    if failed:
        noun = "fil" if len(failed) == 1 else "filer"
        raise NothingLoaded(f"{source}: ingen rader lastet inn fra {len(failed)} {noun}: {'; '.join(failed)}")


def demo_to_landing(settings: Settings, scale: float, seed: int, *, progress: bool = False) -> dict[str, list[Path]]:
    """Generate synthetic extracts for every source into ``landing/<source>/``.

    Also creates a random pseudonymisation key when there is none, as ``helsedata run --demo``
    does, so the ingestion DAGs can load the files. Returns the files per source. The generator decides the file names; files are moved into
    the source's landing folder when it writes them elsewhere (e.g. flat into ``out_dir``).
    """
    import synthetic
    from ingestion.pseudonym import load_key

    settings.ensure()
    load_key(settings, create=True)  # a demo install gets a random key, as ``--demo`` does
    written = synthetic.generate(settings.landing, scale, seed, progress=progress)
    from kernel.demo import record_demo_scale

    record_demo_scale(settings, scale, seed)  # the reports say "demodata" and scale count targets
    placed: dict[str, list[Path]] = {}
    for source, paths in written.items():
        target = landing_dir(settings, source)
        target.mkdir(parents=True, exist_ok=True)
        placed[source] = []
        for path in map(Path, paths):
            if path.parent.resolve() != target.resolve():
                path = path.replace(target / path.name)
            placed[source].append(path)
    return placed


__all__ = [
    "MARTS_ASSET_URI", "PUBLIC_ASSET_URI", "QUALITY_ASSET_URI", "SOURCES", "WAREHOUSE_POOL", "NothingLoaded",
    "demo_to_landing", "ingest_landing", "landing_asset_uri", "landing_dir",
    "landing_files", "loaded_hashes", "raise_for_rejected", "raw_asset_uri", "result_json",
]
