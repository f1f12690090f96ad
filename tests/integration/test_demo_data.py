"""``synthetic.generate`` and ``helsedata demo-data`` end to end, on real files.

One small national sample (scale 0.02, ~110 000 persons) is generated once per module and
read back with Polars; the checks are what downstream parts rely on: the contract header,
valid synthetic identity numbers, kommune codes valid on the row's date, the calibration, and
the registry invariants.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import polars as pl
import pytest

import synthetic
from ingestion import fnr
from kernel.codelists import read_seed
from kernel.kommuner import valid_kommunenummer
from kernel.sources import SOURCES
from synthetic.calibration import DIGITAL_SHARE, YEARS, vft_unique_recipients

SCALE = 0.02
PERSON_SOURCES = ("kpr_kontakter", "kpr_tjenester", "vft_mottakere")
DATE_COLUMN = {"kpr_kontakter": "kontaktdato", "kpr_tjenester": "startdato", "vft_mottakere": "startdato"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, dict[str, list[Path]]]:
    out = tmp_path_factory.mktemp("demo")
    return out, synthetic.generate(out, scale=SCALE, seed=11, progress=False)


def read(paths: list[Path]) -> pl.DataFrame:
    return pl.concat([pl.read_csv(p, separator=";", infer_schema=False) for p in paths])


def distinct_active(frame: pl.DataFrame, year: int) -> int:
    start, end = pl.col("startdato").str.to_date(), pl.col("sluttdato").str.to_date()
    active = frame.filter((start <= dt.date(year, 12, 31)) & (end.is_null() | (end >= dt.date(year, 1, 1))))
    return active["fodselsnummer"].n_unique()


def test_one_file_per_source_and_year_with_the_contract_header(demo):
    out, files = demo
    assert list(files) == list(SOURCES)
    for source, paths in files.items():
        assert [p.name for p in paths] == [f"{source}_{y}.csv" for y in YEARS]
        for path in paths:
            assert path.parent == out / source
            header = path.read_text(encoding="utf-8").split("\n", 1)[0]
            assert header.split(";") == SOURCES[source].header
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["scale"] == SCALE and manifest["seed"] == 11
    assert manifest["files"]["vft_mottakere"]["vft_mottakere_2020.csv"] == len(read(files["vft_mottakere"][3:4]))


def test_vft_distinct_recipients_match_the_calibration(demo):
    """Exact by construction: |observed − scale × target| ≤ 1 % + 1 person of rounding."""
    frame = read(demo[1]["vft_mottakere"])
    for year, national in vft_unique_recipients().items():
        expected = SCALE * national
        assert abs(distinct_active(frame, year) - expected) <= 0.01 * expected + 1, year


def test_vft_recipients_are_mostly_80_plus_and_use_the_technology_codes(demo):
    frame = read(demo[1]["vft_mottakere"])
    assert set(frame["tjenestetype"]) == {"6", "26", "27", "28"}
    early = frame.filter(pl.col("startdato") < "2019-01-01")
    assert set(early["tjenestetype"]) <= {"6", "26"}
    people = frame.filter(pl.col("sluttdato").is_null())["fodselsnummer"].unique().to_list()
    ages = [2024 - fnr.parse(n, dt.date.today()).birth_year for n in people]
    assert sum(a >= 80 for a in ages) / len(ages) > 0.5
    assert frame["sluttdato"].null_count() > 0.3 * frame.height  # many ongoing
    vkp = frame.filter(pl.col("via_vkp") == "true")
    assert vkp["startdato"].min() >= "2021-01-01"


def test_care_recipients_are_about_370_000_a_year_nationally(demo):
    frame = read(demo[1]["kpr_tjenester"])
    for year in (2017, 2024):
        assert 340_000 * SCALE < distinct_active(frame, year) < 420_000 * SCALE


def test_identity_numbers_are_valid_synthetic_and_stable_per_person(demo):
    files = demo[1]
    episodes = pl.concat([read(files[s]).select("fodselsnummer", "kommunenummer", DATE_COLUMN[s])
                          .rename({DATE_COLUMN[s]: "dato"}) for s in ("kpr_tjenester", "vft_mottakere")])
    contacts = read(files["kpr_kontakter"][-1:]).rename({"kontaktdato": "dato"}).select(episodes.columns)
    numbers = pl.concat([episodes["fodselsnummer"], contacts["fodselsnummer"].head(20_000)]).unique()
    kinds = {fnr.parse(n, dt.date.today()).kind for n in numbers}
    assert kinds == {"syntetisk", "syntetisk_d_nummer"}
    # One person, one number, one kommune: in 2024 every number has a single kommunenummer.
    in_2024 = pl.concat([episodes, contacts]).filter(pl.col("dato") >= "2024-01-01")
    assert in_2024.group_by("fodselsnummer").agg(pl.col("kommunenummer").n_unique())["kommunenummer"].max() == 1


@pytest.mark.parametrize("source", PERSON_SOURCES)
def test_kommunenummer_is_valid_on_the_row_date(demo, source):
    frame = read(demo[1][source])
    pairs = (frame.select(year=pl.col(DATE_COLUMN[source]).str.slice(0, 4).cast(pl.Int32), code=pl.col("kommunenummer"))
             .unique())
    invalid = [(y, c) for y, c in pairs.iter_rows() if c not in valid_kommunenummer(dt.date(y, 1, 1))]
    assert invalid == []
    # old codes appear in old years (e.g. pre-2020 Trøndelag/Viken codes), new ones in 2024
    assert pairs.filter(pl.col("year") == 2019)["code"].is_in(list(valid_kommunenummer(dt.date(2024, 1, 1)))).all() is False


def test_digital_share_grows_and_varies_by_kommune(demo):
    frame = read(demo[1]["kpr_kontakter"]).with_columns(
        year=pl.col("kontaktdato").str.slice(0, 4),
        digital=pl.col("kontaktform").is_in(["video", "e-konsultasjon"]),
    )
    shares = frame.group_by("year").agg(pl.col("digital").mean()).sort("year")["digital"].to_list()
    assert all(b > a for a, b in zip(shares, shares[1:], strict=False)), shares
    assert abs(shares[0] - DIGITAL_SHARE[2017]) < 0.01 and abs(shares[-1] - DIGITAL_SHARE[2024]) < 0.02
    assert shares[3] - shares[2] > 0.05  # the 2020 jump
    per_kommune = (frame.filter(pl.col("year") == "2024").group_by("kommunenummer")
                   .agg(pl.col("digital").mean(), n=pl.len()).filter(pl.col("n") >= 2000))
    assert per_kommune["digital"].max() - per_kommune["digital"].min() > 0.1
    assert set(frame["tjenesteyter"]) == {"fastlege", "legevakt", "helsestasjon", "fysioterapi", "psykisk_helse"}
    assert frame["tjenesteyter"].value_counts(sort=True)["tjenesteyter"][0] == "fastlege"
    assert 19_000_000 * SCALE * 0.97 < frame.filter(pl.col("year") == "2017").height < 19_000_000 * SCALE * 1.03


@pytest.mark.parametrize("source", list(SOURCES))
def test_no_file_has_exact_duplicate_rows(demo, source):
    """Ingestion quarantines exact duplicates, so the generator must not make any."""
    for path in demo[1][source]:
        assert read([path]).is_duplicated().sum() == 0, path.name


def test_registry_files_keep_the_invariants(demo):
    frame = read(demo[1]["registry_reporting"]).with_columns(
        pl.col("forventet", "mottatt", "mottatt_digitalt", "mottatt_innen_frist").cast(pl.Int64))
    assert frame.filter(~(pl.col("mottatt_innen_frist").is_between(0, pl.col("mottatt"))
                          & pl.col("mottatt_digitalt").is_between(0, pl.col("mottatt"))
                          & pl.col("mottatt").is_between(0, pl.col("forventet")))).height == 0
    assert frame["periode"].min() == "2017-01" and frame["periode"].max() == "2024-12"


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_and_scale_give_byte_identical_files(tmp_path):
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        synthetic.generate(tmp_path / name, scale=0.001, seed=seed, progress=False)
    a, b, c = (_digest(tmp_path / n) for n in "abc")
    assert a == b
    assert len(a) == 4 * len(YEARS) + 1
    assert a["kpr_kontakter/kpr_kontakter_2020.csv"] != c["kpr_kontakter/kpr_kontakter_2020.csv"]


def test_cli_writes_files_and_prints_json(run_cli, tmp_path):
    result = run_cli("demo-data", "--out", tmp_path / "out", "--scale", "0.001", "--seed", "2", "--json")
    assert result.exit_code == 0, result.stderr
    body = result.json()
    assert set(body["files"]) == set(SOURCES)
    for source, paths in body["files"].items():
        assert len(paths) == len(YEARS) and all(Path(p).is_file() for p in paths)
        assert sum(body["rows"][source].values()) > 0
    assert (tmp_path / "out" / "manifest.json").is_file()


def test_cli_human_output(run_cli, tmp_path):
    result = run_cli("demo-data", "--out", tmp_path / "out", "--scale", "0.0005", "--no-progress")
    assert result.exit_code == 0, result.stderr
    assert "vft_mottakere" in result.stdout and "manifest.json" in result.stdout
    assert result.stdout.startswith("Skrev syntetiske uttrekk til ") and " filer " in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (("--scale", "-1"), "--scale"),
    (("--scale", "0"), "--scale"),
    (("--scale", "abc"), "'abc' er ikke et tall"),
    (("--scale", "2"), "--scale"),
    (("--seed", "-3"), "--seed"),
])
def test_cli_rejects_bad_options(run_cli, tmp_path, args, message):
    result = run_cli("demo-data", "--out", tmp_path / "out", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert not (tmp_path / "out").exists()


def test_cli_requires_out(run_cli):
    result = run_cli("demo-data")
    assert result.exit_code == 2 and "--out" in result.stderr


def test_cli_help_explains_every_option(run_cli):
    result = run_cli("demo-data", "--help")
    assert result.exit_code == 0
    for option in ("--out", "--scale", "--seed", "--progress", "--json"):
        assert option in result.stdout


def test_api_rejects_bad_scale(tmp_path):
    from kernel.errors import UserInputError

    with pytest.raises(UserInputError, match="scale må være > 0"):
        synthetic.generate(tmp_path, scale=0, seed=0)


# ---------- the published series, at the extract level (scale 0.05) and through the marts

#: The scale the published series must be reproduced at (issue 16: within 3 %).
SERIES_SCALE = 0.05


@pytest.fixture(scope="module")
def vft_rows() -> pl.DataFrame:
    """The vft_mottakere rows of a scale-0.05 demo, straight from the generator (the extract's rows
    before the CSV writer; without the 8 M contact rows that make a full 0.05 generation slow)."""
    import numpy as np

    from synthetic.geography import geography
    from synthetic.population import build_population
    from synthetic.tjenester import care_frame
    from synthetic.vft import vft_frame

    geo = geography()
    population = build_population(geo, SERIES_SCALE, np.random.default_rng([5, 1]))
    _, recipient = care_frame(population, geo, SERIES_SCALE, np.random.default_rng([5, 2]), YEARS)
    return vft_frame(population, geo, SERIES_SCALE, np.random.default_rng([5, 5]), recipient, YEARS)


def _persons(rows: pl.DataFrame, year: int, on_31_december: bool = False) -> pl.DataFrame:
    first = dt.date(year, 12, 31) if on_31_december else dt.date(year, 1, 1)
    return rows.filter((pl.col("startdato") <= dt.date(year, 12, 31))
                       & (pl.col("sluttdato").is_null() | (pl.col("sluttdato") >= first)))


def _published(title: str, measure: str, code: str = "", report: str = "") -> dict[int, int]:
    """The seed's figures of one series (the first report where two disagree; 0 = not reported)."""
    out: dict[int, int] = {}
    for r in read_seed("kpr_nasjonale_tall"):
        if (r["tjenestetype"], r["measure"], r["tjenestetype_kode"], r["population_group"]) == \
                (title, measure, code, "alle") and report in r["source_title"] and int(r["value"]) > 0:
            out.setdefault(int(r["year"]), int(r["value"]))
    return out


