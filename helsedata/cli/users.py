"""`helsedata users`: portal accounts. Logic lives in :mod:`portal.accounts`."""

from __future__ import annotations

import sys

import click

from helsedata.cli import emit, json_option, settings
from helsedata.cli.bokmal import Group
from kernel.errors import UserInputError


@click.group(name="users", cls=Group)
def users() -> None:
    """Portalkontoer: legg til, deaktiver, list opp og utsted API-tokener."""


def _new_password(allow_none: bool) -> str | None:
    """HELSEDATA_NEW_PASSWORD, else standard input (asked twice, hidden, on a terminal)."""
    password = settings().environ.get("HELSEDATA_NEW_PASSWORD")
    if password:
        return password
    if sys.stdin is None:
        return None if allow_none else ""
    if sys.stdin.isatty():
        return _prompt_twice()
    line = sys.stdin.readline().rstrip("\r\n")
    if not line and allow_none:
        return None
    return line


def _prompt_twice() -> str:
    """Ask for the password twice (hidden) until both agree; click's own mismatch text is English."""
    while True:
        first = click.prompt("Passord", hide_input=True)
        if first == click.prompt("Gjenta passordet", hide_input=True):
            return first
        click.echo("Feil: passordene er ikke like. Prøv igjen.", err=True)


@users.command(name="add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(["researcher", "reviewer", "registry_owner", "admin"]),
              help="Hva brukeren får gjøre i portalen.")
@click.option("--oidc-subject", help="Knytt til en OIDC-identitet, 'ISSUER|SUB'; da er passord valgfritt.")
@json_option
def add_cmd(username: str, role: str, oidc_subject: str | None, as_json: bool) -> None:
    """Opprett USERNAME. Passordet leses fra standard inn eller HELSEDATA_NEW_PASSWORD."""
    from portal.accounts import add_user

    password = _new_password(allow_none=bool(oidc_subject))
    if password == "":
        raise UserInputError("ingen passord: skriv det på standard inn eller sett HELSEDATA_NEW_PASSWORD")
    user = add_user(settings(), username, role, password, oidc_subject=oidc_subject)
    emit({"username": user.username, "role": user.role.value}, as_json, f"Bruker {user.username} ({user.role.value}) er opprettet.")


@users.command(name="disable")
@click.argument("username")
@json_option
def disable_cmd(username: str, as_json: bool) -> None:
    """Deaktiver USERNAME: innlogging, økter og API-tokenet slutter å virke med en gang."""
    from portal.accounts import disable_user

    disable_user(settings(), username)
    emit({"username": username, "active": False}, as_json, f"Bruker {username} er deaktivert.")


@users.command(name="list")
@json_option
def list_cmd(as_json: bool) -> None:
    """List opp kontoene (aldri passord eller token-hash)."""
    from portal.accounts import list_users

    rows = list_users(settings())
    human = "\n".join("\t".join([u["username"], u["role"], "aktiv" if u["active"] else "deaktivert"]
                                 + (["API-token"] if u["has_token"] else [])) for u in rows) or "Ingen brukere."
    emit(rows, as_json, human)


@users.command(name="token")
@click.argument("username")
@json_option
def token_cmd(username: str, as_json: bool) -> None:
    """Utsted et nytt API-token for USERNAME (erstatter det gamle). Det skrives ut én gang; bare hashen lagres."""
    from portal.accounts import issue_token

    token = issue_token(settings(), username)
    emit({"token": token}, as_json, token)
