"""The quality run on a real DuckDB warehouse in tmp_path: defects caught, labels, gate, history."""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3

import duckdb
import pytest

from kernel.errors import PipelineFailure, UserInputError
from quality import gate, run_quality
from quality.gate import OVERRIDE_ACTION
from quality.specs import all_specs
from quality.testing import DEFECTS, build_warehouse, full_manifest


@pytest.fixture
def warehouse(settings):
    build_warehouse(settings)
    return settings


def _break(settings, sql: str) -> None:
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute(sql)


def test_clean_warehouse_passes_every_check_and_stores_history(warehouse):
    run = run_quality(warehouse)
    assert run.ok, [(r.dataset, r.check, r.error, r.unexpected_percent) for r in run.results if not r.passed]
    assert not [r for r in run.results if not r.passed]
    with duckdb.connect(str(warehouse.warehouse), read_only=True) as con:
        stored = con.execute("select count(*), count(distinct dataset) from quality.results where run_id = ?",
                             [run.run_id]).fetchone()
        labels = dict(con.execute("select dataset, label from quality.latest_labels").fetchall())
    assert stored == (len(run.results), len(all_specs()))
    assert set(labels) == {d.dataset for d in run.datasets}
    assert "raw.vft_mottakere" in labels and "marts.mart_indicator_values" in labels
    assert set(labels.values()) <= {"bronze", "silver", "gold", "platinum"}


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_each_kind_of_defect_is_caught_by_its_check(warehouse, defect):
    dataset, sql, check = DEFECTS[defect]
    _break(warehouse, sql)
    run = run_quality(warehouse, datasets=[dataset], report=False)
    result = next(r for r in run.results if r.check == check)
    assert not result.passed, result
    assert result.category == defect.split("/")[0]
    assert result.error is None
    assert result.unexpected_count and result.unexpected_count > 0
    assert result.unexpected_percent > result.threshold
    assert result.examples, "a failing check shows examples of failing rows"
    assert not re.search(r"(?<!\d)\d{11}(?!\d)", json.dumps(result.examples, default=str)), "no identity numbers"


def test_unexpected_counts_are_exact(warehouse):
    _break(warehouse, "update raw.kpr_kontakter set kontaktform = 'brevdue' where _line_number % 10 = 0")
    with duckdb.connect(str(warehouse.warehouse), read_only=True) as con:
        total, bad = con.execute("select count(*), count(*) filter (_line_number % 10 = 0) from raw.kpr_kontakter").fetchone()
    run = run_quality(warehouse, datasets=["raw.kpr_kontakter"], report=False)
    result = next(r for r in run.results if r.check == "kontaktform_in_codelist")
    assert (result.unexpected_count, result.element_count) == (bad, total)
    assert result.examples[0]["_line_number"] % 10 == 0  # lineage identifies the failing row


def test_missing_dataset_still_gets_bronze_and_fails_critically(settings):
    build_warehouse(settings)
    _break(settings, "drop table marts.mart_indicator_status")
    run = run_quality(settings, datasets=["marts.mart_indicator_status"], report=False)
    dataset = run.dataset("marts.mart_indicator_status")
    assert (dataset.exists, dataset.label.label) == (False, "bronze")
    assert [r.check for r in run.failed_critical] == ["table_exists"]


#: A reference date on which the fixture's data (newest month 2024-12) are on time.
ON_TIME = dt.date(2025, 2, 1)


def test_labels_move_down_and_up_with_the_data(warehouse, tmp_path):
    manifest = full_manifest(warehouse, tmp_path / "manifest.json")

    def label() -> str:
        run = run_quality(warehouse, datasets=["raw.kpr_kontakter"], report=False, manifest_path=manifest,
                          reference_date=ON_TIME)
        return run.dataset("raw.kpr_kontakter").label.label

    assert label() == "platinum"
    _break(warehouse, DEFECTS["plausibility/row_count_band"][1])      # a warning check fails
    assert label() == "silver"
    _break(warehouse, DEFECTS["conformance/codelist"][1])              # a critical check fails
    assert label() == "bronze"
    build_warehouse(warehouse)                                          # data fixed upstream
    assert label() == "platinum"
    with duckdb.connect(str(warehouse.warehouse), read_only=True) as con:
        history = con.execute("select label, changes from quality.labels where dataset = 'raw.kpr_kontakter' "
                              "order by computed_at, run_id").fetchall()
    assert [h[0] for h in history] == ["platinum", "silver", "bronze", "platinum"]
    assert json.loads(history[0][1]) == ["første etikett"]
    assert "etikett platina → sølv" in json.loads(history[1][1])


