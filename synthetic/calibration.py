"""Calibration figures for the synthetic extracts, with their sources.

National figures are real published numbers (Helsedirektoratet, KPR/IPLOS); the seed
``kpr_nasjonale_tall`` holds the same rows with page and table, and a unit test checks that
the constants here equal the seed. Figures marked *synthetic assumption* are our own choices
for a plausible demo; they are documented in ``docs/demo-data.md``.

All figures are for ``--scale 1`` (the whole country); the generator multiplies counts by the
scale and rounds to whole persons.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

#: First year every source covers (one file per source per year).
FIRST_YEAR = 2017

# ---------- welfare technology (vft_mottakere)

#: Unique recipients of one or more welfare-technology services during the year.
#: 2017–2020: Omsorg 2020, table 3 ("Unike brukere av velferdsteknologi"). 2018 has 99 616 in
#: Omsorg 2022; we keep 99 612 so 2017–2020 come from one table of one report.
#: 2022: Omsorg 2022, chapter 3 introduction. 2024: Helsedirektoratet, e-helse strategy
#: follow-up, delmål 1B ("… økt fra 95 718 personer i 2017 til 133 731 personer i 2024").
#: 2021: Kommunale helse- og omsorgstjenester 2021, table 2.4.1 ("Velferdsteknologi i alt").
#: 2019 is low because 13 merged kommuner did not report (a reporting gap, not a drop in use):
#: the generator models the gap (:data:`VFT_REPORTING_GAP_YEAR`) and reproduces the published figure.
VFT_UNIQUE_RECIPIENTS_PUBLISHED: Mapping[int, int] = {
    2017: 95_718, 2018: 99_612, 2019: 82_542, 2020: 109_385, 2021: 115_678, 2022: 125_286, 2024: 133_731,
}

#: Recipients of welfare technology on 31 December ("Velferdsteknologi i alt", per 31.12.),
#: Kommunale helse- og omsorgstjenester 2022, table 2.10.2. Not published after 2022: later years
#: keep the 2022 ratio of 31 December to during-the-year recipients.
VFT_YEAR_END_PUBLISHED: Mapping[int, int] = {
    2017: 77_055, 2018: 80_242, 2019: 79_501, 2020: 88_120, 2021: 92_730, 2022: 99_561,
}

#: The year of the published reporting gap: 13 kommuner merged on 1 January 2020 and moved to new
#: EPR systems; their 2019 services that had ended before the move were never reported, and other
#: kommuner under-reported after EPR changes (Omsorg 2022). The 31 December stock was carried into
#: the new systems, so it is complete. In the demo, use continues along the trend (the year is
#: interpolated between its neighbours) and the extract leaves out exactly the missing recipients.
VFT_REPORTING_GAP_YEAR = 2019
#: Merged kommuner that did not report in the gap year.
VFT_REPORTING_GAP_KOMMUNER = 13

#: Recipients per technology (code list 9151), Omsorg 2020 table 3. 27 and 28 were first
#: reported in 2019 and are published as 0 before. A person may have several technologies.
VFT_TECH_RECIPIENTS_PUBLISHED: Mapping[int, Mapping[int, int]] = {
    2017: {6: 95_364, 26: 533, 27: 0, 28: 0},
    2018: {6: 98_804, 26: 1_337, 27: 0, 28: 0},
    2019: {6: 80_404, 26: 2_333, 27: 1_816, 28: 3_925},
    2020: {6: 104_003, 26: 3_454, 27: 5_712, 28: 5_998},
}

#: Welfare-technology codes of code list 9151, in the order the generator fills them.
VFT_TECHS: tuple[int, ...] = (6, 26, 27, 28)
#: 27 (medisineringsstøtte) and 28 (digitalt tilsyn) are reported to KPR from this year.
VFT_NEW_TECHS_FROM = 2019

#: Kommuner with the national welfare-technology hub (VKP) in daily use by the end of each
#: year. 2024: "VKP er i daglig bruk i 72 kommuner" (Helsedirektoratet, delmål 1B). Earlier
#: years are a *synthetic assumption* (roll-out in waves from 2021, KS "felles innføringsløp").
VKP_KOMMUNER_BY_YEAR_END: Mapping[int, int] = {2021: 8, 2022: 25, 2023: 50, 2024: 72}
#: Share of new welfare-technology episodes a VKP kommune sends through the hub
#: (*synthetic assumption*: not every device is integrated).
VKP_EPISODE_SHARE = 0.9

#: Mean length of one person's period as a welfare-technology user, years (*synthetic
#: assumption*; alarm users are old and the period ends at death or a nursing-home stay).
VFT_MEAN_YEARS = 3.0
#: Share of a year's recipients already users on 1 January of the first year.
VFT_STOCK_SHARE = 0.75

# ---------- care services (kpr_tjenester)

#: Recipients of municipal health and care services during the year ("Alle kommunale helse-
#: og omsorgstjenester"), Helsedirektoratet: Kommunale helse- og omsorgstjenester 2024,
#: table 1. Used as the target for distinct persons with a kpr_tjenester episode in the year.
CARE_RECIPIENTS: Mapping[int, int] = {
    2017: 361_471, 2018: 364_587, 2019: 364_666, 2020: 371_319,
    2021: 379_806, 2022: 390_369, 2023: 397_240, 2024: 399_263,
}
#: Mean length of a person's period as a care recipient, years (*synthetic assumption*).
CARE_MEAN_YEARS = 2.5
CARE_STOCK_SHARE = 0.7

# ---------- contacts (kpr_kontakter)

#: Contact rows per year at scale 1 (*synthetic assumption*, about 20 million a year, ≈160 M
#: for 2017–2024: GP consultations alone are about 15 M a year in KPR; add out-of-hours,
#: health stations, physiotherapy and mental-health services). A small 2020 dip.
CONTACTS_PER_YEAR: Mapping[int, int] = {
    2017: 19_000_000, 2018: 19_300_000, 2019: 19_600_000, 2020: 19_200_000,
    2021: 20_400_000, 2022: 20_800_000, 2023: 21_000_000, 2024: 21_200_000,
}
#: First month of the pandemic's rise in digital contacts (March 2020); earlier months of that
#: year keep the previous year's digital share, later months carry the rest of the year's share.
DIGITAL_RISE_FROM: tuple[int, int] = (2020, 3)
#: National share of contacts that are video or e-konsultasjon (*synthetic assumption* shaped
#: on the public debate: a few per cent before the pandemic, a jump in 2020, ~27 % by 2024).
DIGITAL_SHARE: Mapping[int, float] = {
    2017: 0.05, 2018: 0.06, 2019: 0.075, 2020: 0.17, 2021: 0.20, 2022: 0.22, 2023: 0.25, 2024: 0.27,
}
#: Share of the digital contacts that are video (the rest e-konsultasjon).
VIDEO_OF_DIGITAL: Mapping[int, float] = {
    2017: 0.10, 2018: 0.12, 2019: 0.15, 2020: 0.45, 2021: 0.38, 2022: 0.33, 2023: 0.30, 2024: 0.28,
}
#: Share of contacts by telephone.
PHONE_SHARE: Mapping[int, float] = {
    2017: 0.18, 2018: 0.18, 2019: 0.19, 2020: 0.25, 2021: 0.22, 2022: 0.21, 2023: 0.21, 2024: 0.21,
}
#: Spread of the per-kommune digital multiplier (sd of its logarithm).
DIGITAL_KOMMUNE_SIGMA = 0.35


#: Last year of the published series: the default horizon of the demo data (``--last-year``).
LAST_PUBLISHED_YEAR = max(*VFT_UNIQUE_RECIPIENTS_PUBLISHED, *CARE_RECIPIENTS)
#: The years every source covers by default.
YEARS: tuple[int, ...] = tuple(range(FIRST_YEAR, LAST_PUBLISHED_YEAR + 1))


def interpolate(published: Mapping[int, float], years: tuple[int, ...] = YEARS) -> dict[int, float]:
    """Linear interpolation between the nearest published years; no extrapolation.

    >>> interpolate({2020: 100, 2022: 120}, (2020, 2021, 2022))
    {2020: 100.0, 2021: 110.0, 2022: 120.0}
    """
    known = sorted(published)
    out: dict[int, float] = {}
    for year in years:
        if year in published:
            out[year] = float(published[year])
            continue
        before = [y for y in known if y < year]
        after = [y for y in known if y > year]
        if not before or not after:
            raise ValueError(f"{year} is outside the published years {known[0]}–{known[-1]}; no extrapolation")
        y0, y1 = before[-1], after[0]
        out[year] = published[y0] + (published[y1] - published[y0]) * (year - y0) / (y1 - y0)
    return out


def round_half_up(x: float) -> int:
    """Round to the nearest integer, halves up (not Python's round-half-even).

    >>> round_half_up(129508.5), round_half_up(2.4)
    (129509, 2)
    """
    return math.floor(x + 0.5)


def vft_unique_recipients() -> dict[int, int]:
    """Unique welfare-technology recipients per year at scale 1 as reported: published, 2023 interpolated.

    >>> t = vft_unique_recipients()
    >>> t[2021], t[2023]
    (115678, 129509)
    """
    return {y: round_half_up(v) for y, v in interpolate(VFT_UNIQUE_RECIPIENTS_PUBLISHED).items()}


def vft_users_in_use() -> dict[int, int]:
    """Persons who used welfare technology during each year: the reported series without the gap.

    >>> vft_users_in_use()[2019]
    104499
    """
    reported = dict(VFT_UNIQUE_RECIPIENTS_PUBLISHED)
    del reported[VFT_REPORTING_GAP_YEAR]
    return {y: round_half_up(v) for y, v in interpolate(reported).items()}


def vft_year_end_recipients() -> dict[int, int]:
    """Recipients on 31 December at scale 1: published to 2022, then the 2022 ratio to the year's users.

    >>> vft_year_end_recipients()[2022]
    99561
    """
    last = max(VFT_YEAR_END_PUBLISHED)
    ratio = VFT_YEAR_END_PUBLISHED[last] / VFT_UNIQUE_RECIPIENTS_PUBLISHED[last]
    users = vft_users_in_use()
    return {y: VFT_YEAR_END_PUBLISHED.get(y, round_half_up(ratio * users[y])) for y in YEARS}


def digital_share_by_month(year: int) -> list[float]:
    """The national digital share of each month of ``year`` (twelve values averaging the year's share).

    >>> [round(s, 3) for s in digital_share_by_month(2020)[:3]]
    [0.075, 0.075, 0.189]
    """
    rise_year, rise_month = DIGITAL_RISE_FROM
    if year != rise_year:
        return [DIGITAL_SHARE[year]] * 12
    before = DIGITAL_SHARE[year - 1]
    after = (12 * DIGITAL_SHARE[year] - (rise_month - 1) * before) / (13 - rise_month)
    return [before if month < rise_month else after for month in range(1, 13)]


def vft_tech_shares() -> dict[int, dict[int, float]]:
    """Share of each year's unique recipients that hold each technology.

    2017–2020 are the published per-technology counts over the published unique count. No split
    is published after 2020, so 2021–2024 keep the 2020 shares (interpolation needs a later
    anchor; we do not extrapolate the 2019→2020 trend).

    >>> round(vft_tech_shares()[2024][28], 4) == round(5_998 / 109_385, 4)
    True
    """
    shares = {
        y: {t: n / VFT_UNIQUE_RECIPIENTS_PUBLISHED[y] for t, n in techs.items()}
        for y, techs in VFT_TECH_RECIPIENTS_PUBLISHED.items()
    }
    last = max(shares)
    return {y: dict(shares[min(y, last)]) for y in YEARS}


def scaled(counts: Mapping[int, float], scale: float) -> dict[int, int]:
    """Counts at ``scale``, rounded to whole units (halves up)."""
    return {y: round_half_up(v * scale) for y, v in counts.items()}


def calibration_summary(scale: float) -> dict[str, object]:
    """The figures used, as written to ``manifest.json`` (years as strings for JSON)."""
    published = VFT_UNIQUE_RECIPIENTS_PUBLISHED
    vft = vft_unique_recipients()
    return {
        "vft_unique_recipients": {
            str(y): {"national": vft[y], "method": "published" if y in published else "interpolated (linear)",
                     "target_at_scale": scaled(vft, scale)[y]}
            for y in YEARS
        },
        "vft_year_end_recipients": {str(y): {"national": n, "target_at_scale": scaled({y: n}, scale)[y]}
                                    for y, n in vft_year_end_recipients().items()},
        "vft_reporting_gap": {"year": VFT_REPORTING_GAP_YEAR, "kommuner": VFT_REPORTING_GAP_KOMMUNER,
                              "users_in_use": vft_users_in_use()[VFT_REPORTING_GAP_YEAR]},
        "vft_tech_shares": {str(y): {str(t): round(s, 5) for t, s in v.items()} for y, v in vft_tech_shares().items()},
        "care_recipients": {str(y): {"national": n, "target_at_scale": scaled(CARE_RECIPIENTS, scale)[y]}
                            for y, n in CARE_RECIPIENTS.items()},
        "contacts_per_year": {str(y): {"national": n, "expected_at_scale": round(n * scale)}
                              for y, n in CONTACTS_PER_YEAR.items()},
        "digital_share": {str(y): s for y, s in DIGITAL_SHARE.items()},
        "digital_rise_from": "{:04d}-{:02d}".format(*DIGITAL_RISE_FROM),
        "vkp_kommuner_by_year_end": {str(y): n for y, n in VKP_KOMMUNER_BY_YEAR_END.items()},
    }
