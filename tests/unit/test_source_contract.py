"""dbt's ``__sources.yml`` agrees with the source contract (kernel/sources.py).

The contract is the one definition of every raw table; dbt declares the same tables for lineage,
documentation and freshness. This test is the guard that keeps the two in step, the way
``quality/docgen.py --check`` guards docs/quality.md.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from kernel.sources import DUCKDB_TYPES, SOURCES, raw_columns

DBT = Path(__file__).parents[2] / "dbt_project"
#: raw tables dbt declares that are not extracts (the room's own export).
NOT_EXTRACTS = {"room_applications", "reported_figures"}  # written by the room and by `indicators import`
DOC_REFERENCE = re.compile(r"""^\{\{\s*doc\(["'](\w+)["']\)\s*\}\}$""")


def _raw_tables() -> dict[str, dict]:
    sources = yaml.safe_load((DBT / "models" / "staging" / "__sources.yml").read_text(encoding="utf-8"))["sources"]
    raw = next(s for s in sources if s["name"] == "raw")
    return {t["name"]: t for t in raw["tables"]}


def _doc_blocks() -> set[str]:
    text = "".join(p.read_text(encoding="utf-8") for p in (DBT / "models").rglob("*.md"))
    return set(re.findall(r"\{%\s*docs\s+(\w+)\s*%\}", text))


def test_dbt_declares_every_source_and_nothing_else():
    assert set(_raw_tables()) - NOT_EXTRACTS == set(SOURCES)


def test_dbt_source_columns_match_the_contract():
    """Every raw column, in table order, with its DuckDB type; table descriptions are the contract's."""
    tables = _raw_tables()
    for name, source in SOURCES.items():
        table = tables[name]
        assert table["description"] == source.description, name
        declared = [(c["name"], c.get("data_type", "").upper()) for c in table["columns"]]
        assert declared == [(c.name, DUCKDB_TYPES[c.type]) for c in raw_columns(source)], name


def test_dbt_source_column_descriptions_are_the_contracts_or_a_doc_block():
    """A written description is the contract's own words; a shared one is a ``doc()`` block that exists."""
    tables, blocks = _raw_tables(), _doc_blocks()
    mismatched = []
    for name, source in SOURCES.items():
        contract = {c.name: c.description for c in raw_columns(source)}
        for column in tables[name]["columns"]:
            text = column.get("description", "")
            reference = DOC_REFERENCE.match(text)
            if reference:
                assert reference.group(1) in blocks, f"{name}.{column['name']}: no docs block {reference.group(1)!r}"
            elif text != contract[column["name"]]:
                mismatched.append((name, column["name"], text, contract[column["name"]]))
    assert mismatched == []
