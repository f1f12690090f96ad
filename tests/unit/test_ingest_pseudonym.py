"""The pseudonymisation key, the keyed hashes made with it, and the key's guards.

The guards are tested against the real parts: key files with real permission bits, concurrent
processes creating the demo key, and ingests through ``helsedata.cli.main`` into a real DuckDB
warehouse for the fingerprint.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import multiprocessing
import secrets
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from ingestion.pseudonym import (
    FINGERPRINT_DOMAIN,
    KEY_ENV,
    PSEUDONYM_DOMAIN,
    QUARANTINE_DOMAIN,
    PseudonymKey,
    PseudonymMemo,
    _PrecomputedHmac,
    key_path,
    key_weakness,
    load_key,
)
from ingestion.testing import TEST_KEY_HEX, write_valid_extract
from kernel.config import Settings
from kernel.errors import ConfigurationError

KEY = PseudonymKey(bytes.fromhex(TEST_KEY_HEX))


@given(st.binary(min_size=32, max_size=100), st.text(max_size=20))
def test_precomputed_pads_give_standard_hmac_sha256(secret, value):
    expected = hmac.new(secret, PSEUDONYM_DOMAIN + value.encode(), hashlib.sha256).digest()
    assert _PrecomputedHmac(secret, PSEUDONYM_DOMAIN).digest(value.encode()) == expected


def test_pseudonyms_maps_each_value_and_keeps_nulls():
    values = pl.Series("fnr", ["13888012235", None, "13888012235", "01015450068"])
    hashed = KEY.pseudonyms(values).to_list()
    assert hashed == [KEY.pseudonym("13888012235"), None, KEY.pseudonym("13888012235"), KEY.pseudonym("01015450068")]
    assert all(len(h) == 64 for h in hashed if h)


def test_the_two_domains_never_give_the_same_hash():
    assert KEY.pseudonym("13888012235") != KEY.quarantine_hash("13888012235")
    assert KEY.quarantine_hashes(pl.Series(["x"]))[0] == KEY.quarantine_hash("x")
    assert KEY.quarantine_hashes_of_pseudonyms(pl.Series([KEY.pseudonym("x")]))[0] == KEY.quarantine_hash("x")
    assert KEY.quarantine_hash("x") == hmac.new(KEY.secret, QUARANTINE_DOMAIN + KEY.pseudonym("x").encode(), hashlib.sha256).hexdigest()


def test_fingerprint_is_a_keyed_hash_of_a_constant():
    assert KEY.fingerprint == hmac.new(KEY.secret, FINGERPRINT_DOMAIN, hashlib.sha256).hexdigest()
    assert KEY.fingerprint != PseudonymKey(secrets.token_bytes(32)).fingerprint


def test_key_from_environment_wins(settings):
    key = load_key(dataclasses.replace(settings, pseudonym_key_hex=TEST_KEY_HEX))
    assert key.secret == bytes.fromhex(TEST_KEY_HEX)
    assert TEST_KEY_HEX not in repr(key)


@pytest.mark.parametrize(("value", "message"), [
    ("zz" * 32, "ikke heksadesimal"),
    (TEST_KEY_HEX[:30], "for kort: 15 byte"),
    ("00" * 32, "bare 1 ulike byteverdier"),
    ("ab" * 32, "bare 1 ulike byteverdier"),
    ("0123456789abcdef" * 4, "bare 8 ulike byteverdier"),
    (bytes(range(32)).hex(), "tellesekvens"),
    (bytes(range(200, 136, -2)).hex(), "tellesekvens"),
    (b"The quick brown fox jumps over 13 lazy dogs".hex(), "lesbare tegn"),
])
def test_weak_keys_are_refused(settings, value, message):
    with pytest.raises(ConfigurationError, match=message):
        load_key(dataclasses.replace(settings, pseudonym_key_hex=value))


def test_random_keys_are_never_called_weak():
    assert [k for k in (secrets.token_bytes(32) for _ in range(20_000)) if key_weakness(k)] == []


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o602])
def test_a_key_file_others_may_read_is_refused(settings, mode):
    path = key_path(settings)
    path.write_text(TEST_KEY_HEX + "\n")
    path.chmod(mode)
    with pytest.raises(ConfigurationError, match=f"chmod 600 {path}"):
        load_key(settings)
    path.chmod(0o600)
    assert load_key(settings) == KEY


def test_key_file_and_demo_creation(settings):
    with pytest.raises(ConfigurationError, match="pseudonym.key"):
        load_key(settings)
    created = load_key(settings, create=True)
    assert key_path(settings).stat().st_mode & 0o777 == 0o600
    assert load_key(settings) == created
    assert [p.name for p in settings.keys.iterdir()] == ["pseudonym.key"]  # no temporary file left


def _demo_key_worker(homes: list[str], barrier, results) -> None:
    """Create-or-read the demo key in each fresh home, starting together with the other workers."""
    for home in homes:
        barrier.wait()
        try:
            results.put((home, load_key(Settings(home=Path(home)), create=True).secret.hex()))
        except Exception as e:  # noqa: BLE001 - the test reports any failure
            results.put((home, f"failed: {e!r}"))


@pytest.mark.parametrize("processes", [2, 4])
def test_concurrent_demo_key_creation_gives_everyone_the_same_key(tmp_path, processes):
    """Issue 9: two processes on a fresh home failed 207 of 300 trials (one read a half-written key)."""
    homes = [str(tmp_path / f"home{i}") for i in range(30)]
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(processes), context.Queue()
    workers = [context.Process(target=_demo_key_worker, args=(homes, barrier, results)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=300) for _ in range(len(homes) * processes)]
    for worker in workers:
        worker.join(timeout=60)
    assert [o for o in outcomes if o[1].startswith("failed")] == []
    for home in homes:
        keys = {key for h, key in outcomes if h == home}
        assert keys == {Path(home, "keys", "pseudonym.key").read_text().strip()}, home


def test_a_second_key_is_refused_after_the_first_load(run_cli, home, tmp_path):
    """Loading with another key would give every person a second person_id: exit 2, nothing loaded."""
    first, second = (write_valid_extract(tmp_path / f"{n}.csv", "kpr_kontakter", 3, start=s) for n, s in (("a", 0), ("b", 10)))
    environ = {KEY_ENV: TEST_KEY_HEX}
    assert run_cli("ingest", "kpr_kontakter", first, "--json", environ=environ).exit_code == 0
    warehouse = home / "warehouse.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select fingerprint from ingest.key_fingerprint").fetchall() == [(KEY.fingerprint,)]

    environ = {KEY_ENV: secrets.token_hex(32)}
    refused = run_cli("ingest", "kpr_kontakter", second, "--json", environ=environ)
    assert refused.exit_code == 2
    assert "annen pseudonymiseringsnøkkel" in refused.stdout + refused.stderr
    assert KEY.fingerprint[:12] in refused.stdout + refused.stderr

    environ = {KEY_ENV: TEST_KEY_HEX}  # the right key still loads
    assert run_cli("ingest", "kpr_kontakter", second, "--json", environ=environ).exit_code == 0
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from raw.kpr_kontakter").fetchone() == (6,)
        assert con.execute("select count(*) from ingest.key_fingerprint").fetchone() == (1,)


def test_the_fingerprint_is_recorded_only_with_a_load(run_cli, home, tmp_path):
    """A first run whose file is rejected leaves no fingerprint, so it binds the warehouse to nothing."""
    bad = tmp_path / "bad.csv"
    bad.write_text("not;the;header\n")
    environ = {KEY_ENV: secrets.token_hex(32)}
    assert run_cli("ingest", "kpr_kontakter", bad, "--json", environ=environ).exit_code == 2
    environ = {KEY_ENV: TEST_KEY_HEX}
    good = write_valid_extract(tmp_path / "good.csv", "kpr_kontakter", 2)
    assert run_cli("ingest", "kpr_kontakter", good, "--json", environ=environ).exit_code == 0
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select fingerprint from ingest.key_fingerprint").fetchall() == [(KEY.fingerprint,)]


NUMBERS = st.one_of(st.none(), st.sampled_from(["13888012235", "01015450068", "00000000007"]), st.from_regex(r"\A[0-9]{11}\Z"))
ODD = st.sampled_from(["x", "", "7", "1015450068", " 01015450068"])


@hypothesis_settings(deadline=None)  # Polars' first joins are slow on a loaded machine
@given(st.lists(st.one_of(st.lists(NUMBERS, max_size=12), st.lists(st.one_of(NUMBERS, ODD), max_size=12)), max_size=5))
def test_memo_gives_the_keys_pseudonyms_batch_after_batch(batches):
    """Leading zeros matter (01015450068 ≠ 1015450068) and anything but 11 digits bypasses the memo."""
    memo = PseudonymMemo(KEY)
    for batch in batches:
        values = pl.Series("fnr", batch, dtype=pl.String)
        assert memo.pseudonyms(values).to_list() == KEY.pseudonyms(values).to_list()


@pytest.fixture
def hashed(monkeypatch) -> list[str]:
    """The numbers the key hashes from now on (the memo's misses), in order."""
    numbers: list[str] = []
    real = PseudonymKey.pseudonym_digests

    def recording(self, values):
        numbers.extend(values.to_list())
        return real(self, values)

    monkeypatch.setattr(PseudonymKey, "pseudonym_digests", recording)
    return numbers


def test_memo_hashes_each_distinct_number_once_per_run(hashed):
    memo = PseudonymMemo(KEY)
    memo.pseudonyms(pl.Series(["13888012235", "01015450068", "13888012235"]))
    memo.pseudonyms(pl.Series(["01015450068", "13888012235", "02020250081"]))
    assert sorted(hashed) == ["01015450068", "02020250081", "13888012235"]
    assert len(memo) == 3


@hypothesis_settings(deadline=None)
@given(st.lists(st.lists(NUMBERS, max_size=12), max_size=6), st.integers(min_value=1, max_value=4))
def test_a_memo_with_a_tiny_cap_gives_the_same_pseudonyms_and_stays_within_it(batches, cap):
    """Forgetting (first in, first out) changes only how often a number is hashed, never its person_id."""
    capped, uncapped = PseudonymMemo(KEY, max_entries=cap), PseudonymMemo(KEY)
    for batch in batches:
        values = pl.Series("fnr", batch, dtype=pl.String)
        assert capped.pseudonyms(values).to_list() == uncapped.pseudonyms(values).to_list() == KEY.pseudonyms(values).to_list()
        assert len(capped) <= cap


def test_a_full_memo_forgets_its_oldest_numbers_first(hashed):
    memo = PseudonymMemo(KEY, max_entries=2)
    for number in ["13888012235", "01015450068", "02020250081"]:
        memo.pseudonyms(pl.Series([number]))
    hashed.clear()
    memo.pseudonyms(pl.Series(["02020250081", "01015450068", "13888012235"]))
    assert hashed == ["13888012235"]  # the oldest was forgotten; the two newest were remembered
    assert len(memo) == 2
