"""The HTML indicator report: rendered by publish, read back in headless Chromium.

Chromium (Debian package ``chromium``) loads the file as a reader would and ``--dump-dom``
prints the DOM after rendering; the test is skipped when no Chromium is installed.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess

import duckdb
import pytest

from dashboards.report import SUPPRESSED_SYMBOL, format_number, status_colour
from helsedata.publish import publish
from tests.integration.test_publish import make_marts

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.fixture
def report(settings):
    make_marts(settings)  # runs the quality checks: publication goes through the real gate
    with duckdb.connect(str(settings.warehouse)) as con:  # one national value hidden upstream
        con.execute("update marts.mart_indicator_values set suppressed = true where indicator_id = "
                    "'vft_mottakere' and geo_level = 'nasjonal' and period = '2023'")
    result = publish(settings, environ={})
    return settings.reports / "indicators.html", result


def test_report_is_self_contained(report):
    path, _ = report
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), "no external assets"
    assert "<script" not in text
    assert "@import" not in text and "url(" not in text


def test_report_shows_every_published_indicator_with_definition_and_target(report):
    text = html.unescape(report[0].read_text(encoding="utf-8"))
    for name in ("Mottakere av velferdsteknologi", "Andel digitale konsultasjoner i kommunale helsetjenester",
                 "Mottakere av velferdsteknologi 67 år og eldre per 1 000 innbyggere 67+"):
        assert name in text
    assert "illustrativt" in text  # vft_mottakere's target is marked illustrative
    assert "silver" in text  # input quality label


def test_report_never_shows_the_exact_mart_value(report, settings):
    text = report[0].read_text(encoding="utf-8")
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        exact = con.execute("select numerator from marts.mart_indicator_values where indicator_id = "
                            "'vft_mottakere' and geo_level = 'nasjonal' and period = '2024'").fetchone()[0]
    assert int(exact) % 5 != 0  # the fixture makes it end in 2
    assert format_number(exact) not in text


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed (apt-get install chromium)")
def test_chromium_renders_suppressed_cells_and_names(report, tmp_path):
    path, _ = report
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout
    assert "<h2>Mottakere av velferdsteknologi</h2>" in dom
    # the 2023 national row of vft_mottakere is hidden: three cells with the SSB symbol
    section = dom.split('id="vft_mottakere"')[1].split("</section>")[0]
    row_2023 = section.split("<td>2023</td>")[1].split("</tr>")[0]
    assert row_2023.count(f'class="suppressed" title="Skjult av personvernhensyn">{SUPPRESSED_SYMBOL}<') == 3
    assert re.search(r"<td>2024</td>\s*<td>[\d\u202f]+</td>", section)
    screenshot = tmp_path / "report.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    f"--user-data-dir={tmp_path / 'profile2'}", f"--screenshot={screenshot}",
                    "--window-size=1200,2000", path.as_uri()], capture_output=True, timeout=120, check=True)
    assert screenshot.stat().st_size > 10_000


@pytest.mark.parametrize("status, colour", [("green", "green"), ("yellow", "yellow"), ("red", "red"),
                                            ("no_target", "grey"), (None, "grey")])
def test_status_colours(status, colour):
    assert status_colour(status) == colour
