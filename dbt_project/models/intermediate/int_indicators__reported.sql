{#
    Reported figures in the shared indicator row shape, marked origin 'rapportert' and carrying
    their provenance (source, reported_by, seed_reference) into mart_indicator_values.
    A reported figure is a value, not a count: numerator and denominator stay empty.
#}

with

figures as (

    select * from {{ ref('stg_reported__figures') }}

),

unioned as (

    select
        indicator_id,
        aar,
        geo_level,
        geo_code,
        cast(null as {{ type_double() }}) as numerator,
        cast(null as {{ type_double() }}) as denominator,
        value,
        source,
        reported_by,
        seed_reference
    from figures

),

final as (

    select
        {{ yearly_indicator_columns(breakdown="'total'", breakdown_code="'alle'", origin="'rapportert'",
                                    source='source', reported_by='reported_by', seed_reference='seed_reference') }}
    from unioned

)

select * from final
