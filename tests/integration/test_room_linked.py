"""Linked analysis in the room: person_aar built by real dbt, filters, parity with the marts,
and the two-person review of exact releases (real DuckDB, OpenDP, SQLite ledger and audit log)."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from kernel.config import Settings
from kernel.errors import RefusedError, UserInputError
from kernel.sources import PERSON_YEAR_SPINE
from privacy import audit
from privacy.aggregate import AggregateSpec, bounded_extract, run_aggregate
from privacy.budget import parse_epsilon
from privacy.catalogue import domain, get_dataset
from privacy.disclosure import SUPPRESSION_THRESHOLD
from privacy.release import ReleaseRequest, download, releases, request, review
from privacy.room import QueryRequest, _plan, query
from privacy.state import connect
from privacy.testing import kontakter_rows, permit, person, vft_rows, write_rows
from tests.integration.test_dbt_build import _build_demo_warehouse

TODAY = date(2026, 11, 29)
#: The published series and the room's dataset for the same cells: geo level → person_aar key.
GEO_KEYS = {"nasjonal": (), "fylke": ("fylke",), "kommune": ("kommunenummer",)}


@pytest.fixture(scope="module")
def linked(tmp_path_factory) -> Settings:
    """Demo extracts ingested and built by this checkout's dbt project, in a home of this run.

    Not test_dbt_build's shared warehouse: that one is reused across runs (and checkouts), so it
    may predate the person_aar model.
    """
    settings = Settings(home=tmp_path_factory.mktemp("linked") / "home").ensure()
    summary = _build_demo_warehouse(settings)
    assert summary["build"]["ok"], summary["build"]["failed"]
    return settings


def _published(settings: Settings, level: str) -> dict[tuple[str, ...], int]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    rows = con.execute("select period, geo_code, numerator from marts.mart_indicator_values"
                       " where indicator_id = 'vft_mottakere' and breakdown = 'total' and geo_level = ?",
                       [level]).fetchall()
    con.close()
    return {(period,) + ((code,) if GEO_KEYS[level] else ()): int(n) for period, code, n in rows}


@pytest.mark.slow
@pytest.mark.parametrize("level", list(GEO_KEYS))
def test_exact_recipients_per_year_equal_the_published_series(linked, level):
    """The room's pre-noise count of person_aar where has_vft=true equals the mart, cell for cell."""
    spec = AggregateSpec(get_dataset("person_aar"), ("aar", *GEO_KEYS[level]), "count",
                         where=(("has_vft", "true"),), today=TODAY)
    exact = {key: n for key, (n,) in run_aggregate(linked, spec).items()}
    published = _published(linked, level)
    if level == "kommune":  # the room releases public (2024) kommuner only; the mart also has 9999
        published = {k: v for k, v in published.items() if k[1] in domain("kommunenummer")}
    assert len(published) >= 8
    assert exact == published


@pytest.mark.slow
def test_person_aar_has_one_row_per_person_and_year_within_the_stated_bound(linked):
    con = duckdb.connect(str(linked.warehouse), read_only=True)
    most, = con.execute("select max(n) from (select count(*) as n from analysis.person_aar"
                        " group by person_id)").fetchone()
    rows, person_years = con.execute("select count(*), count(distinct (person_id, aar))"
                                     " from analysis.person_aar").fetchone()
    con.close()
    assert rows == person_years and 1 <= most <= get_dataset("person_aar").rows_per_person


@pytest.mark.slow
def test_researcher_compares_recipients_and_non_recipients_by_fylke_and_year(linked):
    """The done-when scenario: DP counts and means of contacts by has_vft, fylke and year under a permit."""
    pid = permit(linked, epsilon="10", datasets="person_aar")
    counts = query(linked, QueryRequest(pid, "forsker", "person_aar", ("aar",), "count", parse_epsilon("5"),
                                        where=(("has_vft", "true"),)), today=TODAY)
    exact = _published(linked, "nasjonal")
    assert [r["aar"] for r in counts["rows"]] == [str(y) for y in range(2015, 2028)]
    for row in counts["rows"]:
        if (row["aar"],) in exact:  # within 3× the stated 95 % accuracy (fails ~1 in 8 000 cells)
            assert abs(row["count"] - exact[(row["aar"],)]) <= 3 * counts["accuracy_95"]
    compared = query(linked, QueryRequest(pid, "forsker", "person_aar", ("has_vft", "fylke"), "mean",
                                          parse_epsilon("5"), column="n_kontakter", bounds=(0, 50),
                                          where=(("aar", "2024"),)), today=TODAY)
    assert {(r["has_vft"], r["fylke"]) for r in compared["rows"]} == {
        (flag, f) for flag in ("false", "true") for f in domain("fylke")}
    assert compared["where"] == {"aar": "2024"} and compared["contribution_bound"]["rows_per_person"] == 10
    assert audit.verify(linked).ok


