"""The pseudonymisation key, the two keyed hashes made with it, and the key's guards.

One secret key (never stored in the warehouse) gives two HMAC-SHA-256 hashes of an identity
number, separated by a domain prefix so that neither can be joined to the other:

* ``person_id`` in ``raw.*``: ``HMAC(key, PSEUDONYM_DOMAIN ‖ number)``;
* the value kept in ``ingest.quarantine`` for a rejected row:
  ``HMAC(key, QUARANTINE_DOMAIN ‖ person_id)``. A quarantined row can be traced by whoever holds
  the key and the original extract, but not linked to a person's rows in the warehouse.

Hashes are computed once per *distinct* value (Python's C-level SHA-256 with the HMAC pads
precomputed) and mapped back onto the column with a Polars join, rather than once per row. During a
run, :class:`PseudonymMemo` remembers the ``person_id`` made so far, so a person who appears in
many batches and yearly files is hashed once per run, not once per batch (at scale 0.02 that is
≈ 10 times fewer HMACs). It is bounded: at most :data:`MEMO_MAX_ENTRIES` numbers (≈ 56 bytes
each, ≈ 320 MiB — the whole population fits), the oldest forgotten first; it lives only in the
ingesting process and is never written anywhere.

Guards, because a wrong key fails silently — it still makes 64 hex characters per person:

* a weak key (short, few distinct bytes, a counting pattern, readable text) is refused
  (:func:`kernel.keys.key_weakness`);
* a key file that group or others may read is refused (``chmod 600``);
* the warehouse records the key's fingerprint, ``HMAC(key, FINGERPRINT_DOMAIN)``, in
  ``ingest.key_fingerprint`` at its first load, and every later load with another key is refused
  (:func:`check_key_fingerprint`): a second key would give every person a second ``person_id``;
* ``--demo`` creates its key file atomically (:func:`kernel.keys.create_key_file`), so concurrent first runs
  all end up with the same key.

>>> key = PseudonymKey(hashlib.sha256(b"doctest").digest())
>>> len(key.pseudonym("13888012235")), key.pseudonym("13888012235") != key.quarantine_hash("13888012235")
(64, True)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from kernel.config import Settings
from kernel.errors import ConfigurationError
from kernel.keys import KEY_BYTES, NEW_KEY_HINT, create_key_file, hex_key, key_weakness, refuse_readable

KEY_ENV = "HELSEDATA_PSEUDONYM_KEY"
KEY_FILE_NAME = "pseudonym.key"
PSEUDONYM_DOMAIN = b"helsedata/person_id/v1:"
QUARANTINE_DOMAIN = b"helsedata/quarantine/v1:"
FINGERPRINT_DOMAIN = b"helsedata/key-fingerprint/v1"

KEY_FINGERPRINT_DDL = """create table if not exists ingest.key_fingerprint (
  fingerprint VARCHAR NOT NULL,     -- hex HMAC-SHA-256(key, FINGERPRINT_DOMAIN); reveals nothing of the key
  recorded_at TIMESTAMP NOT NULL    -- the first load with this key (UTC)
)"""


@dataclass(frozen=True)
class PseudonymKey:
    """The secret key; ``repr`` never shows it."""

    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if weakness := key_weakness(self.secret):
            raise ConfigurationError(f"pseudonymiseringsnøkkelen {weakness}; {NEW_KEY_HINT}")

    @property
    def fingerprint(self) -> str:
        """``HMAC(key, FINGERPRINT_DOMAIN)`` in hex: tells keys apart without revealing them."""
        return hmac.new(self.secret, FINGERPRINT_DOMAIN, hashlib.sha256).hexdigest()

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

    def pseudonym_digests(self, values: pl.Series) -> pl.Series:
        """The 32 raw bytes of :meth:`pseudonyms` for each of ``values`` (distinct, no nulls), in order:
        the compact form :class:`PseudonymMemo` keeps (``person_id`` is their hex)."""
        hasher = _PrecomputedHmac(self.secret, PSEUDONYM_DOMAIN)
        return pl.Series([hasher.digest(v.encode()) for v in values.to_list()], dtype=pl.Binary)

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


#: Most identity numbers :class:`PseudonymMemo` remembers: ≈ 56 bytes each (8-byte number, 32-byte
#: digest, 16-byte view), so ≈ 320 MiB at most — room for everyone in Norway (5.6 M), so a national
#: run hashes each person once, while the memo never grows past this whatever the data.
MEMO_MAX_ENTRIES = 6_000_000


class PseudonymMemo:
    """``person_id`` of identity numbers pseudonymised so far in this run (in memory only), bounded.

    :meth:`pseudonyms` hashes only the numbers it has not seen, then joins. Numbers are kept as
    64-bit integers (an 11-digit number fits, and integer joins are about three times faster than
    string joins) and ``person_id`` as its 32 raw digest bytes, turned into hex only for the
    batch's own rows (half the memory of 64 hex characters). The lookup first narrows the memo to
    the batch's distinct numbers (a semi join whose hash table is the small side), so a batch
    costs a scan of the memo plus work in proportion to its own rows.

    At most ``max_entries`` numbers are kept: past that the oldest are forgotten (first in, first
    out) and hashed again if met again. Forgetting changes only the work, never a ``person_id``.
    """

    def __init__(self, key: PseudonymKey, max_entries: int = MEMO_MAX_ENTRIES):
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._key, self._max_entries = key, max_entries
        self._known = pl.DataFrame(schema={"n": pl.Int64, "digest": pl.Binary})

    def __len__(self) -> int:
        return self._known.height

    def pseudonyms(self, values: pl.Series) -> pl.Series:
        """Same result as :meth:`PseudonymKey.pseudonyms`; each distinct number is hashed once while remembered.

        Values that are not all 11-digit numbers (never the case for rows that passed the rules)
        are hashed directly, without the memo: only there is the text ↔ integer mapping one to one.
        """
        text = values.cast(pl.String)
        if not text.drop_nulls().str.contains(r"^[0-9]{11}$").all():
            return self._key.pseudonyms(values)
        numbers = text.cast(pl.Int64).to_frame("n")
        distinct = numbers.drop_nulls().unique()
        table = self._known.join(distinct, on="n", how="semi")
        new = distinct.join(table, on="n", how="anti")
        if new.height:
            fresh = new.with_columns(self._key.pseudonym_digests(new["n"].cast(pl.String).str.zfill(11)).alias("digest"))
            table = pl.concat([table, fresh])
            self._remember(fresh)
        table = table.select("n", pl.col("digest").bin.encode("hex").alias("hash"))
        return numbers.join(table, on="n", how="left", maintain_order="left")["hash"].rename(values.name)

    def _remember(self, fresh: pl.DataFrame) -> None:
        """Append ``fresh``; keep only the newest :attr:`_max_entries`."""
        known = pl.concat([self._known, fresh], rechunk=False)
        if known.height > self._max_entries:
            known = known.tail(self._max_entries)
        self._known = known.rechunk() if known.n_chunks() > 64 else known


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


def load_key(settings: Settings, *, create: bool = False) -> PseudonymKey:
    """The key from ``$HELSEDATA_PSEUDONYM_KEY`` (hex) or ``$HELSEDATA_HOME/keys/pseudonym.key``.

    Refuses weak keys and key files that group or others may read.

    :param create: make a new random key file (mode 0600) when there is none — for ``--demo``
        only: a key made this way on a production machine would pseudonymise differently from
        every earlier load, so it is never created silently.
    """
    if settings.pseudonym_key_hex:
        return _key(settings.pseudonym_key_hex, f"${KEY_ENV}")
    path = key_path(settings)
    if not path.exists():
        if not create:
            raise ConfigurationError(
                f"ingen pseudonymiseringsnøkkel: sett {KEY_ENV} til {2 * KEY_BYTES} heksadesimale tegn "
                f"(f.eks. `python -c 'import secrets; print(secrets.token_hex({KEY_BYTES}))'`), "
                f"eller legg dem i {path} (modus 0600), eller bruk --demo for å lage en demonøkkel der"
            )
        create_key_file(path)
    refuse_readable(path, "nøkkelfilen")
    return _key(path.read_text(encoding="ascii"), str(path))


def _key(text: str, where: str) -> PseudonymKey:
    return PseudonymKey(hex_key(text, where, "pseudonymiseringsnøkkelen"))


def check_key_fingerprint(con: duckdb.DuckDBPyConnection, key: PseudonymKey, *, record: bool = False) -> None:
    """Refuse ``key`` if the warehouse was loaded with another one; with ``record``, remember it.

    Call it before reading any file (fail fast) and with ``record=True`` inside the load
    transaction, so the fingerprint is stored together with the first rows it pseudonymised —
    a load that rolls back leaves no fingerprint behind.
    """
    con.execute(KEY_FINGERPRINT_DDL)
    known = [f for (f,) in con.execute("select fingerprint from ingest.key_fingerprint").fetchall()]
    if known and key.fingerprint not in known:
        raise ConfigurationError(
            f"varehuset er lastet med en annen pseudonymiseringsnøkkel (fingeravtrykk {known[0][:12]}…, "
            f"denne nøkkelen har {key.fingerprint[:12]}…). Med en annen nøkkel får samme person en ny "
            "person_id og telles dobbelt. Bruk nøkkelen warehouse ble lastet med; et nøkkelbytte krever "
            "et nytt warehouse lastet fra uttrekkene"
        )
    if record and not known:
        con.execute("insert into ingest.key_fingerprint values (?, ?)",
                    [key.fingerprint, dt.datetime.now(dt.UTC).replace(tzinfo=None)])
