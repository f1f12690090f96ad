"""`helsedata build` (placeholder until its issue lands)."""

import click

from helsedata.errors import PipelineFailure


@click.command(name="build")
def build() -> None:
    """Not built yet."""
    raise PipelineFailure("'helsedata build' is not built yet")