@pytest.mark.parametrize("statistic, extra", [
    ("count", {}),
    ("sum", {"column": "n_kontakter", "bounds": (0, 50)}),
    ("mean", {"column": "n_kontakter", "bounds": (0, 50)}),
    ("quantile", {"column": "alder", "bounds": (0, 120), "q": 0.5}),
])
def test_a_filter_leaves_sensitivity_scale_and_privacy_map_unchanged(statistic, extra):
    """A filter is a stable transformation: the OpenDP measurement is the same with and without it."""
    plain = QueryRequest("P1", "forsker", "person_aar", ("fylke",), statistic, parse_epsilon("1/2"), **extra)
    filtered = QueryRequest("P1", "forsker", "person_aar", ("fylke",), statistic, parse_epsilon("1/2"),
                            where=(("has_vft", "true"), ("aldersgruppe", "80+")), **extra)
    _, meas_plain, _, acc_plain, bound_plain = _plan(plain, TODAY)
    _, meas_filtered, _, acc_filtered, bound_filtered = _plan(filtered, TODAY)
    assert bound_plain["sensitivity"] == bound_filtered["sensitivity"]
    assert meas_plain.scale == meas_filtered.scale and acc_plain == acc_filtered
    d_in = bound_plain["sensitivity"]
    assert meas_plain.measurement.map(d_in) == meas_filtered.measurement.map(d_in)


def test_a_filtered_aggregate_moves_by_at_most_k_when_one_person_is_added(settings):
    """Empirical stability: adding a heavy person changes the filtered counts by ≤ k in total."""
    write_rows(settings, "kpr_kontakter", kontakter_rows(200, seed=5))
    ds = get_dataset("kpr_kontakter")
    spec = AggregateSpec(ds, ("kommunenummer", "kontaktform"), "count", where=(("tjenesteyter", "fastlege"),))
    before = run_aggregate(settings, spec)
    heavy = [(person(9_999), 1950, "K", "0301", date(2024, 1, 1 + i), "fastlege", form)
             for i in range(25) for form in ("oppmote",)]
    write_rows(settings, "kpr_kontakter", heavy)
    after = run_aggregate(settings, spec)
    change = sum(abs(after.get(k, (0,))[0] - before.get(k, (0,))[0]) for k in before.keys() | after.keys())
    assert change == ds.rows_per_person


def test_a_filter_on_an_unknown_key_or_value_is_bad_input(settings):
    pid = permit(settings, datasets="person_aar")
    for where, message in ((("has_vft", "ja"),), "ikke en offentlig verdi"), ((("person_id", "x"),), "grupperes"):
        with pytest.raises(UserInputError, match=message):
            query(settings, QueryRequest(pid, "forsker", "person_aar", ("aar",), "count", parse_epsilon("1"),
                                         where=where), preview=True, today=TODAY)


def test_the_year_domain_follows_the_date_passed_in():
    assert domain("aar", date(2026, 6, 1))[-1] == "2027"
    assert domain("aar", date(2031, 1, 1))[-1] == "2032"
    assert domain("aar", date(2031, 1, 1))[0] == "2015"


def test_the_contribution_bound_of_person_aar_is_the_number_of_strategy_years():
    """One row per person and year: the bound is the years a person can have (the strategy's
    2017–2026); a longer spine is cut to the bound by the bounded extract, never trusted."""
    assert get_dataset("person_aar").rows_per_person == PERSON_YEAR_SPINE[1] - PERSON_YEAR_SPINE[0] + 1


def test_fylke_is_a_key_of_every_person_level_dataset():
    from privacy.catalogue import DATASETS

    for ds in DATASETS.values():
        assert [c.name for c in ds.group_by][:5] == ["aar", "kommunenummer", "fylke", "kjonn", "aldersgruppe"]


