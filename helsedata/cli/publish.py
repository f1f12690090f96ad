"""`helsedata publish` (placeholder until its issue lands)."""

import click

from helsedata.errors import PipelineFailure


@click.command(name="publish")
def publish() -> None:
    """Not built yet."""
    raise PipelineFailure("'helsedata publish' is not built yet")
