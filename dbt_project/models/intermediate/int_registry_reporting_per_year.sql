{#
    Deliveries per registry and year, summed over reporting units and months, with the shares
    and the registry's kind (central health registry or national medical quality registry).
#}

with

reporting as (

    select * from {{ ref('stg_registry__reporting') }}

),

registries as (

    select * from {{ ref('codelist_register') }}

),

summed as (

    select
        register,
        periode_aar as aar,
        sum(forventet) as forventet,
        sum(case when mottatt > forventet then forventet else mottatt end) as mottatt_innenfor_forventet,
        sum(mottatt) as mottatt,
        sum(mottatt_digitalt) as mottatt_digitalt,
        sum(mottatt_innen_frist) as mottatt_innen_frist
    from reporting
    group by register, periode_aar

),

final as (

    select
        summed.*,
        registries.kind,
        {{ safe_divide('summed.mottatt_innenfor_forventet', 'summed.forventet') }} as dekningsgrad,
        {{ safe_divide('summed.mottatt_digitalt', 'summed.mottatt') }} as digital_andel,
        {{ safe_divide('summed.mottatt_innen_frist', 'summed.mottatt') }} as rettidig_andel
    from summed
    left join registries
        on registries.register = summed.register

)

select * from final