#: Unique recipients (Omsorg 2020, 2022); 2021 only in the "i alt" table of KHO 2021 (the two
#: tables differ by 1 person in 2019 and 380 in 2020).
DURING_THE_YEAR = {**_published("Velferdsteknologi i alt", "mottakere_gjennom_aaret", report="2021"),
                   **_published("Unike brukere av velferdsteknologi", "mottakere")}
ON_31_DECEMBER = _published("Velferdsteknologi i alt", "mottakere_per_31des")
TECHNOLOGIES = {code: _published(name, "mottakere", str(code), "Omsorg 2020") for code, name in (
    (6, "Trygghetsalarm"), (26, "Lokaliseringsteknologi (GPS)"), (27, "Elektronisk medisineringsstøtte"),
    (28, "Digitalt tilsyn"))}


def _within(observed: float, published: int, scale: float) -> bool:
    """Within 3 % of scale × published, or half a person (rounding to whole persons) below that."""
    expected = scale * published
    return abs(observed - expected) <= max(0.03 * expected, 0.5)


def test_seed_series_are_the_ones_the_issue_names():
    assert DURING_THE_YEAR[2021] == 115_678 and DURING_THE_YEAR[2019] == 82_542
    assert ON_31_DECEMBER == {2017: 77_055, 2018: 80_242, 2019: 79_501, 2020: 88_120, 2021: 92_730, 2022: 99_561}
    assert TECHNOLOGIES[28] == {2019: 3_925, 2020: 5_998}


