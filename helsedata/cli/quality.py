"""`helsedata quality` (placeholder until its issue lands)."""

import click

from helsedata.errors import PipelineFailure


@click.command(name="quality")
def quality() -> None:
    """Not built yet."""
    raise PipelineFailure("'helsedata quality' is not built yet")
