{#
    The analysis room's linked person-year table: one row per pseudonymised person and year in
    which the person had a welfare-technology service, a municipal care service or a KPR contact.

    Definitions are the marts' own:
      * has_vft: a welfare-technology service active on at least one day of the year
        (int_vft_recipients_per_year, Helsedirektoratet's "mottakere gjennom året"), so
        `count(*) where has_vft group by aar` is the published vft_mottakere series;
      * a care-service episode counts in every year it is active (same rule as welfare technology);
      * contacts count in their contact year.
    The person-year's kommune is its welfare-technology kommune, else its care-service kommune,
    else its contact kommune (2024 codes, the lowest code when there are several); fylke is that
    kommune's fylke in the kommuner_2024 seed ('99' for the unknown kommune 9999).
    Each source's person-years come from its int_person_years__* model.
    Years are the spine int_calendar_years (the years of the data); a person has at most one row per spine year, which is the
    contribution bound the room states (kernel.sources.PERSON_AAR).
#}

with

vft_years as (

    select * from {{ ref('int_person_years__vft') }}

),

service_years as (

    select * from {{ ref('int_person_years__tjenester') }}

),

contact_years as (

    select * from {{ ref('int_person_years__kontakter') }}

),

kommuner as (

    select * from {{ ref('kommuner_2024') }}

),

---------- one row per source person-year, stacked; grouping it is one aggregation that DuckDB
---------- can spill (joining the three tables on person_id held three hash tables at once and ran
---------- out of memory at national scale under the platform's memory limit)
stacked as (
    select
        person_id, aar, fodselsaar, kjonn,
        kommunenummer_2024 as vft_kommune, null as service_kommune, null as contact_kommune,
        true as has_vft, has_vft_6, has_vft_26, has_vft_27, has_vft_28, has_vft_vkp, n_vft_teknologier,
        false as has_tjenester, null as n_tjenester, null as n_tjenestetyper,
        null as n_kontakter, null as n_kontakter_digitale
    from vft_years
    union all by name
    select
        person_id, aar, fodselsaar, kjonn,
        kommunenummer_2024 as service_kommune,
        true as has_tjenester, n_tjenester, n_tjenestetyper
    from service_years
    union all by name
    select
        person_id, aar, fodselsaar, kjonn,
        kommunenummer_2024 as contact_kommune,
        n_kontakter, n_kontakter_digitale
    from contact_years
),
person_years as (
    select
        person_id,
        aar,
        -- each source has at most one row per person-year, so max() picks that row's value
        max(vft_kommune) as vft_kommune,
        max(service_kommune) as service_kommune,
        max(contact_kommune) as contact_kommune,
        bool_or(has_vft) as has_vft,
        max(has_vft_6) as has_vft_6,
        max(has_vft_26) as has_vft_26,
        max(has_vft_27) as has_vft_27,
        max(has_vft_28) as has_vft_28,
        max(has_vft_vkp) as has_vft_vkp,
        max(n_vft_teknologier) as n_vft_teknologier,
        bool_or(has_tjenester) as has_tjenester,
        max(n_tjenester) as n_tjenester,
        max(n_tjenestetyper) as n_tjenestetyper,
        max(n_kontakter) as n_kontakter,
        max(n_kontakter_digitale) as n_kontakter_digitale
    from stacked
    group by person_id, aar
),
---------- the person's fixed attributes (from the identity number, the same in every source)
persons as (
    select person_id, max(fodselsaar) as fodselsaar, max(kjonn) as kjonn
    from stacked
    group by person_id
),
final as (
    select
        ---------- ids
        person_years.person_id,
        person_years.aar,
        ---------- public keys
        coalesce(person_years.vft_kommune, person_years.service_kommune,
                 person_years.contact_kommune) as kommunenummer,
        coalesce(kommuner.fylkesnummer, '99') as fylke,
        persons.kjonn,
        persons.fodselsaar,
        person_years.aar - persons.fodselsaar as alder,
        ---------- welfare technology
        coalesce(person_years.has_vft, false) as has_vft,
        coalesce(person_years.has_vft_6, false) as has_vft_6,
        coalesce(person_years.has_vft_26, false) as has_vft_26,
        coalesce(person_years.has_vft_27, false) as has_vft_27,
        coalesce(person_years.has_vft_28, false) as has_vft_28,
        coalesce(person_years.has_vft_vkp, false) as has_vft_vkp,
        coalesce(person_years.n_vft_teknologier, 0) as n_vft_teknologier,
        ---------- care services
        coalesce(person_years.has_tjenester, false) as has_tjenester,
        coalesce(person_years.n_tjenester, 0) as n_tjenester,
        coalesce(person_years.n_tjenestetyper, 0) as n_tjenestetyper,
        ---------- contacts
        coalesce(person_years.n_kontakter, 0) as n_kontakter,
        coalesce(person_years.n_kontakter_digitale, 0) as n_kontakter_digitale,
        ---------- lineage: the dbt run that wrote this table (the room keys its cached extract on it)
        '{{ invocation_id }}' as _dbt_invocation_id
    from person_years
    inner join persons
        on persons.person_id = person_years.person_id
    left join kommuner
        on kommuner.kommunenummer = coalesce(person_years.vft_kommune, person_years.service_kommune,
                                             person_years.contact_kommune)
)

select * from final
