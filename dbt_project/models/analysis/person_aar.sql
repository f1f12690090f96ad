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

---------- the person's fixed attributes (from the identity number, the same in every source)

persons as (

    select person_id, max(fodselsaar) as fodselsaar, max(kjonn) as kjonn
    from (
        select person_id, fodselsaar, kjonn from vft_years
        union all
        select person_id, fodselsaar, kjonn from service_years
        union all
        select person_id, fodselsaar, kjonn from contact_years
    ) as all_persons
    group by person_id

),

person_years as (

    select person_id, aar from vft_years
    union
    select person_id, aar from service_years
    union
    select person_id, aar from contact_years

),

final as (

    select
        ---------- ids
        person_years.person_id,
        person_years.aar,

        ---------- public keys
        coalesce(vft_years.kommunenummer_2024, service_years.kommunenummer_2024,
                 contact_years.kommunenummer_2024) as kommunenummer,
        coalesce(kommuner.fylkesnummer, '99') as fylke,
        persons.kjonn,
        persons.fodselsaar,
        person_years.aar - persons.fodselsaar as alder,

        ---------- welfare technology
        vft_years.person_id is not null as has_vft,
        coalesce(vft_years.has_vft_6, false) as has_vft_6,
        coalesce(vft_years.has_vft_26, false) as has_vft_26,
        coalesce(vft_years.has_vft_27, false) as has_vft_27,
        coalesce(vft_years.has_vft_28, false) as has_vft_28,
        coalesce(vft_years.has_vft_vkp, false) as has_vft_vkp,
        coalesce(vft_years.n_vft_teknologier, 0) as n_vft_teknologier,

        ---------- care services
        service_years.person_id is not null as has_tjenester,
        coalesce(service_years.n_tjenester, 0) as n_tjenester,
        coalesce(service_years.n_tjenestetyper, 0) as n_tjenestetyper,

        ---------- contacts
        coalesce(contact_years.n_kontakter, 0) as n_kontakter,
        coalesce(contact_years.n_kontakter_digitale, 0) as n_kontakter_digitale,

        ---------- lineage: the dbt run that wrote this table (the room keys its cached extract on it)
        '{{ invocation_id }}' as _dbt_invocation_id

    from person_years
    inner join persons
        on persons.person_id = person_years.person_id
    left join vft_years
        on vft_years.person_id = person_years.person_id and vft_years.aar = person_years.aar
    left join service_years
        on service_years.person_id = person_years.person_id and service_years.aar = person_years.aar
    left join contact_years
        on contact_years.person_id = person_years.person_id and contact_years.aar = person_years.aar
    left join kommuner
        on kommuner.kommunenummer = coalesce(vft_years.kommunenummer_2024, service_years.kommunenummer_2024,
                                             contact_years.kommunenummer_2024)

)

select * from final
