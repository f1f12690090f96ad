"""Publication end to end on small marts written straight into a tmp_path warehouse.

The marts have the columns of ``dbt_project/models/marts/*.sql``; the values are drawn so that
every (indicator, year) table has small kommune counts, a kommune-9999 remainder in the national
total, and at least one non-person indicator whose small counts must stay visible.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
from collections import defaultdict

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from helsedata.cli import main
from helsedata.publish import _replace_tables, indicator_definitions, publish
from kernel.codelists import read_seed
from kernel.config import Settings
from kernel.errors import PipelineFailure
from kernel.warehouse import writer
from privacy.audit import current_head
from privacy.disclosure import SUPPRESSION_THRESHOLD, protect_count, round_value
from privacy.linked import is_protected
from privacy.publication import is_about_persons
from quality import run_quality
from quality.testing import DEFECTS, build_warehouse
from tests.integration.test_dbt_build import demo_build  # noqa: F401 - session fixture
from tests.unit.test_disclosure_attack import PublicationAttack

FYLKER = ("03", "15", "56")  # Oslo (one kommune), Møre og Romsdal, Finnmark
YEARS = (2023, 2024)

VALUES_DDL = """(
    indicator_id VARCHAR, period VARCHAR, period_type VARCHAR, period_start DATE,
    geo_level VARCHAR, geo_code VARCHAR, geo_name VARCHAR, breakdown VARCHAR,
    breakdown_code VARCHAR, breakdown_name VARCHAR, numerator DOUBLE, denominator DOUBLE,
    value DOUBLE, unit VARCHAR, input_quality_label VARCHAR, suppressed BOOLEAN
)"""
STATUS_DDL = """(
    indicator_id VARCHAR, breakdown_code VARCHAR, latest_year INTEGER, latest_value DOUBLE,
    first_year INTEGER, first_value DOUBLE, trend_per_year DOUBLE, projected_value DOUBLE,
    target DOUBLE, target_year INTEGER, target_is_illustrative BOOLEAN, higher_is_better BOOLEAN,
    relative_gap DOUBLE, status VARCHAR, status_reason VARCHAR
)"""
def kommuner() -> dict[str, tuple[str, str]]:
    return {r["kommunenummer"]: (r["fylkesnummer"], r["kommunenavn"])
            for r in read_seed("kommuner_2024") if r["fylkesnummer"] in FYLKER}


def _rows_for(indicator, unit, period, leaves, denominators=None, breakdown=("total", "alle")):
    """Kommune rows plus fylke and national totals (national includes kommune 9999)."""
    fylke_names = {r["fylkesnummer"]: r["fylkesnavn"] for r in read_seed("fylker_2024")}
    komm = kommuner()
    rows = []

    def row(level, code, name, num, den):
        if den is None:
            value = num
        elif unit == "andel":
            value = num / den if den else None
        else:
            value = 1000 * num / den if den else None
        year, month = int(str(period)[:4]), int(str(period)[5:7] or 1)
        return {"indicator_id": indicator, "period": str(period),
                "period_type": "month" if "-" in str(period) else "year",
                "period_start": dt.date(year, month, 1), "geo_level": level, "geo_code": code,
                "geo_name": name, "breakdown": breakdown[0], "breakdown_code": breakdown[1],
                "breakdown_name": None, "numerator": float(num),
                "denominator": None if den is None else float(den), "value": value, "unit": unit,
                "input_quality_label": "silver", "suppressed": False}

    for k, n in leaves.items():
        rows.append(row("kommune", k, komm[k][1], n, None if denominators is None else denominators[k]))
    for f in FYLKER:
        ks = [k for k in leaves if komm[k][0] == f]
        rows.append(row("fylke", f, fylke_names[f], sum(leaves[k] for k in ks),
                        None if denominators is None else sum(denominators[k] for k in ks)))
    unknown = leaves.get("9999", 0)
    rows.append(row("nasjonal", "NO", "Norge", sum(leaves.values()) + unknown,
                    None if denominators is None else sum(denominators.values())))
    return rows


def make_marts(settings, seed: int = 7) -> None:
    """A warehouse ready to publish: clean raw tables and coverage mart
    (:func:`quality.testing.build_warehouse`), these indicator marts, and a quality run over
    them, so that publication goes through the real quality gate."""
    build_warehouse(settings)
    rng = np.random.default_rng(seed)
    komm = list(kommuner())
    values = []
    for year in YEARS:
        recipients = {k: int(v) for k, v in zip(komm, rng.poisson(rng.lognormal(1.6, 1.4, len(komm))))}
        recipients[komm[0]] = 3  # Oslo (alone in its fylke): fylke total equals the kommune
        values += _rows_for("vft_mottakere", "personer", year, recipients)
        population = {k: int(v) for k, v in zip(komm, rng.integers(150, 20000, len(komm)))}
        values += _rows_for("vft_mottakere_67_per_1000", "per 1 000", year, recipients, population)
        # contacts add up over months to the year: a geography x period table
        year_contacts = {k: 0 for k in komm}
        year_digital = {k: 0 for k in komm}
        for month in range(1, 13):
            contacts = {k: int(v) for k, v in zip(komm, rng.poisson(rng.lognormal(1.5, 1.2, len(komm))))}
            digital = {k: int(rng.binomial(c, 0.4)) for k, c in contacts.items()}
            if month == 6:  # almost all digital: only the complement (3 in person) is small
                contacts[komm[1]], digital[komm[1]] = 80, 77
            values += _rows_for("digital_konsultasjon_andel", "andel", f"{year}-{month:02d}", digital, contacts)
            for k in komm:
                year_contacts[k] += contacts[k]
                year_digital[k] += digital[k]
        values += _rows_for("digital_konsultasjon_andel", "andel", year, year_digital, year_contacts)
        registries = {k: int(v) for k, v in zip(komm, rng.integers(0, 4, len(komm)))}
        values += _rows_for("register_digital_95", "registre", year, registries)
    # a national total with an "unknown kommune" remainder (kommune 9999); a small remainder (1–5)
    # is a hidden count too, protected like the others (tests/unit/test_disclosure_attack.py)
    for r in values:
        if r["indicator_id"] == "vft_mottakere" and r["geo_level"] == "nasjonal":
            r["numerator"] += 12
            r["value"] += 12

    national = {(r["indicator_id"], int(r["period"])): r["value"] for r in values
                if r["geo_level"] == "nasjonal" and r["period_type"] == "year"}
    status = []
    for indicator in ("vft_mottakere", "vft_mottakere_67_per_1000", "digital_konsultasjon_andel"):
        first, latest = national[(indicator, YEARS[0])], national[(indicator, YEARS[-1])]
        status.append({"indicator_id": indicator, "breakdown_code": "alle", "latest_year": YEARS[-1],
                       "latest_value": latest, "first_year": YEARS[0], "first_value": first,
                       "trend_per_year": latest - first, "projected_value": latest, "target": 150000.0,
                       "target_year": 2026, "target_is_illustrative": True, "higher_is_better": True,
                       "relative_gap": 0.5, "status": "red", "status_reason": "Behind target and trend"})
    write_marts(settings, values, status)
    run_quality(settings, report=False)


def write_marts(settings, values, status) -> None:
    with writer(settings) as con:
        con.execute("create schema if not exists marts")
        for name, ddl, rows in (("mart_indicator_values", VALUES_DDL, values),
                                ("mart_indicator_status", STATUS_DDL, status)):
            con.execute(f"create or replace table marts.{name} {ddl}")
            if rows:
                con.register("_rows", pa.Table.from_pylist(rows))
                cols = ", ".join(rows[0])
                con.execute(f"insert into marts.{name} ({cols}) select {cols} from _rows")
                con.unregister("_rows")


# ---------------------------------------------------------------------------------------------
# tests

PERSON_INDICATORS = ("vft_mottakere", "vft_mottakere_67_per_1000", "digital_konsultasjon_andel")


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """One publication shared by the tests that only read it (a quality run costs seconds)."""
    settings = Settings(home=tmp_path_factory.mktemp("published") / "home").ensure()
    make_marts(settings)
    result = publish(settings)
    return settings, result


def public_rows(settings, table="public.indicator_values"):
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        cur = con.execute(f"select * from {table}")
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]


def mart_rows(settings, table="marts.mart_indicator_values"):
    return public_rows(settings, table)


def test_publish_writes_every_public_table(published):
    settings, result = published
    assert result.gate == "passed"
    assert result.tables["public.indicator_values"] == len(mart_rows(settings))
    assert result.tables["public.indicator_status"] == 3
    coverage = mart_rows(settings, "marts.mart_registry_reporting_coverage")
    assert result.tables["public.registry_reporting_coverage"] == len(coverage) > 0
    meta = public_rows(settings, "public.publication")
    assert meta[0]["suppression_threshold"] == SUPPRESSION_THRESHOLD
    assert result.cells_suppressed > result.cells_suppressed_secondary > 0
    assert (settings.reports / "indicators.html").exists()


def test_public_never_holds_a_count_of_1_to_threshold_for_persons(published):
    settings, _ = published
    rows = [r for r in public_rows(settings) if r["indicator_id"] in PERSON_INDICATORS]
    assert rows
    for r in rows:
        for col in ("numerator", "denominator"):
            assert r[col] is None or not (1 <= r[col] <= SUPPRESSION_THRESHOLD), r
            assert r[col] is None or r[col] % 5 == 0, r
        if r["denominator"] is None:  # a count indicator: its value is a count too
            assert r["value"] is None or not (1 <= r["value"] <= SUPPRESSION_THRESHOLD), r
        assert (r["value"] is None) == r["suppressed"] or r["denominator"] == 0


def test_every_small_cell_of_the_marts_is_hidden(published):
    settings, _ = published
    public = {(r["indicator_id"], r["period"], r["geo_code"]): r for r in public_rows(settings)}
    small = [r for r in mart_rows(settings) if r["indicator_id"] in PERSON_INDICATORS
             and any(r[c] is not None and 1 <= r[c] <= SUPPRESSION_THRESHOLD for c in ("numerator", "denominator"))]
    assert small
    for r in small:
        assert public[(r["indicator_id"], r["period"], r["geo_code"])]["suppressed"]


def test_a_small_complement_of_a_share_is_hidden(published):
    settings, _ = published
    kommune = list(kommuner())[1]
    public = {(r["indicator_id"], r["period"], r["geo_code"]): r for r in public_rows(settings)}
    assert public[("digital_konsultasjon_andel", "2024-06", kommune)]["suppressed"]


def test_oslo_alone_in_its_fylke_is_hidden_with_its_fylke(published):
    settings, _ = published
    public = {(r["indicator_id"], r["period"], r["geo_code"]): r for r in public_rows(settings)}
    assert public[("vft_mottakere", "2024", "0301")]["suppressed"]
    assert public[("vft_mottakere", "2024", "03")]["suppressed"]


def test_indicators_not_about_persons_are_published_exactly(published):
    settings, _ = published
    rows = [r for r in public_rows(settings) if r["indicator_id"] == "register_digital_95"]
    assert not any(r["suppressed"] for r in rows)
    assert any(1 <= r["numerator"] <= SUPPRESSION_THRESHOLD for r in rows)
    assert is_about_persons(indicator_definitions()["register_digital_95"]) is False
    coverage = mart_rows(settings, "marts.mart_registry_reporting_coverage")
    assert public_rows(settings, "public.registry_reporting_coverage") == coverage  # copied exactly


def assert_publication_protected(settings) -> int:
    """Attack everything published with the attacker's linear program; return how many hidden
    counts were checked. Built from public.* and the seeds only (``PublicationAttack``); the
    marts are read only for the true values the verdict compares with."""
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        meta = con.execute("select suppression_threshold, rounding_base from public.publication").fetchone()
    definitions = indicator_definitions()
    fylke_of = {r["kommunenummer"]: r["fylkesnummer"] for r in read_seed("kommuner_2024")}
    public = [r for r in public_rows(settings) if is_about_persons(definitions.get(r["indicator_id"]))]
    truth = {(r["indicator_id"], r["breakdown_code"], r["period"], r["geo_code"]): r for r in mart_rows(settings)}
    parts = defaultdict(list)  # linked indicators of one year are one part of the attack
    for r in public:
        family = "vft" if r["indicator_id"].startswith("vft_") else r["indicator_id"]
        parts[(family, r["period"][:4])].append(r)
    checked, failures = 0, []
    for part, rows in sorted(parts.items()):
        attack = PublicationAttack(rows, fylke_of, *meta)
        if not attack.feasible():  # somebody lives in an unknown kommune: the weaker guess
            attack = PublicationAttack(rows, fylke_of, *meta, assume_no_unknown_kommune=False)
            assert attack.feasible(), part
        targets, values = {}, {}
        for r in rows:
            if not r["suppressed"]:
                continue
            key = (r["indicator_id"], r["breakdown_code"], r["period"], r["geo_code"])
            exact = truth[key]
            num = attack.index[key + ("numerator",)]
            targets[key + ("numerator",)], values[key + ("numerator",)] = {num: 1}, exact["numerator"]
            if key + ("denominator",) in attack.index:
                den = attack.index[key + ("denominator",)]
                targets[key + ("denominator",)], values[key + ("denominator",)] = {den: 1}, exact["denominator"]
                complement = exact["denominator"] - exact["numerator"]
                if 1 <= complement <= SUPPRESSION_THRESHOLD:
                    targets[key + ("complement",)], values[key + ("complement",)] = {den: 1, num: -1}, complement
        intervals = attack.intervals(targets, values)
        failures += [(t, values[t], iv) for t, iv in intervals.items() if not is_protected(values[t], *iv)]
        checked += len(targets)
    assert not failures, f"{len(failures)} hidden counts narrowed below their protection interval: {failures[:10]}"
    return checked


def test_no_hidden_count_can_be_narrowed_from_everything_published(published):
    settings, _ = published
    assert assert_publication_protected(settings) > 50


@pytest.fixture(scope="module")
def demo_published(demo_build, tmp_path_factory):  # noqa: F811
    """A real publication: the session's demo warehouse (synthetic extracts → ingestion → dbt),
    copied, checked by the quality run, published through the real gate."""
    source, _ = demo_build
    settings = Settings(home=tmp_path_factory.mktemp("demo-published") / "home").ensure()
    shutil.copy(source.warehouse, settings.warehouse)
    shutil.copytree(source.dbt_target, settings.dbt_target)
    run_quality(settings, report=False)
    return settings, publish(settings)


@pytest.mark.slow
def test_no_hidden_count_of_a_real_publication_can_be_narrowed(demo_published):
    settings, result = demo_published
    assert result.gate == "passed" and result.cells_suppressed_secondary > 0
    assert assert_publication_protected(settings) > 1000


@pytest.mark.slow
def test_real_publication_shows_rates_and_status_only_from_published_counts(demo_published):
    """Rates and shares are the published counts' quotient; per-1 000 denominators are SSB's
    population (rounded); the status repeats the published national values. So none of them
    tells a reader more than the rounded counts."""
    settings, _ = demo_published
    population = defaultdict(float)
    fylke_of = {r["kommunenummer"]: r["fylkesnummer"] for r in read_seed("kommuner_2024")}
    for r in read_seed("population_kommune"):
        for code in (r["kommunenummer"], fylke_of[r["kommunenummer"]], "NO"):
            for column in ("pop_67_plus", "pop_80_plus"):
                population[(r["year"], code, column)] += float(r[column])
    ssb = {"vft_mottakere_67_per_1000": "pop_67_plus", "vft_mottakere_80_per_1000": "pop_80_plus"}
    rows = [r for r in public_rows(settings) if r["denominator"] is not None and not r["suppressed"]
            and r["unit"] in ("andel", "per 1 000")]
    assert {r["indicator_id"] for r in rows} >= set(ssb) | {"digital_konsultasjon_andel"}
    for r in rows:
        scale, decimals = (1000, 1) if r["unit"] == "per 1 000" else (1, 3)
        if r["denominator"]:
            assert r["value"] == round_value(scale * r["numerator"] / r["denominator"], decimals), r
        if r["indicator_id"] in ssb:
            exact = population[(r["period"], r["geo_code"], ssb[r["indicator_id"]])]
            assert r["denominator"] == protect_count(int(exact)), r
    national = {(r["indicator_id"], r["breakdown_code"], r["period"]): r["value"]
                for r in public_rows(settings) if r["geo_level"] == "nasjonal"}
    for s in public_rows(settings, "public.indicator_status"):
        if s["latest_year"] is None:
            continue
        assert s["latest_value"] == national[(s["indicator_id"], s["breakdown_code"], str(s["latest_year"]))]
        if s["trend_per_year"] is not None:
            assert s["trend_per_year"] == pytest.approx(
                (s["latest_value"] - s["first_value"]) / (s["latest_year"] - s["first_year"]))


def test_status_repeats_only_published_values(published):
    settings, _ = published
    public = {(r["indicator_id"], r["period"]): r["value"] for r in public_rows(settings)
              if r["geo_level"] == "nasjonal"}
    for row in public_rows(settings, "public.indicator_status"):
        assert row["latest_value"] == public[(row["indicator_id"], str(row["latest_year"]))]
    mart = {r["indicator_id"]: r["latest_value"] for r in mart_rows(settings, "marts.mart_indicator_status")}
    # the mart's exact national count (ends in 2: it includes kommune 9999) is not republished
    assert public[("vft_mottakere", "2024")] != mart["vft_mottakere"]


def test_suppressed_national_value_withholds_the_status(settings):
    make_marts(settings)
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("update marts.mart_indicator_values set suppressed = true "
                    "where indicator_id = 'vft_mottakere' and geo_level = 'nasjonal' and period = '2024'")
    publish(settings)
    status = {r["indicator_id"]: r for r in public_rows(settings, "public.indicator_status")}
    assert status["vft_mottakere"]["latest_value"] is None
    assert status["vft_mottakere"]["status"] is None and status["vft_mottakere"]["suppressed"]
    assert status["digital_konsultasjon_andel"]["status"] == "red"


def test_publication_is_all_or_nothing(published):
    settings, _ = published
    before = public_rows(settings)
    with duckdb.connect(str(settings.warehouse)) as con:
        with pytest.raises(pa.ArrowInvalid):  # the second table's row cannot be converted
            _replace_tables(con, {"public.indicator_values": [{"indicator_id": "x"}],
                                  "public.indicator_status": [{"indicator_id": object()}]})
    assert public_rows(settings) == before


def test_publish_needs_the_marts(settings):
    with duckdb.connect(str(settings.warehouse)):
        pass
    with pytest.raises(PipelineFailure, match="marts.mart_indicator_values"):  # the gate sees it first
        publish(settings)


# ---------------------------------------------------------------------------------------------
# CLI


def test_cli_publish_json(run_cli, settings):
    make_marts(settings)
    result = run_cli("publish", "--json")
    assert result.exit_code == 0, result.stderr
    body = result.json()
    assert body["ok"] is True and body["gate"] == "passed"
    assert body["tables"]["public.indicator_values"] > 0
    assert body["report"].endswith("reports/indicators.html")


@pytest.mark.parametrize("args", [["--override-quality-gate"], ["--override-quality-gate", "--reason", " "],
                                  ["--reason", "why"]])
def test_cli_override_needs_a_reason(run_cli, settings, args):
    make_marts(settings)
    result = run_cli("publish", *args)
    assert result.exit_code == 2
    assert "--reason" in result.stderr
    assert not any(r for r in _public_tables(settings))


def _public_tables(settings):
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute("select table_name from information_schema.tables where table_schema = 'public'").fetchall()


def test_cli_gate_blocks_with_exit_1(run_cli, settings):
    make_marts(settings)
    dataset, sql, check = DEFECTS["conformance/codelist"]
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute(sql)
    run_quality(settings, datasets=[dataset], report=False)
    result = run_cli("publish", "--json")
    assert result.exit_code == 1
    body = result.json()
    assert body["ok"] is False and body["status"] == 1
    assert dataset in body["error"] and check in body["error"]
    assert not _public_tables(settings)

    result = run_cli("publish", "--json", "--override-quality-gate", "--reason", "known late extract",
                     "--actor", "analyst")
    assert result.exit_code == 0, result.stderr
    assert result.json()["gate"] == "overridden"
    meta = public_rows(settings, "public.publication")[0]
    assert meta["quality_gate"] == "overridden" and meta["override_reason"] == "known late extract"


def test_publication_never_proceeds_without_the_quality_gate(run_cli, settings, monkeypatch):
    """A broken install (the quality package cannot be imported) stops publication: exit 1."""
    make_marts(settings)
    monkeypatch.setitem(sys.modules, "quality", None)  # what a missing or broken package looks like
    result = run_cli("publish", "--json")
    assert result.exit_code == 1
    assert "kvalitetsporten kan ikke kjøre" in result.json()["error"]
    assert not _public_tables(settings)


def test_cli_help_names_every_option(run_cli):
    result = run_cli("publish", "--help")
    assert result.exit_code == 0
    for option in ("--json", "--override-quality-gate", "--reason"):
        assert option in result.stdout


def test_publication_records_the_audit_head_that_verify_can_check(published):
    settings, _ = published
    [meta] = public_rows(settings, "public.publication")
    assert meta["audit_head"] == current_head(settings)
    assert main(["room", "audit", "verify", "--expect-head", meta["audit_head"], "--json"],
                environ={"HELSEDATA_HOME": str(settings.home)}) == 0
    assert main(["room", "audit", "verify", "--expect-head", "f" * 64, "--json"],
                environ={"HELSEDATA_HOME": str(settings.home)}) == 2
