"""What the indicator page shows, computed from the published rows before any template runs.

The page follows the strategy's status report (Nasjonal e-helsestrategi, status Q1 2023): per
goal (Mål 1–5) its overall status, then each goal indicator with its latest value, target,
status colour, a small trend chart and a short comment. Below the summary each indicator has a
section with its bokmål definition and three charts: the national trend with the target, the
fylke comparison for the latest year and the spread of kommune values.

Per-registry indicators (breakdown ``register``) have one status per registry; the summary
shows the worst and names it, and the section lists them all.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dashboards import charts
from kernel.formats import SUPPRESSED_SYMBOL, format_number, format_period, format_scale

#: The five goals of the national e-health strategy, as the status report names them.
STRATEGY_GOALS = (
    ("Mål 1", "Aktiv medvirkning i egen og næres helse"),
    ("Mål 2", "Enklere arbeidshverdag"),
    ("Mål 3", "Helsedata til fornying og forbedring"),
    ("Mål 4", "Tilgjengelig informasjon og styrket samhandling"),
    ("Mål 5", "Samarbeid og virkemidler som styrker gjennomføringskraft"),
)


@dataclass(frozen=True)
class Status:
    """One traffic light: its colour class, a word for it and why."""

    key: str
    colour: str
    word: str
    meaning: str

    @property
    def rank(self) -> int:
        """Worse is higher: red 3, yellow 2, green 1, no light 0."""
        return {"red": 3, "yellow": 2, "green": 1}.get(self.colour, 0)


STATUSES = {
    "green": Status("green", "green", "Grønn", "målet er nådd, eller trenden når det i tide"),
    "yellow": Status("yellow", "yellow", "Gul", "innenfor 10 % av målet, men ikke i rute"),
    "red": Status("red", "red", "Rød", "bak både mål og trend"),
    "no_target": Status("no_target", "grey", "Uten mål", "indikatoren har ikke noe mål"),
    "no_data": Status("no_data", "grey", "Ingen verdi", "ingen verdi er publisert ennå"),
    "suppressed": Status("suppressed", "grey", "Skjult", "verdien er skjult av personvernhensyn"),
}

QUALITY_LABELS = {"bronze": "bronse", "silver": "sølv", "gold": "gull", "platinum": "platina"}
BREAKDOWN_WORDS = {"register": "registre", "tjenestetype": "teknologier"}


def status_of(row: Mapping[str, Any] | None) -> Status:
    """The light of one status-mart row (suppressed and missing rows have none).

    >>> status_of({"status": "red"}).word, status_of({"status": None, "suppressed": True}).word
    ('Rød', 'Skjult')
    >>> status_of(None).word
    'Ingen verdi'
    """
    if row is None:
        return STATUSES["no_data"]
    if row.get("suppressed"):
        return STATUSES["suppressed"]
    return STATUSES.get(str(row.get("status") or "no_data"), STATUSES["no_data"])


@dataclass
class Light:
    """The status shown for an indicator; for per-registry indicators the worst registry's."""

    status: Status
    worst: tuple[str, ...] = ()  # the registries (or groups) with this light, when there are several groups
    groups: int = 1

    @property
    def worst_text(self) -> str:
        """Which groups the light is taken from, e.g. "Svakest av 10: Kreftregisteret".

        >>> Light(STATUSES["red"], ("Kreftregisteret",), 10).worst_text
        'Svakest av 10: Kreftregisteret'
        >>> Light(STATUSES["green"], ("A", "B"), 2).worst_text
        'Alle 2 er grønne'
        >>> Light(STATUSES["no_target"], ("A",), 4).worst_text
        ''
        """
        if self.groups < 2 or not self.worst or not self.status.rank:  # no light, nothing to single out
            return ""
        if len(self.worst) == self.groups:
            return f"Alle {self.groups} er {self.status.word.lower()}e"
        return f"Svakest av {self.groups}: {', '.join(self.worst)}"


@dataclass
class Indicator:
    id: str
    name: str
    goal: str
    sub_goal: str
    unit: str | None
    texts: Mapping[str, str]
    latest_period: str | None
    latest_text: str
    target_text: str
    target_note: str
    light: Light
    group_lights: list[tuple[str, Status, str]]  # (group name, status, value) per registry
    quality_label: str | None
    spark: charts.Chart | None
    #: "" for a value the platform computed; for a reported figure where it comes from
    provenance: str = ""
    #: Said instead of a chart whose every value is hidden (e.g. all fylker at a small demo scale)
    geography_note: str = ""
    charts: list[charts.Chart] = field(default_factory=list)


