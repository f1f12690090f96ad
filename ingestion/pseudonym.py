"""The pseudonymisation key and the two keyed hashes made with it.

One secret key (never stored in the warehouse) gives two HMAC-SHA-256 hashes of an identity
number, separated by a domain prefix so that neither can be joined to the other:

* ``person_id`` in ``raw.*``: ``HMAC(key, PSEUDONYM_DOMAIN ‖ number)``;
* the value kept in ``ingest.quarantine`` for a rejected row:
  ``HMAC(key, QUARANTINE_DOMAIN ‖ person_id)``. A quarantined row can be traced by whoever holds
  the key and the original extract, but not linked to a person's rows in the warehouse.

Hashes are computed once per *distinct* value of a batch (Python's C-level SHA-256 with the HMAC
pads precomputed) and mapped back onto the column, rather than once per row.

>>> key = PseudonymKey(bytes(32))
>>> len(key.pseudonym("13888012235")), key.pseudonym("13888012235") != key.quarantine_hash("13888012235")
(64, True)
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from kernel.config import Settings
from kernel.errors import ConfigurationError

KEY_ENV = "HELSEDATA_PSEUDONYM_KEY"
KEY_FILE_NAME = "pseudonym.key"
#: 256-bit keys, the HMAC-SHA-256 block-strength recommendation (RFC 2104 §3: at least L bytes).
KEY_BYTES = 32
PSEUDONYM_DOMAIN = b"helsedata/person_id/v1:"
QUARANTINE_DOMAIN = b"helsedata/quarantine/v1:"


@dataclass(frozen=True)
class PseudonymKey:
    """The secret key; ``repr`` never shows it."""

    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) < KEY_BYTES:
            raise ConfigurationError(
                f"the pseudonymisation key must be at least {KEY_BYTES} bytes ({2 * KEY_BYTES} hex characters)"
            )

    def pseudonym(self, number: str) -> str:
        """``person_id`` of one identity number (64 hex characters)."""
        return hmac.new(self.secret, PSEUDONYM_DOMAIN + number.encode(), hashlib.sha256).hexdigest()

    def quarantine_hash(self, value: str) -> str:
        """The keyed hash stored in quarantine instead of an identity number (or any risky value).

        It is the HMAC, in the quarantine domain, of the value's pseudonym: so rows quarantined
        in a batch (where the number is at hand) and duplicates found later in the warehouse
        (where only ``person_id`` is left) get the same hash, and the main path computes one HMAC
        per number, not two. Without the key it can no more be linked to ``person_id`` than to
        the number.
        """
        return hmac.new(self.secret, QUARANTINE_DOMAIN + self.pseudonym(value).encode(), hashlib.sha256).hexdigest()

    def pseudonyms(self, values: pl.Series) -> pl.Series:
        """``person_id`` for every value (nulls stay null), one HMAC per distinct value."""
        return self._map_distinct(values, [PSEUDONYM_DOMAIN])

    def quarantine_hashes(self, values: pl.Series) -> pl.Series:
        """:meth:`quarantine_hash` for every value (nulls stay null)."""
        return self._map_distinct(values, [PSEUDONYM_DOMAIN, QUARANTINE_DOMAIN])

    def quarantine_hashes_of_pseudonyms(self, person_ids: pl.Series) -> pl.Series:
        """:meth:`quarantine_hash` of the numbers behind ``person_ids``."""
        return self._map_distinct(person_ids, [QUARANTINE_DOMAIN])

    def _map_distinct(self, values: pl.Series, domains: list[bytes]) -> pl.Series:
        """Chain HMACs (each over the previous one's hex digest) per distinct value; join back."""
        distinct = values.drop_nulls().unique().cast(pl.String)
        digests = [v.encode() for v in distinct.to_list()]
        for domain in domains:
            hasher = _PrecomputedHmac(self.secret, domain)
            digests = [hasher.hexdigest(v) for v in digests]
        table = pl.DataFrame({"value": distinct, "hash": pl.Series(digests, dtype=pl.Binary).cast(pl.String)})
        frame = values.cast(pl.String).to_frame("value").join(table, on="value", how="left", maintain_order="left")
        return frame["hash"].rename(values.name)


class _PrecomputedHmac:
    """HMAC-SHA-256 (RFC 2104) with the inner and outer pad states computed once.

    ``hmac.digest`` re-derives both pads for every message; over millions of distinct identity
    numbers that doubles the cost. Copying the two precomputed SHA-256 states is identical
    output, about twice as fast.
    """

    def __init__(self, key: bytes, domain: bytes):
        block = 64
        if len(key) > block:
            key = hashlib.sha256(key).digest()
        key = key.ljust(block, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._inner.update(domain)
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def digest(self, value: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(value)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def hexdigest(self, value: bytes) -> bytes:
        """Hex digest as ASCII bytes, ready to be the next message in a chain."""
        return self.digest(value).hex().encode()


def key_path(settings: Settings) -> Path:
    return settings.keys / KEY_FILE_NAME


def load_key(settings: Settings, environ: Mapping[str, str] | None = None, *, create: bool = False) -> PseudonymKey:
    """The key from ``$HELSEDATA_PSEUDONYM_KEY`` (hex) or ``$HELSEDATA_HOME/keys/pseudonym.key``.

    :param create: make a new random key file (mode 0600) when there is none — for ``--demo``
        only: a key made this way on a production machine would pseudonymise differently from
        every earlier load, so it is never created silently.
    """
    environ = os.environ if environ is None else environ
    if environ.get(KEY_ENV):
        return PseudonymKey(_from_hex(environ[KEY_ENV], f"${KEY_ENV}"))
    path = key_path(settings)
    if not path.exists():
        if not create:
            raise ConfigurationError(
                f"no pseudonymisation key: set {KEY_ENV} to {2 * KEY_BYTES} hex characters "
                f"(e.g. `python -c 'import secrets; print(secrets.token_hex({KEY_BYTES}))'`), "
                f"or put them in {path} (mode 0600), or pass --demo to create a demo key there"
            )
        _create_key_file(path)
    return PseudonymKey(_from_hex(path.read_text(encoding="ascii").strip(), str(path)))


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secrets.token_hex(KEY_BYTES) + "\n")


def _from_hex(text: str, where: str) -> bytes:
    try:
        return bytes.fromhex(text.strip())
    except ValueError:
        raise ConfigurationError(f"the pseudonymisation key in {where} is not hexadecimal") from None
