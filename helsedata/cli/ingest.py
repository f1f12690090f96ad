"""`helsedata ingest` (placeholder until its issue lands)."""

import click

from helsedata.errors import PipelineFailure


@click.command(name="ingest")
def ingest() -> None:
    """Not built yet."""
    raise PipelineFailure("'helsedata ingest' is not built yet")
