"""`helsedata room` (placeholder until its issue lands)."""

import click

from helsedata.errors import PipelineFailure


@click.command(name="room")
def room() -> None:
    """Not built yet."""
    raise PipelineFailure("'helsedata room' is not built yet")
