"""``helsedata indicators``: reported figures of the goal indicators (docs/indicators.md, "Reported figures")."""

from __future__ import annotations

from pathlib import Path

import click

from helsedata.cli import emit, json_option, settings


@click.group(name="indicators")
def indicators() -> None:
    """The strategy's goal indicators that are reported, not computed."""


@indicators.command(name="import")
@click.argument("file", type=click.Path(path_type=Path))
@json_option
def import_(file: Path, as_json: bool) -> None:
    """Import reported figures from FILE (CSV), all or nothing.

    Header: indicator_id,period,geo_level,geo_code,value,unit,source,reported_by, optionally
    followed by seed_reference. geo_level is nasjonal, fylke or kommune (geo_code NO for the
    nation); period is a year. Every row is checked against seed indicator_definitions: an unknown
    or computed indicator, a wrong unit, a value outside the indicator's range or a period already
    reported is an error naming the line, and then nothing is loaded (exit 2). The same file
    again (same sha256) is skipped.
    """
    from helsedata.indicators import describe, import_figures

    result = import_figures(settings(), file)
    emit(result.to_json(), as_json, describe([result]))
