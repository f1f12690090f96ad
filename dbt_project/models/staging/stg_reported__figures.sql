{#  Reported figures of goal indicators (helsedata indicators import), typed; one row per figure. #}

with

source as (

    select * from {{ source('raw', 'reported_figures') }}

),

renamed as (

    select

        ---------- ids
        indicator_id,
        geo_level,
        geo_code,

        ---------- period
        cast(period as {{ dbt.type_int() }}) as aar,

        ---------- value
        cast(value as {{ type_double() }}) as value,
        unit,

        ---------- provenance
        source,
        reported_by,
        seed_reference,

        ---------- lineage
        _file_sha256,
        _line_number,
        _loaded_at

    from source

)

select * from renamed
