"""Reading extract files in batches: exact line numbers whatever the batch boundaries."""

from __future__ import annotations

import polars as pl
import pytest

from kernel.errors import UserInputError
from ingestion.reader import normalise_encoding, read_batches, split_fields


@pytest.mark.parametrize("batch_bytes", [1, 5, 7, 64, 1 << 20])
@pytest.mark.parametrize("ending", ["\n", "\r\n"])
@pytest.mark.parametrize("trailing_newline", [True, False])
def test_every_line_once_with_its_number(tmp_path, batch_bytes, ending, trailing_newline):
    lines = ["a;b", "1;2", "", "3;4", "5;6;7"]
    path = tmp_path / "f.csv"
    path.write_bytes((ending.join(lines) + (ending if trailing_newline else "")).encode())
    batches = list(read_batches(path, "utf-8", batch_bytes))
    frame = pl.concat([b.lines for b in batches])
    assert frame.rows() == [(2, "1;2"), (3, ""), (4, "3;4"), (5, "5;6;7")]
    assert batches[-1].bytes_read == path.stat().st_size


def test_split_fields_counts_and_unquotes():
    lines = pl.DataFrame({"_line_number": [2, 3, 4], "_line": ['"0301";x', "a;b;c", "solo"]})
    frame = split_fields(lines, ["k", "v"])
    assert frame.select("k", "v", "_field_count").rows() == [("0301", "x", 2), ("a", "b", 3), ("solo", None, 1)]


@pytest.mark.parametrize("name", ["utf-16", "utf-32", "no-such-codec"])
def test_encodings_that_break_line_splitting_are_refused(name):
    with pytest.raises(UserInputError):
        normalise_encoding(name)


def test_common_encodings_are_accepted():
    assert [normalise_encoding(n) for n in (None, "UTF8", "latin-1", "cp1252")] == ["utf-8", "utf-8", "iso8859-1", "cp1252"]
