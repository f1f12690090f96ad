{#
    KPR contacts per person and year for the analysis room's person_aar: contacts count in their
    contact year (spine years only), digital ones by codelist_kontaktform. The kommune is the
    lowest 2024 kommune of the year's contacts ('9999' when a code maps nowhere).
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

persons as (

    select person_id, max(fodselsaar) as fodselsaar, max(kjonn) as kjonn
    from contacts
    group by person_id

),

person_years as (

    select
        contacts.person_id,
        years.aar,
        min(coalesce(mapping.kommunenummer_2024, '9999')) as kommunenummer_2024,
        count(*) as n_kontakter,
        sum(case when coalesce(forms.digital, false) then 1 else 0 end) as n_kontakter_digitale
    from contacts
    inner join years
        on years.aar = contacts.kontakt_aar
    left join mapping
        on {{ map_to_kommune_2024('mapping', 'contacts.kommunenummer',
                                  'contacts.kontakt_aar', 'contacts.person_id') }}
    left join forms
        on forms.kontaktform = contacts.kontaktform
    group by contacts.person_id, years.aar

),

final as (

    select
        person_years.*,
        persons.fodselsaar,
        persons.kjonn
    from person_years
    inner join persons
        on persons.person_id = person_years.person_id

)

select * from final
