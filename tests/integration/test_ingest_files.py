"""Whole files: rejections, encodings, idempotence, reconciliation, crash safety, no raw numbers."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ingestion import ingest_files
from ingestion.pipeline import WarehouseBusy
from ingestion.store import staging_path
from ingestion.testing import TEST_KEY_HEX, extract_text, valid_row, write_extract, write_valid_extract
from kernel.config import Settings
from kernel.errors import ConfigurationError

TODAY = dt.date(2025, 6, 1)
KEY_ENV = {"HELSEDATA_PSEUDONYM_KEY": TEST_KEY_HEX}
HEADER = "fodselsnummer;kommunenummer;kontaktdato;tjenesteyter;kontaktform"


def ingest(settings, paths, source="kpr_kontakter", environ=KEY_ENV, **kwargs):
    """Ingest with the knobs of ``environ``, as ``helsedata ingest`` would under that environment."""
    configured = Settings.from_environ({**environ, "HELSEDATA_HOME": str(settings.home)})
    return ingest_files(configured, source, paths, progress=False, today=TODAY, **kwargs)


def query(settings, sql, params=()):
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def mixed_rows(n: int) -> list:
    """n rows where every 7th breaks a rule and every 11th repeats the row before it."""
    rows: list = []
    for i in range(n):
        row = valid_row("kpr_kontakter", i)
        if i % 7 == 3:
            row = {**row, "kontaktform": "brev"}
        if i % 11 == 5 and rows:
            row = rows[-1]
        rows.append(row)
    return rows


REJECTIONS = [
    ("empty", b"", "filen er tom"),
    ("only blank", b"\n", "filen er tom"),
    ("missing column", b"fodselsnummer;kommunenummer;kontaktdato;tjenesteyter\n", "mangler kontaktform"),
    ("extra column", (HEADER + ";merknad\n").encode(), "feltet i posisjon 6 er ikke en kolonne i kilden"),
    ("repeated column", (HEADER + ";kontaktform\n").encode(), "kontaktform står mer enn én gang"),
    ("not delimited", b"fodselsnummer,kommunenummer,kontaktdato\n1,2,3\n", "ikke et semikolonseparert uttrekk"),
    ("binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "ikke en tekstfil"),
    ("NUL in data", (HEADER + "\n").encode() + b"1;2\x00;3;4;5\n", "linje 2 inneholder NUL-byte"),
    ("latin-1 undeclared", (HEADER + "\n" + extract_text("kpr_kontakter", [valid_row("kpr_kontakter", 1)]).split("\n")[1]
                            + "\n13888012235;0301;2024-01-01;B\u00e6rum;video\n").encode("latin-1"),
     "linje 3 er ikke gyldig utf-8 (byte 0xe6) — er filen Latin-1"),
    ("UTF-16 undeclared", extract_text("kpr_kontakter", [valid_row("kpr_kontakter", 1)]).encode("utf-16"),
     "oppgi tegnkodingen med --encoding utf-16"),
    ("no header, data on line 1", b"09086647076;0301;2024-02-01;fastlege;oppmote\n",
     "linje 1 ser ut som en datarad"),
]


@pytest.mark.parametrize(("content", "reason"), [r[1:] for r in REJECTIONS], ids=[r[0] for r in REJECTIONS])
def test_unusable_file_is_rejected_whole(settings, tmp_path, content, reason):
    path = tmp_path / "in" / "bad.csv"
    path.parent.mkdir()
    path.write_bytes(content)
    [result] = ingest(settings, [path])
    assert result.status == "rejected"
    assert str(path) in result.error and reason in result.error
    assert "09086647076" not in result.error and "13888012235" not in result.error
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (0, 0, 0)
    assert result.to_json()["error"] == result.error
    assert query(settings, "select status, error from ingest.manifest") == [("rejected", result.error)]
    assert query(settings, "select count(*) from raw.kpr_kontakter") == [(0,)]
    assert query(settings, "select count(*) from ingest.quarantine") == [(0,)]


def test_rejected_file_does_not_stop_the_others(settings, tmp_path):
    good = write_extract(tmp_path / "good.csv", "kpr_kontakter", [valid_row("kpr_kontakter", 1)])
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"")
    results = ingest(settings, [bad, good])
    assert [r.status for r in results] == ["rejected", "loaded"]


def test_declared_latin_1_is_decoded_and_a_rejected_file_can_then_load(settings, tmp_path):
    row = {**valid_row("kpr_kontakter", 1), "tjenesteyter": "Bærum"}
    path = write_extract(tmp_path / "latin1.csv", "kpr_kontakter", [valid_row("kpr_kontakter", 0), row], encoding="latin-1")
    [first] = ingest(settings, [path])
    assert first.status == "rejected" and "--encoding latin-1" in first.error
    [second] = ingest(settings, [path], encoding="latin-1")
    assert (second.status, second.sha256) == ("loaded", first.sha256)
    assert second.quarantine_reasons == {"code_not_in_list": 1}
    [(detail, values)] = query(settings, "select detail, offending_values from ingest.quarantine")
    assert "Bærum" in detail and '"tjenesteyter":"Bærum"' in values
    assert query(settings, "select status, error from ingest.manifest") == [("loaded", None)]


def test_utf8_with_bom_and_crlf_loads(settings, tmp_path):
    text = extract_text("kpr_kontakter", [valid_row("kpr_kontakter", i) for i in range(3)]).replace("\n", "\r\n")
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    [result] = ingest(settings, [path])
    assert (result.status, result.rows_loaded, result.rows_quarantined) == ("loaded", 3, 0)


def test_same_file_twice_is_skipped(settings, tmp_path):
    path = write_valid_extract(tmp_path / "a.csv", "kpr_kontakter", 50)
    copy = tmp_path / "copy_of_a.csv"
    copy.write_bytes(path.read_bytes())
    first, again, renamed = ingest(settings, [path, path, copy])
    assert (first.status, first.rows_loaded) == ("loaded", 50)
    for skipped in (again, renamed):
        assert skipped.to_json() == {**first.to_json(), "file": skipped.file, "status": "skipped_duplicate", "rows_read": 0,
                                     "rows_loaded": 0, "rows_quarantined": 0, "quarantine_reasons": {}}
    [later] = ingest(settings, [path])
    assert later.status == "skipped_duplicate"
    assert query(settings, "select count(*) from raw.kpr_kontakter") == [(50,)]
    assert query(settings, "select count(*) from ingest.manifest") == [(1,)]


@pytest.mark.parametrize("batch_bytes", [300, 4096, 1 << 24])
def test_rows_reconcile_whatever_the_batch_size(settings, tmp_path, batch_bytes):
    path = write_extract(tmp_path / "mixed.csv", "kpr_kontakter", mixed_rows(400))
    [result] = ingest(settings, [path], environ={**KEY_ENV, "HELSEDATA_INGEST_BATCH_BYTES": str(batch_bytes)})
    assert result.rows_read == 400 == result.rows_loaded + result.rows_quarantined
    rows = mixed_rows(400)
    bad = sum(r["kontaktform"] == "brev" for r in rows)
    good = [tuple(r.values()) for r in rows if r["kontaktform"] != "brev"]
    assert result.quarantine_reasons == {"code_not_in_list": bad, "duplicate_in_file": len(good) - len(set(good))}
    [(raw, lines)] = query(settings, "select count(*), count(distinct _line_number) from raw.kpr_kontakter")
    [(quarantined,)] = query(settings, "select count(*) from ingest.quarantine")
    assert (raw, lines, quarantined) == (result.rows_loaded, result.rows_loaded, result.rows_quarantined)
    manifest = query(settings, "select rows_read, rows_loaded, rows_quarantined from ingest.manifest")
    assert manifest == [(400, result.rows_loaded, result.rows_quarantined)]
    all_lines = query(settings, "select _line_number from raw.kpr_kontakter union all select line_number from ingest.quarantine")
    assert sorted(n for (n,) in all_lines) == list(range(2, 402))


def test_person_columns_are_derived_and_pseudonymised(settings, tmp_path):
    row = valid_row("kpr_kontakter", 0)  # synthetic number, born 1940-01-01, individual 000: K
    path = write_extract(tmp_path / "one.csv", "kpr_kontakter", [row])
    ingest(settings, [path])
    [(person_id, year, sex)] = query(settings, "select person_id, fodselsaar, kjonn from raw.kpr_kontakter")
    assert (year, sex) == (1940, "K")
    assert len(person_id) == 64 and int(person_id, 16) >= 0 and person_id != row["fodselsnummer"]


def test_missing_key_is_a_configuration_error_that_says_how_to_fix_it(settings, tmp_path):
    path = write_valid_extract(tmp_path / "a.csv", "kpr_kontakter", 2)
    with pytest.raises(ConfigurationError, match="HELSEDATA_PSEUDONYM_KEY.*--demo"):
        ingest(settings, [path], environ={})
    assert not settings.warehouse.exists()


def test_demo_creates_a_private_key_once(settings, tmp_path):
    path = write_valid_extract(tmp_path / "a.csv", "kpr_kontakter", 2)
    ingest(settings, [path], environ={}, demo=True)
    key_file = settings.keys / "pseudonym.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    key = key_file.read_text()
    [again] = ingest(settings, [write_valid_extract(tmp_path / "b.csv", "kpr_kontakter", 2, start=5)], environ={})
    assert again.status == "loaded" and key_file.read_text() == key


def test_no_raw_identity_number_anywhere_under_helsedata_home(settings, tmp_path):
    rows = mixed_rows(300) + [{**valid_row("kpr_kontakter", 1), "kommunenummer": valid_row("kpr_kontakter", 2)["fodselsnummer"]},
                              f"{valid_row('kpr_kontakter', 3)['fodselsnummer']};0301"]
    numbers = {r["fodselsnummer"] for r in rows if isinstance(r, dict)}
    path = write_extract(tmp_path / "in" / "extract.csv", "kpr_kontakter", rows)
    [result] = ingest(settings, [path], environ={**KEY_ENV, "HELSEDATA_INGEST_BATCH_BYTES": "2000"})
    assert result.rows_quarantined > 40
    # Everything in the warehouse, as text…
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        tables = con.execute("select schema_name, table_name from duckdb_tables()").fetchall()
        dump = "\n".join(str(con.execute(f'select * from "{s}"."{t}"').fetchall()) for s, t in tables)
    assert [n for n in numbers if n in dump] == []
    # …and every byte of every file under HELSEDATA_HOME (warehouse, WAL, keys, logs).
    files = [p for p in settings.home.rglob("*") if p.is_file()]
    assert settings.warehouse in files
    for file in files:
        content = file.read_bytes()
        assert [n for n in numbers if n.encode() in content] == [], file


#: Runs ``helsedata ingest`` in a child process that stops, just after ``FileLoad.<method>`` has
#: run for the ``<nth>`` time, to say so on stderr and wait to be killed. The patch lives in this
#: child only: production code has no test hook.
PAUSING_INGEST = """
import os, sys, time
from ingestion import store
method, nth = sys.argv[1], int(sys.argv[2])
original, calls = getattr(store.FileLoad, method), []
def paused(self, *args, **kwargs):
    result = original(self, *args, **kwargs)
    calls.append(1)
    if len(calls) == nth:
        print("reached", method, file=sys.stderr, flush=True)
        time.sleep(600)
    return result