@dataclass
class Goal:
    code: str
    title: str
    indicators: list[Indicator]

    @property
    def light(self) -> Status:
        """The worst light of the goal's indicators (grey when none has one)."""
        lit = [i.light.status for i in self.indicators if i.light.status.rank]
        return max(lit, key=lambda s: s.rank) if lit else STATUSES["no_target"]

    @property
    def counts(self) -> dict[str, int]:
        out = {"green": 0, "yellow": 0, "red": 0, "grey": 0}
        for i in self.indicators:
            out[i.light.status.colour] += 1
        return out


def _value_text(row: Mapping[str, Any] | None, unit: str | None) -> str:
    if row is None:
        return "–"
    if row.get("suppressed"):
        return SUPPRESSED_SYMBOL
    return format_number(row.get("value"), unit)


def _group_name(row: Mapping[str, Any], registry_names: Mapping[str, str]) -> str:
    code = str(row.get("breakdown_code") or "alle")
    if code == "alle":
        return "Hele landet"
    return row.get("breakdown_name") or registry_names.get(code) or code


def _target_text(definition: Mapping[str, Any], status_rows: Sequence[Mapping[str, Any]], unit: str | None,
                 scale: float | None) -> str:
    national_target = _float(definition.get("target"))
    if national_target is None:
        return "Ikke fastsatt"
    scaled = next((_float(r.get("target")) for r in status_rows if r.get("target") is not None), national_target)
    text = format_number(scaled, unit)
    if definition.get("target_year"):
        text += f" innen {definition['target_year']}"
    if scale is not None and scaled != national_target:
        text += f" ({format_number(national_target, unit)} for hele landet × skala {format_scale(scale)})"
    if str(definition.get("target_is_illustrative")).lower() == "true":
        text += " – illustrativt"
    return text


def _float(value: Any) -> float | None:
    try:
        return None if value in (None, "") else float(value)
    except (TypeError, ValueError):
        return None


def build_indicators(values: Sequence[Mapping[str, Any]], status: Sequence[Mapping[str, Any]],
                     definitions: Mapping[str, Mapping[str, Any]], texts: Mapping[str, Mapping[str, str]],
                     registry_names: Mapping[str, str], scale: float | None) -> list[Indicator]:
    """Every published indicator, in the order of the definitions seed."""
    by_indicator: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in values:
        by_indicator[row["indicator_id"]].append(row)
    status_by: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in status:
        status_by[row["indicator_id"]].append(row)
    order = list(definitions)
    out = []
    for indicator_id in sorted(set(by_indicator) | set(status_by),
                               key=lambda i: (order.index(i) if i in order else len(order), i)):
        out.append(_indicator(indicator_id, by_indicator.get(indicator_id, []), status_by.get(indicator_id, []),
                              definitions.get(indicator_id, {}), texts.get(indicator_id, {}), registry_names, scale))
    return out


def _indicator(indicator_id, rows, status_rows, definition, texts, registry_names, scale) -> Indicator:
    unit = definition.get("unit") or next((r.get("unit") for r in rows), None)
    name = definition.get("navn") or indicator_id
    if any(r.get("period_type") == "year" for r in rows):
        rows = [r for r in rows if r.get("period_type") in ("year", None)]
    national = sorted((r for r in rows if r["geo_level"] == "nasjonal"), key=lambda r: str(r["period"]))
    periods = sorted({str(r["period"]) for r in national})
    latest_period = periods[-1] if periods else None
    latest = [r for r in national if str(r["period"]) == latest_period]
    per_group = len({str(r.get("breakdown_code") or "alle") for r in national}) > 1

    light, group_lights = _lights(status_rows, national, latest_period, unit, registry_names)
    latest_text = _latest_text(latest, per_group, unit)
    series_rows = [(format_period(r["period"]), _group_name(r, registry_names), _value_text(r, unit)) for r in national]
    columns = ("År", "Gruppe", "Verdi") if per_group else ("År", "Hele landet")
    table = series_rows if per_group else [(p, v) for p, _, v in series_rows]
    points = [{"period": str(r["period"]), "group": _group_name(r, registry_names), "value": r["value"]}
              for r in national if not r.get("suppressed") and r.get("value") is not None]
    target_values = ([t for t in {_float(r.get("target")) for r in status_rows} if t is not None]
                     if _float(definition.get("target")) is not None else [])
    alt_trend = _trend_alt(name, points, unit, target_values, definition)
    spark = (charts.trend(f"{indicator_id}-spark", f"Utvikling: {name}", points, unit=unit,
                          targets=target_values, description=alt_trend, columns=columns, rows=table, small=True)
             if points else None)
    indicator = Indicator(
        id=indicator_id, name=name, goal=str(definition.get("strategy_goal") or ""),
        sub_goal=str(definition.get("sub_goal") or ""), unit=unit, texts=texts, latest_period=latest_period,
        latest_text=latest_text, target_text=_target_text(definition, status_rows, unit, scale),
        target_note=texts.get("maal_merknad", ""), light=light, group_lights=group_lights,
        quality_label=QUALITY_LABELS.get(next((r.get("input_quality_label") for r in reversed(national)
                                               if r.get("input_quality_label")), ""), None),
        spark=spark, provenance=provenance(latest[0] if latest else None))
    if points:
        indicator.charts.append(charts.trend(f"{indicator_id}-trend", "Utvikling, hele landet", points, unit=unit,
                                             targets=target_values, description=alt_trend, columns=columns, rows=table))
    if latest_period and not per_group:
        indicator.charts += _geography_charts(indicator_id, name, rows, latest_period, unit)
        indicator.geography_note = _geography_notes(rows, latest_period)
    return indicator