def test_labels_go_stale_with_the_data_not_the_load(warehouse, tmp_path):
    """Loaded today, but the data end in December 2024: late once the next month is overdue."""
    manifest = full_manifest(warehouse, tmp_path / "manifest.json")

    def run(on: dt.date):
        return run_quality(warehouse, report=False, manifest_path=manifest, reference_date=on)

    on_time = run(ON_TIME)
    assert on_time.dataset("raw.vft_mottakere").label.label == "platinum"
    assert on_time.dataset("raw.vft_mottakere").timeliness.newest_period == "2024-12"
    late = run(dt.date(2026, 11, 29))
    vft = late.dataset("raw.vft_mottakere")
    assert vft.label.label == "silver"
    assert any("2024-12" in r and "01.04.2025" in r and "dager forsinket" in r for r in vft.label.reasons)
    registry = late.dataset("raw.registry_reporting")
    assert registry.label.label == "silver" and registry.timeliness.due == dt.date(2025, 3, 7)
    assert late.dataset("marts.mart_indicator_values").timeliness.late_days >= vft.timeliness.late_days


def test_labels_drop_when_a_kommune_stops_reporting(warehouse, tmp_path):
    manifest = full_manifest(warehouse, tmp_path / "manifest.json")

    def run():
        return run_quality(warehouse, datasets=["raw.kpr_kontakter", "raw.registry_reporting"], report=False,
                           manifest_path=manifest, reference_date=ON_TIME)

    before = run()
    assert before.dataset("raw.kpr_kontakter").coverage.share == 1.0
    assert before.dataset("raw.kpr_kontakter").label.label == "platinum"
    _break(warehouse, "delete from raw.kpr_kontakter where kommunenummer = '4601' and year(kontaktdato) = 2024")
    _break(warehouse, "delete from raw.registry_reporting where rapporteringsenhet = '4601' and periode = '2024-12'")
    after = run()
    kontakter = after.dataset("raw.kpr_kontakter")
    assert (kontakter.coverage.present, kontakter.coverage.expected, kontakter.coverage.missing) == (5, 6, ("4601",))
    assert kontakter.label.label == "silver"
    assert any("4601" in r and "83,3 %" in r for r in kontakter.label.reasons)
    assert "dekning 100 % → 83,3 %" in kontakter.changes
    registry = after.dataset("raw.registry_reporting")
    assert registry.coverage.missing == ("KPR:4601",)
    assert registry.label.rank < before.dataset("raw.registry_reporting").label.rank


def _table_scans(con, statement: str) -> list[str]:
    """The tables DuckDB's physical plan of ``statement`` scans, once per scan."""
    def walk(node: dict) -> list[str]:
        table = node.get("extra_info", {}).get("Table") if node.get("name") == "SEQ_SCAN" else None
        return ([table] if table else []) + [t for child in node.get("children", []) for t in walk(child)]

    plan = con.execute(f"explain (format json) {statement}").fetchall()[0][1]
    return [t for root in json.loads(plan) for t in walk(root)]


