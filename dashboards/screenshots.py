"""Screenshots of the Superset dashboards as a logged-in person sees them (headless Chromium).

Used by the real-Superset test (no dashboard may show "Data error" or "Empty query", and each
big number is drawn in its status colour) and by ``scripts/superset-local.sh --screenshots DIR``,
which makes the pictures in ``docs/img/``.
Playwright drives the system's Chromium (``/usr/bin/chromium``, Debian's package); no browser is
ever downloaded.

    python -m dashboards.screenshots --url http://127.0.0.1:8088 --out docs/img
    (username and password from HELSEDATA_SUPERSET_USERNAME / HELSEDATA_SUPERSET_PASSWORD)
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
#: Texts Superset shows in place of a chart whose query failed.
ERROR_TEXTS = ("Data error", "Empty query", "Unexpected error", "Error:", "No results")
DASHBOARD_SLUGS = ("strategistatus", "velferdsteknologi", "innrapportering")
VIEWPORT = {"width": 1600, "height": 1000}
#: Milliseconds the browser may wait for every chart of a dashboard to load.
LOAD_TIMEOUT_MS = 180_000
#: ECharts draws lines and bars in an animation of about 1 s once the data is there; the
#: screenshot waits it out so it shows whole charts.
ANIMATION_MS = 2_500


#: For every Big Number chart on the page: its chart id, the number's text, the colour the
#: browser draws it in and the first opaque background behind it (computed styles).
BIG_NUMBERS_JS = """() => [...document.querySelectorAll('[data-test-viz-type="big_number_total"]')].map(chart => {
  const number = chart.querySelector('.header-line');
  let background = 'rgba(0, 0, 0, 0)';
  for (let el = number; el; el = el.parentElement) {
    const colour = getComputedStyle(el).backgroundColor;
    if (colour !== 'transparent' && !/^rgba\\(.*, 0\\)$/.test(colour)) { background = colour; break; }
  }
  return {id: Number(chart.getAttribute('data-test-chart-id')), text: number ? number.innerText : '',
          colour: number ? getComputedStyle(number).color : '', background};
})"""


@dataclass(frozen=True)
class BigNumber:
    """A Big Number as the browser draws it (colours as CSS ``rgb(r, g, b)``)."""

    chart_id: int
    text: str
    colour: str
    background: str


@dataclass(frozen=True)
class DashboardShot:
    slug: str
    png: Path
    text: str  # every text on the page once the charts have loaded
    big_numbers: tuple[BigNumber, ...] = ()

    def errors(self) -> list[str]:
        """The error texts the page shows (empty when every chart rendered data)."""
        return [e for e in ERROR_TEXTS if e in self.text]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        raise RuntimeError("no chromium on PATH: install Debian's chromium package")
    return path


def screenshot_dashboards(url: str, username: str, password: str, out: Path,
                          slugs: tuple[str, ...] = DASHBOARD_SLUGS) -> list[DashboardShot]:
    """Log in through Superset's login form, open each dashboard, wait for its charts, save a
    full-page PNG ``out/superset-<slug>.png`` and return it with the page's text."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    shots = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS, headless=True)
        try:
            # bypass_csp: Superset's Content Security Policy forbids the script Playwright waits with
            page = browser.new_page(viewport=VIEWPORT, locale="nb-NO", bypass_csp=True)
            page.goto(f"{url}/login/", wait_until="domcontentloaded")
            page.fill("input[name=username], #username", username)
            page.fill("input[name=password], #password", password)
            page.keyboard.press("Enter")
            page.wait_for_url(lambda u: "/login" not in u, timeout=LOAD_TIMEOUT_MS)
            for slug in slugs:
                page.goto(f"{url}/superset/dashboard/{slug}/?standalone=2", wait_until="networkidle",
                          timeout=LOAD_TIMEOUT_MS)
                page.wait_for_selector(".dashboard-component-chart-holder", timeout=LOAD_TIMEOUT_MS)
                # every chart holder has finished: no loading spinner left
                page.wait_for_function("document.querySelectorAll('.loading, [data-test=loading-indicator]').length === 0",
                                       timeout=LOAD_TIMEOUT_MS)
                page.wait_for_load_state("networkidle", timeout=LOAD_TIMEOUT_MS)
                page.wait_for_timeout(ANIMATION_MS)
                png = out / f"superset-{slug}.png"
                page.screenshot(path=str(png), full_page=True)
                big_numbers = tuple(BigNumber(b["id"], b["text"], b["colour"], b["background"])
                                    for b in page.evaluate(BIG_NUMBERS_JS))
                shots.append(DashboardShot(slug, png, page.inner_text("body"), big_numbers))
        finally:
            browser.close()
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("HELSEDATA_SUPERSET_URL", "http://127.0.0.1:8088"))
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    args = parser.parse_args(argv)
    shots = screenshot_dashboards(args.url, os.environ.get("HELSEDATA_SUPERSET_USERNAME", "admin"),
                                  os.environ["HELSEDATA_SUPERSET_PASSWORD"], args.out)
    failed = False
    for shot in shots:
        print(f"{shot.png}: {'errors: ' + ', '.join(shot.errors()) if shot.errors() else 'ok'}")
        failed = failed or bool(shot.errors())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
