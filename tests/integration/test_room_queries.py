"""DP queries against a real DuckDB warehouse and SQLite ledger (privacy/room.py end to end)."""

import multiprocessing
from datetime import date, timedelta
from fractions import Fraction

import duckdb
import pytest

from kernel.errors import RefusedError
from privacy import audit
from privacy.budget import parse_epsilon
from privacy.catalogue import domain, get_dataset
from privacy.room import QueryRequest, budget, export_applications, query
from privacy.state import connect
from privacy.testing import kontakter_rows, permit, person, spend_worker, vft_rows, write_rows

#: A category that is in no public domain, carried by exactly one person.
PLANTED_KOMMUNE = "9999"
PLANTED_TJENESTETYPE = 99
#: The welfare-technology codes, the public domain of vft_mottakere's tjenestetype.
VFT_CODES = domain(get_dataset("vft_mottakere").group_column("tjenestetype").domain)


@pytest.fixture
def warehouse(settings):
    rows = vft_rows(300, seed=1)
    # one person with an invalid kommune and an invalid service code, and a heavy user
    rows.append((person(10_000), 1950, "K", PLANTED_KOMMUNE, 6, rows[0][5], None, True))
    rows.append((person(10_001), 1950, "M", "0301", PLANTED_TJENESTETYPE, rows[0][5], None, False))
    rows += [(person(10_002), 1940, "K", "0301", 6, rows[0][5], None, True)] * 50
    write_rows(settings, "vft_mottakere", rows)
    write_rows(settings, "kpr_kontakter", kontakter_rows(200, seed=2))
    return settings


def req(pid, by=("kjonn",), statistic="count", epsilon="0.1", **kw):
    return QueryRequest(pid, "forsker", kw.pop("dataset", "vft_mottakere"), tuple(by), statistic,
                        parse_epsilon(epsilon), **kw)


def ledger(settings):
    return connect(settings.state_db).execute("select count(*) from ledger").fetchone()[0]


def test_every_public_key_appears_and_nothing_else(warehouse):
    pid = permit(warehouse, epsilon="10")
    result = query(warehouse, req(pid, by=("kommunenummer", "tjenestetype")))
    keys = {(r["kommunenummer"], r["tjenestetype"]) for r in result["rows"]}
    assert keys == {(k, t) for k in domain("kommunenummer") for t in VFT_CODES}
    assert len(result["rows"]) == 357 * 4


@pytest.mark.parametrize("statistic", ["count", "sum", "mean", "quantile"])
def test_planted_single_person_category_never_appears(warehouse, statistic):
    pid = permit(warehouse, epsilon="10")
    extra = {} if statistic == "count" else {"column": "alder", "bounds": (0, 120)}
    if statistic == "quantile":
        extra["q"] = 0.5
    for by in (("kommunenummer",), ("tjenestetype",), ("kommunenummer", "tjenestetype")):
        result = query(warehouse, req(pid, by=by, statistic=statistic, epsilon="0.2", **extra))
        released_keys = {row[c] for row in result["rows"] for c in by}
        assert PLANTED_KOMMUNE not in released_keys and str(PLANTED_TJENESTETYPE) not in released_keys
        assert released_keys == {k for c in by for k in {"kommunenummer": domain("kommunenummer"),
                                                         "tjenestetype": VFT_CODES}[c]}


def test_output_shape_and_contribution_bound(warehouse):
    pid = permit(warehouse, epsilon="1")
    result = query(warehouse, req(pid, by=("kjonn", "aldersgruppe")))
    assert {"rows", "mechanism", "epsilon_spent", "epsilon_remaining", "accuracy_95",
            "contribution_bound"} <= set(result)
    assert result["mechanism"] == "discrete_laplace"
    assert result["contribution_bound"]["rows_per_person"] == 10
    assert (result["epsilon_spent_exact"], result["epsilon_remaining_exact"]) == ("1/10", "9/10")
    assert len(result["rows"]) == 2 * 5


def test_heavy_user_is_truncated_to_the_contribution_bound(warehouse):
    """The exact aggregate (before noise) counts a 50-contact person as 10 contacts (k = 10)."""
    from privacy.aggregate import AggregateSpec, run_aggregate

    heavy = [(person(10_002), 1940, "K", "0301", date(2024, 3, 1) + timedelta(days=i), "fastlege", "oppmote")
             for i in range(50)]
    write_rows(warehouse, "kpr_kontakter", heavy)
    spec = AggregateSpec(get_dataset("kpr_kontakter"), ("kommunenummer",), "count")
    exact = run_aggregate(warehouse, spec)
    con = duckdb.connect(str(warehouse.warehouse), read_only=True)
    # every test person lives in one kommune, so each keeps min(own contacts, 10) there
    others = con.execute("select sum(least(n, 10)) from (select count(*) as n from raw.kpr_kontakter"
                         " where kommunenummer = '0301' and person_id <> ? group by person_id)",
                         [person(10_002)]).fetchone()[0]
    con.close()
    assert exact[("0301",)][0] == others + 10


