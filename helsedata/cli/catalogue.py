"""``helsedata catalogue export``: the dataset catalogue in HealthDCAT-AP (docs/catalogue.md)."""

from __future__ import annotations

from pathlib import Path

import click

from helsedata.cli import settings


@click.group(name="catalogue")
def catalogue() -> None:
    """The dataset catalogue researchers apply from (HealthDCAT-AP, EHDS Art. 77)."""


@catalogue.command(name="export")
@click.option("--format", "fmt", type=click.Choice(["turtle", "jsonld"]), default="turtle", show_default=True,
              help="RDF serialisation.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to FILE (default: standard output).")
def export(fmt: str, out: Path | None) -> None:
    """Export every dataset one can apply for or read as a DCAT catalogue.

    Raw sources and the analysis room's datasets are NON_PUBLIC, the published public.* tables
    PUBLIC; each with the HealthDCAT-AP Release 5 properties, rounded counts and its newest quality
    label. The catalogue is validated with SHACL (DCAT-AP 3.0.0, HealthDCAT-AP NON_PUBLIC) before it
    is written; exit 1 if it does not validate, 2 when there is no warehouse.
    """
    from healthdcat.export import export_catalogue, write_catalogue

    result = export_catalogue(settings(), fmt)  # type: ignore[arg-type]
    if out is None:
        click.echo(result.text, nl=not result.text.endswith("\n"))
        return
    write_catalogue(result, out)
    click.echo(f"Katalog med {result.datasets} datasett ({result.public} offentlige) skrevet til {out}.", err=True)
