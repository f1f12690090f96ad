"""Reading extract files in batches: exact line numbers whatever the batch boundaries, over-long
lines set aside unread, encodings, and file-level messages that never quote a field."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from ingestion.reader import (
    FileRejected,
    _long_lines,
    check_header,
    normalise_encoding,
    read_batches,
    read_header,
    split_fields,
    unquote,
)
from kernel.errors import UserInputError


def lines_of(path: Path, batch_bytes: int, encoding: str = "utf-8", max_line_bytes: int = 1 << 16) -> list[tuple]:
    return pl.concat([b.lines for b in read_batches(path, encoding, batch_bytes, max_line_bytes)]).rows()


@pytest.mark.parametrize("batch_bytes", [1, 5, 7, 64, 1 << 20])
@pytest.mark.parametrize("ending", ["\n", "\r\n"])
@pytest.mark.parametrize("trailing_newline", [True, False])
def test_every_line_once_with_its_number(tmp_path, batch_bytes, ending, trailing_newline):
    lines = ["a;b", "1;2", "", "3;4", "5;6;7"]
    path = tmp_path / "f.csv"
    path.write_bytes((ending.join(lines) + (ending if trailing_newline else "")).encode())
    batches = list(read_batches(path, "utf-8", batch_bytes))
    frame = pl.concat([b.lines for b in batches])
    assert frame.rows() == [(2, "1;2", False), (3, "", False), (4, "3;4", False), (5, "5;6;7", False)]
    assert batches[-1].bytes_read == path.stat().st_size


@pytest.mark.parametrize("batch_bytes", [1, 3, 16, 25, 1 << 20])
@pytest.mark.parametrize("last", ["\n", ""])
def test_over_long_lines_are_numbered_and_never_read(tmp_path, batch_bytes, last):
    """Lines over the limit (here 20 bytes) come out empty and flagged, wherever blocks end."""
    path = tmp_path / "f.csv"
    path.write_bytes(b"h;h\n1;2\n" + b"9" * 21 + b"\n" + b"x" * 20 + b"\n\n3;4\n" + b"\xff" * 500 + last.encode())
    assert lines_of(path, batch_bytes, max_line_bytes=20) == [
        (2, "1;2", False), (3, "", True), (4, "x" * 20, False), (5, "", False), (6, "3;4", False), (7, "", True)]


def test_a_line_of_40_megabytes_is_skipped_in_bounded_blocks(tmp_path):
    """The reader never holds the line: it is flagged, and the lines around it keep their numbers."""
    path = tmp_path / "big.csv"
    with path.open("wb") as f:
        f.write(b"h;h\n1;2\n")
        for _ in range(40):
            f.write(b"7" * (1 << 20))
        f.write(b"\n3;4\n")
    batches = read_batches(path, "utf-8", batch_bytes=1 << 20)
    assert max(b.lines["_line"].str.len_bytes().max() for b in batches) == 3
    assert lines_of(path, 1 << 20) == [(2, "1;2", False), (3, "", True), (4, "3;4", False)]


def test_split_fields_counts_and_unquotes():
    lines = pl.DataFrame({"_line_number": [2, 3, 4], "_line": ['"0301";x', "a;b;c", "solo"], "_too_long": [False] * 3})
    frame = split_fields(lines, ["k", "v"])
    assert frame.select("k", "v", "_field_count").rows() == [("0301", "x", 2), ("a", "b", 3), ("solo", None, 1)]


@pytest.mark.parametrize("name", ["cp037", "no-such-codec"])
def test_encodings_that_break_line_splitting_are_refused(name):
    with pytest.raises(UserInputError):
        normalise_encoding(name)


def test_common_encodings_are_accepted():
    names = (None, "UTF8", "latin-1", "cp1252", "UTF-16", "utf-16-le", "utf-32")
    assert [normalise_encoding(n) for n in names] == ["utf-8", "utf-8", "iso8859-1", "cp1252", "utf-16", "utf-16-le", "utf-32"]


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf_16_and_32_are_transcoded_with_exact_line_numbers(tmp_path, codec):
    path = tmp_path / "wide.csv"
    path.write_bytes("a;b\r\n1;Bærum\r\n\r\n3;4".encode(codec))
    assert read_header(path, codec) == ["a", "b"]
    assert lines_of(path, 5, codec) == [(2, "1;Bærum", False), (3, "", False), (4, "3;4", False)]


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_an_undeclared_utf_16_file_gets_the_encoding_option_as_a_hint(tmp_path, codec):
    path = tmp_path / "wide.csv"
    path.write_bytes("fodselsnummer;kommunenummer\n13888012235;0301\n".encode(codec))
    with pytest.raises(FileRejected, match=r"--encoding utf-(16|32)") as caught:
        read_header(path, "utf-8")
    assert "13888012235" not in str(caught.value)


def test_header_mismatch_names_positions_and_columns_never_field_text(tmp_path):
    path = tmp_path / "x.csv"
    header = ["09086647076", "0301", "2024-02-01", "fastlege", "oppmote"]
    with pytest.raises(FileRejected) as caught:
        check_header(path, header, ["fodselsnummer", "kommunenummer", "kontaktdato", "tjenesteyter", "kontaktform"], "kpr_kontakter")
    message = str(caught.value)
    assert "posisjon 1, 2, 3, 4 og 5" in message and "mangler fodselsnummer" in message
    assert "ser ut som en datarad" in message
    for field in header:
        assert field not in message.replace("fodselsnummer;kommunenummer;kontaktdato;tjenesteyter;kontaktform", "")


def test_a_header_longer_than_the_line_limit_rejects_the_file(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"a;" * (1 << 16) + b"\n1;2\n")
    with pytest.raises(FileRejected, match="linje 1 .* lengre enn 65 536 byte"):
        read_header(path, "utf-8")


def test_bytes_that_are_not_the_declared_utf_16_reject_the_file_naming_the_offset(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_bytes("a;b\n13888012235;2\n".encode("utf-16-le") + b"\x00\xd8" + "x;y\n".encode("utf-16-le"))
    with pytest.raises(FileRejected, match=r"byte 36 er ikke gyldig utf-16-le; sjekk --encoding") as caught:
        list(read_batches(path, "utf-16-le", 8))
    assert "13888012235" not in str(caught.value)


@given(st.lists(st.text(alphabet='a1;" ', max_size=12), min_size=1, max_size=8))
def test_split_fields_matches_splitting_each_line_in_python(texts):
    """The vectorised split (unquoting skipped for batches without a quote) equals a per-line split."""
    header = ["k", "v", "w"]
    lines = pl.DataFrame({"_line_number": range(2, 2 + len(texts)), "_line": texts, "_too_long": [False] * len(texts)})
    frame = split_fields(lines, header)
    for row, text in zip(frame.iter_rows(named=True), texts):
        parts = text.split(";")
        assert [row[name] for name in header] == [unquote(parts[i]) if i < len(parts) else None for i in range(3)]
        assert row["_field_count"] == len(parts)


@hypothesis_settings(deadline=None)
@given(st.text(alphabet="a\n", max_size=300), st.integers(min_value=1, max_value=40))
def test_long_lines_are_found_whatever_their_position(text, max_line_bytes):
    """The quick "every window has a newline" proof never hides an over-long line."""
    data = text.encode()
    expected = [i for i, line in enumerate(data.split(b"\n")) if len(line) > max_line_bytes]
    assert _long_lines(data, max_line_bytes) == expected