def test_the_label_measures_scan_each_raw_table_once(warehouse):
    """Newest data, timeliness and coverage of a raw table come from one statement with one scan
    of it (before: three statements, one with two scans); DuckDB's own query log and plans say so."""
    from quality.measures import DELIVERIES
    from quality.runner import _measure, _table_columns

    with duckdb.connect(str(warehouse.warehouse), read_only=True) as con:
        columns = _table_columns(con)
        con.execute("call enable_logging('QueryLog')")
        measured = _measure(con, list(all_specs()), columns, ON_TIME)
        statements = [m for (m,) in con.execute("select message from duckdb_logs where type = 'QueryLog'").fetchall()]
        con.execute("call disable_logging()")
        for table in DELIVERIES:
            reading = [s for s in statements if table in s]
            assert len(reading) == 1, reading
            assert _table_scans(con, reading[0]) == [f"warehouse.{table}"], reading[0]
            date = next(s.data_date for s in all_specs() if s.name == table)
            assert measured[table].newest_data == str(con.execute(f"select max({date}) from {table}").fetchone()[0])
    assert {d.timeliness.newest_period for d in (measured[t] for t in DELIVERIES)} == {"2024-12"}
    assert all(measured[t].coverage.share == 1.0 for t in DELIVERIES)


def test_gate_blocks_downstream_and_names_dataset_check_and_share(warehouse):
    _break(warehouse, DEFECTS["conformance/codelist"][1])
    run_quality(warehouse, report=False)
    with pytest.raises(PipelineFailure) as failure:
        gate(warehouse)
    message = str(failure.value)
    assert "raw.kpr_kontakter" in message and "kontaktform_in_codelist" in message and "10 %" in message
    assert "marts.mart_indicator_values" in message and "marts.mart_indicator_status" in message
    assert "raw.registry_reporting" not in message.split("Stoppet fra publisering:")[1]


@pytest.mark.parametrize(("reason", "actor"), [
    (None, "dq-lead"), ("", "dq-lead"), ("because", "dq-lead"), ("..........", "dq-lead"),
    ("ok ok ok ok", "dq-lead"), ("Kjent kodefeil", "dq-lead"), ("Known coding error, fixed next delivery", None)])
def test_gate_override_needs_a_real_reason_and_an_actor(warehouse, reason, actor):
    _break(warehouse, DEFECTS["conformance/codelist"][1])
    run_quality(warehouse, datasets=["raw.kpr_kontakter"], report=False)
    expected = PipelineFailure if reason is None else UserInputError
    with pytest.raises(expected):
        gate(warehouse, override_reason=reason, actor=actor)
    assert not warehouse.state_db.exists() or not _audit_actions(warehouse)


def test_gate_override_is_audited(warehouse):
    _break(warehouse, DEFECTS["conformance/codelist"][1])
    run_quality(warehouse, report=False)
    decision = gate(warehouse, override_reason="Known coding error, fixed next delivery", actor="dq-lead")
    assert decision.overridden and decision.open
    assert "marts.mart_indicator_values" in decision.blocked
    actions = _audit_actions(warehouse)
    assert [a["action"] for a in actions] == [OVERRIDE_ACTION]
    details = json.loads(actions[0]["details"])
    assert actions[0]["actor"] == "dq-lead"
    assert details["reason"] == "Known coding error, fixed next delivery"
    assert details["blockers"][0]["check"] == "kontaktform_in_codelist"
    from privacy.audit import verify

    assert verify(warehouse).ok


def test_gate_is_open_when_critical_checks_pass(warehouse):
    _break(warehouse, DEFECTS["plausibility/row_count_band"][1])  # warnings do not block
    run_quality(warehouse, report=False)
    decision = gate(warehouse)
    assert decision.open and not decision.overridden and not decision.blocked and not decision.stale


