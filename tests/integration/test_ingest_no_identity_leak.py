"""No piece of an identity number survives ingestion in clear, whatever the file (issue 9, item 1).

Hypothesis generates malformed extracts whose identity field holds identity-like values of every
shape — valid synthetic numbers and random digit strings of 1–20 digits, truncated, padded with
digits or blanks, with letters inside, split by stray ``;`` — on lines with missing or extra
fields, duplicated lines, an over-long line, a line that is not UTF-8, or no header at all. Each
file goes through the real ``helsedata ingest --json`` into a fresh warehouse. Then every run of
4 or more digits that came from an identity field is looked for in:

* stdout and stderr of the command;
* every value of every column of every table in the warehouse, read with SQL (so compressed
  storage cannot hide anything), except timestamps, which come from the clock;
* every byte of every file left under ``HELSEDATA_HOME`` (staging leftovers, keys, logs), and
  the raw bytes of the warehouse file itself for runs of 8 or more digits (its pages are binary
  and may store keyed hashes compressed, where a short run of digits can stand between two
  non-hexadecimal bytes by chance; every value it holds is already read with SQL above).

A digit run counts as found when it stands as a whole number: not glued to other digits or to
hexadecimal letters (so that a keyed hash or a sha256, which may contain any 4 digits, is not a
false alarm; the generated values only use letters outside a–f). Runs that the file also holds
outside identity fields (a kommunenummer, a year, a code) and the birth years ingestion derives
are not secrets and are not looked for.

What the generator does not do, on purpose: replace a *whole* other column by a piece of an
identity number so that the row still reads as valid (e.g. the last four digits standing exactly
where the kommunenummer was, and being a valid kommunenummer). No program can tell that from a
real value; see docs/ingestion.md, "What the protection does not cover".
"""

from __future__ import annotations

import contextlib
import io
import re
import tempfile
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helsedata.cli import main
from ingestion.reader import MAX_LINE_BYTES
from ingestion.testing import TEST_KEY_HEX, synthetic_fnr, valid_row
from kernel.sources import get_source

PERSON_SOURCES = ["kpr_kontakter", "kpr_tjenester", "vft_mottakere"]
DIGITS = "0123456789"
#: Letters put inside identity values: none of them is a hexadecimal digit (see the module docstring).
LETTERS = "XYZghkmnpqrstuvwxyzÆØÅ"
KEY = TEST_KEY_HEX
WHOLE_NUMBER = re.compile(r"(?<![0-9a-fA-F])[0-9]{4,}(?![0-9a-fA-F])")
RUN = re.compile(r"[0-9]+")


@st.composite
def identity_values(draw) -> str:
    """An identity-like value: a valid number or random digits, then bent out of shape."""
    value = draw(st.one_of(st.integers(0, 10**6 - 1).map(synthetic_fnr), st.text(DIGITS, min_size=1, max_size=20)))
    for change in draw(st.lists(st.sampled_from(["truncate", "pad", "letter", "blank", "separator"]), max_size=3)):
        at = draw(st.integers(0, len(value)))
        if change == "truncate":
            value = value[:max(at, 1)]
        elif change == "pad":
            value = value[:at] + draw(st.text(DIGITS, min_size=1, max_size=9)) + value[at:]
        elif change == "letter":
            value = value[:at] + draw(st.sampled_from(LETTERS)) + value[at:]
        elif change == "blank":
            value = draw(st.sampled_from([" ", "", "\t"])) + value + draw(st.sampled_from([" ", "", "  "]))
        else:
            value = value[:at] + ";" + value[at:]
    return value


@st.composite
def extract_lines(draw, source: str) -> tuple[str, str, str]:
    """(identity value, the other fields as written, the line) — fields dropped or added at the end."""
    row = valid_row(source, draw(st.integers(0, 999)))
    header = get_source(source).header
    value = draw(identity_values())
    fields = [value if c == "fodselsnummer" else row[c] for c in header]
    others = [row[c] for c in header if c != "fodselsnummer"]
    drop = draw(st.integers(0, 2))
    extra = draw(st.lists(st.sampled_from(["", "x", "ekstra"]), max_size=2))
    fields = fields[:len(fields) - drop] + extra
    return value, ";".join(others + extra), ";".join(fields)


@st.composite
def extracts(draw) -> tuple[str, list[str], list[str], bytes]:
    """(source, identity values, other text of the file, file bytes)."""
    source = draw(st.sampled_from(PERSON_SOURCES))
    items = draw(st.lists(extract_lines(source), min_size=1, max_size=6))
    values = [value for value, _, _ in items]
    others = [other for _, other, _ in items]
    lines = [line for _, _, line in items]
    if draw(st.booleans()):  # the same line twice: the duplicate rules see it
        lines.append(lines[0])
    if draw(st.sampled_from([False] * 5 + [True])):  # one line over the limit, made of identity values
        lines.insert(draw(st.integers(0, len(lines))), ";".join([values[0]] * (MAX_LINE_BYTES // max(len(values[0]), 1) + 2)))
    if draw(st.sampled_from([False] * 4 + [True])):  # no header: line 1 is a data row
        header = []
    else:
        header = [";".join(get_source(source).header)]
    data = "\n".join(header + lines).encode() + b"\n"
    if draw(st.sampled_from([False] * 6 + [True])):  # a byte that is not UTF-8, after an identity value
        cut = data.index(b"\n", len(header[0]) + 1 if header else 0)
        data = data[:cut] + b"\xe6" + data[cut:]
    return source, values, others, data


def secrets_of(values: list[str], others: list[str]) -> set[str]:
    """Digit runs of 4+ from identity values that the rest of the file does not also hold."""
    background = {run for text in others for run in RUN.findall(text)}
    return {run for value in values for run in RUN.findall(value) if len(run) >= 4} - background


def found(text: str, secrets: set[str]) -> set[str]:
    return {m.group() for m in WHOLE_NUMBER.finditer(text)} & secrets


def warehouse_text(warehouse: Path) -> tuple[str, set[str]]:
    """Every non-timestamp value of every table as text, and the birth years ingestion derived."""
    parts, years = [], set()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        columns = con.execute("""select schema_name, table_name, column_name from duckdb_columns()
                                 where not internal and data_type not like 'TIMESTAMP%'""").fetchall()
        for schema, table, column in columns:
            values = con.execute(f'select "{column}"::VARCHAR from "{schema}"."{table}"').fetchall()
            parts.append("\n".join(str(v) for (v,) in values))
            if column == "fodselsaar":
                years |= {str(v) for (v,) in values if v is not None}
    return "\n".join(parts), years


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(extracts())
def test_no_piece_of_an_identity_number_is_kept_in_clear(extract):
    source, values, others, data = extract
    with tempfile.TemporaryDirectory() as tmp:
        home, path = Path(tmp) / "home", Path(tmp) / "extract.csv"
        path.write_bytes(data)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["ingest", source, str(path), "--json"], environ={"HELSEDATA_HOME": str(home), "HELSEDATA_PSEUDONYM_KEY": KEY})
        assert code in (0, 2), err.getvalue()
        dump, years = warehouse_text(home / "warehouse.duckdb")
        secrets = secrets_of(values, others + [str(path)]) - years
        assert found(out.getvalue(), secrets) == set(), out.getvalue()
        assert found(err.getvalue(), secrets) == set(), err.getvalue()
        assert found(dump, secrets) == set(), dump
        for file in (p for p in home.rglob("*") if p.is_file()):
            look_for = {x for x in secrets if len(x) >= 8} if file.name.startswith("warehouse.duckdb") else secrets
            assert found(file.read_bytes().decode("latin-1"), look_for) == set(), file
