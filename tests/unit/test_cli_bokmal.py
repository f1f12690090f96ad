"""Every text the ``helsedata`` CLI shows — each command's ``--help`` and click's usage errors — is bokmål."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from helsedata.cli import cli
from helsedata.cli.reference import walk

#: English words that no help or error text may contain as whole words; none is also a bokmål
#: word, an option name or a metavar of the CLI ("by" is ``--by``; "for", "to" and "be" are bokmål).
ENGLISH = ("the", "and", "of", "with", "when", "from", "show", "or", "is", "are", "this", "that", "not", "only",
           "every", "each", "into", "without", "your", "must", "if", "it", "on", "in", "an", "usage",
           "options", "commands", "default", "required", "error", "try", "missing", "invalid", "such", "message",
           "got", "unexpected", "does", "exist", "range", "valid")
_ENGLISH = re.compile(r"\b(" + "|".join(ENGLISH) + r")\b", re.IGNORECASE)

LEAVES = [path for path, _ in walk(cli)]
GROUPS = sorted({" ".join(path.split()[:i]) for path in LEAVES for i in range(len(path.split()))})


def english(text: str) -> list[str]:
    return _ENGLISH.findall(text)


@pytest.mark.parametrize("path", GROUPS + LEAVES, ids=lambda p: p or "helsedata")
def test_every_help_is_bokmal(run_cli, path):
    """Run in an empty HELSEDATA_HOME: ``--help`` must work before there is any warehouse."""
    result = run_cli(*path.split(), "--help")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"Bruk: {' '.join(['helsedata', *path.split()])} [VALG]")
    assert "\nValg:\n" in result.stdout and "Vis denne hjelpeteksten og avslutt." in result.stdout
    assert ("\nKommandoer:\n" in result.stdout) == (path in GROUPS)
    assert english(result.stdout) == [], result.stdout


def test_option_extras_are_bokmal(run_cli):
    text = run_cli("demo-data", "--help").stdout
    assert "[påkrevd]" in text and "[standard: 0.01; 0<x<=1]" in text


def test_version_is_bokmal(run_cli):
    result = run_cli("--version")
    assert result.exit_code == 0 and result.stdout.startswith("helsedata, versjon ")


@pytest.mark.parametrize(("args", "message"), [
    (["demo-data", "--bogus"], "Feil: Ukjent valg '--bogus'."),
    (["demo-data", "--outt", "x"], "Feil: Ukjent valg '--outt'. Mente du '--out'?"),
    (["demo-data"], "Feil: Mangler valget '--out'."),
    (["demo-data", "--out", "x", "--scale", "2"], "Feil: Ugyldig verdi for '--scale': 2.0 er utenfor området 0<x<=1."),
    (["demo-data", "--out", "x", "--seed", "mange"], "Feil: Ugyldig verdi for '--seed': 'mange' er ikke et heltall."),
    (["room", "query", "--q", "halv"], "Feil: Ugyldig verdi for '--q': 'halv' er ikke et tall."),
    (["catalogue", "export", "--format", "xml"], "Feil: Ugyldig verdi for '--format': 'xml' er ikke en av 'turtle', 'jsonld'."),
    (["users", "add"], "Feil: Mangler argumentet 'USERNAME'."),
    (["ingest", "kpr_kontakter", "finnes-ikke.csv"], "Feil: Ugyldig verdi for 'FILES...': 'finnes-ikke.csv' finnes ikke."),
    (["room", "budget", "--permit"], "Feil: Valget '--permit' trenger en verdi."),
    (["room", "datasets", "ekstra"], "Feil: Uventet ekstra argument (ekstra)"),
    (["finnes-ikke"], "Feil: Ukjent kommando 'finnes-ikke'."),
    (["publish", "--reason", "fordi"], "Feil: --reason brukes bare sammen med --override-quality-gate."),
])
def test_usage_errors_are_bokmal_and_exit_2(run_cli, args, message):
    result = run_cli(*args)
    assert result.exit_code == 2
    assert any(line.startswith(message) for line in result.stderr.splitlines()), result.stderr
    assert english(result.stderr) == [], result.stderr


def test_a_group_without_a_command_shows_its_bokmal_help(run_cli):
    result = run_cli("room")
    assert result.exit_code == 2  # click: a group called without a command is a usage error
    assert result.stderr.startswith("Bruk: helsedata room [VALG] KOMMANDO") and "Feil:" not in result.stderr
    assert english(result.stderr) == []


def test_usage_error_shows_bokmal_usage_and_hint(run_cli):
    result = run_cli("demo-data", "--bogus")
    assert result.stderr.splitlines()[:2] == ["Bruk: helsedata demo-data [VALG]",
                                              "Prøv 'helsedata demo-data --help' for hjelp."]


def test_usage_error_with_json_is_bokmal_json(run_cli):
    result = run_cli("demo-data", "--bogus", "--json")
    assert result.exit_code == 2
    body = json.loads(result.stdout)
    assert body["ok"] is False and body["status"] == 2
    assert body["error"].startswith("Ukjent valg '--bogus'.") and body["errors"] == [body["error"]]


def test_build_summary_is_bokmal_with_norwegian_numbers():
    from helsedata.build import BuildResult, NodeOutcome
    from helsedata.cli.build import summary

    nodes = tuple(NodeOutcome(unique_id=f"x.{i}", name=str(i), resource_type="test", status=status, message=None,
                              seconds=0.1) for i, status in enumerate(["success"] * 22 + ["pass"] * 1_200))
    assert summary(BuildResult(ok=True, seconds=25.34, target_path=Path("/t"), nodes=nodes)) == \
        "dbt build fullført: 1\u202f222 noder (bestått 1\u202f200, vellykket 22) på 25,3 s"


@pytest.mark.parametrize(("english_message", "bokmal"), [
    ("Invalid value for '--q': 2.5 is not in the range 0.5<=x<=1.", "Ugyldig verdi for '--q': 2.5 er utenfor området 0.5<=x<=1."),
    ("Invalid value for '--format': 'x.y' is not one of 'a.b', 'c'.", "Ugyldig verdi for '--format': 'x.y' er ikke en av 'a.b', 'c'."),
    ("Invalid value for '--format': 'x' is not 'a.b'.", "Ugyldig verdi for '--format': 'x' er ikke 'a.b'."),
    ("No such option '--x'. (Did you mean one of: '--xa', '--xb'?)", "Ukjent valg '--x'. (Mente du en av: '--xa', '--xb'?)"),
    ("Got unexpected extra arguments (a b)", "Uventet ekstra argument (a b)"),
    ("Invalid value for '--out': File 'a.csv' is not writable.", "Ugyldig verdi for '--out': 'a.csv' kan ikke skrives til."),
    ("Missing option '--role'. Choose from:\n\tadmin,\n\treviewer", "Mangler valget '--role'. Velg en av:\n\tadmin,\n\treviewer"),
])
def test_click_messages_translate_whole(english_message, bokmal):
    from helsedata.cli.bokmal import translate

    assert translate(english_message) == bokmal
