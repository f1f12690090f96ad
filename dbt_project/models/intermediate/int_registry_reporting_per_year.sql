{#  Deliveries per registry and year, summed over reporting units and months, with the shares. #}

with

reporting as (

    select * from {{ ref('stg_registry__reporting') }}

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
        *,
        {{ safe_divide('mottatt_innenfor_forventet', 'forventet') }} as dekningsgrad,
        {{ safe_divide('mottatt_digitalt', 'mottatt') }} as digital_andel,
        {{ safe_divide('mottatt_innen_frist', 'mottatt') }} as rettidig_andel
    from summed

)

select * from final
