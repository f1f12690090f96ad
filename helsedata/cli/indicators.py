"""``helsedata indicators``: reported figures of the goal indicators (docs/indicators.md, "Reported figures")."""

from __future__ import annotations

from pathlib import Path

import click

from helsedata.cli import emit, json_option, settings
from helsedata.cli.bokmal import Group


@click.group(name="indicators", cls=Group)
def indicators() -> None:
    """Strategiens målindikatorer som rapporteres, ikke beregnes."""


@indicators.command(name="import")
@click.argument("file", type=click.Path(path_type=Path))
@json_option
def import_(file: Path, as_json: bool) -> None:
    """Importer rapporterte tall fra FILE (CSV), alt eller ingenting.

    Overskrift: indicator_id,period,geo_level,geo_code,value,unit,source,reported_by, eventuelt
    etterfulgt av seed_reference. geo_level er nasjonal, fylke eller kommune (geo_code NO for hele
    landet); period er et år. Hver rad kontrolleres mot seeden indicator_definitions: en ukjent eller
    beregnet indikator, feil enhet, en verdi utenfor indikatorens område eller en periode som
    allerede er rapportert, er en feil som nevner linjen, og da lastes ingenting inn (exit 2).
    Samme fil på nytt (samme sha256) hoppes over.
    """
    from helsedata.indicators import describe, import_figures

    result = import_figures(settings(), file)
    emit(result.to_json(), as_json, describe([result]))
