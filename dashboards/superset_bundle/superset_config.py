"""Superset configuration for Helsedata (read by Superset through ``SUPERSET_CONFIG_PATH``).

Used by ``scripts/superset-local.sh`` and by the real-Superset test. It sets what the dashboards
need to read as Norwegian: the d3 number locale (decimal comma, non-breaking space between
thousands, ``27,3 %``), Norwegian month and day names, and ``dd.mm.yyyy`` dates. Superset has no
bokmål translation of its own menus; those stay English, every title and text of the dashboards
is bokmål.

Environment:

* ``SUPERSET_SECRET_KEY`` (required): signs sessions and encrypts stored database passwords.
* ``HELSEDATA_SUPERSET_HOME``: folder of Superset's own metadata database (SQLite),
  default ``./var/superset``. Use Postgres (``HELSEDATA_SUPERSET_METADATA_URI``) in production.
"""

import os
from pathlib import Path

SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]
SUPERSET_HOME = Path(os.environ.get("HELSEDATA_SUPERSET_HOME", "var/superset")).resolve()
SQLALCHEMY_DATABASE_URI = os.environ.get(
    "HELSEDATA_SUPERSET_METADATA_URI", f"sqlite:///{SUPERSET_HOME / 'superset.db'}")

APP_NAME = "Helsedata"

# Norwegian number format for every chart: "1 335", "12,5", "27,3 %".
D3_FORMAT = {
    "decimal": ",",
    "thousands": "\u00a0",
    "grouping": [3],
    "currency": ["", "\u00a0kr"],
    "percent": "\u00a0%",
}
D3_TIME_FORMAT = {
    "dateTime": "%d.%m.%Y %H:%M:%S",
    "date": "%d.%m.%Y",
    "time": "%H:%M:%S",
    "periods": ["", ""],
    "days": ["søndag", "mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag"],
    "shortDays": ["søn.", "man.", "tir.", "ons.", "tor.", "fre.", "lør."],
    "months": ["januar", "februar", "mars", "april", "mai", "juni", "juli", "august",
               "september", "oktober", "november", "desember"],
    "shortMonths": ["jan.", "feb.", "mar.", "apr.", "mai", "jun.", "jul.", "aug.", "sep.", "okt.",
                    "nov.", "des."],
}

FEATURE_FLAGS = {
    # Render every chart of a dashboard at once, not only those scrolled into view, so a
    # screenshot of the whole page (docs/img/, the browser test) shows every chart.
    "DASHBOARD_VIRTUALIZATION": False,
}
