"""Reading an extract file in bounded batches of lines, decoded and split into fields.

One streaming pass does four jobs: it checks the bytes decode in the declared encoding (naming
the first bad line), numbers every line exactly as an editor would (header = line 1), checks the
header, and hands Polars one batch of lines at a time so a 20-million-row file never sits in
memory at once. The field split itself is vectorised (``str.split_exact``).

Why not ``pl.scan_csv``: the extracts have no free-text fields and are never quoted, but a bad
row (too few or too many fields, a blank line) must become a *quarantined row with its line
number*, not a parser error for the whole file or a silently padded row. Splitting lines
ourselves keeps that exact, and transcoding (Latin-1 → UTF-8) happens per batch in memory, so no
temporary copy of a file full of identity numbers is ever written to disk.
"""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from kernel.errors import UserInputError

DEFAULT_ENCODING = "utf-8"
#: Bytes per batch: large enough for Polars to use every core, small enough to bound memory.
DEFAULT_BATCH_BYTES = 16 * 1024 * 1024
FIELD_SEPARATOR = ";"
LINE_COLUMN = "_line_number"
TEXT_COLUMN = "_line"


class FileRejected(UserInputError):
    """The file cannot be used at all; it is recorded as ``rejected`` and nothing is loaded."""


@dataclass(frozen=True)
class Batch:
    """Lines of one batch: ``_line_number`` and the line text ``_line`` (no line ending)."""

    lines: pl.DataFrame
    bytes_read: int  # file bytes consumed so far, for progress


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def normalise_encoding(name: str | None) -> str:
    """The codec name for ``name``; only encodings where ``;`` and newlines are single ASCII bytes.

    >>> normalise_encoding("latin-1")
    'iso8859-1'
    """
    try:
        codec = codecs.lookup(name or DEFAULT_ENCODING).name
    except LookupError:
        raise UserInputError(f"unknown encoding {name!r}; use e.g. utf-8 or latin-1") from None
    try:
        ascii_compatible = "ab;\n\r".encode(codec) == b"ab;\n\r"
    except UnicodeError:
        ascii_compatible = False
    if not ascii_compatible or codec.startswith("utf-16") or codec.startswith("utf-32"):
        raise UserInputError(f"encoding {name!r} is not supported: extracts must use an ASCII-compatible encoding (utf-8, latin-1, cp1252...)")
    return codec


def read_header(path: Path, encoding: str) -> list[str]:
    """The header fields, or :class:`FileRejected` saying why the file cannot be used."""
    with path.open("rb") as f:
        head = f.read(1 << 16)
    first, _, rest = head.partition(b"\n")
    if not first.strip() and not rest:
        raise FileRejected(f"{path}: the file is empty")
    if b"\0" in head:  # text never has NUL bytes; binary files almost always do, early on
        line = 1 + head[: head.index(b"\0")].count(b"\n")
        raise FileRejected(f"{path}: not a text file (line {line} contains NUL bytes)")
    text = _decode(first, encoding, path, line_offset=1)
    text = text.removeprefix("\ufeff").rstrip("\r\n")
    if FIELD_SEPARATOR not in text:
        raise FileRejected(f"{path}: not a semicolon-separated extract (line 1 has no ';')")
    return [unquote(field) for field in text.split(FIELD_SEPARATOR)]


def check_header(path: Path, header: list[str], expected: list[str], source_name: str) -> None:
    """Reject a header that is not exactly the source's columns (any order, each once)."""
    missing = [c for c in expected if c not in header]
    unexpected = [c for c in header if c not in expected]
    repeated = sorted({c for c in header if header.count(c) > 1})
    if missing or unexpected or repeated:
        parts = [f"missing {missing}" if missing else "", f"unexpected {unexpected}" if unexpected else "",
                 f"repeated {repeated}" if repeated else ""]
        raise FileRejected(
            f"{path}: header does not match source {source_name} ({'; '.join(p for p in parts if p)}); "
            f"expected {FIELD_SEPARATOR.join(expected)}"
        )


def unquote(field: str) -> str:
    """Drop one pair of surrounding double quotes (some exporters quote every field)."""
    if len(field) >= 2 and field[0] == '"' and field[-1] == '"':
        return field[1:-1].replace('""', '"')
    return field


def read_batches(path: Path, encoding: str, batch_bytes: int = DEFAULT_BATCH_BYTES) -> Iterator[Batch]:
    """Data lines (after the header) in batches of about ``batch_bytes``.

    A final line without a line ending counts; the empty string after the last newline does
    not. Blank lines in the middle are kept (and quarantined later) so ``rows_read`` is every
    line after the header.
    """
    with path.open("rb") as f:
        f.readline(1 << 16)  # header, checked by read_header
        next_line = 2
        consumed = f.tell()
        carry = b""
        while True:
            block = f.read(batch_bytes)
            data = carry + block
            if not block:
                if data:
                    yield _batch(data, encoding, path, next_line, consumed + len(data))
                return
            cut = data.rfind(b"\n")
            if cut < 0:
                carry = data
                continue
            complete, carry = data[: cut + 1], data[cut + 1 :]
            consumed += len(complete)
            batch = _batch(complete[:-1], encoding, path, next_line, consumed)
            next_line += batch.lines.height
            yield batch


def _batch(data: bytes, encoding: str, path: Path, first_line: int, consumed: int) -> Batch:
    if b"\0" in data:
        line = first_line + data[: data.index(b"\0")].count(b"\n")
        raise FileRejected(f"{path}: not a text file (line {line} contains NUL bytes)")
    text = _decode(data, encoding, path, line_offset=first_line)
    lines = pl.Series(TEXT_COLUMN, [text]).str.split("\n").explode().str.strip_suffix("\r")
    frame = pl.DataFrame({LINE_COLUMN: pl.int_range(first_line, first_line + len(lines), eager=True, dtype=pl.Int64),
                          TEXT_COLUMN: lines})
    return Batch(lines=frame, bytes_read=consumed)


def _decode(data: bytes, encoding: str, path: Path, line_offset: int) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        line = line_offset + data[: e.start].count(b"\n")
        hint = (" — if the file is Latin-1 (common from municipal systems), declare it with --encoding latin-1"
                if encoding == "utf-8" else "")
        raise FileRejected(
            f"{path}: line {line} is not valid {encoding} (byte 0x{data[e.start]:02x}){hint}"
        ) from None


def split_fields(lines: pl.DataFrame, header: list[str]) -> pl.DataFrame:
    """One string column per header field plus ``_field_count``; fields are unquoted."""
    n = len(header)
    parts = pl.col(TEXT_COLUMN).str.split_exact(FIELD_SEPARATOR, n - 1)
    fields = [parts.struct.field(f"field_{i}").alias(name) for i, name in enumerate(header)]
    count = (pl.col(TEXT_COLUMN).str.count_matches(FIELD_SEPARATOR, literal=True) + 1).alias("_field_count")
    blank = (pl.col(TEXT_COLUMN).str.strip_chars() == "").alias("_blank")
    frame = lines.select(pl.col(LINE_COLUMN), pl.col(TEXT_COLUMN), *fields, count, blank)
    return frame.with_columns(_unquote(pl.col(name)) for name in header)


def _unquote(column: pl.Expr) -> pl.Expr:
    quoted = column.str.starts_with('"') & column.str.ends_with('"') & (column.str.len_chars() >= 2)
    return pl.when(quoted).then(column.str.slice(1, column.str.len_chars() - 2).str.replace_all('""', '"', literal=True)).otherwise(column)
