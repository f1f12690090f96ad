"""``helsedata catalogue export``: the dataset catalogue in HealthDCAT-AP (docs/catalogue.md)."""

from __future__ import annotations

from pathlib import Path

import click

from helsedata.cli import settings
from helsedata.cli.bokmal import Group


@click.group(name="catalogue", cls=Group)
def catalogue() -> None:
    """Datasettkatalogen forskere søker fra (HealthDCAT-AP, EHDS art. 77)."""


@catalogue.command(name="export")
@click.option("--format", "fmt", type=click.Choice(["turtle", "jsonld"]), default="turtle", show_default=True,
              help="RDF-format.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Skriv til FILE (standard: standard ut).")
def export(fmt: str, out: Path | None) -> None:
    """Eksporter alle datasett man kan søke om eller lese, som en DCAT-katalog.

    Råkildene og analyserommets datasett er NON_PUBLIC, de publiserte public.*-tabellene PUBLIC;
    hvert datasett får egenskapene i HealthDCAT-AP Release 5, avrundede antall og sitt nyeste
    kvalitetsmerke. Katalogen valideres med SHACL (DCAT-AP 3.0.0, HealthDCAT-AP NON_PUBLIC) før den
    skrives; exit 1 hvis den ikke validerer, 2 når det ikke finnes noe varehus.
    """
    from healthdcat.export import export_catalogue, write_catalogue

    result = export_catalogue(settings(), fmt)  # type: ignore[arg-type]
    if out is None:
        click.echo(result.text, nl=not result.text.endswith("\n"))
        return
    write_catalogue(result, out)
    click.echo(f"Katalog med {result.datasets} datasett ({result.public} offentlige) skrevet til {out}.", err=True)