# ---------------------------------------------------------------- two-person review of releases


@pytest.fixture
def room(settings) -> tuple[Settings, str]:
    write_rows(settings, "vft_mottakere", vft_rows(400, seed=4))
    return settings, permit(settings, datasets="vft_mottakere", researcher="kari", reviewer="ola")


def _request(settings, pid, by=("kjonn",), where=()):
    return request(settings, ReleaseRequest(pid, "kari", "vft_mottakere", by, where), today=TODAY)["release_id"]


def _actions(settings) -> list[tuple[str, str]]:
    conn = connect(settings.state_db)
    rows = conn.execute("select action, details from audit_log order by seq").fetchall()
    conn.close()
    return [(a, d) for a, d in rows]


def test_release_needs_two_different_reviewers_neither_the_requester(room):
    settings, pid = room
    rid = _request(settings, pid, by=("kjonn", "aldersgruppe"))
    with pytest.raises(RefusedError, match="den som ba om den"):
        review(settings, rid, "Kari", approve=True)  # the requester, in another spelling
    review(settings, rid, "ola", approve=True)
    with pytest.raises(RefusedError, match="allerede vurdert"):
        review(settings, rid, "OLA", approve=True)  # the same reviewer twice
    with pytest.raises(RefusedError, match="1 så langt"):
        download(settings, rid, "kari")
    assert review(settings, rid, "per", approve=True)["status"] == "approved"
    with pytest.raises(RefusedError, match="annen forsker"):
        download(settings, rid, "per")
    result = download(settings, rid, "kari")
    counts = [r["count"] for r in result["rows"] if r["count"] is not None]
    assert counts and all(c == 0 or (c > SUPPRESSION_THRESHOLD and c % 5 == 0) for c in counts)
    assert {(r["kjonn"], r["aldersgruppe"]) for r in result["rows"]} >= {("alle", "alle")}
    actions = [a for a, _ in _actions(settings)]
    assert actions.count("refusal") == 4
    assert [a for a in actions if a.startswith("release")] == [
        "release_request", "release_approve", "release_approve", "release_download"]
    assert audit.verify(settings).ok


def test_a_release_failing_disclosure_control_is_refused_and_audited(room):
    settings, pid = room
    few = [(person(50_000 + i), 1940, "K", kommune, 6, date(2024, 2, 1), None, False)
           for i, kommune in enumerate(("5001", "5001", "5001", "5006", "5006"))]
    write_rows(settings, "vft_mottakere", few)
    with pytest.raises(RefusedError, match="utleveringskontrollen"):
        _request(settings, pid, by=("kommunenummer",), where=(("fylke", "50"),))
    assert releases(settings) == []
    assert _actions(settings)[-1][0] == "refusal" and "release_request" in _actions(settings)[-1][1]
    assert audit.verify(settings).ok


def test_a_rejection_closes_the_release(room):
    settings, pid = room
    rid = _request(settings, pid)
    with pytest.raises(UserInputError, match="begrunnelse"):
        review(settings, rid, "ola", approve=False)
    assert review(settings, rid, "ola", approve=False, reason="for fine celler")["status"] == "rejected"
    with pytest.raises(RefusedError, match="avvist"):
        review(settings, rid, "per", approve=True)
    with pytest.raises(RefusedError, match="0 så langt"):
        download(settings, rid, "kari")


def test_a_review_written_into_the_tables_without_the_log_is_caught(room):
    """The releases tables are replayed from the log: a forged approval breaks verify and the room."""
    settings, pid = room
    rid = _request(settings, pid)
    review(settings, rid, "ola", approve=True)
    conn = connect(settings.state_db)
    conn.execute("insert into release_reviews (release_id, reviewer, decision, reviewed_at)"
                 " values (?, 'mallory', 'approve', '2026-11-29T00:00:00+00:00')", (rid,))
    conn.execute("update releases set status = 'approved' where release_id = ?", (rid,))
    conn.close()
    result = audit.verify(settings)
    assert not result.ok and any("release" in d for d in result.differences)
    with pytest.raises(RefusedError, match="revisjonsloggen"):
        download(settings, rid, "kari")