def test_welfare_technology_counts_distinct_persons_active_in_the_year(warehouse):
    """vft_mottakere counts persons (the marts' rule), not service rows: 50 rows of one person count once."""
    from privacy.aggregate import AggregateSpec, run_aggregate

    today = date(2026, 11, 29)
    exact = run_aggregate(warehouse, AggregateSpec(get_dataset("vft_mottakere"), ("kommunenummer",),
                                                             "count", today=today))
    con = duckdb.connect(str(warehouse.warehouse), read_only=True)
    persons = con.execute("select count(distinct person_id) from raw.vft_mottakere"
                          " where kommunenummer = '0301'").fetchone()[0]
    con.close()
    assert exact[("0301",)][0] == persons
    # a service from 2022 to 2023 counts in 2022 and 2023 and not after it ended
    write_rows(warehouse, "vft_mottakere",
               [(person(30_000), 1950, "K", "0301", 6, date(2022, 5, 1), date(2023, 1, 1), False)])
    by_year = run_aggregate(warehouse, AggregateSpec(get_dataset("vft_mottakere"), ("aar",), "count",
                                                               where=(("kommunenummer", "0301"),), today=today))
    assert by_year[("2022",)] == (1,) and by_year[("2023",)] == (1,)
    assert by_year[("2024",)] == (persons,)


def test_thirds_spend_exactly_the_budget_then_a_tiny_charge_is_refused(warehouse):
    pid = permit(warehouse, epsilon="1")
    for _ in range(3):
        query(warehouse, req(pid, epsilon="1/3"))
    assert budget(warehouse, pid)["epsilon_remaining_exact"] == "0"
    with pytest.raises(RefusedError, match="bare ε = 0"):
        query(warehouse, req(pid, epsilon="1e-12"))
    assert ledger(warehouse) == 3


def test_ten_decimal_tenths_are_exactly_one(warehouse):
    pid = permit(warehouse, epsilon="1")
    for _ in range(10):
        query(warehouse, req(pid, epsilon="0.1"))
    b = budget(warehouse, pid)
    assert (b["epsilon_spent_exact"], b["epsilon_remaining_exact"]) == ("1", "0")


def test_concurrent_processes_never_overspend(warehouse):
    pid = permit(warehouse, epsilon="1")
    args = [(str(warehouse.home), pid, "forsker", "1/3")] * 8
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        outcomes = pool.map(spend_worker, args)
    assert outcomes.count("ok") == 3, outcomes
    assert all(o.startswith("refused") for o in outcomes if o != "ok")
    conn = connect(warehouse.state_db)
    charges = [Fraction(int(n), int(d)) for n, d in conn.execute("select epsilon_num, epsilon_den from ledger")]
    assert sum(charges) == 1
    assert audit.verify(warehouse).ok


def test_empirical_accuracy_matches_accuracy_95(warehouse):
    """Over many releases, ~95 % of cells are within accuracy_95 of the exact bounded count."""
    from privacy.aggregate import AggregateSpec, run_aggregate
    from privacy.catalogue import get_dataset

    spec = AggregateSpec(get_dataset("kpr_kontakter"), ("kommunenummer",), "count")
    exact = run_aggregate(warehouse, spec)
    pid = permit(warehouse, epsilon="10", datasets="kpr_kontakter")
    errors, stated = [], None
    for _ in range(10):
        r = query(warehouse, req(pid, by=("kommunenummer",), epsilon="1", dataset="kpr_kontakter"))
        stated = r["accuracy_95"]
        errors += [abs(row["count"] - exact.get((row["kommunenummer"],), (0,))[0]) for row in r["rows"]]
    within = sum(e <= stated for e in errors) / len(errors)
    assert len(errors) == 3570
    assert 0.93 <= within <= 0.97, within


def test_export_replaces_the_applications_table(warehouse):
    permit(warehouse)
    permit(warehouse, researcher="r2")
    assert export_applications(warehouse) == 2
    assert export_applications(warehouse) == 2  # replaced, not appended
    con = duckdb.connect(str(warehouse.warehouse), read_only=True)
    rows = con.execute("select application_id, status, n_datasets, decided_at >= submitted_at"
                       " from raw.room_applications order by 1").fetchall()
    con.close()
    assert rows == [("A000001", "approved", 1, True), ("A000002", "approved", 1, True)]


