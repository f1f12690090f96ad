"""Unit tests of the synthetic generator's parts: kommune validity, identity and organisation
numbers, calibration figures, calibrated careers, registry invariants and crafted extracts."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingestion import fnr, orgnr
from kernel.codelists import read_seed
from kernel.kommuner import kommune_validity, valid_kommunenummer, versions
from kernel.sources import SOURCES
from synthetic import calibration, write_extract
from synthetic.careers import calibrated_careers
from synthetic.geography import geography
from synthetic.population import build_population
from synthetic.registry import organisation_numbers, registry_frame

D = dt.date


# ---------- kommune validity

@pytest.mark.parametrize(("code", "on", "valid"), [
    ("1601", D(2017, 12, 31), True),   # Trondheim's old code ended 2018-01-01
    ("5001", D(2017, 12, 31), False),  # … and its new code was created that day
    ("5001", D(2018, 1, 1), True),
    ("1567", D(2018, 12, 31), True),   # Rindal moved to Trøndelag 2019-01-01
    ("1567", D(2019, 1, 1), False),
    ("5061", D(2019, 1, 1), True),
    ("1141", D(2019, 12, 31), True),   # Finnøy merged into Stavanger 2020-01-01
    ("1141", D(2020, 1, 1), False),
    ("1103", D(2018, 6, 1), True),     # Stavanger kept its code
    ("1507", D(2023, 12, 31), True),   # Ålesund split 2024-01-01
    ("1507", D(2024, 1, 1), False),
    ("1580", D(2024, 1, 1), True),
    ("3005", D(2021, 5, 5), True),     # Drammen (Viken) until the 2024 reform
    ("3005", D(2024, 5, 5), False),
    ("9999", D(2021, 5, 5), False),    # "Uoppgitt" is not a kommune
    ("0301", D(2010, 1, 1), True),
])
def test_valid_kommunenummer_follows_the_reforms(code, on, valid):
    assert (code in valid_kommunenummer(on)) is valid


def test_list_sizes_match_the_reference_readme():
    assert [len(valid_kommunenummer(D(y, 6, 1))) for y in range(2018, 2025)] == [422, 422, 356, 356, 356, 356, 357]


@pytest.mark.parametrize("on", [D(2016, 3, 1), D(2017, 12, 31), D(2018, 1, 1), D(2019, 7, 1), D(2021, 1, 1),
                                D(2023, 12, 31), D(2024, 1, 1), D(2026, 1, 1)])
def test_validity_table_agrees_with_the_set_function(on):
    from_table = {v.kommunenummer for v in kommune_validity()
                  if (v.valid_from is None or v.valid_from <= on) and (v.valid_to is None or on < v.valid_to)}
    assert from_table == valid_kommunenummer(on)


def test_every_code_of_every_version_has_a_lineage():
    geo = geography()
    for i, version in enumerate(versions()):
        assert set(geo.codes[geo.lineage_codes[:, i]]) == version.codes


# ---------- identity and organisation numbers

def test_population_numbers_are_valid_synthetic_and_match_birth_and_sex():
    population = build_population(geography(), 0.002, np.random.default_rng(3))
    assert len(np.unique(population.fnr)) == len(population)
    kinds = set()
    for number, birth, male in zip(population.fnr, population.birth, population.male, strict=True):
        parsed = fnr.parse(f"{number:011d}", dt.date.today())
        kinds.add(parsed.kind)
        assert parsed.birth_date == D(1970, 1, 1) + dt.timedelta(days=int(birth))
        assert parsed.sex == ("M" if male else "K")
    assert kinds == {"syntetisk", "syntetisk_d_nummer"}


@pytest.mark.parametrize(("number", "valid"), [
    ("974760673", True), ("974760674", False), ("97476067", False), ("9747606730", False), ("97476067a", False),
])
def test_orgnr_is_valid(number, valid):
    assert orgnr.is_valid(number) is valid


def test_orgnr_refuses_eight_digits_without_a_check_digit():
    with pytest.raises(ValueError, match="no valid check digit"):
        orgnr.with_check_digit("40000000")


def test_synthetic_organisation_numbers_are_valid_and_not_real_ranges():
    numbers = organisation_numbers(200, np.random.default_rng(1))
    assert len(set(numbers)) == 200
    assert all(orgnr.is_valid(n) and n[0] == "3" for n in numbers)


# ---------- calibration

def _seed_value(title: str, year: int, code: str = "", report: str = "Omsorg 2020", measure: str = "mottakere") -> int:
    rows = [r for r in read_seed("kpr_nasjonale_tall")
            if r["tjenestetype"] == title and r["year"] == str(year) and r["tjenestetype_kode"] == code
            and r["population_group"] == "alle" and report in r["source_title"] and r["measure"] == measure]
    assert len(rows) == 1, (title, year, rows)
    return int(rows[0]["value"])


def test_calibration_constants_equal_the_seed():
    for year, value in calibration.VFT_UNIQUE_RECIPIENTS_PUBLISHED.items():
        if year == 2024:
            continue  # 133 731 is from the delmål 1B text, not in the seed
        if year == 2021:  # the one year only the "i alt" table of KHO 2021 has
            assert value == _seed_value("Velferdsteknologi i alt", year, report="2021",
                                        measure="mottakere_gjennom_aaret")
            continue
        report = "Omsorg 2022" if year == 2022 else "Omsorg 2020"
        assert value == _seed_value("Unike brukere av velferdsteknologi", year, report=report)
    for year, value in calibration.VFT_YEAR_END_PUBLISHED.items():
        assert value == _seed_value("Velferdsteknologi i alt", year, report="2022", measure="mottakere_per_31des")
    names = {6: "Trygghetsalarm", 26: "Lokaliseringsteknologi (GPS)", 27: "Elektronisk medisineringsstøtte",
             28: "Digitalt tilsyn"}
    for year, techs in calibration.VFT_TECH_RECIPIENTS_PUBLISHED.items():
        for code, value in techs.items():
            assert value == _seed_value(names[code], year, str(code))
    for year, value in calibration.CARE_RECIPIENTS.items():
        assert value == _seed_value("Alle kommunale helse- og omsorgstjenester", year, report="2024",
                                    measure="mottakere_gjennom_aaret")


def test_2021_is_published_and_only_2023_is_interpolated():
    targets = calibration.vft_unique_recipients()
    assert targets[2021] == 115_678
    assert targets[2023] == (125_286 + 133_731 + 1) // 2
    assert set(targets) - set(calibration.VFT_UNIQUE_RECIPIENTS_PUBLISHED) == {2023}


def test_the_2019_gap_is_not_a_drop_in_use():
    """Use continues along the trend through 2019; only the reported series dips."""
    in_use, reported = calibration.vft_users_in_use(), calibration.vft_unique_recipients()
    assert in_use[2019] == (99_612 + 109_385 + 1) // 2
    assert {y for y in in_use if in_use[y] != reported[y]} == {2019}
    assert all(in_use[y] < in_use[y + 1] for y in list(in_use)[:-1])


def test_year_end_series_is_published_to_2022_and_keeps_the_2022_ratio_after():
    year_end, in_use = calibration.vft_year_end_recipients(), calibration.vft_users_in_use()
    assert [year_end[y] for y in range(2017, 2023)] == [77_055, 80_242, 79_501, 88_120, 92_730, 99_561]
    ratio = 99_561 / 125_286
    assert all(year_end[y] == round(ratio * in_use[y]) for y in (2023, 2024))
    assert all(year_end[y] < year_end[y + 1] for y in (2022, 2023))  # no 2023 dip


def test_default_horizon_is_the_last_published_year():
    assert calibration.LAST_PUBLISHED_YEAR == max(calibration.CARE_RECIPIENTS) == 2024
    assert calibration.YEARS[-1] == calibration.LAST_PUBLISHED_YEAR


def test_new_technologies_are_zero_before_2019():
    shares = calibration.vft_tech_shares()
    assert all(shares[y][t] == 0 for y in (2017, 2018) for t in (27, 28))
    assert all(shares[y][t] > 0 for y in range(2019, 2025) for t in (6, 26, 27, 28))


def test_digital_contacts_rise_from_march_2020_and_keep_the_yearly_share():
    months = calibration.digital_share_by_month(2020)
    assert months[:2] == [calibration.DIGITAL_SHARE[2019]] * 2
    assert min(months[2:]) > 2 * calibration.DIGITAL_SHARE[2019]
    assert sum(months) / 12 == pytest.approx(calibration.DIGITAL_SHARE[2020])
    assert calibration.digital_share_by_month(2019) == [calibration.DIGITAL_SHARE[2019]] * 12


@settings(max_examples=40, deadline=None)
@given(targets=st.lists(st.integers(0, 400), min_size=1, max_size=8),
       mean_years=st.floats(0.2, 6.0), stock=st.floats(0.0, 1.0), seed=st.integers(0, 2**32 - 1))
def test_careers_hit_every_yearly_target_exactly(targets, mean_years, stock, seed):
    by_year = {2017 + i: t for i, t in enumerate(targets)}
    careers = calibrated_careers(by_year, mean_years, stock, np.random.default_rng(seed))
    assert {y: int(careers.active_in(y).sum()) for y in by_year} == by_year
    assert (careers.end >= careers.start).all()


@settings(max_examples=40, deadline=None)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_careers_hit_the_31_december_counts_exactly(data, seed):
    """Any feasible series: during-year targets and 31 December counts, each year's new users ≥ 0."""
    n = data.draw(st.integers(1, 6))
    year_end, targets = {}, {}
    carried = data.draw(st.integers(0, 300))
    for i in range(n):
        year = 2017 + i
        targets[year] = carried + data.draw(st.integers(0, 200)) if i else data.draw(st.integers(1, 400))
        year_end[year] = data.draw(st.integers(0, targets[year]))
        carried = year_end[year]
    careers = calibrated_careers(targets, data.draw(st.floats(0.2, 6.0)), data.draw(st.floats(0.0, 1.0)),
                                 np.random.default_rng(seed), year_end)
    assert {y: int(careers.active_in(y).sum()) for y in targets} == targets
    assert {y: int(careers.running_on_31_december(y).sum()) for y in targets} == year_end
    assert (careers.end >= careers.start).all()