def test_recipients_during_the_year_reproduce_the_published_series(vft_rows):
    for year, value in DURING_THE_YEAR.items():
        assert _within(_persons(vft_rows, year)["fodselsnummer"].n_unique(), value, SERIES_SCALE), year


def test_recipients_on_31_december_reproduce_the_published_series(vft_rows):
    for year, value in ON_31_DECEMBER.items():
        observed = _persons(vft_rows, year, on_31_december=True)["fodselsnummer"].n_unique()
        assert _within(observed, value, SERIES_SCALE), year
    later = [_persons(vft_rows, y, on_31_december=True)["fodselsnummer"].n_unique() for y in (2022, 2023, 2024)]
    assert later == sorted(later)  # no dip after the published years


def test_recipients_per_technology_reproduce_the_published_series(vft_rows):
    for code, series in TECHNOLOGIES.items():
        for year, value in series.items():
            active = _persons(vft_rows, year).filter(pl.col("tjenestetype") == code)
            assert _within(active["fodselsnummer"].n_unique(), value, SERIES_SCALE), (code, year)


def test_the_2019_dip_is_a_reporting_gap_in_the_merged_kommuner(vft_rows):
    """The merged kommuner lose their 2019 recipients whose use ended that year; the stock on
    31 December (carried into the new EPR systems) is complete, so use does not drop."""
    import numpy as np

    from synthetic.geography import geography
    from synthetic.population import build_population
    from synthetic.vft import gap_kommuner

    geo = geography()
    gap = gap_kommuner(build_population(geo, SERIES_SCALE, np.random.default_rng([5, 1])), geo)
    assert len(gap) == 13
    to_2024 = {r["source_kommunenummer"]: r["kommunenummer_2024"] for r in read_seed("kommune_crosswalk_to_2024")}
    names = {geo.kommuner[i] for i in gap}
    rows = vft_rows.with_columns(gap=pl.col("kommunenummer").replace(to_2024).is_in(list(names)))

    def ended_during(year: int, gap_kommuner: bool) -> int:
        part = rows.filter(pl.col("gap") == gap_kommuner)
        return (_persons(part, year)["fodselsnummer"].n_unique()
                - _persons(part, year, on_31_december=True)["fodselsnummer"].n_unique())

    # the merged kommuner report (almost) no 2019 user whose use ended that year (only the few with
    # technologies beyond the alarm, kept so the per-technology series stay the published ones);
    # in 2018 and 2020 they report hundreds
    assert ended_during(2019, True) <= 0.05 * min(ended_during(2018, True), ended_during(2020, True))
    assert ended_during(2019, False) > 0  # elsewhere under-reporting, not a total gap
    stock = [_persons(rows, y, True)["fodselsnummer"].n_unique() for y in (2018, 2019)]
    assert stock[1] > 0.97 * stock[0]  # use does not drop


