"""The analysis room's bounded extracts: bounded memory, one pass, the same rows as before, a cheap freshness check."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from datetime import date

import duckdb
import pytest

from kernel.warehouse import duckdb_config, read_only, writer
from privacy.aggregate import _connect, bounded_extract, bounded_sql, extract_columns, sql_path
from privacy.catalogue import Dataset, get_dataset
from privacy.testing import kontakter_rows, person, vft_rows, write_rows


def test_room_connections_use_the_platforms_memory_limit(settings):
    settings = dataclasses.replace(settings, duckdb_memory_limit="512MB")  # a limit no default equals
    with duckdb.connect(config=duckdb_config(settings)) as reference:
        [(expected,)] = reference.execute("select current_setting('memory_limit')").fetchall()
    with duckdb.connect() as default:
        [(unbounded,)] = default.execute("select current_setting('memory_limit')").fetchall()
    con = _connect(settings)
    try:
        [(actual,)] = con.execute("select current_setting('memory_limit')").fetchall()
    finally:
        con.close()
    assert actual == expected != unbounded


def test_read_only_warehouse_connections_use_the_platforms_memory_limit(settings):
    """Readers (quality gate, reports, the portal) obey the same limit as writers, not 80 % of RAM."""
    with writer(settings):
        pass
    limited = dataclasses.replace(settings, duckdb_memory_limit="512MB")
    with duckdb.connect(config=duckdb_config(limited)) as reference:
        [(expected,)] = reference.execute("select current_setting('memory_limit')").fetchall()
    with read_only(limited) as con:
        [(actual,)] = con.execute("select current_setting('memory_limit')").fetchall()
    assert actual == expected


def previous_bounded_sql(ds: Dataset) -> str:
    """The extract's definition before the single-pass form (count per person, window on the heavy ones)."""
    columns = ", ".join([c.name for c in ds.group_by] + list(ds.numeric))
    kept = ", ".join(extract_columns(ds))
    k = ds.rows_per_person
    return (
        f"with s as ({ds.select_sql}),\n"
        f"heavy as (select person_id from s group by person_id having count(*) > {k})\n"
        f"select {kept} from s anti join heavy using (person_id)\n"
        "union all\n"
        f"select {kept} from (select * from s semi join heavy using (person_id))"
        f" qualify row_number() over (partition by person_id order by hash({columns}), {columns}) <= {k}"
    )


@pytest.fixture
def loaded(settings):
    """Light and heavy people, repeated identical rows and ties in the content order."""
    kontakter = kontakter_rows(150, seed=7, mean_contacts=9.0)
    kontakter += [(person(9_000), 1950, "K", "0301", kontakter[0][4], "lege", "oppmote")] * 25  # 25 equal rows
    vft = vft_rows(150, seed=8)
    vft += [(person(9_001), 1940, "M", "0301", code, date(2019, 3, 1), None, flag)  # active 2019-2024: 48 rows
            for code in (6, 26, 27, 28) for flag in (True, False)] * 3
    write_rows(settings, "kpr_kontakter", kontakter)
    write_rows(settings, "vft_mottakere", vft)
    return settings


@pytest.mark.parametrize("name", ["kpr_kontakter", "vft_mottakere"])
def test_the_single_pass_extract_keeps_exactly_the_rows_the_previous_definition_kept(loaded, name):
    ds = get_dataset(name)
    with duckdb.connect(str(loaded.warehouse), read_only=True) as con:
        expected = Counter(con.execute(previous_bounded_sql(ds)).fetchall())
    with duckdb.connect(str(bounded_extract(loaded, ds)), read_only=True) as con:
        actual = Counter(con.execute("select * from bounded").fetchall())
    assert actual == expected
    assert sum(actual.values()) < _rows(loaded, ds)  # the bound cut some rows


def _rows(settings, ds: Dataset) -> int:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(f"select count(*) from ({ds.select_sql})").fetchone()[0]


def _operators(plan: list[dict]) -> list[dict]:
    out = []
    for node in plan:
        out.append(node)
        out += _operators(node.get("children", []))
    return out


def _plan(con, sql: str) -> list[dict]:
    [(_, text)] = con.execute(f"explain (format json) {sql}").fetchall()
    return _operators(json.loads(text))


def test_the_extract_is_one_pass_over_the_raw_table_with_nothing_materialised(loaded):
    ds = get_dataset("kpr_kontakter")
    with duckdb.connect(str(loaded.warehouse), read_only=True) as con:
        operators = _plan(con, bounded_sql(ds))
    scans = [o for o in operators if o.get("extra_info", {}).get("Table", "").endswith(ds.table)]
    assert len(scans) == 1
    assert not [o["name"] for o in operators if o["name"].startswith("CTE")]


def test_the_extract_builds_under_a_memory_limit_far_below_its_data(settings):
    """The window spills: 400 000 rows (tens of MB sorted) under a 60 MB limit, same rows as under the default limit."""
    write_rows(settings, "kpr_kontakter", [])
    with duckdb.connect(str(settings.warehouse)) as con:  # generated in SQL: Python rows would take minutes
        con.execute("""insert into raw.kpr_kontakter by name
            select sha256('p' || (i // 20)::varchar) as person_id, 1930 + (i // 20) % 80 as fodselsaar,
                   ['K', 'M'][1 + (i // 20) % 2] as kjonn, ['0301', '1103', '4601'][1 + i % 3] as kommunenummer,
                   date '2017-01-01' + (i % 2900)::int as kontaktdato, ['lege', 'sykepleier'][1 + i % 2] as tjenesteyter,
                   ['oppmote', 'video', 'telefon'][1 + (i // 7) % 3] as kontaktform,
                   'generated' as _file_sha256, i as _line_number
            from range(400000) t(i)""")
    ds = get_dataset("kpr_kontakter")
    small = dataclasses.replace(settings, duckdb_memory_limit="60MB")
    path = bounded_extract(small, ds)
    with duckdb.connect(str(path), read_only=True) as con:
        built = con.execute("select count(*), sum(hash(columns(*))::hugeint) from bounded").fetchall()
    con = _connect(settings)
    try:
        con.execute(f"attach {sql_path(settings.warehouse)} as wh (read_only)")
        con.execute("use wh")
        reference = con.execute(f"select count(*), sum(hash(columns(*))::hugeint) from ({bounded_sql(ds)})").fetchall()
    finally:
        con.close()
    assert built == reference and built[0][0] == 20_000 * 10


def test_the_freshness_check_reads_no_row_of_the_raw_table(loaded):
    """Every query fingerprints the data: row count (metadata) and the latest load, never a scan."""
    for name in ("kpr_kontakter", "vft_mottakere"):
        ds = get_dataset(name)
        with duckdb.connect(str(loaded.warehouse), read_only=True) as con:
            operators = _plan(con, f"select {ds.fingerprint_sql} from {ds.table}")
        tables = {o["extra_info"]["Table"].split(".", 1)[-1] for o in operators if "Table" in o.get("extra_info", {})}
        assert tables <= {"ingest.manifest"}, name


def test_a_load_with_the_same_row_count_still_rebuilds_the_extract(loaded):
    ds = get_dataset("vft_mottakere")
    first = bounded_extract(loaded, ds)
    with duckdb.connect(str(loaded.warehouse)) as con:  # one row out, as a correction would ...
        con.execute("delete from raw.vft_mottakere where rowid = (select min(rowid) from raw.vft_mottakere)")
    write_rows(loaded, "vft_mottakere", vft_rows(1, seed=9)[:1])  # ... and one row in by a load
    second = bounded_extract(loaded, ds)
    assert second != first and not first.exists()