setattr(store.FileLoad, method, paused)
from helsedata.cli import main
sys.exit(main(sys.argv[3:], environ=os.environ))
"""

# Where the kill lands: while staging (no transaction yet), right after the file's INSERT … SELECT
# into raw.* and ingest.quarantine (transaction open, rows written), and in the middle of the
# duplicate pass (its temp tables built, duplicates not yet moved).
KILL_POINTS = [("add_batch", 3), ("_copy_staged", 1), ("_quarantine_hashes_of_duplicates", 1)]


@pytest.mark.parametrize(("method", "nth"), KILL_POINTS, ids=[m for m, _ in KILL_POINTS])
def test_kill_mid_load_leaves_nothing_and_a_rerun_completes(settings, tmp_path, method, nth):
    """kill -9 at each point of a file's load, then rerun: nothing half-loaded, then exact counts."""
    rows = mixed_rows(3000)
    path = write_extract(tmp_path / "big.csv", "kpr_kontakter", rows)
    env = {**os.environ, **KEY_ENV, "HELSEDATA_HOME": str(settings.home), "HELSEDATA_INGEST_BATCH_BYTES": "20000",
           "PYTHONPATH": str(Path(__file__).parents[2])}
    argv = [sys.executable, "-c", PAUSING_INGEST, method, str(nth), "ingest", "kpr_kontakter", str(path), "--json"]
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in process.stderr:
            if line.startswith(f"reached {method}"):
                break
        else:
            pytest.fail(f"ingest ended before reaching {method}: exit {process.wait()}")
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
        process.stdout.close()
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    for table in ("raw.kpr_kontakter", "ingest.manifest", "ingest.quarantine"):
        assert query(settings, f"select count(*) from {table}") == [(0,)], table
    # Whatever the kill left in the scratch folder is pseudonymised and scrubbed only.
    staging = staging_path(settings.warehouse)
    numbers = {r["fodselsnummer"] for r in rows}
    for file in (p for p in staging.rglob("*") if p.is_file()):
        content = file.read_bytes()
        assert [x for x in numbers if x.encode() in content] == [], file

    [result] = ingest(settings, [path])
    [reference] = ingest(Settings(home=tmp_path / "clean").ensure(), [path])
    assert result.status == "loaded" and result.to_json() == {**reference.to_json(), "file": result.file}
    assert result.quarantine_reasons["duplicate_in_file"] > 0
    assert query(settings, "select count(*), count(distinct _line_number) from raw.kpr_kontakter") == \
        [(result.rows_loaded, result.rows_loaded)]
    assert query(settings, "select count(*) from ingest.quarantine") == [(result.rows_quarantined,)]
    assert query(settings, "select status, rows_loaded from ingest.manifest") == [("loaded", result.rows_loaded)]
    assert not staging.exists()  # the rerun discarded the stale staging and its own


