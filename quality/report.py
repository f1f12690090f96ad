"""The HTML quality report people read: ``$HELSEDATA_HOME/reports/quality.html``.

In bokmål with Norwegian number formats, like the indicator report. The quality run keeps its
texts (label reasons, check descriptions) in English, because they are also log and JSON output
for developers; :func:`to_bokmal` puts them into bokmål for the page through the message
catalogue :data:`PHRASES`. A text the catalogue does not know is shown as it is (and the report
tests, which scan every page for English words, fail on it), so a new check or reason is found.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from kernel.config import Settings
from kernel.formats import format_date, format_number
from quality.labels import LABEL_NAMES

TEMPLATE = "quality_report.html.j2"

SEVERITIES = {"critical": "kritisk", "warning": "advarsel"}
CATEGORIES = {"conformance": "samsvar", "completeness": "kompletthet", "plausibility": "plausibilitet"}
CONTEXTS = {"verification": "verifikasjon", "validation": "validering"}


def _pct(text: str) -> str:
    """``85%`` → ``85 %`` (a narrow no-break space before the sign)."""
    return re.sub(r"(\d)\s?%", "\\1\u202f%", text)


def _categories(text: str) -> str:
    for english, norwegian in CATEGORIES.items():
        text = text.replace(english, norwegian)
    return text.replace(" and ", " og ")


def _checks_fail(n: int, severity: str, names: str) -> str:
    singular, plural = {"critical": ("kritisk kontroll", "kritiske kontroller"),
                        "warning": ("advarselskontroll", "advarselskontroller")}[severity]
    return f"{n} {singular if n == 1 else plural} feiler: {names}"


#: (English pattern, bokmål) pairs: label reasons (quality/labels.py) and check descriptions
#: (quality/specs.py). Patterns match a whole text; groups are carried over.
PHRASES: tuple[tuple[str, str | Callable[[re.Match], str]], ...] = (
    # label reasons
    (r"not (silver|gold|platinum): (.*)", lambda m: f"ikke {LABEL_NAMES[m[1]]}: {to_bokmal(m[2])}"),
    (r"silver: all critical checks pass; documentation (.*)",
     lambda m: f"sølv: alle kritiske kontroller består; dokumentasjon {_pct(m[1])}"),
    (r"gold: all checks pass; newest load (\d+) days old", r"gull: alle kontroller består; nyeste innlasting er \1 dager gammel"),
    (r"platinum: fully documented; conformance, completeness and plausibility all checked",
     "platina: fullt dokumentert; samsvar, kompletthet og plausibilitet er kontrollert"),
    (r"no checks ran", "ingen kontroller ble kjørt"),
    (r"(\d+) (critical|warning) check\(s\) fail: (.*)", lambda m: _checks_fail(int(m[1]), m[2], m[3])),
    (r"documentation unknown < (\S+)", lambda m: f"dokumentasjon ukjent < {_pct(m[1])}"),
    (r"documentation (\S+) < (\S+)", lambda m: f"dokumentasjon {_pct(m[1])} < {_pct(m[2])}"),
    (r"timeliness unknown \(no load recorded\)", "aktualitet ukjent (ingen innlasting registrert)"),
    (r"newest load (\d+) days old > (\d+)", r"nyeste innlasting er \1 dager gammel (mer enn \2)"),
    (r"no (.*) checks", lambda m: f"ingen kontroller av {_categories(m[1])}"),
    # check descriptions
    (r"The table has exactly the declared columns with the declared types\.",
     "Tabellen har nøyaktig de deklarerte kolonnene med de deklarerte typene."),
    (r"The table has rows\.", "Tabellen har rader."),
    (r"The dataset exists in the warehouse\.", "Datasettet finnes i lageret."),
    (r"Each extract line is loaded once\.", "Hver linje i uttrekket er lastet én gang."),
    (r"(\w+) is always filled\.", r"\1 er alltid fylt ut."),
    (r"(\w+) belongs to code list (\w+) where (\w+)\.", r"\1 finnes i kodelisten \2 (der \3)."),
    (r"(\w+) belongs to code list (\w+)\.", r"\1 finnes i kodelisten \2."),
    (r"person_id is a 64-hex-character HMAC-SHA-256 pseudonym\.",
     "person_id er et pseudonym: 64 heksadesimale tegn (HMAC-SHA-256)."),
    (r"kjonn is M or K\.", "kjonn er M eller K."),
    (r"Birth year between (\d+) and this year\.", r"Fødselsåret er mellom \1 og i år."),
    (r"kommunenummer was a valid code \(SSB Klass 131\) on (\w+)\.",
     r"kommunenummer var en gyldig kode (SSB Klass 131) på \1."),
    (r"(\w+) is not in the future and not before (\S+)\.", r"\1 er ikke fram i tid og ikke før \2."),
    (r"(\w+) is on or after (\w+) \(when filled\)\.", r"\1 er samme dag som eller etter \2 (når fylt ut)."),
    (r"One row per indicator, period, geography and breakdown\.",
     "Én rad per indikator, periode, geografi og gruppe."),
    (r"One row per indicator \(and breakdown\): latest value against the target\.",
     "Én rad per indikator (og gruppe): siste verdi mot målet."),
    (r"One row per registry, reporting unit and month\.", "Én rad per register, rapporteringsenhet og måned."),
    (r"One row per (.*)\.", r"Én rad per \1."),
    ((r"Each (\w+)'s row count in the latest period is (\S+)–(\S+) times the previous period's "
      r"\(at most (\S+) % of \w+ outside; groups under (\d+) rows before are not compared\)\."),
     lambda m: (f"Antall rader per {m[1]} i siste periode er {m[2].replace('.', ',')}–{m[3].replace('.', ',')} "
                f"ganger forrige periode (høyst {m[4].replace('.', ',')}\u202f% utenfor; grupper med under {m[5]} "
                "rader før sammenlignes ikke).")),
    (r"(\w+) is not negative\.", r"\1 er ikke negativ."),
    (r"periode is a month, YYYY-MM\.", "periode er en måned, ÅÅÅÅ-MM."),
    (r"Deliveries received electronically ≤ deliveries received\.", "Leveranser mottatt elektronisk ≤ leveranser mottatt."),
    (r"Deliveries received on time ≤ deliveries received\.", "Leveranser mottatt innen frist ≤ leveranser mottatt."),
    (r"(\w+) is a kommunenummer valid in the period or a 9-digit organisation number\.",
     r"\1 er et kommunenummer som gjaldt i perioden, eller et organisasjonsnummer med 9 sifre."),
    (r"A person has 0 to 4 of the four welfare technologies in a year\.",
     "En person har 0 til 4 av de fire velferdsteknologiene i et år."),
    (r"Digital contacts are among the contacts\.", "Digitale kontakter er blant kontaktene."),
    (r"One row per pseudonymised person and year \(the analysis room's linked dataset\)\.",
     "Én rad per pseudonymisert person og år (analyserommets koblede datasett)."),
    (r"The documented columns exist with their types\.", "De dokumenterte kolonnene finnes med sine typer."),
    (r"At most 5 % of values are missing\.", "Høyst 5\u202f% av verdiene mangler."),
    (r"Indicators measured as a share have values in \[0, 1\]\.", "Indikatorer målt som andel har verdier i [0, 1]."),
    (r"For shares, numerator ≤ denominator\.", "For andeler er teller ≤ nevner."),
    (r"Counts and rates are not negative\.", "Antall og rater er ikke negative."),
    (r"'no_data' exactly when a target is set and there is no value\.",
     "'no_data' nøyaktig når et mål er satt og det ikke finnes noen verdi."),
    (r"coverage = min\(mottatt, forventet\) / forventet \(received, capped at expected\)\.",
     "dekningsgrad = min(mottatt, forventet) / forventet (mottatt, men høyst forventet)."),
    (r"A target says which year it is for\.", "Et mål sier hvilket år det gjelder for."),
    (r"Counts, shares, rates and medians are not negative\.", "Antall, andeler, rater og medianer er ikke negative."),
    (r"Nothing is suppressed in the mart; disclosure control happens at publication\.",
     "Ingenting er skjult i marten; avsløringskontroll skjer ved publisering."),
    (r"The rolling coverage covers 1 to 12 months\.", "Den glidende dekningsgraden dekker 1 til 12 måneder."),
    (r"Where both are known, numerator ≤ denominator\.", "Der begge er kjent, er teller ≤ nevner."),
    (r"table (\S+) does not exist", r"tabellen \1 finnes ikke"),
)
_COMPILED = tuple((re.compile(pattern, re.DOTALL), replacement) for pattern, replacement in PHRASES)


def to_bokmal(text: str | None) -> str:
    """A label reason or check description of the quality run, in bokmål.

    >>> to_bokmal("not gold: newest load 40 days old > 35")
    'ikke gull: nyeste innlasting er 40 dager gammel (mer enn 35)'
    >>> to_bokmal("silver: all critical checks pass; documentation 85%")
    'sølv: alle kritiske kontroller består; dokumentasjon 85\\u202f%'
    >>> to_bokmal("kjonn is M or K.")
    'kjonn er M eller K.'
    """
    if not text:
        return ""
    for pattern, replacement in _COMPILED:
        match = pattern.fullmatch(text)
        if match:
            return replacement(match) if callable(replacement) else match.expand(replacement)
    return text


_IDENTIFIER = re.compile(r"\b([a-z][a-z0-9]*(?:_[a-z0-9]+)+)\b")


def mark_identifiers(text: str):
    """Escape ``text`` and set identifiers (``snake_case`` names of checks and columns) in ``<code>``.

    >>> str(mark_identifiers("1 advarselskontroll feiler: rows_per_month <x>"))
    '1 advarselskontroll feiler: <code>rows_per_month</code> &lt;x&gt;'
    """
    from markupsafe import Markup, escape

    return Markup(_IDENTIFIER.sub(r"<code>\1</code>", str(escape(text))))


def _example_value(value) -> str:
    """An example cell: numbers in Norwegian format, the rest as it is."""
    if isinstance(value, float):
        return format_number(value, decimals=3)
    return "" if value is None else str(value)


def _percent(value: float | None, digits: int = 1) -> str:
    """A percentage (already ×100) in Norwegian format: ``11,1 %``."""
    if value is None:
        return "–"
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:.0f}"
    return text.replace(".", ",") + "\u202f%"


def failing_share(result) -> str:
    """How much of a dataset a failing check hit, in words that add up.

    GX computes the share of rows *with a value* in the column; the counts are of all rows. When the
    two differ the text says so.

    >>> from types import SimpleNamespace as R
    >>> failing_share(R(unexpected_percent=11.1111, unexpected_count=2, element_count=282))
    '11,1\u202f% av radene med verdi (2 av 282 rader)'
    >>> failing_share(R(unexpected_percent=50.0, unexpected_count=1, element_count=2))
    '50\u202f% (1 av 2 rader)'
    """
    if result.unexpected_percent is None:
        return "feilet"
    counts = ""
    if result.unexpected_count is not None and result.element_count:
        counts = f"{format_number(result.unexpected_count)} av {format_number(result.element_count)} rader"
        if abs(100 * result.unexpected_count / result.element_count - result.unexpected_percent) > 0.05:
            return f"{_percent(result.unexpected_percent)} av radene med verdi ({counts})"
    return f"{_percent(result.unexpected_percent)} ({counts})" if counts else _percent(result.unexpected_percent)


def render(run, demo: str | None = None) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("quality", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]))
    env.filters.update(nb=to_bokmal, failing=failing_share, ids=mark_identifiers, example=_example_value, num=format_number, pct=_percent, date=format_date,
                       label=lambda label: LABEL_NAMES.get(label, label),
                       severity=lambda s: SEVERITIES.get(s, s), category=lambda c: CATEGORIES.get(c, c),
                       context=lambda c: CONTEXTS.get(c, c))
    return env.get_template(TEMPLATE).render(run=run, demo=demo)


def write_report(settings: Settings, run) -> Path:
    from dashboards.report import demo_notice
    from kernel.demo import demo_scale

    settings.reports.mkdir(parents=True, exist_ok=True)
    path = settings.reports / "quality.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render(run, demo_notice(demo_scale(settings))), encoding="utf-8")
    tmp.replace(path)
    return path
