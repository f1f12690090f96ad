"""One page per health registry, for its owner: how reporting goes, and who to call first.

Computed from ``public.registry_reporting_coverage`` (one row per registry, reporting unit and
month; published exactly, it is not about persons). A page has

* coverage, digital share and on-time share per month for the whole registry (a chart, with the
  thresholds of ``dbt_project.yml`` as dashed lines, and its table), and
* the **worklist**: the reporting units below a threshold in the latest month, sorted by missing
  deliveries (expected − received), with their names. Kommune codes are named through the
  2024 list, and codes that no longer exist through SSB's crosswalk ("Rygge (nå Moss)");
  organisation numbers through the seed ``rapporteringsenheter`` when it names them (the demo's
  synthetic organisations have no names: the page says so and shows the number).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from dashboards import charts
from kernel.formats import format_period, format_share

#: Months shown in a registry's chart and table.
MONTHS_SHOWN = 36
#: The months of the worklist's "months below a threshold" count.
HISTORY_MONTHS = 12
MEASURES = (("coverage", "Dekningsgrad"), ("digital_share", "Digital andel"), ("on_time_share", "Rettidig andel"))
THRESHOLD_VARS = {"coverage": "coverage_threshold", "digital_share": "digital_threshold",
                  "on_time_share": "on_time_threshold"}


@cache
def thresholds() -> dict[str, float]:
    """The flag thresholds the coverage mart uses (``vars`` of ``dbt_project.yml``): one copy."""
    import yaml

    from kernel.config import DBT_PROJECT_DIR

    config = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    return {measure: float(config["vars"][var]) for measure, var in THRESHOLD_VARS.items()}


@cache
def unit_names() -> dict[str, str]:
    """Reporting unit → name: 2024 kommuner, old kommune codes (crosswalk), named organisations."""
    from kernel.codelists import read_seed

    names = {r["kommunenummer"]: r["kommunenavn"] for r in read_seed("kommuner_2024")}
    old: dict[str, tuple[str, str, str]] = {}
    for r in read_seed("kommune_crosswalk_to_2024"):
        code = r["source_kommunenummer"]
        if code not in names and (code not in old or r["source_year"] > old[code][0]):
            old[code] = (r["source_year"], r["source_kommunenavn"], r["kommunenavn_2024"])
    for code, (_, name, now) in old.items():
        names[code] = f"{name} (gammelt kommunenr.)" if name == now else f"{name} (nå {now})"
    try:
        organisations = read_seed("rapporteringsenheter")
    except LookupError:
        organisations = ()
    names.update({r["organisasjonsnummer"]: r["navn"] for r in organisations})
    return names


def unit_label(code: str) -> str:
    """A reporting unit's name, or that it has none on record (the number is shown beside it).

    >>> unit_label("3911"), unit_label("0136"), unit_label("3811"), unit_label("312345674")
    ('Færder', 'Rygge (nå Moss)', 'Færder (gammelt kommunenr.)', 'Navn ikke registrert')
    """
    return unit_names().get(code, "Navn ikke registrert")


def unit_number(code: str) -> str:
    """An organisation number grouped as Brønnøysundregistrene writes it; other codes as they are.

    >>> unit_number("312345674"), unit_number("0301")
    ('312 345 674', '0301')
    """
    return f"{code[:3]} {code[3:6]} {code[6:]}" if len(code) == 9 and code.isdigit() else code


@dataclass
class WorkItem:
    name: str
    code: str
    expected: int
    received: int
    missing: int
    coverage: str
    digital: str
    on_time: str
    below: str
    months_below: int


@dataclass
class RegistryPage:
    code: str
    name: str
    owner: str
    slug: str
    latest_period: str | None
    latest_coverage: str
    units: int
    worklist: list[WorkItem]
    chart: charts.Chart | None

    @property
    def href(self) -> str:
        return f"registre/{self.slug}.html"


def _share(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def monthly(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The registry's shares per month over all its units (capped received / expected, ...).

    >>> monthly([{"periode": "2024-01", "forventet": 10, "coverage": 0.5, "mottatt": 5,
    ...           "mottatt_digitalt": 5, "mottatt_innen_frist": 4}])
    [{'periode': '2024-01', 'coverage': 0.5, 'digital_share': 1.0, 'on_time_share': 0.8}]
    """
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0, 0.0])
    for r in rows:
        s = sums[str(r["periode"])]
        # float(): DuckDB hands DECIMAL columns over as Decimal, which does not mix with float
        s[0] += float(r.get("coverage") or 0) * float(r.get("forventet") or 0)
        s[1] += float(r.get("forventet") or 0)
        s[2] += float(r.get("mottatt_digitalt") or 0)
        s[3] += float(r.get("mottatt_innen_frist") or 0)
        s[4] += float(r.get("mottatt") or 0)
    return [{"periode": p, "coverage": _share(s[0], s[1]), "digital_share": _share(s[2], s[4]),
             "on_time_share": _share(s[3], s[4])} for p, s in sorted(sums.items())]


