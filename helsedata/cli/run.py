"""`helsedata run` (placeholder until its issue lands)."""

import click

from helsedata.errors import PipelineFailure


@click.command(name="run")
def run() -> None:
    """Not built yet."""
    raise PipelineFailure("'helsedata run' is not built yet")