def _vkp_kommuner(rows: pl.DataFrame, year: int) -> int:
    """2024 kommuner with a VKP episode in ``year``; a split code (1507 Ålesund 2020–2023) goes to its
    first successor (the generator's persons there live in 1508 Ålesund or 1580 Haram)."""
    to_2024: dict[str, str] = {}
    for r in sorted(read_seed("kommune_crosswalk_to_2024"), key=lambda r: r["kommunenummer_2024"]):
        to_2024.setdefault(r["source_kommunenummer"], r["kommunenummer_2024"])
    return _persons(rows, year).filter(pl.col("via_vkp"))["kommunenummer"].replace(to_2024).n_unique()


def test_vkp_kommuner_follow_the_roll_out_at_scale_005(vft_rows):
    assert [_vkp_kommuner(vft_rows, y) for y in (2020, 2021, 2022, 2023, 2024)] == [0, 8, 25, 50, 72]


def test_digital_contacts_rise_from_march_2020(demo):
    frame = read(demo[1]["kpr_kontakter"][3:4]).with_columns(
        month=pl.col("kontaktdato").str.slice(5, 2).cast(pl.Int32),
        digital=pl.col("kontaktform").is_in(["video", "e-konsultasjon"]),
    )
    share = dict(frame.group_by("month").agg(pl.col("digital").mean()).iter_rows())
    assert share[1] == pytest.approx(DIGITAL_SHARE[2019], abs=0.01)
    assert share[2] == pytest.approx(DIGITAL_SHARE[2019], abs=0.01)
    assert min(share[m] for m in range(3, 13)) > 2 * DIGITAL_SHARE[2019]