def _below_words(row: Mapping[str, Any]) -> str:
    words = [word for flag, word in (("below_coverage_threshold", "dekningsgrad"),
                                     ("below_digital_threshold", "digital andel"),
                                     ("below_on_time_threshold", "rettidighet")) if row.get(flag)]
    return ", ".join(words)


def worklist(rows: Sequence[Mapping[str, Any]], latest: str) -> list[WorkItem]:
    """Units below a threshold in month ``latest``, most missing deliveries first."""
    recent = sorted({str(r["periode"]) for r in rows})[-HISTORY_MONTHS:]
    months_below: dict[str, int] = defaultdict(int)
    for r in rows:
        if str(r["periode"]) in recent and r.get("below_threshold"):
            months_below[r["rapporteringsenhet"]] += 1
    items = []
    for r in rows:
        if str(r["periode"]) != latest or not r.get("below_threshold"):
            continue
        expected, received = int(r.get("forventet") or 0), int(r.get("mottatt") or 0)
        items.append(WorkItem(
            name=unit_label(r["rapporteringsenhet"]), code=unit_number(r["rapporteringsenhet"]),
            expected=expected, received=received, missing=max(expected - received, 0),
            coverage=format_share(r.get("coverage")), digital=format_share(r.get("digital_share")),
            on_time=format_share(r.get("on_time_share")), below=_below_words(r),
            months_below=months_below[r["rapporteringsenhet"]]))
    items.sort(key=lambda i: (-i.missing, -i.months_below, i.name))
    return items


def _chart(code: str, name: str, months: list[dict[str, Any]]) -> charts.Chart | None:
    shown = months[-MONTHS_SHOWN:]
    points = [{"period": f"{m['periode']}-01", "group": label, "value": m[measure]}
              for m in shown for measure, label in MEASURES if m[measure] is not None]
    if not points:
        return None
    limits = thresholds()
    last = shown[-1]
    alt = (f"Linjediagram: dekningsgrad, digital andel og rettidig andel for {name} per måned,"
           f" {format_period(shown[0]['periode'])}–{format_period(last['periode'])}. Siste måned: "
           + ", ".join(f"{label.lower()} {format_share(last[measure])}" for measure, label in MEASURES)
           + ". Tersklene ("
           + ", ".join(f"{label.lower()} {format_share(limits[measure])}" for measure, label in MEASURES)
           + ") er vist som stiplede linjer.")
    rows = [(format_period(m["periode"]), *(format_share(m[measure]) for measure, _ in MEASURES)) for m in shown]
    return charts.trend(f"register-{code.lower()}", "Innrapportering per måned", points, unit="andel",
                        targets=sorted(set(limits.values())), description=alt,
                        columns=("Måned", *(label for _, label in MEASURES)), rows=rows)


def build_registry_pages(coverage: Sequence[Mapping[str, Any]]) -> list[RegistryPage]:
    """One page per registry that has reporting rows, in the order of the registry code list."""
    from kernel.codelists import read_seed

    by_registry: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in coverage:
        by_registry[row["register"]].append(row)
    registry_seed = {r["register"]: r for r in read_seed("codelist_register")}
    order = list(registry_seed)
    pages = []
    for code in sorted(by_registry, key=lambda c: (order.index(c) if c in order else len(order), c)):
        rows = by_registry[code]
        seed = registry_seed.get(code, {})
        name = seed.get("navn") or rows[0].get("register_navn") or code
        months = monthly(rows)
        latest = months[-1]["periode"] if months else None
        pages.append(RegistryPage(
            code=code, name=name, owner=seed.get("registerforvalter", ""), slug=code.lower(),
            latest_period=latest, latest_coverage=format_share(months[-1]["coverage"]) if months else "–",
            units=len({r["rapporteringsenhet"] for r in rows if str(r["periode"]) == latest}),
            worklist=worklist(rows, latest) if latest else [], chart=_chart(code, name, months)))
    return pages


def registry_names() -> dict[str, str]:
    """Registry code → name, for per-registry indicators."""
    from kernel.codelists import read_seed

    return {r["register"]: r["navn"] for r in read_seed("codelist_register")}


__all__ = ["RegistryPage", "WorkItem", "build_registry_pages", "monthly", "registry_names",
           "thresholds", "unit_label", "unit_number", "worklist"]
