"""`helsedata demo-data` (placeholder until its issue lands)."""

import click

from helsedata.errors import PipelineFailure


@click.command(name="demo-data")
def demo_data() -> None:
    """Not built yet."""
    raise PipelineFailure("'helsedata demo-data' is not built yet")
