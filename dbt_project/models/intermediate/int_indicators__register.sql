{#
    Health-registry reporting indicators (mål 3), national, per year:
      register_digital_95     central health registries (kind sentralt) whose digital share is
                              above var digital_threshold (goal indicator 3.2.1)
      kvalitetsregister_digital_95  the same for the national medical quality registries
                              (kind kvalitetsregister, goal indicator 3.2.2)
      register_automatisert   digital share >= automated_digital_threshold and on-time share
                              >= automated_on_time_threshold (platform definition)
      register_dekningsgrad   per registry: received (capped at expected per unit-month) / expected
      register_rettidighet    per registry: received by the deadline / received
#}

with

registry_years as (

    select * from {{ ref('int_registry_reporting_per_year') }}

),

counts as (

    select
        aar,
        sum(case when kind = 'sentralt' and digital_andel > {{ var('digital_threshold') }} then 1 else 0 end)
            as n_digital_95,
        sum(case when kind = 'sentralt' and mottatt > 0 then 1 else 0 end) as n_sentrale,
        sum(case when kind = 'kvalitetsregister' and digital_andel > {{ var('digital_threshold') }} then 1 else 0 end)
            as n_kvalitet_digital_95,
        sum(case when kind = 'kvalitetsregister' and mottatt > 0 then 1 else 0 end) as n_kvalitetsregistre,
        sum(case
            when digital_andel >= {{ var('automated_digital_threshold') }}
                and rettidig_andel >= {{ var('automated_on_time_threshold') }}
            then 1 else 0
        end) as n_automatisert,
        sum(case when mottatt > 0 then 1 else 0 end) as n_registre
    from registry_years
    group by aar

),

unioned as (

    select 'register_digital_95' as indicator_id, aar, 'total' as breakdown, 'alle' as breakdown_code,
        n_digital_95 as numerator, n_sentrale as denominator,
        cast(n_digital_95 as {{ type_double() }}) as value
    from counts

    union all

    select 'kvalitetsregister_digital_95', aar, 'total', 'alle',
        n_kvalitet_digital_95, n_kvalitetsregistre, n_kvalitet_digital_95
    from counts

    union all

    select 'register_automatisert', aar, 'total', 'alle',
        n_automatisert, n_registre, n_automatisert
    from counts

    union all

    select 'register_dekningsgrad', aar, 'register', register,
        mottatt_innenfor_forventet, forventet, dekningsgrad
    from registry_years

    union all

    select 'register_rettidighet', aar, 'register', register,
        mottatt_innen_frist, mottatt, rettidig_andel
    from registry_years

),

final as (

    select
        {{ yearly_indicator_columns(geo_level="'nasjonal'", geo_code="'NO'") }}
    from unioned

)

select * from final