def provenance(row: Mapping[str, Any] | None) -> str:
    """Where a reported figure comes from; empty for a value the platform computed from data.

    >>> provenance({"origin": "rapportert", "source": "Statusrapport 2023", "reported_by": "Helsedirektoratet"})
    'Rapportert tall (ikke beregnet av plattformen): Statusrapport 2023, rapportert av Helsedirektoratet'
    >>> provenance({"origin": "beregnet"})
    ''
    """
    if not row or row.get("origin") != "rapportert":
        return ""
    text = f"Rapportert tall (ikke beregnet av plattformen): {row.get('source') or 'ukjent kilde'}"
    if row.get("reported_by"):
        text += f", rapportert av {row['reported_by']}"
    return text


def _latest_text(latest: Sequence[Mapping[str, Any]], per_group: bool, unit: str | None) -> str:
    """The latest national value; for an indicator per registry (or technology) the range of them."""
    if not per_group or not latest:
        return _value_text(latest[0] if latest else None, unit)
    shown = [r["value"] for r in latest if not r.get("suppressed") and r.get("value") is not None]
    if not shown:
        return SUPPRESSED_SYMBOL
    groups = BREAKDOWN_WORDS.get(str(latest[0].get("breakdown")), "grupper")
    return f"{format_number(min(shown), unit)} – {format_number(max(shown), unit)} ({len(latest)} {groups})"


def _lights(status_rows, national, latest_period, unit, registry_names) -> tuple[Light, list]:
    """The indicator's light (worst group's when per group) and the per-group lights."""
    groups = [r for r in status_rows if str(r.get("breakdown_code") or "alle") != "alle"]
    if not groups:
        total = next((r for r in status_rows if str(r.get("breakdown_code") or "alle") == "alle"), None)
        return Light(status_of(total)), []
    latest = {str(r.get("breakdown_code")): r for r in national if str(r["period"]) == latest_period}
    named = []
    for row in groups:
        code = str(row["breakdown_code"])
        value_row = latest.get(code)
        group = _group_name(value_row, registry_names) if value_row else registry_names.get(code, code)
        named.append((group, status_of(row), _value_text(value_row, unit)))
    named.sort(key=lambda g: (-g[1].rank, g[0]))
    worst = named[0][1]
    return Light(worst, tuple(g[0] for g in named if g[1] == worst), len(named)), named


def _trend_alt(name, points, unit, targets, definition) -> str:
    if not points:
        return f"Ingen publiserte verdier for {name}."
    groups = sorted({p["group"] for p in points})
    periods = sorted({p["period"] for p in points})
    text = f"Linjediagram: {name}, {format_period(periods[0])}–{format_period(periods[-1])}."
    for group in groups[:12]:
        series = sorted((p for p in points if p["group"] == group), key=lambda p: p["period"])
        text += (f" {group}: fra {format_number(series[0]['value'], unit)} i {format_period(series[0]['period'])}"
                 f" til {format_number(series[-1]['value'], unit)} i {format_period(series[-1]['period'])}.")
    if targets:
        year = definition.get("target_year")
        text += (f" Målet, {', '.join(format_number(t, unit) for t in sorted(targets))}"
                 f"{f' innen {year}' if year else ''}, er vist som stiplet linje.")
    return text