def test_release_cli_exit_codes_and_json(run_cli, home):
    settings = Settings(home=home).ensure()
    write_rows(settings, "vft_mottakere", vft_rows(400, seed=4))
    pid = permit(settings, datasets="vft_mottakere", researcher="kari", reviewer="ola")
    made = run_cli("room", "release", "request", "--permit", pid, "--researcher", "kari", "--dataset",
                   "vft_mottakere", "--by", "kjonn", "--where", "aldersgruppe=80+", "--count", "--json")
    assert made.exit_code == 0, made.stderr
    rid = made.json()["release_id"]
    assert run_cli("room", "release", "review", rid, "--reviewer", "kari", "--approve").exit_code == 2
    assert run_cli("room", "release", "download", rid, "--researcher", "kari").exit_code == 2
    assert run_cli("room", "release", "review", rid, "--reviewer", "ola", "--approve").exit_code == 0
    assert run_cli("room", "release", "review", rid, "--reviewer", "ola", "--approve").exit_code == 2
    listed = run_cli("room", "release", "list", "--pending", "--json")
    assert [r["approvals"] for r in listed.json()] == [1]
    assert run_cli("room", "release", "review", rid, "--reviewer", "per", "--approve").exit_code == 0
    out = home / "r.csv"
    got = run_cli("room", "release", "download", rid, "--researcher", "kari", "--out", out)
    assert got.exit_code == 0, got.stderr
    assert out.read_text().splitlines()[0] == "kjonn,antall" and "antall" in got.stdout
    assert run_cli("room", "audit", "verify").exit_code == 0


def test_query_cli_takes_where_and_refuses_a_value_outside_the_domain(run_cli, home):
    settings = Settings(home=home).ensure()
    write_rows(settings, "vft_mottakere", vft_rows(100, seed=6))
    pid = permit(settings, datasets="vft_mottakere", researcher="kari", reviewer="ola")
    args = ("room", "query", "--permit", pid, "--researcher", "kari", "--dataset", "vft_mottakere", "--by", "aar",
            "--count", "--epsilon", "1/10")
    ok = run_cli(*args, "--where", "fylke=03,via_vkp=true")
    assert ok.exit_code == 0, ok.stderr
    assert "Filter: fylke=03, via_vkp=true." in ok.stdout and "2027" in ok.stdout
    bad = run_cli(*args, "--where", "fylke=99")
    assert bad.exit_code == 2 and "ikke en offentlig verdi av fylke" in bad.stderr
    assert run_cli(*args, "--where", "fylke").exit_code == 2


def test_a_rebuilt_person_aar_gets_a_new_extract(settings):
    """The extract of a dbt table is keyed on the run that wrote it: a rebuild is never served stale."""
    from kernel.sources import DUCKDB_TYPES, PERSON_AAR
    from kernel.warehouse import writer

    columns = ", ".join(f"{c.name} {DUCKDB_TYPES[c.type]}" for c in PERSON_AAR.columns)

    def build(invocation: str, persons: int) -> None:
        with writer(settings) as con:
            con.execute("create schema if not exists analysis")
            con.execute(f"create or replace table analysis.person_aar ({columns})")
            for i in range(persons):
                con.execute("insert into analysis.person_aar (person_id, aar, kommunenummer, fylke, kjonn, fodselsaar,"
                            " alder, has_vft, has_vft_6, has_vft_26, has_vft_27, has_vft_28, has_vft_vkp,"
                            " n_vft_teknologier, has_tjenester, n_tjenester, n_tjenestetyper, n_kontakter,"
                            " n_kontakter_digitale, _dbt_invocation_id) values (?, 2024, '0301', '03', 'K', 1940,"
                            " 84, true, true, false, false, false, false, 1, false, 0, 0, 2, 1, ?)",
                            [person(i), invocation])

    spec = AggregateSpec(get_dataset("person_aar"), ("fylke",), "count", where=(("has_vft", "true"),), today=TODAY)
    build("run-1", 3)
    assert run_aggregate(settings, spec)[("03",)] == (3,)
    build("run-2", 3)  # same count, another run: must not reuse run-1's extract
    first = bounded_extract(settings, get_dataset("person_aar"))
    build("run-3", 5)
    assert run_aggregate(settings, spec)[("03",)] == (5,)
    assert not first.exists()
