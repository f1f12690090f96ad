"""`helsedata room`: the secure analysis room (docs/analysis-room.md). Logic lives in :mod:`privacy.room`.

``--json`` prints the shapes of docs/analysis-room.md unchanged; without it every command prints bokmål text with
Norwegian number and date formats ("1 234", "45,3", "30.06.2027"): counts as integers, means with
one decimal, accuracy rounded ("± 12"), exact ε as fractions, and no Python reprs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from helsedata.cli import emit, json_option, settings
from helsedata.cli.bokmal import Group
from kernel.config import Settings
from kernel.errors import ConfigurationError, UserInputError

#: Thousands separator in Norwegian numbers (narrow no-break space, as in the HTML report).
THOUSANDS = "\u202f"
MECHANISMS = {"discrete_laplace": "diskret Laplace", "exponential_quantile": "eksponensiell mekanisme"}
STATUSES = {"submitted": "venter på vurdering", "approved": "godkjent", "rejected": "avslått",
            "active": "aktiv", "revoked": "tilbakekalt"}
#: Column headings of a released statistic.
STATISTIC_HEADINGS = {"count": "antall", "sum": "sum", "mean": "gjennomsnitt", "quantile": "kvantil"}
#: What an accuracy bound is on ("± 12 på antallet").
ACCURACY_OF = {"count": "antallet", "sum": "summen"}


def integer(value: float) -> str:
    """A count, rounded, with Norwegian thousands separators.

    >>> integer(1234.6), integer(-3)
    ('1\u202f235', '-3')
    """
    return f"{round(value):,}".replace(",", THOUSANDS)


def decimal(value: float | None, digits: int = 1) -> str:
    """A measured value with a decimal comma (``–`` when there is none).

    >>> decimal(45.26), decimal(1234.5), decimal(None)
    ('45,3', '1\u202f234,5', '–')
    """
    if value is None:
        return "–"
    return f"{value:,.{digits}f}".replace(",", THOUSANDS).replace(".", ",")


def plus_minus(value: float) -> str:
    """An accuracy bound: whole numbers from 10 up, one decimal below.

    >>> plus_minus(120.34), plus_minus(2.345)
    ('± 120', '± 2,3')
    """
    return f"± {integer(value) if value >= 10 else decimal(value)}"


def norwegian_date(iso: str | None) -> str:
    """``2027-06-30`` → ``30.06.2027``; a UTC timestamp also gets its time of day.

    >>> norwegian_date("2027-06-30"), norwegian_date("2026-11-29T18:47:26.123456+00:00")
    ('30.06.2027', '29.11.2026 18:47 UTC')
    """
    if not iso:
        return "–"
    day = f"{iso[8:10]}.{iso[5:7]}.{iso[0:4]}"
    return f"{day} {iso[11:16]} UTC" if len(iso) > 10 else day


def accuracy_text(accuracy: Any, statistic: str) -> str:
    """What ``accuracy_95`` promises, in words."""
    if accuracy is None:
        return "ingen lukket nøyaktighetsgrense for kvantilen"
    if isinstance(accuracy, dict):
        return (f"95 % nøyaktighet {plus_minus(accuracy['sum'])} på {ACCURACY_OF['sum']} og "
                f"{plus_minus(accuracy['count'])} på {ACCURACY_OF['count']} i hver celle")
    return f"95 % nøyaktighet {plus_minus(accuracy)} på {ACCURACY_OF[statistic]} i hver celle"


def table(headings: Sequence[str], rows: Sequence[Sequence[str]], numbers: int = 0) -> str:
    """Text columns two spaces apart; the last ``numbers`` columns (figures) right-aligned.

    >>> print(table(["kjonn", "antall"], [["K", "1\u202f234"], ["M", "12"]], numbers=1))
    kjonn  antall
    K       1\u202f234
    M          12
    """
    widths = [max(len(c) for c in column) for column in zip(headings, *rows)]
    first_number = len(headings) - numbers
    return "\n".join(
        "  ".join(c.rjust(w) if i >= first_number else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()
        for row in [headings, *rows])


def _release_rows(result: dict) -> str:
    """The released cells as a table: public keys, then the statistic (and a mean's count)."""
    statistic, rows = result["statistic"], result["rows"]
    keys = list(result["by"])
    columns = {"count": ["count"], "sum": ["sum"], "mean": ["mean", "count"], "quantile": ["quantile"]}[statistic]
    headings = keys + [STATISTIC_HEADINGS[c] for c in columns]
    cells = [[str(r[k]) for k in keys] + [decimal(r[c]) if c == "mean" else integer(r[c]) for c in columns]
             for r in rows]
    return table(headings, cells, numbers=len(columns))


def room_settings() -> Settings:
    """The settings of a room command that reads the warehouse, refused when there is none.

    Without this, a command run in the wrong folder answers "no such permit" from a new, empty
    room. The check is made by the commands that use the warehouse (``datasets`` does not: the
    catalogue is declared), not by the group, so ``--help`` works anywhere.
    """
    home = settings()
    if not home.warehouse.exists():
        raise ConfigurationError(
            f"fant ikke noe varehus i {home.home}: sett HELSEDATA_HOME til plattformens mappe "
            "(eller kjør `helsedata run --demo` for å lage en demo)"
        )
    return home


def where_option(command):
    """``--where KEY=VALUE[,KEY=VALUE]``, shared by ``query`` and ``release request``."""
    return click.option(
        "--where", help="Filtre på offentlige nøkler og flagg som en rad må oppfylle alle av, "
                        "f.eks. has_vft=true,aldersgruppe=80+ (verdier fra de offentlige domenene).")(command)


@click.group(name="room", cls=Group)
def room() -> None:
    """Analyserommet: søk om datatilgang, vurder søknader, kjør DP-spørringer, sjekk budsjett og revisjonslogg.

    Personverntapet oppgis som epsilon (ε). ε kan skrives som desimaltall (0.1) eller brøk (1/3);
    verdiene lagres eksakt, så budsjettet blir aldri overskredet på grunn av avrunding.
    """


@room.command(name="datasets")
@json_option
def datasets_cmd(as_json: bool) -> None:
    """List opp datasettene forskere kan søke om, med grupperings- og tallkolonnene deres."""
    from privacy.room import datasets

    result = datasets()
    human = "\n".join(
        f"{d['name']}: {d['description']}\n  grupper etter: {', '.join(d['group_by'])}\n"
        f"  numeriske kolonner: {', '.join(d['numeric']) or '–'}\n"
        f"  høyst {d['contribution_bound']} rader per person per spørring"
        + ("; --count teller ulike personer" if d.get("counts") == "persons" else "")
        for d in result
    )
    emit(result, as_json, human)


@room.command(name="apply")
@click.option("--researcher", required=True, help="Din forsker-ID (innehaveren av tillatelsen).")
@click.option("--purpose", required=True, help="Hva dataene skal brukes til.")
@click.option("--datasets", required=True, help="Kommaseparerte katalognavn (se 'room datasets').")
@click.option("--epsilon", required=True, help="Samlet personvernbudsjett det søkes om, f.eks. 1 eller 1/2.")
@json_option
def apply_cmd(researcher: str, purpose: str, datasets: str, epsilon: str, as_json: bool) -> None:
    """Søk om tillatelse til å bruke data."""
    from privacy.room import apply

    result = apply(room_settings(), researcher, purpose, datasets, epsilon)
    emit(result, as_json, f"Søknad {result['application_id']} er sendt inn.")


@room.command(name="review")
@click.argument("application")
@click.option("--reviewer", required=True, help="Din saksbehandler-ID; må være en annen enn søkerens.")
@click.option("--approve", "decision", flag_value="approve", help="Godkjenn og opprett en tillatelse.")
@click.option("--reject", "decision", flag_value="reject", help="Avslå (krever --reason).")
@click.option("--epsilon", help="Innvilget budsjett (standard: som omsøkt; aldri mer).")
@click.option("--expires", help="Siste gyldige dag for tillatelsen, ÅÅÅÅ-MM-DD (standard: ett år).")
@click.option("--reason", help="Hvorfor søknaden avslås (påkrevd med --reject).")
@json_option
def review_cmd(application: str, reviewer: str, decision: str | None, epsilon: str | None,
               expires: str | None, reason: str | None, as_json: bool) -> None:
    """Godkjenn eller avslå søknaden APPLICATION."""
    from privacy.room import review

    if decision is None:
        raise UserInputError("velg --approve eller --reject")
    result = review(room_settings(), application, reviewer, approve=decision == "approve",
                    epsilon=epsilon, expires=expires, reason=reason)
    human = (f"Godkjent: tillatelse {result['permit_id']} (ε = {result['epsilon_budget_exact']}, "
             f"gyldig til og med {norwegian_date(result['expires'])})." if decision == "approve"
             else f"Søknad {application} er avslått.")
    emit(result, as_json, human)


@room.command(name="revoke")
@click.argument("permit")
@click.option("--by", "by", required=True, help="ID-en til den som tilbakekaller tillatelsen.")
@click.option("--reason", required=True, help="Hvorfor tillatelsen tilbakekalles.")
@json_option
def revoke_cmd(permit: str, by: str, reason: str, as_json: bool) -> None:
    """Tilbakekall tillatelsen PERMIT; senere spørringer avvises (brukt ε forblir brukt)."""
    from privacy.room import revoke

    result = revoke(room_settings(), permit, by, reason)
    emit(result, as_json, f"Tillatelse {permit} er tilbakekalt.")


@room.command(name="query")
@click.option("--permit", required=True, help="Tillatelsens ID.")
@click.option("--researcher", required=True, help="Din forsker-ID (må ha tillatelsen).")
@click.option("--dataset", required=True, help="Datasettets navn (må være dekket av tillatelsen).")
@click.option("--by", "by", default="", help="Kommaseparerte grupperingskolonner (bare offentlige nøkler).")
@click.option("--count", "statistic", flag_value="count", help="Tell rader per gruppe.")
@click.option("--sum", "sum_col", help="Summen av COL per gruppe (krever --bounds).")
@click.option("--mean", "mean_col", help="Gjennomsnittet av COL per gruppe (krever --bounds).")
@click.option("--quantile", "quantile_col", help="Kvantil av COL per gruppe (krever --q og --bounds).")
@click.option("--q", type=float, help="Kvantilnivå, strengt mellom 0 og 1 (f.eks. 0.5).")
@click.option("--bounds", help="Heltallsgrenser LO,HI som verdiene klippes til, for --sum/--mean/--quantile.")
@click.option("--epsilon", required=True, help="ε denne spørringen bruker, f.eks. 0.1 eller 1/3.")
@click.option("--preview", is_flag=True, help="Vis nøyaktighet og kostnad uten å bruke budsjett eller lese data.")
@where_option
@json_option
def query_cmd(permit: str, researcher: str, dataset: str, by: str, statistic: str | None,
              sum_col: str | None, mean_col: str | None, quantile_col: str | None, q: float | None,
              bounds: str | None, epsilon: str, preview: bool, where: str | None, as_json: bool) -> None:
    """Kjør én spørring med differensielt personvern under en tillatelse."""
    from privacy.budget import format_epsilon, parse_epsilon
    from privacy.room import QueryRequest, parse_bounds, parse_where, query

    chosen = [(name, col) for name, col in (("count", statistic and "count"), ("sum", sum_col),
                                            ("mean", mean_col), ("quantile", quantile_col)) if col]
    if len(chosen) != 1:
        raise UserInputError("velg nøyaktig én av --count, --sum COL, --mean COL, --quantile COL")
    stat, col = chosen[0]
    if stat != "count" and not bounds:
        raise UserInputError(f"--{stat} trenger --bounds LO,HI")
    req = QueryRequest(
        permit_id=permit, researcher=researcher, dataset=dataset,
        by=tuple(c.strip() for c in by.split(",") if c.strip()), statistic=stat,
        epsilon=parse_epsilon(epsilon), column=None if stat == "count" else col,
        bounds=parse_bounds(bounds) if bounds else None, q=q, where=parse_where(where),
    )
    result = query(room_settings(), req, preview=preview)
    mechanism = MECHANISMS.get(result["mechanism"], result["mechanism"])
    accuracy = accuracy_text(result["accuracy_95"], result["statistic"])
    if preview:
        verdict = "er innenfor" if result["affordable"] else "overstiger"
        human = (f"Forhåndsvisning, ingenting brukt: {mechanism}; {accuracy}.\n"
                 f"Spørringen koster ε = {format_epsilon(req.epsilon)} og {verdict} det som er igjen "
                 f"(ε = {result['epsilon_remaining_exact']}).")
    else:
        filters = ", ".join(f"{k}={v}" for k, v in result.get("where", {}).items())
        human = (f"{_release_rows(result)}\n\n" + (f"Filter: {filters}.\n" if filters else "")
                 + f"{mechanism}; {accuracy}.\n"
                 f"ε brukt {result['epsilon_spent_exact']}, igjen {result['epsilon_remaining_exact']}.")
    emit(result, as_json, human)


@room.command(name="budget")
@click.option("--permit", required=True, help="Tillatelsens ID.")
@json_option
def budget_cmd(permit: str, as_json: bool) -> None:
    """Vis budsjettet til en tillatelse: samlet, brukt og gjenstående ε."""
    from privacy.room import budget

    r = budget(room_settings(), permit)
    emit(r, as_json, f"Tillatelse {permit}: budsjett ε = {r['epsilon_budget_exact']}, brukt {r['epsilon_spent_exact']}, "
                     f"igjen {r['epsilon_remaining_exact']} ({STATUSES[r['status']]}, gyldig til og med "
                     f"{norwegian_date(r['expires'])}).")


@room.command(name="applications")
@click.option("--pending", is_flag=True, help="Bare søknader som venter på vurdering (saksbehandlernes kø).")
@json_option
def applications_cmd(pending: bool, as_json: bool) -> None:
    """List opp søknadene, eldste først; --pending viser bare dem som venter på vurdering."""
    from privacy.room import applications

    result = applications(room_settings(), pending=pending)
    if not result:
        human = "Ingen søknader venter på vurdering." if pending else "Ingen søknader."
    else:
        human = table(
            ["søknad", "forsker", "datasett", "ε", "sendt inn", "status", "formål"],
            [[a["application_id"], a["researcher"], ", ".join(a["datasets"]), a["epsilon_exact"],
              norwegian_date(a["submitted_at"]),
              STATUSES[a["status"]] + (f" ({a['permit_id']})" if a["permit_id"] else ""), a["purpose"]]
             for a in result])
    emit(result, as_json, human)


@room.group(name="audit")
def audit_group() -> None:
    """Den nøkkelsikrede, hashkjedede revisjonsloggen og tilstanden den må stemme med."""


@audit_group.command(name="verify")
@click.option("--expect-head", "expect_head", metavar="HASH",
              help="En hodehash som er tatt vare på et annet sted (f.eks. av en publisering); loggen må "
                   "fortsatt inneholde den.")
@json_option
def audit_verify(expect_head: str | None, as_json: bool) -> None:
    """Kontroller revisjonskjeden og at rommets tilstand stemmer med den; exit 2 ved brudd.

    Tilstanden bygges opp fra kjeden og sammenlignes med tilstandstabellene; ved brudd nevnes den
    første ødelagte oppføringen eller forskjellen.
    """
    from privacy.audit import verify

    result = verify(room_settings(), expect_head=expect_head)
    if not result.ok:
        where = f"ved oppføring {result.first_broken_seq}" if result.first_broken_seq else "mot tilstandstabellene"
        message = f"AuditBroken: revisjonsloggen holder ikke {where}: {result.reason}"
        if as_json:
            emit({**result.as_dict(), "error": message, "status": 2}, True, "")
        click.echo("\n".join([message, *(f"  {d}" for d in result.differences[1:])]), err=True)
        raise click.exceptions.Exit(2)
    emit(result.as_dict(), as_json,
         f"Revisjonsloggen er intakt: {result.entries} oppføringer, tilstanden stemmer, "
         f"hode {result.head_seq} {result.head_hash}")


@room.group(name="release")
def release_group() -> None:
    """Eksakte aggregattabeller, utlevert etter utleveringskontroll og godkjenning fra to saksbehandlere.

    En forsker ber om en eksakt antallstabell under en tillatelse; den utleveringskontrolleres med en
    gang (små antall skjules, sekundær skjuling mot marginene, avrunding) og avvises hvis for mye må
    skjules. To ulike saksbehandlere, ingen av dem den som ba om tabellen, må godkjenne den før
    forskeren kan laste den ned. Hvert steg står i revisjonsloggen.
    """


@release_group.command(name="request")
@click.option("--permit", required=True, help="Tillatelsens ID (må dekke datasettet).")
@click.option("--researcher", required=True, help="Din forsker-ID (må ha tillatelsen).")
@click.option("--dataset", required=True, help="Datasettets navn.")
@click.option("--by", "by", required=True, help="Kommaseparerte grupperingskolonner (bare offentlige nøkler).")
@click.option("--count", "count", is_flag=True, required=True, help="Antall per gruppe (den eneste statistikken som utleveres).")
@where_option
@json_option
def release_request_cmd(permit: str, researcher: str, dataset: str, by: str, count: bool, where: str | None,
                        as_json: bool) -> None:
    """Be om utlevering av en eksakt antallstabell (utleveringskontrollert før noen ser den)."""
    from privacy.release import ReleaseRequest, request
    from privacy.room import parse_where

    req = ReleaseRequest(permit_id=permit, researcher=researcher, dataset=dataset,
                         by=tuple(c.strip() for c in by.split(",") if c.strip()), where=parse_where(where))
    result = request(room_settings(), req)
    s = result["summary"]
    emit(result, as_json,
         f"Utlevering {result['release_id']} venter på to saksbehandlere. Utleveringskontroll: "
         f"{integer(s['suppressed'])} av {integer(s['nonzero'])} celler med personer skjult, "
         f"antall avrundet til nærmeste {s['rounding_base']}.")


@release_group.command(name="list")
@click.option("--pending", is_flag=True, help="Bare utleveringer som venter på vurdering.")
@json_option
def release_list_cmd(pending: bool, as_json: bool) -> None:
    """List opp utleveringsforespørslene, eldste først."""
    from privacy.release import STATUS_WORDS, releases

    result = releases(room_settings(), pending=pending)
    if not result:
        human = "Ingen utleveringer venter på vurdering." if pending else "Ingen utleveringer."
    else:
        human = table(
            ["utlevering", "forsker", "datasett", "grupper etter", "filtre", "bedt om", "status", "godkjent"],
            [[r["release_id"], r["requester"], r["dataset"], ",".join(r["by"]),
              ",".join(f"{k}={v}" for k, v in r["where"].items()) or "–", norwegian_date(r["requested_at"]),
              STATUS_WORDS[r["status"]], f"{r['approvals']} av {r['approvals_needed']}"] for r in result])
    emit(result, as_json, human)


@release_group.command(name="review")
@click.argument("release")
@click.option("--reviewer", required=True, help="Din saksbehandler-ID; ikke den som ba om utleveringen, og én gang per utlevering.")
@click.option("--approve", "decision", flag_value="approve", help="Godkjenn den utleveringskontrollerte tabellen.")
@click.option("--reject", "decision", flag_value="reject", help="Avslå den (krever --reason).")
@click.option("--reason", help="Hvorfor utleveringen avslås (påkrevd med --reject).")
@json_option
def release_review_cmd(release: str, reviewer: str, decision: str | None, reason: str | None, as_json: bool) -> None:
    """Godkjenn eller avslå utleveringen RELEASE."""
    from privacy.release import STATUS_WORDS, review

    if decision is None:
        raise UserInputError("velg --approve eller --reject")
    result = review(room_settings(), release, reviewer, approve=decision == "approve", reason=reason)
    emit(result, as_json, f"Utlevering {release}: {STATUS_WORDS[result['status']]} "
                          f"({result['approvals']} av {result['approvals_needed']} godkjenninger).")


@release_group.command(name="download")
@click.argument("release")
@click.option("--researcher", required=True, help="Din forsker-ID (den som ba om utleveringen).")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), help="Skriv tabellen som CSV til FILE.")
@json_option
def release_download_cmd(release: str, researcher: str, out: str | None, as_json: bool) -> None:
    """Last ned den godkjente utleveringen RELEASE (exit 2 til to andre har godkjent den).

    To saksbehandlere, ingen av dem den som ba om utleveringen, må ha godkjent den.
    """
    from pathlib import Path

    from privacy.release import download

    result = download(room_settings(), release, researcher, out=Path(out) if out else None)
    cells = [[str(r[k]) for k in result["by"]] + [":" if r["count"] is None else integer(r["count"])]
             for r in result["rows"]]
    human = table([*result["by"], "antall"], cells, numbers=1) + "\n\n: skjult av utleveringskontrollen."
    if out:
        human += f"\nSkrevet til {out}."
    emit(result, as_json, human)