def _geography_notes(rows, period) -> str:
    """Sentences for the geography charts that cannot be drawn because (nearly) every value is
    hidden: no fylke shown, or fewer than three kommuner for a spread."""
    current = [r for r in rows if str(r["period"]) == period and str(r.get("breakdown_code") or "alle") == "alle"]
    notes = []
    for level, words, least in (("fylke", ("fylkestall", "fylkessammenligning"), 1),
                                ("kommune", ("kommunetall", "fordeling over kommunene"), 3)):
        cells = [r for r in current if r["geo_level"] == level]
        shown = [r for r in cells if not r.get("suppressed") and r.get("value") is not None]
        if cells and len(shown) < least:
            notes.append(f"{format_period(period)}: bare {len(shown)} av {len(cells)} {words[0]} er publisert (de andre "
                         f"er skjult av personvernhensyn), så det er ingen {words[1]} å vise.")
    return " ".join(notes)


def _geography_charts(indicator_id, name, rows, period, unit) -> list[charts.Chart]:
    """Fylke comparison and kommune spread for the latest period (total breakdown only)."""
    out = []
    current = [r for r in rows if str(r["period"]) == period and str(r.get("breakdown_code") or "alle") == "alle"]
    fylker = sorted((r for r in current if r["geo_level"] == "fylke"), key=lambda r: str(r.get("geo_name") or r["geo_code"]))
    shown = [r for r in fylker if not r.get("suppressed") and r.get("value") is not None]
    if shown:
        ranked = sorted(shown, key=lambda r: -float(r["value"]))
        hidden = len(fylker) - len(shown)
        alt = f"Stolpediagram: {name} per fylke i {format_period(period)}."
        if len(ranked) == 1:
            alt += f" Bare {ranked[0]['geo_name']} har et publisert tall ({format_number(ranked[0]['value'], unit)})."
        else:
            alt += (f" Høyest i {ranked[0]['geo_name']} ({format_number(ranked[0]['value'], unit)}),"
                    f" lavest i {ranked[-1]['geo_name']} ({format_number(ranked[-1]['value'], unit)}).")
        if hidden:
            alt += f" {hidden} fylker med skjulte tall er utelatt."
        out.append(charts.bars(
            f"{indicator_id}-fylker", f"Fylkene, {format_period(period)}",
            [{"name": r["geo_name"] or r["geo_code"], "value": r["value"]} for r in ranked], unit=unit, description=alt,
            columns=("Fylke", "Verdi"), rows=[(r.get("geo_name") or r["geo_code"], _value_text(r, unit)) for r in fylker]))
    kommuner = [r for r in current if r["geo_level"] == "kommune"]
    shown_k = sorted((r for r in kommuner if not r.get("suppressed") and r.get("value") is not None),
                     key=lambda r: float(r["value"]))
    if len(shown_k) >= 3:
        hidden = len(kommuner) - len(shown_k)
        numbers = [float(r["value"]) for r in shown_k]
        alt = (f"Boksplott: fordelingen av {name} i {len(shown_k)} kommuner i {format_period(period)}."
               f" Median {format_number(statistics.median(numbers), unit)}, fra"
               f" {format_number(numbers[0], unit)} ({shown_k[0]['geo_name']}) til"
               f" {format_number(numbers[-1], unit)} ({shown_k[-1]['geo_name']}).")
        alt += (f" {hidden} kommuner med tall skjult av personvernhensyn er utelatt." if hidden
                else " Ingen kommuner er utelatt.")
        table = [(r.get("geo_name") or r["geo_code"], _value_text(r, unit))
                 for r in sorted(kommuner, key=lambda r: str(r.get("geo_name") or r["geo_code"]))]
        out.append(charts.spread(f"{indicator_id}-kommuner", f"Kommunene, {format_period(period)}", numbers,
                                 unit=unit, description=alt, columns=("Kommune", "Verdi"), rows=table))
    return out


def build_goals(indicators: Sequence[Indicator]) -> list[Goal]:
    """The five strategy goals with their indicators (a goal without any is listed, empty)."""
    goals = []
    for code, title in STRATEGY_GOALS:
        goals.append(Goal(code, title, [i for i in indicators if i.goal.split(":")[0].strip() == code]))
    return goals
