{#
    Welfare technology per person and year for the analysis room's person_aar: the years a
    service was active on at least one day (int_vft_recipients_per_year, the published
    "mottakere gjennom året" rule), with the person's birth year and sex from the source.
#}

with

recipients as (

    select * from {{ ref('int_vft_recipients_per_year') }}

),

persons as (

    select person_id, max(fodselsaar) as fodselsaar, max(kjonn) as kjonn
    from {{ ref('stg_vft__mottakere') }}
    group by person_id

),

person_years as (

    select
        person_id,
        aar,
        min(kommunenummer_2024) as kommunenummer_2024,
        count(distinct tjenestetype_kode) as n_vft_teknologier,
        {{ dbt.bool_or('tjenestetype_kode = 6') }} as has_vft_6,
        {{ dbt.bool_or('tjenestetype_kode = 26') }} as has_vft_26,
        {{ dbt.bool_or('tjenestetype_kode = 27') }} as has_vft_27,
        {{ dbt.bool_or('tjenestetype_kode = 28') }} as has_vft_28,
        {{ dbt.bool_or('via_vkp') }} as has_vft_vkp
    from recipients
    group by person_id, aar

),

final as (

    select
        person_years.*,
        persons.fodselsaar,
        persons.kjonn
    from person_years
    left join persons
        on persons.person_id = person_years.person_id

)

select * from final
