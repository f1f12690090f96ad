"""`helsedata users ...` end to end: passwords from the environment or standard input, JSON shapes, exit codes."""

import io
import sys

import pytest

from kernel.config import Settings
from portal import accounts

PASSWORD = "et-langt-testpassord"


def test_add_list_token_disable(run_cli, home):
    r = run_cli("users", "add", "kari", "--role", "researcher", "--json", environ={"HELSEDATA_NEW_PASSWORD": PASSWORD})
    assert r.exit_code == 0, r.stderr
    assert r.json() == {"username": "kari", "role": "researcher"}
    token = run_cli("users", "token", "kari", "--json")
    assert token.exit_code == 0 and set(token.json()) == {"token"}
    settings = Settings(home=home)
    assert accounts.user_for_token(settings, token.json()["token"]).username == "kari"
    listed = run_cli("users", "list", "--json").json()
    assert [(u["username"], u["role"], u["active"], u["has_token"]) for u in listed] == [("kari", "researcher", True, True)]
    assert "hash" not in str(listed)
    assert run_cli("users", "disable", "kari").exit_code == 0
    assert accounts.user_for_token(settings, token.json()["token"]) is None
    assert run_cli("users", "list", "--json").json()[0]["active"] is False


def test_password_from_standard_input(run_cli, home, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert run_cli("users", "add", "ola", "--role", "reviewer").exit_code == 0
    assert accounts.authenticate(Settings(home=home), "ola", PASSWORD).username == "ola"


@pytest.mark.parametrize("args,stdin,message", [
    (("users", "add", "kari", "--role", "researcher"), "", "passord"),
    (("users", "add", "kari", "--role", "researcher"), "kort\n", "minst 12 tegn"),
    (("users", "add", "Kari", "--role", "researcher"), PASSWORD + "\n", "brukernavnet"),
    (("users", "add", "kari", "--role", "sjef"), PASSWORD + "\n", "sjef"),
    (("users", "token", "ingen"), "", "ingen bruker"),
    (("users", "disable", "ingen"), "", "ingen bruker"),
], ids=["no-password", "short-password", "bad-username", "bad-role", "token-unknown", "disable-unknown"])
def test_bad_input_exits_2(run_cli, monkeypatch, args, stdin, message):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    r = run_cli(*args)
    assert r.exit_code == 2 and message in r.stderr + r.stdout