def test_staging_is_removed_after_loads_and_rejections(settings, tmp_path):
    good = write_valid_extract(tmp_path / "good.csv", "kpr_kontakter", 50)
    bad = write_extract(tmp_path / "bad.csv", "kpr_kontakter", [HEADER.replace(";", ",")])
    latin = tmp_path / "latin.csv"
    latin.write_bytes(extract_text("kpr_kontakter", [valid_row("kpr_kontakter", 99)]).encode() + "Bærum\n".encode("latin-1"))
    results = ingest(settings, [good, bad, latin], environ={**KEY_ENV, "HELSEDATA_INGEST_BATCH_BYTES": "200"})
    assert [r.status for r in results] == ["loaded", "loaded", "rejected"]
    assert not staging_path(settings.warehouse).exists()


def test_header_only_file_loads_zero_rows(settings, tmp_path):
    path = write_extract(tmp_path / "none.csv", "registry_reporting", [])
    [result] = ingest(settings, [path], source="registry_reporting")
    assert (result.status, result.rows_read, result.rows_loaded, result.rows_quarantined) == ("loaded", 0, 0, 0)


def test_a_40_megabyte_line_is_quarantined_unread_and_rows_reconcile(settings, tmp_path):
    path = tmp_path / "long.csv"
    fnr = valid_row("kpr_kontakter", 1)["fodselsnummer"]
    with path.open("wb") as f:
        f.write(extract_text("kpr_kontakter", [valid_row("kpr_kontakter", 0)]).encode())
        f.write(fnr.encode())
        for _ in range(40):
            f.write(b";" + b"4" * (1 << 20))
        f.write(b"\n" + extract_text("kpr_kontakter", [valid_row("kpr_kontakter", 2)]).split("\n", 1)[1].encode())
    [result] = ingest(settings, [path])
    assert (result.status, result.rows_read, result.rows_loaded) == ("loaded", 3, 2)
    assert result.quarantine_reasons == {"line_too_long": 1}
    assert query(settings, "select line_number, detail, offending_values from ingest.quarantine") == [
        (3, "linjen er lengre enn 65 536 byte og er ikke lest", "{}")]
    assert query(settings, "select _line_number from raw.kpr_kontakter order by 1") == [(2,), (4,)]