def test_horizon_is_a_parameter(tmp_path):
    files = synthetic.generate(tmp_path, scale=0.001, seed=1, progress=False, last_year=2021)
    assert [p.name for p in files["vft_mottakere"]] == [f"vft_mottakere_{y}.csv" for y in range(2017, 2022)]
    rows = read(files["vft_mottakere"])
    assert rows["startdato"].max() <= "2021-12-31"
    assert rows.filter(pl.col("sluttdato").is_not_null())["sluttdato"].max() <= "2021-12-31"
    assert rows["sluttdato"].is_null().any()  # still running at the horizon
    assert read(files["registry_reporting"])["periode"].max() == "2021-12"
    from kernel.errors import UserInputError

    with pytest.raises(UserInputError, match="last_year"):
        synthetic.generate(tmp_path, scale=0.001, seed=1, last_year=2025)


# ---------- through the pipeline: ingest → dbt build → marts

#: Small enough for every run: the series are exact by construction at any scale (the generator
#: makes each count round_half_up(scale × figure)) and the pipeline loses no one, so the marts may
#: differ from scale × published by the rounding only: at most half a person (3 % of the smallest
#: figure, 533 × 0.005 = 2.7 persons, would allow less than a tenth of a person: no looser).
PIPELINE_SCALE = 0.005


def _build_marts(home: Path, scale: float) -> dict[tuple[str, str, str], tuple[float, float | None, float]]:
    """Generate, ingest, record the demo scale, dbt build; national mart rows by (indicator, breakdown, year)."""
    import duckdb

    import ingestion
    from helsedata.build import build
    from kernel.config import Settings
    from kernel.demo import record_demo_scale

    settings = Settings(home=home).ensure()
    files = synthetic.generate(home / "extracts", scale, 3, progress=False)
    for source in SOURCES:
        results = ingestion.ingest_files(settings, source, files[source], demo=True, progress=False)
        assert all(r.status == "loaded" for r in results), [r.error for r in results]
    record_demo_scale(settings, scale, 3)
    assert build(settings, progress=False).to_json()["ok"]
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        rows = con.execute("""select indicator_id, breakdown_code, period, numerator, denominator, value
                              from marts.mart_indicator_values
                              where geo_level = 'nasjonal' and period_type = 'year'""").fetchall()
    finally:
        con.close()
    return {(i, b, p): (n, d, v) for i, b, p, n, d, v in rows}


@pytest.fixture(scope="module")
def marts(tmp_path_factory) -> dict[tuple[str, str, str], tuple[float, float | None, float]]:
    return _build_marts(tmp_path_factory.mktemp("pipeline"), PIPELINE_SCALE)


def _assert_marts_reproduce_the_series(marts, scale: float, tolerance) -> None:
    def value(indicator: str, year: int, breakdown: str = "alle") -> float:
        return marts[(indicator, breakdown, str(year))][2]

    for year, figure in DURING_THE_YEAR.items():
        assert tolerance(value("vft_mottakere", year), figure, scale), ("during the year", year)
    for year, figure in ON_31_DECEMBER.items():
        assert tolerance(value("vft_mottakere_31des", year), figure, scale), ("31 December", year)
    for code, series in TECHNOLOGIES.items():
        for year, figure in series.items():
            assert tolerance(value("vft_mottakere_teknologi", year, str(code)), figure, scale), (code, year)
    assert [value("vkp_kommuner", y) for y in (2021, 2022, 2023, 2024)] == [8, 25, 50, 72]
    # rates per 1 000 look like Norway's: the population is scaled with the demo (≈125 users per
    # 1 000 inhabitants 67+ in 2024: 133 731 users, most of them 67+, and about 1 M inhabitants 67+)
    pop_67 = sum(int(r["pop_67_plus"]) for r in read_seed("population_kommune") if r["year"] == "2024")
    numerator, denominator, rate = marts[("vft_mottakere_67_per_1000", "alle", "2024")]
    assert denominator == pytest.approx(pop_67 * scale, abs=0.5)  # whole persons
    assert 80 < rate < 160


def _rounding_only(observed: float, published: int, scale: float) -> bool:
    return abs(observed - scale * published) <= 0.5 + 1e-9


def test_marts_reproduce_the_published_series_to_the_person(marts):
    _assert_marts_reproduce_the_series(marts, PIPELINE_SCALE, _rounding_only)


@pytest.mark.slow
def test_marts_reproduce_the_published_series_within_3_percent_at_scale_005(tmp_path):
    """Issue 16's criterion, through the whole pipeline (2½ minutes on the shared machine)."""
    _assert_marts_reproduce_the_series(_build_marts(tmp_path, SERIES_SCALE), SERIES_SCALE, _within)
