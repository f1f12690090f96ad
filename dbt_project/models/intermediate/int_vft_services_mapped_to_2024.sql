with

services as (

    select * from {{ ref('stg_vft__mottakere') }}

),

mapping as (

    select * from {{ ref('int_kommuner_mapped_to_2024') }}

),

final as (

    select
        services.person_id,
        services.fodselsaar,
        services.kommunenummer,
        coalesce(mapping.kommunenummer_2024, '9999') as kommunenummer_2024,
        services.tjenestetype_kode,
        services.via_vkp,
        services.startdato,
        services.sluttdato,
        services._file_sha256,
        services._line_number
    from services
    left join mapping
        on {{ map_to_kommune_2024('mapping', 'services.kommunenummer',
                                  'extract(year from services.startdato)', 'services.person_id') }}

)

select * from final
