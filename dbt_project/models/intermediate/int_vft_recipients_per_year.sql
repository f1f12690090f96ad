{#
    Person-year episodes of welfare technology: a service is active during year Y when it starts
    on or before 31 December Y and has not ended before 1 January Y (sluttdato null = ongoing).
    This is Helsedirektoratet's "mottakere gjennom året". The years come from int_calendar_years:
    the data's first to last start year (never past the run date's year), so ongoing services do
    not run on into years the extract does not cover.
#}

with

services as (

    select * from {{ ref('int_vft_services_mapped_to_2024') }}

),

years as (

    select * from {{ ref('int_calendar_years') }}

),

person_years as (

    select
        services.person_id,
        years.aar,
        services.kommunenummer_2024,
        services.tjenestetype_kode,
        years.aar - services.fodselsaar as alder,
        services.via_vkp,
        case
            when services.startdato <= years.aar_slutt
                and (services.sluttdato is null or services.sluttdato >= years.aar_slutt)
            then 1 else 0
        end as aktiv_31des
    from services
    inner join years
        on services.startdato <= years.aar_slutt
        and (services.sluttdato is null or services.sluttdato >= years.aar_start)

),

final as (

    select
        person_id,
        aar,
        kommunenummer_2024,
        tjenestetype_kode,
        max(alder) as alder,
        {{ dbt.bool_or('via_vkp') }} as via_vkp,
        max(aktiv_31des) = 1 as aktiv_31des
    from person_years
    group by person_id, aar, kommunenummer_2024, tjenestetype_kode

)

select * from final