# ---------- registry reporting

def test_registry_invariants_and_profiles():
    frame = registry_frame(geography(), seed=5)
    assert frame.columns == SOURCES["registry_reporting"].header
    f = frame
    assert ((f["mottatt_innen_frist"] >= 0) & (f["mottatt_innen_frist"] <= f["mottatt"])).all()
    assert ((f["mottatt_digitalt"] >= 0) & (f["mottatt_digitalt"] <= f["mottatt"])).all()
    assert ((f["mottatt"] >= 0) & (f["mottatt"] <= f["forventet"])).all()
    assert set(f["register"]) == {r["register"] for r in read_seed("codelist_register")}
    # realistic gaps exist: late units, below-95 % digital units, missing deliveries
    assert (f["mottatt_innen_frist"] < f["mottatt"]).any()
    assert (f["mottatt"] < f["forventet"]).any()
    import polars as pl

    by = (f.with_columns(year=pl.col("periode").str.slice(0, 4))
          .group_by("register", "year")
          .agg(digital=pl.col("mottatt_digitalt").sum() / pl.col("mottatt").sum(),
               on_time=pl.col("mottatt_innen_frist").sum() / pl.col("mottatt").sum()))
    npr = by.filter(pl.col("register") == "NPR")
    assert npr["digital"].min() > 0.98 and npr["on_time"].min() > 0.96
    krg = by.filter(pl.col("register") == "KRG").sort("year")
    assert krg["digital"][0] < 0.95 and krg["digital"][-1] > krg["digital"][0]
    units = f.filter(pl.col("register") == "NPR")["rapporteringsenhet"].unique()
    assert 20 <= len(units) <= 60 and all(orgnr.is_valid(u) for u in units)
    kpr = f.filter(pl.col("register") == "KPR")
    for period, code in kpr.select("periode", "rapporteringsenhet").unique().iter_rows():
        assert code in valid_kommunenummer(D(int(period[:4]), int(period[5:]), 1))


# ---------- crafted extracts for ingestion tests

def test_write_extract_uses_the_header_and_the_encoding(tmp_path):
    path = write_extract(tmp_path / "k.csv", "vft_mottakere", [
        {"fodselsnummer": "01018012371", "kommunenummer": "5001", "tjenestetype": 6,
         "startdato": D(2020, 1, 2), "sluttdato": None, "via_vkp": True},
        {"kommunenummer": "Bø"},
    ], encoding="latin-1")
    lines = path.read_bytes().decode("latin-1").splitlines()
    assert lines[0] == ";".join(SOURCES["vft_mottakere"].header)
    assert lines[1] == "01018012371;5001;6;2020-01-02;;true"
    assert lines[2] == ";Bø;;;;"
    assert "Bø".encode("latin-1") in path.read_bytes()


def test_write_extract_rejects_unknown_columns(tmp_path):
    with pytest.raises(ValueError, match="not in the kpr_kontakter header"):
        write_extract(tmp_path / "x.csv", "kpr_kontakter", [{"personnummer": "1"}])
