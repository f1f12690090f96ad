"""`helsedata ingest SOURCE FILE...` — validate, pseudonymise and load extract files (docs/ingestion.md)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from helsedata.cli import json_option, settings
from helsedata.cli.bokmal import Command


@click.command(name="ingest", cls=Command)
@click.argument("source")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@json_option
@click.option("--encoding", default=None, metavar="ENC",
              help="Tegnkodingen til filene (standard utf-8), f.eks. latin-1 for eldre kommunale systemer, eller utf-16.")
@click.option("--demo", is_flag=True,
              help="Lag en tilfeldig pseudonymiseringsnøkkel under HELSEDATA_HOME/keys hvis ingen finnes "
                   "(bare for demoinstallasjoner).")
def ingest(source: str, files: tuple[Path, ...], as_json: bool, encoding: str | None, demo: bool) -> None:
    """Valider, pseudonymiser og last inn uttrekksfilene FILES fra SOURCE i raw.SOURCE.

    SOURCE er en av kpr_kontakter, kpr_tjenester, vft_mottakere, registry_reporting. Rader som
    bryter en regel, havner i ingest.quarantine med regelens navn; en fil som ikke kan brukes i det
    hele tatt (feil overskrift, feil tegnkoding, tom), avvises i sin helhet. En fil som allerede er
    lastet inn (samme sha256), hoppes over. Pseudonymiseringsnøkkelen hentes fra
    HELSEDATA_PSEUDONYM_KEY (heksadesimal) eller HELSEDATA_HOME/keys/pseudonym.key. Mens en annen
    prosess skriver til varehuset, venter ingest på den (HELSEDATA_INGEST_LOCK_TIMEOUT sekunder,
    standard 300).

    Med --json skrives ett JSON-objekt per fil, ett per linje. Exit-kode 0 når hver fil ble lastet
    inn eller hoppet over, 2 når en fil ble avvist eller hadde rader der ingen ble lastet inn.
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
