with

source as (

    select * from {{ source('raw', 'vft_mottakere') }}

),

renamed as (

    select

        ---------- ids
        person_id,
        kommunenummer,

        ---------- person
        fodselsaar,
        kjonn,

        ---------- properties
        cast(tjenestetype as {{ dbt.type_int() }}) as tjenestetype_kode,
        coalesce(via_vkp, false) as via_vkp,

        ---------- dates
        startdato,
        sluttdato,
        sluttdato is null as er_pagaende,

        ---------- lineage
        _file_sha256,
        _line_number,
        _loaded_at

    from source

)

select * from renamed
