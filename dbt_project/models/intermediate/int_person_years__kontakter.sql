{#
    KPR contacts per person and year for the analysis room's person_aar: contacts count in their
    contact year (spine years only), digital ones by codelist_kontaktform. The kommune is the
    lowest 2024 kommune of the year's contacts ('9999' when a code maps nowhere).

    The contacts are first counted per person, year and reported kommune (about a quarter of
    the rows), and only those counts are mapped to 2024 kommuner: the mapping depends on exactly
    these three, so every contact of a group maps alike and the sums equal counting each
    contact after mapping it, with one join of millions of rows fewer.
#}

with

contacts as (

    select * from {{ ref('stg_kpr__kontakter') }}

),

years as (

    select * from {{ ref('int_calendar_years') }}

),

mapping as (

    select * from {{ ref('int_kommuner_mapped_to_2024') }}

),

forms as (

    select * from {{ ref('codelist_kontaktform') }}

),

per_kommune as (

    select
        contacts.person_id,
        contacts.kontakt_aar,
        contacts.kommunenummer,
        count(*) as n_kontakter,
        sum(case when coalesce(forms.digital, false) then 1 else 0 end) as n_kontakter_digitale,
        max(contacts.fodselsaar) as fodselsaar,
        max(contacts.kjonn) as kjonn
    from contacts
    left join forms
        on forms.kontaktform = contacts.kontaktform
    group by contacts.person_id, contacts.kontakt_aar, contacts.kommunenummer

),

person_years as (

    select
        per_kommune.person_id,
        years.aar,
        min(coalesce(mapping.kommunenummer_2024, '9999')) as kommunenummer_2024,
        cast(sum(per_kommune.n_kontakter) as bigint) as n_kontakter,
        sum(per_kommune.n_kontakter_digitale) as n_kontakter_digitale,
        -- from the identity number, so the same in every row of a person
        max(per_kommune.fodselsaar) as fodselsaar,
        max(per_kommune.kjonn) as kjonn
    from per_kommune
    inner join years
        on years.aar = per_kommune.kontakt_aar
    left join mapping
        on {{ map_to_kommune_2024('mapping', 'per_kommune.kommunenummer',
                                  'per_kommune.kontakt_aar', 'per_kommune.person_id') }}
    group by per_kommune.person_id, years.aar

),

final as (
    select * from person_years
)

select * from final
