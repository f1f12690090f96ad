"""Reading an extract file in bounded batches of lines, decoded and split into fields.

One streaming pass does five jobs: it checks the bytes decode in the declared encoding (naming
the first bad line), numbers every line exactly as an editor would (header = line 1), checks the
header, sets aside over-long lines without reading them, and hands Polars one batch of lines at a
time so a 20-million-row file never sits in memory at once. The field split itself is vectorised
(``str.split_exact``).

Why not ``pl.scan_csv``: the extracts have no free-text fields and are never quoted, but a bad
row (too few or too many fields, a blank line) must become a *quarantined row with its line
number*, not a parser error for the whole file or a silently padded row. Splitting lines
ourselves keeps that exact, and transcoding (Latin-1, UTF-16 → UTF-8) happens per batch in
memory, so no temporary copy of a file full of identity numbers is ever written to disk.

**Bounded memory whatever the file.** A line longer than :data:`MAX_LINE_BYTES` is never held
whole: as soon as the unfinished line carried from one block to the next passes the limit, the
reader drops what it has and skips to the next newline. The line is still counted, under its line
number, with ``_too_long`` set and empty text, and is quarantined under ``line_too_long`` (its
content is neither decoded nor stored). So the reader holds at most one block plus one line of
:data:`MAX_LINE_BYTES`, even for a file that is one 1 GB line.

**No field value in a file-level message.** A whole-file rejection names the file, the line, the
column positions and the rule, never the text of a field: the first line of a file given without
its header is a data row, and its first field an identity number.
"""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import polars as pl

from kernel.errors import UserInputError