def test_a_file_under_the_wrong_source_is_rejected_not_skipped(settings, tmp_path):
    path = write_valid_extract(tmp_path / "tjenester.csv", "kpr_tjenester", 3)
    [loaded] = ingest(settings, [path], source="kpr_tjenester")
    [wrong] = ingest(settings, [path], source="vft_mottakere")
    assert wrong.status == "rejected" and "mangler via_vkp" in wrong.error
    assert query(settings, "select source, status from ingest.manifest") == [("kpr_tjenester", "loaded")]
    [again] = ingest(settings, [path], source="kpr_tjenester")
    assert (loaded.status, again.status) == ("loaded", "skipped_duplicate")


def test_a_declared_utf_16_file_loads(settings, tmp_path):
    row = {**valid_row("kpr_kontakter", 1), "tjenesteyter": "Bærum"}
    path = write_extract(tmp_path / "wide.csv", "kpr_kontakter", [valid_row("kpr_kontakter", 0), row], encoding="utf-16")
    [result] = ingest(settings, [path], encoding="utf-16")
    assert (result.status, result.rows_loaded, result.quarantine_reasons) == ("loaded", 1, {"code_not_in_list": 1})
    assert query(settings, "select detail from ingest.quarantine") == [("tjenesteyter Bærum finnes ikke i codelist_tjenesteyter",)]
    assert query(settings, "select encoding from ingest.manifest") == [("utf-16",)]


