"""`helsedata ingest SOURCE FILE...` — validate, pseudonymise and load extract files (docs/ingestion.md)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from helsedata.cli import json_option, settings


@click.command(name="ingest")
@click.argument("source")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@json_option
@click.option("--encoding", default=None, metavar="ENC",
              help="Text encoding of the files (default utf-8), e.g. latin-1 for older municipal systems, or utf-16.")
@click.option("--demo", is_flag=True,
              help="Create a random pseudonymisation key under HELSEDATA_HOME/keys if none exists (demo installs only).")
def ingest(source: str, files: tuple[Path, ...], as_json: bool, encoding: str | None, demo: bool) -> None:
    """Validate, pseudonymise and load extract FILES of SOURCE into raw.SOURCE.

    SOURCE is one of kpr_kontakter, kpr_tjenester, vft_mottakere, registry_reporting. Rows that
    break a rule go to ingest.quarantine with the rule's name; a file that cannot be used at all
    (wrong header, wrong encoding, empty) is rejected whole. A file already loaded (same sha256)
    is skipped. The pseudonymisation key comes from HELSEDATA_PSEUDONYM_KEY (hex) or
    HELSEDATA_HOME/keys/pseudonym.key. While another process writes to the warehouse, ingest
    waits for it (HELSEDATA_INGEST_LOCK_TIMEOUT seconds, default 300).

    With --json, one JSON object per file is printed, one per line. Exit code 0 when every file
    was loaded or skipped, 2 when any file was rejected or had rows of which none loaded.
    """
    from helsedata.pipeline import prepare_room
    from ingestion import ingest_files

    cfg = settings()
    results = ingest_files(cfg, source, files, encoding=encoding, demo=demo, progress=not as_json)
    prepare_room(cfg, source, results)
    for result in results:
        if as_json:
            click.echo(json.dumps(result.to_json(), ensure_ascii=False))
        else:
            click.echo(_describe(result))
        if result.status == "rejected":
            click.echo(f"avvist: {result.error}", err=True)
        elif result.nothing_loaded:
            click.echo(f"ingen rader lastet: {result.file}: alle {result.quarantine_summary()}", err=True)
    if any(r.status == "rejected" or r.nothing_loaded for r in results):
        raise click.exceptions.Exit(2)


def _describe(result) -> str:
    from ingestion.reader import format_count

    if result.status == "skipped_duplicate":
        return f"{result.file}: hoppet over, allerede lastet inn (sha256 {result.sha256[:12]}…)"
    if result.status == "rejected":
        return f"{result.file}: AVVIST — {result.error}"
    return (f"{result.file}: lastet {format_count(result.rows_loaded)} av {format_count(result.rows_read)} rader "
            f"inn i raw.{result.source}" + (f"; {result.quarantine_summary()}" if result.rows_quarantined else ""))