DEFAULT_ENCODING = "utf-8"
#: Bytes per batch: large enough for Polars to use every core, small enough to bound memory.
DEFAULT_BATCH_BYTES = 16 * 1024 * 1024
#: The longest line read (bytes, without the line ending). The longest valid row of any source is
#: under 200 bytes; 64 KiB leaves room for any exporter's padding while bounding memory.
MAX_LINE_BYTES = 64 * 1024
FIELD_SEPARATOR = ";"
LINE_COLUMN = "_line_number"
TEXT_COLUMN = "_line"
TOO_LONG_COLUMN = "_too_long"
#: Byte-order marks of the encodings that are read by transcoding (checked longest first).
_WIDE_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
              (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


class FileRejected(UserInputError):
    """The file cannot be used at all; it is recorded as ``rejected`` and nothing is loaded."""


@dataclass(frozen=True)
class Batch:
    """Lines of one batch: ``_line_number``, the line text ``_line`` (no line ending) and ``_too_long``."""

    lines: pl.DataFrame
    bytes_read: int  # file bytes consumed so far, for progress


def format_count(n: int) -> str:
    """A whole number the Norwegian way, with a space between thousands.

    >>> format_count(65536), format_count(12)
    ('65 536', '12')
    """
    return f"{n:,}".replace(",", " ")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _ascii_compatible(codec: str) -> bool:
    """True when ``;``, CR and LF are the single ASCII bytes in ``codec`` (the file is split as bytes)."""
    try:
        return "ab;\n\r".encode(codec) == b"ab;\n\r"
    except UnicodeError:
        return False


def normalise_encoding(name: str | None) -> str:
    """The codec name for ``name``; ASCII-compatible encodings, or UTF-16/UTF-32 (read transcoded).

    >>> normalise_encoding("latin-1"), normalise_encoding("UTF16")
    ('iso8859-1', 'utf-16')
    """
    try:
        codec = codecs.lookup(name or DEFAULT_ENCODING).name
    except LookupError:
        raise UserInputError(f"ukjent tegnkoding {name!r}; bruk f.eks. utf-8, latin-1 eller utf-16") from None
    if not (_ascii_compatible(codec) or codec.startswith(("utf-16", "utf-32"))):
        raise UserInputError(f"tegnkodingen {name!r} støttes ikke: bruk utf-8, latin-1, cp1252, utf-16 eller utf-32")
    return codec


class _Stream:
    """The file's bytes in an ASCII-compatible encoding, read in blocks.

    For an ASCII-compatible codec these are the file's own bytes (decoded per batch later); for
    UTF-16/32 they are transcoded to UTF-8 here, block by block, in memory.
    """

    def __init__(self, f: BinaryIO, codec: str, path: Path):
        self._f, self._path, self._declared = f, path, codec
        self._decoder = None if _ascii_compatible(codec) else codecs.getincrementaldecoder(codec)()
        self._buffer = b""
        #: How the bytes :meth:`read` returns are encoded.
        self.codec = codec if self._decoder is None else "utf-8"

    def read(self, size: int) -> bytes:
        if self._decoder is None:
            return self._f.read(size)
        while len(self._buffer) < size:
            offset = self._f.tell()
            block = self._f.read(size)
            try:
                self._buffer += self._decoder.decode(block, final=not block).encode("utf-8")
            except UnicodeDecodeError as e:
                raise FileRejected(f"{self._path}: byte {format_count(offset + e.start)} er ikke gyldig "
                                   f"{self._declared}; sjekk --encoding") from None
            if not block:
                break
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out

    @property
    def consumed(self) -> int:
        """File bytes read so far (for progress)."""
        return self._f.tell()


@contextmanager
def _open(path: Path, codec: str) -> Iterator[_Stream]:
    with path.open("rb") as f:
        yield _Stream(f, codec, path)


def read_header(path: Path, encoding: str) -> list[str]:
    """The header fields, or :class:`FileRejected` saying why the file cannot be used."""
    with path.open("rb") as f:
        raw = f.read(64)
    if _ascii_compatible(encoding):
        wide = _wide_encoding(raw)
        if wide:
            raise FileRejected(f"{path}: filen ser ut til å være {wide.upper()}, ikke {encoding}; "
                               f"oppgi tegnkodingen med --encoding {wide}")
    with _open(path, encoding) as stream:
        head = stream.read(MAX_LINE_BYTES + 1)
    first, newline, rest = head.partition(b"\n")
    if not first.strip() and not rest:
        raise FileRejected(f"{path}: filen er tom")
    if not newline and len(head) > MAX_LINE_BYTES:
        raise FileRejected(f"{path}: linje 1 (overskriften) er lengre enn {format_count(MAX_LINE_BYTES)} byte")
    if b"\0" in head:  # text never has NUL bytes; binary files almost always do, early on
        line = 1 + head[: head.index(b"\0")].count(b"\n")
        raise FileRejected(f"{path}: ikke en tekstfil (linje {line} inneholder NUL-byte)")
    text = _decode(first, stream.codec, path, line_offset=1)
    text = text.removeprefix("\ufeff").rstrip("\r\n")
    if FIELD_SEPARATOR not in text:
        raise FileRejected(f"{path}: ikke et semikolonseparert uttrekk (linje 1 har ingen «{FIELD_SEPARATOR}»)")
    return [unquote(field) for field in text.split(FIELD_SEPARATOR)]


def _wide_encoding(raw: bytes) -> str | None:
    """``utf-16``/``utf-32`` when the first bytes look like one (a BOM, or NUL every other byte)."""
    for bom, name in _WIDE_BOMS:
        if raw.startswith(bom):
            return name
    sample = raw[:32]
    if len(sample) >= 8 and ({*sample[1::2]} == {0}) != ({*sample[0::2]} == {0}):
        return "utf-16"  # ASCII text in UTF-16 without a BOM: every other byte is NUL
    return None


def check_header(path: Path, header: list[str], expected: list[str], source_name: str) -> None:
    """Reject a header that is not exactly the source's columns (any order, each once).

    The message names missing and repeated columns (names of the source, never text from the
    file) and the *positions* of unknown fields, not their text: a file sent without its header
    has a data row on line 1.
    """
    missing = [c for c in expected if c not in header]
    unknown = [i for i, c in enumerate(header, start=1) if c not in expected]
    repeated = sorted({c for c in header if c in expected and header.count(c) > 1})
    if not (missing or unknown or repeated):
        return
    parts = []
    if missing:
        parts.append(f"mangler {', '.join(missing)}")
    if unknown:
        parts.append(f"feltet i posisjon {unknown[0]} er ikke en kolonne i kilden" if len(unknown) == 1
                     else f"feltene i posisjon {_join(unknown)} er ikke kolonner i kilden")
    if repeated:
        parts.append(f"{', '.join(repeated)} står mer enn én gang")
    looks_like_data = any(any(ch.isdigit() for ch in header[i - 1]) for i in unknown)
    raise FileRejected(
        f"{path}: overskriften på linje 1 passer ikke til kilden {source_name} ({'; '.join(parts)})"
        + ("; linje 1 ser ut som en datarad — mangler filen overskriften?" if looks_like_data else "")
        + f"; forventet {FIELD_SEPARATOR.join(expected)}"
    )


def _join(numbers: list[int]) -> str:
    """``1, 3 og 5``."""
    text = [str(n) for n in numbers]
    return text[0] if len(text) == 1 else f"{', '.join(text[:-1])} og {text[-1]}"


def unquote(field: str) -> str:
    """Drop one pair of surrounding double quotes (some exporters quote every field)."""
    if len(field) >= 2 and field[0] == '"' and field[-1] == '"':
        return field[1:-1].replace('""', '"')
    return field


def read_batches(path: Path, encoding: str, batch_bytes: int = DEFAULT_BATCH_BYTES,
                 max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[Batch]:
    """Data lines (after the header) in batches of about ``batch_bytes``.

    A final line without a line ending counts; the empty string after the last newline does
    not. Blank lines in the middle are kept (and quarantined later) so ``rows_read`` is every
    line after the header. A line over ``max_line_bytes`` is yielded with empty text and
    ``_too_long`` set; its bytes are skipped, never held whole (see the module docstring).
    """
    with _open(path, encoding) as stream:
        next_line = 2
        carry = b""
        skipping = True  # the header, checked by read_header
        while True:
            block = stream.read(batch_bytes)
            end_of_file = not block
            if skipping:
                cut = block.find(b"\n")
                if cut < 0:
                    if end_of_file:
                        return
                    continue
                block, skipping = block[cut + 1:], False
            data = carry + block
            if end_of_file:
                if data:
                    yield _batch(data, stream.codec, path, next_line, stream.consumed, max_line_bytes)
                return
            cut = data.rfind(b"\n")
            complete, carry = (data[:cut], data[cut + 1:]) if cut >= 0 else (None, data)
            too_long = len(carry) > max_line_bytes
            if too_long:  # the unfinished line is already over the limit: drop it, skip to its end
                carry, skipping = b"", True
            if complete is not None or too_long:
                batch = _batch(complete, stream.codec, path, next_line, stream.consumed, max_line_bytes,
                               trailing_too_long=too_long)
                next_line += batch.lines.height
                yield batch


def _batch(data: bytes | None, codec: str, path: Path, first_line: int, consumed: int, max_line_bytes: int,
           trailing_too_long: bool = False) -> Batch:
    """Decode and number the lines of ``data`` (none when None), plus one over-long line after
    them when ``trailing_too_long``."""
    long = _long_lines(data, max_line_bytes) if data is not None else []
    if trailing_too_long:
        long.append(0 if data is None else data.count(b"\n") + 1)
        data = b"" if data is None else data + b"\n"
    if long:  # never decode or inspect an over-long line: replace it by an empty one
        skip = set(long)
        data = b"\n".join(b"" if i in skip else line for i, line in enumerate(data.split(b"\n")))
    if b"\0" in data:
        line = first_line + data[: data.index(b"\0")].count(b"\n")
        raise FileRejected(f"{path}: ikke en tekstfil (linje {line} inneholder NUL-byte)")
    text = _decode(data, codec, path, line_offset=first_line)
    del data
    texts = pl.Series(TEXT_COLUMN, [text]).str.split("\n").explode().str.strip_suffix("\r")
    numbers = pl.int_range(first_line, first_line + len(texts), eager=True, dtype=pl.Int64)
    frame = pl.DataFrame({LINE_COLUMN: numbers, TEXT_COLUMN: texts,
                          TOO_LONG_COLUMN: (numbers - first_line).is_in(long)})
    return Batch(lines=frame, bytes_read=consumed)


def _long_lines(data: bytes, max_line_bytes: int) -> list[int]:
    """Indices of the lines of ``data`` (split at LF) longer than ``max_line_bytes``.

    Vectorised with NumPy: splitting a 16 MB batch into Python byte strings just to measure
    them would cost more than the rest of the read.
    """
    if len(data) <= max_line_bytes or _every_window_has_a_newline(data, max_line_bytes):
        return []
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))
    lengths = np.diff(np.concatenate(([-1], ends, [len(data)]))) - 1
    return np.flatnonzero(lengths > max_line_bytes).tolist()


