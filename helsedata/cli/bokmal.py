"""click in bokmål: help headings, the built-in options' help and click's own usage errors.

Users read bokmål, but click writes its framework strings ("Usage:", "Options:", "Show this message
and exit.", "No such option ...") through gettext's process-wide default domain, for which no
Norwegian catalogue exists. Rather than installing one globally (or patching click's modules),
every ``helsedata`` command is a :class:`Command` or :class:`Group` of this module: their context
formats help with bokmål headings, ``--help`` has a bokmål text and option extras read
``[standard: …; påkrevd]``; :func:`usage_error` translates click's usage errors where
:func:`helsedata.cli.main` shows them. A click message missing from :data:`CLICK_MESSAGES` is shown
as click wrote it, so a new click version can make a message English again but never break one.
"""

from __future__ import annotations

import re
from typing import Any

import click

USAGE = "Bruk:"
#: click's section headings → bokmål.
HEADINGS = {"Options": "Valg", "Commands": "Kommandoer", "Positional arguments": "Argumenter"}
HELP_TEXT = "Vis denne hjelpeteksten og avslutt."
VERSION_HELP = "Vis versjonen og avslutt."
VERSION_MESSAGE = "%(prog)s, versjon %(version)s"
#: The usage line's placeholders ("Bruk: helsedata room [VALG] KOMMANDO [ARGUMENTER]...").
OPTIONS_METAVAR = "[VALG]"
SUBCOMMAND_METAVAR = "KOMMANDO [ARGUMENTER]..."

#: click 8's usage-error templates (exceptions.py, parser.py, types.py, core.py) in bokmål, applied
#: in order to the whole message; the groups are the user's own words and names, kept as typed.
CLICK_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(pattern), text) for pattern, text in (
    (r"No such option '(.+?)'\.", r"Ukjent valg '\1'."),
    (r"No such command '(.+?)'\.", r"Ukjent kommando '\1'."),
    (r"\(Did you mean one of: (.+)\?\)", r"(Mente du en av: \1?)"),
    (r"Did you mean (.+)\?", r"Mente du \1?"),
    (r"Missing option '(.+?)'\.", r"Mangler valget '\1'."),
    (r"Missing argument '(.+?)'\.", r"Mangler argumentet '\1'."),
    (r"Missing parameter: (.+)", r"Mangler parameteren \1"),
    (r"Missing command\.", "Mangler kommando."),
    (r"Choose from:", "Velg en av:"),
    (r"Invalid value for (.+?): ", r"Ugyldig verdi for \1: "),
    (r"Invalid value: ", "Ugyldig verdi: "),
    (r"(.+?) is not in the range (.+)\.$", r"\1 er utenfor området \2."),
    (r"'(.*?)' is not a valid integer( range)?\.", r"'\1' er ikke et heltall."),
    (r"'(.*?)' is not a valid float( range)?\.", r"'\1' er ikke et tall."),
    (r"'(.*?)' is not one of (.+)\.$", r"'\1' er ikke en av \2."),
    (r"(?:File|Directory|Path) '(.+?)' does not exist\.", r"'\1' finnes ikke."),
    (r"(?:File|Directory|Path) '(.+?)' is a file\.", r"'\1' er en fil, ikke en mappe."),
    (r"(?:File|Directory|Path) '(.+?)' is a directory\.", r"'\1' er en mappe, ikke en fil."),
    (r"(?:File|Directory|Path) '(.+?)' is not readable\.", r"'\1' kan ikke leses."),
    (r"(?:File|Directory|Path) '(.+?)' is not writable\.", r"'\1' kan ikke skrives til."),
    (r"Option '(.+?)' requires an argument\.", r"Valget '\1' trenger en verdi."),
    (r"Option '(.+?)' requires (\d+) arguments\.", r"Valget '\1' trenger \2 verdier."),
    (r"Option '(.+?)' does not take a value\.", r"Valget '\1' tar ingen verdi."),
    (r"Argument '(.+?)' takes (\d+) values\.", r"Argumentet '\1' tar \2 verdier."),
    (r"Got unexpected extra arguments? \((.+)\)", r"Uventet ekstra argument (\1)"),
    (r"'(.*?)' is not (.+)\.$", r"'\1' er ikke \2."),  # a Choice of one; last, after the paths
))


def translate(message: str) -> str:
    """click's English message in bokmål (unchanged when click's wording is not known here).

    >>> translate("Invalid value for '--scale': 2.0 is not in the range 0<x<=1.")
    "Ugyldig verdi for '--scale': 2.0 er utenfor området 0<x<=1."
    >>> translate("velg --approve eller --reject")
    'velg --approve eller --reject'
    """
    for pattern, text in CLICK_MESSAGES:
        message = pattern.sub(text, message)
    return message


def usage_error(error: click.ClickException) -> str:
    """What click's ``error.show()`` prints, in bokmål: usage line, help hint and ``Feil: …``."""
    if isinstance(error, click.exceptions.NoArgsIsHelpError):  # a group called without a command
        return error.format_message()  # its (bokmål) help
    lines = []
    ctx = getattr(error, "ctx", None)
    if ctx is not None:
        lines.append(ctx.get_usage())
        help_names = ctx.command.get_help_option_names(ctx)
        if help_names and ctx.command.add_help_option:
            lines.append(f"Prøv '{ctx.command_path} {max(help_names, key=len)}' for hjelp.\n")
    lines.append(f"Feil: {translate(error.format_message())}")
    return "\n".join(lines)


class HelpFormatter(click.HelpFormatter):
    """click's help layout with bokmål headings."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, f"{USAGE} " if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        super().write_heading(HEADINGS.get(heading, heading))


class Context(click.Context):
    formatter_class = HelpFormatter


def option_help(option: click.Option, ctx: click.Context) -> tuple[str, str] | None:
    """An option's help row with its extras in bokmål (``[standard: 0.01; 0<x<=1]``, ``[påkrevd]``).

    Defaults are shown as they are typed on the command line (``0.01``), not as Norwegian numbers.
    """
    record = option.get_help_record(ctx)
    if record is None:
        return None
    extra: dict[str, Any] = dict(option.get_help_extra(ctx))
    items = [f"standard: {extra['default']}"] if "default" in extra else []
    items += [extra["range"]] if "range" in extra else []
    items += ["påkrevd"] if "required" in extra else []
    text = option.help or ""
    if items:
        text = f"{text}  [{'; '.join(items)}]".lstrip()
    return record[0], text


class _Bokmal:
    """What :class:`Command` and :class:`Group` share: the bokmål context, ``--help`` text and option rows."""

    context_class = Context

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("options_metavar", OPTIONS_METAVAR)
        super().__init__(*args, **kwargs)

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = HELP_TEXT
        return option

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        params = self.get_params(ctx)  # type: ignore[attr-defined]
        rows = [row for p in params if isinstance(p, click.Option) and (row := option_help(p, ctx))]
        if rows:
            with formatter.section(HEADINGS["Options"]):
                formatter.write_dl(rows)
        if isinstance(self, click.Group):
            self.format_commands(ctx, formatter)


class Command(_Bokmal, click.Command):
    """A ``helsedata`` command, its help in bokmål."""


class Group(_Bokmal, click.Group):
    """A ``helsedata`` command group; its subcommands and subgroups are bokmål too."""

    command_class = Command
    group_class = type

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("subcommand_metavar", SUBCOMMAND_METAVAR)
        super().__init__(*args, **kwargs)
