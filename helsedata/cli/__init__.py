"""The ``helsedata`` command line (README.md, "Using it").

Each command lives in its own module of this package and is loaded only when it is run, so
``helsedata --help`` stays fast and one command's heavy imports (Airflow, GX, OpenDP) never slow
another. Commands are thin: they parse options and call a step function of the package that owns
the behaviour — the same functions the Airflow DAGs call.
"""

from __future__ import annotations

import importlib
import json
import sys
import traceback
from collections.abc import Mapping, Sequence
from typing import Any

import click

from helsedata.cli.bokmal import VERSION_HELP, VERSION_MESSAGE, Group, translate, usage_error
from kernel.config import Settings
from kernel.errors import HelsedataError

#: command name → "module:attribute" of its click command.
COMMANDS = {
    "demo-data": "helsedata.cli.demo:demo_data",
    "ingest": "helsedata.cli.ingest:ingest",
    "build": "helsedata.cli.build:build",
    "catalogue": "helsedata.cli.catalogue:catalogue",
    "indicators": "helsedata.cli.indicators:indicators",
    "quality": "helsedata.cli.quality:quality",
    "publish": "helsedata.cli.publish:publish",
    "run": "helsedata.cli.run:run",
    "room": "helsedata.cli.room:room",
    "serve": "helsedata.cli.serve:serve",
    "users": "helsedata.cli.users:users",
}


class LazyGroup(Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        return getattr(importlib.import_module(module_name), attribute)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="helsedata", help=VERSION_HELP, message=VERSION_MESSAGE)
def cli() -> None:
    """Helsedata: norske helsedata fra uttrekksfiler til publiserte, personvernsikre indikatorer.

    Tilstanden ligger under HELSEDATA_HOME (standard ./var): DuckDB-varehuset, mottaksmappen,
    pseudonymiseringsnøkkelen og rapportene.
    """


json_option = click.option("--json", "as_json", is_flag=True, help="Skriv resultatet som JSON på standard ut.")


def settings(ctx: click.Context | None = None) -> Settings:
    """The settings of this invocation (``main`` puts them on the root context)."""
    ctx = ctx or click.get_current_context()
    return ctx.find_root().obj


def error_body(error: str, status: int, errors: Sequence[str] = ()) -> dict[str, Any]:
    """The one shape of every error printed with ``--json``."""
    return {"ok": False, "error": error, "errors": list(errors) or [error], "status": status}


def main(argv: Sequence[str], environ: Mapping[str, str]) -> int:
    """Run the CLI under ``environ`` (the only environment it reads) and return its exit code:
    0 success, 2 bad input or refusal, 1 failure."""
    as_json = "--json" in argv
    try:
        settings = Settings.from_environ(environ)
        if settings.home_is_default and not {"-h", "--help", "--version"} & set(argv):
            click.echo(f"helsedata: HELSEDATA_HOME er ikke satt; bruker {settings.home}", err=True)
        code = cli.main(args=list(argv), prog_name="helsedata", standalone_mode=False, obj=settings)
        # A command that already printed its output and only sets the exit code raises
        # click.exceptions.Exit(n); in non-standalone mode click returns n instead of raising.
        return code if isinstance(code, int) else 0
    except HelsedataError as e:
        return _fail(f"{type(e).__name__}: {e}", e.exit_code, as_json)
    except click.exceptions.Exit as e:
        return e.exit_code
    except click.ClickException as e:  # click's own messages are English: shown in bokmål
        if as_json:
            return _fail(translate(e.format_message()), e.exit_code, as_json)
        click.echo(usage_error(e), err=True)
        return e.exit_code
    except click.Abort:
        return _fail("Avbrutt.", 1, as_json)
    except Exception as e:  # a bug: say so, keep the traceback for the report
        traceback.print_exc(file=sys.stderr)
        return _fail(f"Intern feil: {type(e).__name__}: {e}", 1, as_json)


def _fail(message: str, status: int, as_json: bool) -> int:
    if as_json:
        click.echo(json.dumps(error_body(message, status), ensure_ascii=False))
    click.echo(message, err=True)
    return status


def emit(result: Any, as_json: bool, human: str) -> None:
    """Print ``result`` as JSON, or the human-readable text ``human``."""
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, default=str, indent=None))
    else:
        click.echo(human)