def test_gate_refuses_results_older_than_a_load_or_a_build_and_no_override_passes(warehouse):
    """Results describe the data they were computed on: a later load or data build makes them stale."""
    from helsedata.build import record_build
    from ingestion.store import MANIFEST_DDL

    run_quality(warehouse, report=False)
    assert gate(warehouse).open
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    record_build(warehouse, "label_refresh", ["int_indicator_input_labels+"], started, ok=True)
    assert gate(warehouse).open, "carrying labels into the marts does not change the data"

    record_build(warehouse, "build", None, started, ok=True)
    with pytest.raises(PipelineFailure, match="martene er bygget på nytt .* Kjør 'helsedata quality'"):
        gate(warehouse)
    with pytest.raises(PipelineFailure, match="ikke gjelder dataene slik de er nå"):
        gate(warehouse, override_reason="Kjent forsinkelse i leveransen, godkjent av fagansvarlig", actor="dq-lead")
    run_quality(warehouse, datasets=["raw.kpr_kontakter"], report=False)
    with pytest.raises(PipelineFailure, match="etter siste kontroll av raw.kpr_tjenester"):
        gate(warehouse)  # one dataset rechecked is not enough
    run_quality(warehouse, report=False)
    assert gate(warehouse).open

    with duckdb.connect(str(warehouse.warehouse)) as con:
        con.execute(MANIFEST_DDL)
        con.execute("insert into ingest.manifest values ('f' , 'x.csv', 'kpr_kontakter', 'loaded', 'utf-8', 1, 1, 0,"
                    " '{}', now(), now(), null)")
    with pytest.raises(PipelineFailure, match="nye data er lastet inn"):
        gate(warehouse)
    run_quality(warehouse, report=False)
    assert gate(warehouse).open
    assert not _audit_actions(warehouse), "a refused override is not recorded"


def _audit_actions(settings) -> list[dict]:
    with sqlite3.connect(settings.state_db) as con:
        con.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in con.execute("select actor, action, details from audit_log order by seq")]
        except sqlite3.OperationalError:
            return []


def test_rows_checks_share_one_scan_and_keep_their_own_counts_and_errors(warehouse):
    """The ``rows`` checks of a table are evaluated in one scan into a scratch table of failing rows:
    each still gets its own exact count and examples, a row whose condition is null fails nothing,
    and a check whose column is missing errors alone."""
    _break(warehouse, "update marts.mart_indicator_values set value = 1.7 where unit = 'andel' and geo_code = '0301'")
    # denominator is null on this row: counts_not_negative fails, numerator > denominator is null (passes)
    _break(warehouse, "update marts.mart_indicator_values set numerator = -5 where indicator_id = 'vft_mottakere'")
    _break(warehouse, "alter table marts.mart_indicator_values drop column suppressed")
    run = run_quality(warehouse, datasets=["marts.mart_indicator_values"], report=False)
    results = {r.check: r for r in run.results}
    assert "suppressed" in results["not_suppressed"].error and not results["not_suppressed"].passed
    share, negative = results["share_values_within_0_1"], results["counts_not_negative"]
    assert (share.unexpected_count, share.element_count, share.passed) == (1, 4, False)
    assert share.examples == [{"indicator_id": "andel_digitale_konsultasjoner", "period": "2024", "geo_code": "0301",
                               "value": "1.70"}]  # a DECIMAL column: examples carry its text
    assert (negative.unexpected_count, negative.passed) == (1, False)
    assert negative.examples[0]["numerator"] == "-5.0"
    assert (results["numerator_not_above_denominator"].unexpected_count,
            results["numerator_not_above_denominator"].passed) == (0, True)


def test_a_table_is_scanned_a_fixed_number_of_times_whatever_its_number_of_checks(warehouse):
    """GX bundles the map checks' counts into one aggregate query per table (no example queries for
    checks that pass) and the ``rows`` checks read a scratch table: the statements that read the raw
    table do not grow with its checks (before: two or three per check)."""
    import sqlalchemy as sa

    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        """Keep statements that read the table's rows: not GX's column reflection (the asset's own
        ``select *``, of which DuckDB streams only the header) nor ``LIMIT 0`` probes."""
        limit = re.search(r"LIMIT \$(\d+)\s*$", statement)
        limit_0 = statement.rstrip().endswith("limit 0") or bool(limit and parameters[int(limit[1]) - 1] == 0)
        if "raw.kpr_kontakter" in statement and not limit_0 and statement.strip() != "select * from raw.kpr_kontakter":
            statements.append(" ".join(statement.split())[:150])

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    try:
        run = run_quality(warehouse, datasets=["raw.kpr_kontakter"], report=False)
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)
    assert run.ok
    assert 0 < run.gx_seconds < run.seconds, "the run splits its time into GX and the rest"
    checks = len(run.results)
    assert checks > 20
    assert len(statements) <= 6, "\n\n".join(statements)
