"""GX 1.x on DuckDB: why the plain SQL datasource is not used, and that ours pushes work down at scale."""

from __future__ import annotations

import dataclasses

import pytest

from kernel.config import Settings
from quality.runner import gx_context, validate
from quality.testing import big_expected, big_spec, make_big_table

#: Rows of the scale test: at least 10 million, generated in DuckDB with range().
SCALE_ROWS = 10_000_000


def test_plain_gx_sql_datasource_loses_rows_on_duckdb(tmp_path):
    """GX issues #10738/#11579: results are read after the connection is released → empty metrics.

    If this starts failing, GX fixed it upstream and quality/gx_duckdb.py can be simplified.
    """
    import great_expectations as gx
    import great_expectations.expectations as gxe

    path = tmp_path / "w.duckdb"
    make_big_table(path, 100)
    context = gx_context()
    source = context.data_sources.add_sql(name="plain", connection_string=f"duckdb:///{path}")
    batch = source.add_query_asset(name="q", query="select * from raw.big").add_batch_definition_whole_table("all")
    suite = context.suites.add(gx.ExpectationSuite(name="s"))
    suite.add_expectation(gxe.ExpectTableRowCountToBeBetween(min_value=1))
    result = context.validation_definitions.add(gx.ValidationDefinition(name="v", data=batch, suite=suite)).run()
    assert not result.success
    assert "list index out of range" in str(result.results[0].exception_info)


def _validate(tmp_path, rows: int, kinds_excluded=()) -> dict:
    settings = Settings(home=tmp_path)
    make_big_table(settings.warehouse, rows)
    spec = big_spec(rows)
    spec = dataclasses.replace(spec, checks=tuple(c for c in spec.checks if c.kind not in kinds_excluded))
    results = {r.check: r for r in validate([spec], settings)["raw.big"]}
    assert all(r.error is None for r in results.values()), {k: r.error for k, r in results.items() if r.error}
    assert results["not_empty"].element_count == rows
    assert results["columns"].passed
    for check, (count, passed) in big_expected(rows).items():
        if check in results:
            assert (results[check].unexpected_count, results[check].passed) == (count, passed), check
            assert results[check].element_count == rows, check
    return results


def test_uniqueness_checks_count_every_duplicated_row(tmp_path):
    """Uniqueness is a hash aggregate over all keys (10–30 s at 10 M rows on 2 busy cores): tested
    at 1 M rows here; ``bench/bench_quality.py --rows 10000000`` times it at full scale."""
    results = _validate(tmp_path, 1_000_000)
    assert {"id_unique", "pair_unique"} <= set(results)


@pytest.mark.slow
def test_gx_on_duckdb_validates_ten_million_rows_with_exact_counts(tmp_path):
    results = _validate(tmp_path, SCALE_ROWS, kinds_excluded=("unique",))
    assert results["k_is_6"].examples[0] == {"id": 6, "k": 6}
    assert results["id_below_90_percent"].examples[0]["id"] >= SCALE_ROWS * 9 // 10
    assert results["v_filled"].unexpected_percent == 10.0


def test_every_connection_gx_opens_has_the_platforms_memory_limit(tmp_path):
    """GX's execution engine and the datasource's own engine open DuckDB through duckdb_engine with
    :func:`kernel.warehouse.duckdb_config`: the same memory limit as every other warehouse connection
    (without it DuckDB may take 80 % of RAM per process)."""
    import sqlalchemy as sa

    from kernel.warehouse import read_only
    from quality.gx_duckdb import add_warehouse_datasource

    settings = dataclasses.replace(Settings(home=tmp_path), duckdb_memory_limit="300MB")
    make_big_table(settings.warehouse, 10)
    with read_only(settings) as con:
        expected = con.execute("select current_setting('memory_limit')").fetchone()[0]
    assert expected != Settings(home=tmp_path).duckdb_memory_limit
    datasource = add_warehouse_datasource(gx_context(), settings)
    engine = datasource.get_execution_engine()
    try:
        setting = sa.text("select current_setting('memory_limit')")
        assert engine.execute_query(setting).scalar() == expected
        with datasource.get_engine().connect() as connection:
            assert connection.execute(setting).scalar() == expected
    finally:
        engine.close()
        datasource.get_engine().dispose()