def _every_window_has_a_newline(data: bytes, max_line_bytes: int) -> bool:
    """True when no line of ``data`` can be longer than ``max_line_bytes``: cheap proof for the usual batch.

    A line longer than ``max_line_bytes`` covers a whole aligned window of ``max_line_bytes // 2``
    bytes, so if every such window holds a newline no line is too long. ``find`` stops at the first
    newline (a few dozen bytes in), so this reads a tiny part of the batch.
    """
    window = max(1, max_line_bytes // 2)
    return all(data.find(b"\n", start, start + window) >= 0 for start in range(0, len(data) - window + 1, window))


def _decode(data: bytes, encoding: str, path: Path, line_offset: int) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        line = line_offset + data[: e.start].count(b"\n")
        hint = (" — er filen Latin-1 (vanlig fra kommunale systemer), oppgi --encoding latin-1"
                if encoding == "utf-8" else "; sjekk --encoding")
        raise FileRejected(
            f"{path}: linje {line} er ikke gyldig {encoding} (byte 0x{data[e.start]:02x}){hint}"
        ) from None


def split_fields(lines: pl.DataFrame, header: list[str]) -> pl.DataFrame:
    """One string column per header field plus ``_field_count``; fields are unquoted.

    The line is split once into a struct column and the fields taken from it; unquoting runs
    only when the batch has a ``"`` at all (Polars computes both branches of a ``when``, so
    unquoting every field of an unquoted batch would cost more than the split).
    """
    n = len(header)
    frame = lines.with_columns(
        pl.col(TEXT_COLUMN).str.split_exact(FIELD_SEPARATOR, n - 1).alias("__fields"),
        (pl.col(TEXT_COLUMN).str.count_matches(FIELD_SEPARATOR, literal=True) + 1).alias("_field_count"),
        (pl.col(TEXT_COLUMN).str.strip_chars() == "").alias("_blank"),
    )
    fields = [pl.col("__fields").struct.field(f"field_{i}").alias(name) for i, name in enumerate(header)]
    frame = frame.select(pl.col(LINE_COLUMN), pl.col(TEXT_COLUMN), pl.col(TOO_LONG_COLUMN), *fields, "_field_count", "_blank")
    if frame[TEXT_COLUMN].str.contains('"', literal=True).any():
        frame = frame.with_columns(_unquote(pl.col(name)) for name in header)
    return frame


def _unquote(column: pl.Expr) -> pl.Expr:
    quoted = column.str.starts_with('"') & column.str.ends_with('"') & (column.str.len_chars() >= 2)
    return pl.when(quoted).then(column.str.slice(1, column.str.len_chars() - 2).str.replace_all('""', '"', literal=True)).otherwise(column)
