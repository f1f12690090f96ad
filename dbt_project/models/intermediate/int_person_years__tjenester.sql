{#
    Municipal care services per person and year for the analysis room's person_aar: an episode
    counts in every spine year it is active (the welfare-technology rule), up to the last year
    any episode starts in the extract. The kommune is the lowest 2024 kommune of the year's
    episodes ('9999' when a code maps nowhere).
#}

with

services as (

    select * from {{ ref('stg_kpr__tjenester') }}

),

years as (

    select * from {{ ref('int_calendar_years') }}

),

mapping as (

    select * from {{ ref('int_kommuner_mapped_to_2024') }}

),

data_through as (

    select max(extract(year from startdato)) as last_year
    from services

),

persons as (

    select person_id, max(fodselsaar) as fodselsaar, max(kjonn) as kjonn
    from services
    group by person_id

),

person_years as (

    select
        services.person_id,
        years.aar,
        min(coalesce(mapping.kommunenummer_2024, '9999')) as kommunenummer_2024,
        count(*) as n_tjenester,
        count(distinct services.tjenestetype_kode) as n_tjenestetyper
    from services
    inner join years
        on services.startdato <= years.aar_slutt
        and (services.sluttdato is null or services.sluttdato >= years.aar_start)
    cross join data_through
    left join mapping
        on {{ map_to_kommune_2024('mapping', 'services.kommunenummer',
                                  'extract(year from services.startdato)', 'services.person_id') }}
    where years.aar <= data_through.last_year
    group by services.person_id, years.aar

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