def test_bounded_extract_is_rebuilt_after_a_load(warehouse):
    from privacy.aggregate import AggregateSpec, bounded_extract, run_aggregate
    from privacy.catalogue import get_dataset

    ds = get_dataset("vft_mottakere")
    first = bounded_extract(warehouse, ds)
    assert bounded_extract(warehouse, ds) == first  # unchanged data: reused
    before = run_aggregate(warehouse, AggregateSpec(ds, ("kommunenummer",), "count"))
    write_rows(warehouse, "vft_mottakere",
               [(person(20_000), 1950, "K", "5001", 6, vft_rows(1)[0][5], None, True)])
    second = bounded_extract(warehouse, ds)
    assert second != first and not first.exists()
    after = run_aggregate(warehouse, AggregateSpec(ds, ("kommunenummer",), "count"))
    assert after[("5001",)][0] == before.get(("5001",), (0,))[0] + 1
    # the extract carries no person identifier
    con = duckdb.connect(str(second), read_only=True)
    columns = [r[0] for r in con.execute("describe bounded").fetchall()]
    con.close()
    assert "person_id" not in columns


def test_adding_a_person_changes_no_one_elses_kept_rows(settings):
    """Truncation depends only on each person's own rows (the stability the sensitivity needs)."""
    from collections import Counter

    from privacy.aggregate import bounded_extract
    from privacy.catalogue import get_dataset

    rows = vft_rows(150, seed=3)
    heavy = [(person(5_000), 1940, "K", "0301", code, day, None, flag)
             for code in (6, 26, 27, 28) for day in (rows[0][5], rows[1][5]) for flag in (True, False)]
    write_rows(settings, "vft_mottakere", rows + heavy)  # the heavy person has 16 distinct rows

    def extract_rows():
        path = bounded_extract(settings, get_dataset("vft_mottakere"))
        con = duckdb.connect(str(path), read_only=True)
        out = Counter(con.execute("select * from bounded where kommunenummer <> '1106'").fetchall())
        con.close()
        return out

    before = extract_rows()
    newcomer = [(person(6_000), 1960, "M", "1106", code, rows[2][5], None, True) for code in (6, 26, 27, 28)] * 3
    write_rows(settings, "vft_mottakere", newcomer)
    assert extract_rows() == before


def test_a_home_folder_with_a_quote_in_its_path_works(tmp_path):
    """Paths reach DuckDB's ATTACH as quoted literals: a quote in the folder name is just a character."""
    from kernel.config import Settings

    settings = Settings(home=tmp_path / "o'brien; drop" / "home").ensure()
    write_rows(settings, "vft_mottakere", vft_rows(40, seed=4))
    pid = permit(settings, epsilon="1")
    result = query(settings, req(pid, by=("kjonn",)))
    assert len(result["rows"]) == 2 and result["epsilon_spent_exact"] == "1/10"


def _tamper_state(settings, *statements):
    """Edit the state tables as someone with write access to the file would (triggers dropped)."""
    import sqlite3

    conn = sqlite3.connect(settings.state_db, isolation_level=None)
    conn.execute("drop trigger if exists ledger_no_delete")
    for statement in statements:
        conn.execute(statement)
    conn.close()


DELETE_CHARGES = "delete from ledger"
RAISE_BUDGET = "update permits set budget_num = '10', budget_den = '1'"
UN_REVOKE = "update permits set status = 'active', revoked_at = null, revoked_by = null, revoke_reason = null"


@pytest.mark.parametrize(
    ("statements", "revoked"),
    [([DELETE_CHARGES], False), ([RAISE_BUDGET], False), ([UN_REVOKE], True),
     ([DELETE_CHARGES, RAISE_BUDGET, UN_REVOKE], True)],
    ids=["charges-deleted", "budget-raised", "un-revoked", "all-three"],
)
def test_the_room_refuses_a_permit_whose_state_was_tampered_with(warehouse, statements, revoked):
    """The adversarial test's scenario: after tampering, an ε = 5 query must not be answered."""
    pid = permit(warehouse, epsilon="5")
    query(warehouse, req(pid, epsilon="5"))
    if revoked:
        from privacy.room import revoke

        revoke(warehouse, pid, "admin", "brudd på vilkårene")
    _tamper_state(warehouse, *statements)
    with pytest.raises(audit.AuditBroken, match=f"tillatelse {pid} stemmer ikke med revisjonsloggen"):
        query(warehouse, req(pid, epsilon="5"))
    conn = connect(warehouse.state_db)
    assert conn.execute("select count(*) from ledger").fetchone()[0] == (0 if DELETE_CHARGES in statements else 1)
    assert conn.execute("select action from audit_log order by seq desc limit 1").fetchone()[0] == "refusal"
    result = audit.verify(warehouse)
    assert not result.ok and result.differences


def test_an_untouched_permit_still_works_beside_a_tampered_one(warehouse):
    tampered = permit(warehouse, epsilon="1")
    fine = permit(warehouse, epsilon="1", researcher="forsker")
    _tamper_state(warehouse, f"update permits set budget_num = '9' where permit_id = '{tampered}'")
    assert query(warehouse, req(fine, epsilon="1/2"))["epsilon_remaining_exact"] == "1/2"
    with pytest.raises(audit.AuditBroken):
        query(warehouse, req(tampered, epsilon="1/2"))
