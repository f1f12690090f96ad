{#  The name of every breakdown value an indicator can have: the total, each service type, each registry. #}

with

technologies as (

    select * from {{ ref('codelist_tjenestetype') }}

),

registries as (

    select * from {{ ref('codelist_register') }}

),

final as (

    select
        'total' as breakdown,
        'alle' as breakdown_code,
        'Alle' as breakdown_name
    union all
    select
        'tjenestetype',
        {{ dbt.safe_cast('tjenestetype_kode', dbt.type_string()) }},
        tjenestetype
    from technologies
    union all
    select
        'register',
        register,
        navn
    from registries

)

select * from final
