"""Secret keys on disk: how strong they must be, how they are created, who may read them.

The platform keeps two HMAC-SHA-256 keys beside each other under ``HELSEDATA_HOME/keys/``: the
pseudonymisation key (``ingestion.pseudonym``) and the audit chain's key (``privacy.audit``). Both
follow the rules here, written once:

* a key is at least :data:`KEY_BYTES` random bytes; :func:`key_weakness` refuses keys a person
  made up (too short, few distinct bytes, a counting sequence, printable text written as hex);
* a key file is created race-free (:func:`create_key_file`): concurrent first runs all end up with
  the one key the first of them wrote, never a half-written file;
* a key file that group or others may read is refused (:func:`refuse_readable`).

>>> key_weakness(bytes(32))
'har bare 1 ulike byteverdier (minst 16 kreves)'
>>> key_weakness(bytes.fromhex("5f" * 16)) is not None
True
"""

from __future__ import annotations

import itertools
import os
import secrets
import stat
from pathlib import Path

from kernel.errors import ConfigurationError

#: 256-bit keys, the HMAC-SHA-256 recommendation (RFC 2104 §3: at least the hash's output length).
KEY_BYTES = 32
#: A random 32-byte key has about 30 distinct byte values; fewer than this means a pattern.
MIN_DISTINCT_BYTES = 16
NEW_KEY_HINT = f"lag en ny med `python -c 'import secrets; print(secrets.token_hex({KEY_BYTES}))'`"


def key_weakness(secret: bytes) -> str | None:
    """Why ``secret`` is too weak to be a key (bokmål, for the error message), or None.

    The tests are for keys a person made up, not for randomness: each has a chance below 10⁻¹³
    of refusing a key from ``secrets.token_hex``.
    """
    if len(secret) < KEY_BYTES:
        return f"er for kort: {len(secret)} byte, minst {KEY_BYTES} byte ({2 * KEY_BYTES} heksadesimale tegn) kreves"
    distinct = len(set(secret))
    if distinct < MIN_DISTINCT_BYTES:
        return f"har bare {distinct} ulike byteverdier (minst {MIN_DISTINCT_BYTES} kreves)"
    if len({(b - a) % 256 for a, b in itertools.pairwise(secret)}) == 1:
        return "er en tellesekvens (hver byte er forrige pluss det samme tallet)"
    if all(0x20 <= b < 0x7F for b in secret):
        return "består bare av lesbare tegn, som et passord skrevet som heks"
    return None


def hex_key(text: str, where: str, what: str) -> bytes:
    """The key written as hex in ``text`` (from ``where``), refused when malformed or weak.

    :param what: the key's name in messages, e.g. ``"pseudonymiseringsnøkkelen"``.
    """
    try:
        secret = bytes.fromhex(text.strip())
    except ValueError:
        raise ConfigurationError(f"{what} i {where} er ikke heksadesimal") from None
    if weakness := key_weakness(secret):
        raise ConfigurationError(f"{what} i {where} {weakness}; {NEW_KEY_HINT}")
    return secret


def refuse_readable(path: Path, what: str) -> None:
    """Refuse a key file that group or others may read or change."""
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(
            f"{what} {path} kan leses eller endres av andre enn eieren (modus {stat.S_IMODE(mode):04o}); "
            f"kjør `chmod 600 {path}` og prøv igjen"
        )


def create_key_file(path: Path) -> None:
    """Write a random key to ``path`` unless it exists; safe against concurrent first runs.

    The key is written in full to a private temporary file (``O_EXCL``, mode 0600), which is then
    hard-linked to ``path``: the link either appears with the whole key or fails because another
    process linked first — then that process's key is the one everybody reads. No reader ever
    sees a half-written file.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(8)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_hex(KEY_BYTES) + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:  # another process made it first: use theirs
            pass
    finally:
        temporary.unlink(missing_ok=True)
