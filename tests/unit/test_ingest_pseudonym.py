"""The pseudonymisation key and the keyed hashes made with it."""

from __future__ import annotations

import hashlib
import hmac

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.errors import ConfigurationError
from ingestion.pseudonym import (
    KEY_ENV,
    PSEUDONYM_DOMAIN,
    QUARANTINE_DOMAIN,
    PseudonymKey,
    _PrecomputedHmac,
    key_path,
    load_key,
)

KEY = PseudonymKey(bytes(range(32)))


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


def test_key_from_environment_wins(settings):
    key = load_key(settings, {KEY_ENV: "01" * 32})
    assert key.secret == bytes([1] * 32)
    assert "01" * 32 not in repr(key)


@pytest.mark.parametrize(("value", "message"), [("zz" * 32, "not hexadecimal"), ("ab" * 8, "at least 32 bytes")])
def test_bad_keys_are_configuration_errors(settings, value, message):
    with pytest.raises(ConfigurationError, match=message):
        load_key(settings, {KEY_ENV: value})


def test_key_file_and_demo_creation(settings):
    with pytest.raises(ConfigurationError, match="pseudonym.key"):
        load_key(settings, {})
    created = load_key(settings, {}, create=True)
    assert key_path(settings).stat().st_mode & 0o777 == 0o600
    assert load_key(settings, {}) == created