HOLD_WAREHOUSE = "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('holding', flush=True); time.sleep(float(sys.argv[2]))"


def hold_warehouse(settings, seconds: float) -> subprocess.Popen:
    """Another process holding the warehouse's writer lock for ``seconds``."""
    ingest(settings, [write_valid_extract(settings.home / "first.csv", "kpr_kontakter", 1)])
    holder = subprocess.Popen([sys.executable, "-c", HOLD_WAREHOUSE, str(settings.warehouse), str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "holding"
    return holder


def test_a_second_ingest_waits_for_the_warehouse(settings, tmp_path, capsys):
    holder = hold_warehouse(settings, 5)
    try:
        [result] = ingest(settings, [write_valid_extract(tmp_path / "a.csv", "kpr_kontakter", 3, start=10)],
                          environ={**KEY_ENV, "HELSEDATA_INGEST_LOCK_TIMEOUT": "120"})
    finally:
        holder.wait(timeout=60)
        holder.stdout.close()
    assert (result.status, result.rows_loaded) == ("loaded", 3)
    assert "en annen prosess skriver til varehuset; venter på den (opptil 120 sekunder)" in capsys.readouterr().err


def test_a_busy_warehouse_is_a_clear_refusal_after_the_timeout(settings, tmp_path):
    holder = hold_warehouse(settings, 600)
    try:
        with pytest.raises(WarehouseBusy, match="en annen prosess bruker varehuset") as caught:
            ingest(settings, [write_valid_extract(tmp_path / "a.csv", "kpr_kontakter", 3, start=10)],
                   environ={**KEY_ENV, "HELSEDATA_INGEST_LOCK_TIMEOUT": "0"})
    finally:
        holder.kill()
        holder.wait(timeout=30)
        holder.stdout.close()
    assert caught.value.exit_code == 2
