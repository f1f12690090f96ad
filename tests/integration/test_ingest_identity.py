"""Identity numbers through a real ingest: normalised blanks, future birth dates, the 2032 rules.

Each case is ingested into a real DuckDB warehouse in ``tmp_path`` with a fixed reference day.
Numbers are synthetic test numbers (month + 80), never a real person's.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from ingestion import ingest_files
from ingestion.fnr import with_check_digits
from ingestion.testing import TEST_KEY_HEX, valid_row, write_extract
from kernel.config import Settings

KEY_ENV = {"HELSEDATA_PSEUDONYM_KEY": TEST_KEY_HEX}
#: Synthetic number under Skatteetaten's new control calculation (first remainder 1), born 15.08.80.
NEW_CALCULATION = with_check_digits("158880999", remainder=1)


def _ingest(settings, tmp_path, rows, today):
    path = write_extract(tmp_path / f"x{len(list(tmp_path.iterdir()))}.csv", "kpr_kontakter", rows)
    configured = Settings.from_environ({**KEY_ENV, "HELSEDATA_HOME": str(settings.home)})
    return ingest_files(configured, "kpr_kontakter", [path], progress=False, today=today)[0]


def _persons(settings):
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute("select _line_number, person_id, fodselsaar, kjonn from raw.kpr_kontakter "
                           "order by _line_number").fetchall()


def test_surrounding_blanks_are_removed_before_validation_and_pseudonymisation(settings, tmp_path):
    number = valid_row("kpr_kontakter", 0)["fodselsnummer"]
    rows = [{**valid_row("kpr_kontakter", i), "fodselsnummer": padded}
            for i, padded in enumerate([number, f" {number}", f"{number} ", f"\u00a0{number}\t"])]
    result = _ingest(settings, tmp_path, rows, dt.date(2025, 6, 1))
    assert (result.rows_loaded, result.rows_quarantined) == (4, 0)
    assert len({person_id for _, person_id, _, _ in _persons(settings)}) == 1


def test_a_birth_date_after_the_day_of_ingestion_is_quarantined(settings, tmp_path):
    unborn = with_check_digits("018826500")  # synthetic, born 1 August 2026
    result = _ingest(settings, tmp_path, [valid_row("kpr_kontakter", 0),
                                          {**valid_row("kpr_kontakter", 1), "fodselsnummer": unborn}],
                     dt.date(2026, 7, 31))
    assert result.quarantine_reasons == {"fnr_birth_date": 1} and result.rows_loaded == 1


def test_new_calculation_numbers_load_from_2032_with_unknown_sex(settings, tmp_path):
    row = {**valid_row("kpr_kontakter", 0), "fodselsnummer": NEW_CALCULATION}
    before = _ingest(settings, tmp_path, [row], dt.date(2031, 12, 31))
    assert before.quarantine_reasons == {"fnr_check_digits": 1}
    after = _ingest(settings, tmp_path, [{**row, "kontaktform": "video"}], dt.date(2032, 1, 1))
    assert (after.rows_loaded, after.rows_quarantined) == (1, 0)
    [(_, _, year, sex)] = _persons(settings)
    assert (year, sex) == (1980, None)  # gender-neutral: sex is not read from the ninth digit
