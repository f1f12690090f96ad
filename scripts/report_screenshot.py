"""Screenshot of the indicator report's summary for the README (docs/img/indikatorrapport.png).

Usage: ``.venv/bin/python scripts/report_screenshot.py [--home DIR] [--scale 0.01] [--out PNG]``.
Without ``--home`` it runs ``helsedata run --demo`` into a temporary HELSEDATA_HOME first. The
picture is the first 1 280 × 1 100 pixels of ``indicators.html`` in Debian's headless Chromium.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from helsedata.cli import main

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def screenshot(report: Path, out: Path, width: int = 1280, height: int = 1100) -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("headless Chromium not found (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(report.as_uri())
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=out)
        browser.close()


def run(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="an existing HELSEDATA_HOME with a publication")
    parser.add_argument("--scale", default="0.01", help="demo scale when no --home is given")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "docs/img/indikatorrapport.png")
    args = parser.parse_args(argv)
    home = args.home or Path(tempfile.mkdtemp(prefix="helsedata-screenshot-"))
    if args.home is None and main(["run", "--demo", "--scale", args.scale], environ={"HELSEDATA_HOME": str(home)}):
        raise SystemExit("helsedata run --demo failed")
    screenshot(home / "reports" / "indicators.html", args.out)
    print(args.out)


if __name__ == "__main__":
    run()
