with

source as (

    select * from {{ source('raw', 'registry_reporting') }}

),

renamed as (

    select

        ---------- ids
        register,
        rapporteringsenhet,

        ---------- period
        periode,
        {{ month_start('periode') }} as periode_start,
        cast(substring(periode, 1, 4) as {{ dbt.type_int() }}) as periode_aar,

        ---------- counts
        forventet,
        mottatt,
        mottatt_digitalt,
        mottatt_innen_frist,

        ---------- lineage
        _file_sha256,
        _line_number,
        _loaded_at

    from source

)

select * from renamed
