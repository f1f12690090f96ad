with

indicator_values as (

    select * from {{ ref('int_indicator_values_unioned') }}

),

definitions as (

    select * from {{ ref('indicator_definitions') }}

),

input_labels as (

    select * from {{ ref('int_indicator_input_labels') }}

),

geographies as (

    select * from {{ ref('int_geographies') }}

),

breakdowns as (

    select * from {{ ref('int_breakdown_codes_named') }}

),

final as (

    select
        cast(indicator_values.indicator_id as {{ dbt.type_string() }}) as indicator_id,
        cast(indicator_values.period as {{ dbt.type_string() }}) as period,
        cast(indicator_values.period_type as {{ dbt.type_string() }}) as period_type,
        cast(indicator_values.period_start as date) as period_start,
        cast(indicator_values.geo_level as {{ dbt.type_string() }}) as geo_level,
        cast(indicator_values.geo_code as {{ dbt.type_string() }}) as geo_code,
        cast(geographies.geo_name as {{ dbt.type_string() }}) as geo_name,
        cast(indicator_values.breakdown as {{ dbt.type_string() }}) as breakdown,
        cast(indicator_values.breakdown_code as {{ dbt.type_string() }}) as breakdown_code,
        cast(breakdowns.breakdown_name as {{ dbt.type_string() }}) as breakdown_name,
        cast(indicator_values.numerator as {{ type_double() }}) as numerator,
        cast(indicator_values.denominator as {{ type_double() }}) as denominator,
        cast(indicator_values.value as {{ type_double() }}) as value,
        cast(definitions.unit as {{ dbt.type_string() }}) as unit,
        cast(coalesce(input_labels.input_quality_label, 'unrated') as {{ dbt.type_string() }})
            as input_quality_label,
        -- disclosure control happens at publication (privacy/ -> public.*), not here
        cast(false as {{ dbt.type_boolean() }}) as suppressed,
        -- computed from the platform's data (beregnet) or reported with provenance (rapportert)
        cast(indicator_values.origin as {{ dbt.type_string() }}) as origin,
        cast(definitions.goal_indicator as {{ dbt.type_string() }}) as goal_indicator,
        cast(indicator_values.source as {{ dbt.type_string() }}) as source,
        cast(indicator_values.reported_by as {{ dbt.type_string() }}) as reported_by,
        cast(indicator_values.seed_reference as {{ dbt.type_string() }}) as seed_reference
    from indicator_values
    inner join definitions
        on definitions.indicator_id = indicator_values.indicator_id
    left join geographies
        on geographies.geo_level = indicator_values.geo_level
        and geographies.geo_code = indicator_values.geo_code
    left join breakdowns
        on breakdowns.breakdown = indicator_values.breakdown
        and breakdowns.breakdown_code = indicator_values.breakdown_code
    left join input_labels
        on input_labels.indicator_id = indicator_values.indicator_id

)

select * from final
