"""`helsedata indicators import`: reported figures, all or nothing, against the real warehouse (issue 16, item 1)."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from helsedata.indicators import COLUMNS, STRATEGY_FIGURES
from kernel.codelists import read_seed

HEADER = ",".join(COLUMNS)
GOOD = "raadsmodell_positiv_effekt,2024,nasjonal,NO,80,prosent,Spørreundersøkelse 2024,Direktoratet for e-helse"


def _file(tmp_path: Path, *lines: str, name: str = "figures.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def _rows(home: Path) -> list[tuple]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute("select indicator_id, period, value, source, reported_by, seed_reference, _line_number "
                           "from raw.reported_figures order by indicator_id, period").fetchall()


def test_the_strategy_figures_load_with_provenance_and_a_rerun_skips_them(run_cli, home):
    first = run_cli("indicators", "import", STRATEGY_FIGURES, "--json")
    assert first.exit_code == 0, first.stderr
    assert first.json()["status"] == "loaded" and first.json()["rows_loaded"] == 9
    rows = {(r[0], r[1]): r for r in _rows(home)}
    assert rows[("helseregistre_soknader", "2022")][2] == 283
    assert [rows[(i, "2023")][2] for i in ("raadsmodell_positiv_effekt", "veikart_forsinkelser_utvikling",
                                           "veikart_forsinkelser_innforing")] == [76, 17, 11]
    assert rows[("dho_helsefellesskap", "2023")][2] == 17
    assert rows[("vkp_kommuner_rapportert", "2024")][2] == 72
    assert all(r[3] and r[4] and r[5].startswith(("003_", "000_")) for r in rows.values())

    again = run_cli("indicators", "import", STRATEGY_FIGURES, "--json")
    assert again.exit_code == 0 and again.json()["status"] == "skipped_duplicate"
    assert len(_rows(home)) == 9


@pytest.mark.parametrize("bad_line, message", [
    ("ukjent_indikator,2024,nasjonal,NO,1,prosent,S,R", "linje 3: ukjent indikator 'ukjent_indikator'"),
    ("veikart_forsinkelser_utvikling,2024,nasjonal,NO,17,andel,S,R", "linje 3: enheten for veikart_forsinkelser_utvikling er 'prosent', ikke 'andel'"),
    ("veikart_forsinkelser_utvikling,2024,nasjonal,NO,117,prosent,S,R", "linje 3: verdien 117 for veikart_forsinkelser_utvikling er utenfor gyldig område 0–100"),
    ("dho_helsefellesskap,2024,nasjonal,NO,20,helsefellesskap,S,R", "linje 3: verdien 20 for dho_helsefellesskap er utenfor gyldig område 0–19"),
    ("register_digital_95,2024,nasjonal,NO,3,registre,S,R", "linje 3: register_digital_95 beregnes fra plattformens data"),
    ("veikart_forsinkelser_utvikling,2024,nasjonal,NOR,17,prosent,S,R", "linje 3: ukjent geo_code 'NOR' for nasjonal"),
    ("veikart_forsinkelser_utvikling,2024,fylke,03,17,prosent,S,R", "linje 3: veikart_forsinkelser_utvikling rapporteres ikke på nivået fylke"),
    ("veikart_forsinkelser_utvikling,Q3 2024,nasjonal,NO,17,prosent,S,R", "linje 3: perioden 'Q3 2024' er ikke et årstall"),
    ("veikart_forsinkelser_utvikling,2024,nasjonal,NO,mye,prosent,S,R", "linje 3: verdien 'mye' er ikke et tall"),
    ("veikart_forsinkelser_utvikling,2024,nasjonal,NO,17,prosent,,R", "linje 3: source er tom"),
    ("raadsmodell_positiv_effekt,2024,nasjonal,NO,81,prosent,S,R", "linje 3: raadsmodell_positiv_effekt for 2024 (NO) står også på linje 2"),
])
def test_a_bad_row_is_named_and_nothing_is_loaded(run_cli, home, tmp_path, bad_line, message):
    result = run_cli("indicators", "import", _file(tmp_path, GOOD, bad_line))
    assert result.exit_code == 2
    assert message in result.stderr
    assert "ingenting er lastet inn" in result.stderr
    assert _rows(home) == []  # the good line 2 was not loaded either


def test_a_period_already_reported_is_an_error_even_in_another_file(run_cli, home, tmp_path):
    assert run_cli("indicators", "import", STRATEGY_FIGURES).exit_code == 0
    conflicting = _file(tmp_path, GOOD, "raadsmodell_positiv_effekt,2023,nasjonal,NO,76,prosent,Ny kilde,Noen")
    result = run_cli("indicators", "import", conflicting, "--json")
    assert result.exit_code == 2
    assert "linje 3: raadsmodell_positiv_effekt for 2023 (NO) er allerede rapportert" in result.json()["error"]
    assert len(_rows(home)) == 9


def test_a_wrong_header_is_refused(run_cli, tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("indicator,period,value\nx,2024,1\n", encoding="utf-8")
    result = run_cli("indicators", "import", path)
    assert result.exit_code == 2 and "linje 1: kolonnene må være indicator_id,period" in result.stderr


def test_every_goal_indicator_of_seed_003_has_a_definition():
    """The 19 rows of strategy_goal_indicators.csv (16 goal indicators, 3.1 and 3.2 split)."""
    goal_indicators = {"1.1", "1.2", "1.3", "1.4", "1.5", "2.1", "2.2", "2.3", "3.1.1", "3.1.2",
                       "3.2.1", "3.2.2", "3.2.3", "4.1", "4.2", "5.1", "5.2", "5.3", "5.4"}
    definitions = read_seed("indicator_definitions")
    assert {d["goal_indicator"] for d in definitions if d["goal_indicator"]} == goal_indicators
    reported = {d["indicator_id"] for d in definitions if d["origin"] == "rapportert"}
    with STRATEGY_FIGURES.open(encoding="utf-8") as f:
        assert {r["indicator_id"] for r in csv.DictReader(f)} <= reported


def test_every_sub_goal_an_indicator_names_is_a_sub_goal_of_seed_000():
    sub_goals = {r["delmaal"]: r["navn"] for r in read_seed("strategy_sub_goals")}
    assert len(sub_goals) == 13 and sub_goals["1B"].startswith("Innbyggere skal ha tilgang på velferdsteknologi")
    named = [d["sub_goal"] for d in read_seed("indicator_definitions") if d["sub_goal"].startswith("Delmål")]
    assert named
    for text in named:
        code, name = text.removeprefix("Delmål ").split(": ", 1)
        assert sub_goals.get(code) == name, text
