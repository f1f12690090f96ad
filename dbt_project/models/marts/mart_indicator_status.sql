{#
    Latest national, annual value of each indicator (per breakdown) against its target.
    At demo scale (var demo_scale < 1) targets counting persons are scaled by the same factor.
    Status rule (docs: indicator_status_rule):
      no_target  the indicator has no target (or no direction)
      no_data    it has a target but no value yet
      green      the latest value meets the target, or the linear trend from the first to the
                 latest annual value reaches it by target_year (only while target_year is ahead)
      yellow     otherwise, the latest value is within status_yellow_tolerance (10 %) of the target
      red        otherwise
#}

with

indicator_values as (

    select * from {{ ref('int_indicator_values_unioned') }}
    where geo_level = 'nasjonal' and period_type = 'year'

),

definitions as (

    select * from {{ ref('indicator_definitions') }}

),

series as (

    select
        indicator_id,
        breakdown_code,
        cast(period as {{ dbt.type_int() }}) as aar,
        value,
        row_number() over (partition by indicator_id, breakdown_code order by period_start desc) as from_latest,
        row_number() over (partition by indicator_id, breakdown_code order by period_start asc) as from_first
    from indicator_values
    where value is not null

),

latest as (

    select
        latest.indicator_id,
        latest.breakdown_code,
        latest.aar as latest_year,
        latest.value as latest_value,
        earliest.aar as first_year,
        earliest.value as first_value,
        case
            when latest.aar > earliest.aar
            then (latest.value - earliest.value) / (latest.aar - earliest.aar)
        end as trend_per_year
    from series as latest
    inner join series as earliest
        on earliest.indicator_id = latest.indicator_id
        and earliest.breakdown_code = latest.breakdown_code
        and earliest.from_first = 1
    where latest.from_latest = 1

),

indicator_breakdowns as (

    -- every indicator appears, with 'alle' when it has no values yet
    select
        definitions.indicator_id,
        coalesce(latest.breakdown_code, 'alle') as breakdown_code,
        definitions.higher_is_better,
        -- counts of persons scale with synthetic demo data (var demo_scale, set by helsedata build
        -- from the recorded demo scale); counts of kommuner, registries and shares do not
        case
            when definitions.unit = 'personer' then definitions.target * {{ var('demo_scale') }}
            else definitions.target
        end as target,
        definitions.target_year,
        definitions.target_is_illustrative,
        definitions.origin,
        definitions.goal_indicator,
        latest.latest_year,
        latest.latest_value,
        latest.first_year,
        latest.first_value,
        latest.trend_per_year,
        case
            when latest.trend_per_year is not null and definitions.target_year > latest.latest_year
            then latest.latest_value + latest.trend_per_year * (definitions.target_year - latest.latest_year)
        end as projected_value
    from definitions
    left join latest
        on latest.indicator_id = definitions.indicator_id

),

assessed as (

    select
        *,
        case
            when target is null or higher_is_better is null then null
            when latest_value is null then null
            when higher_is_better then latest_value >= target
            else latest_value <= target
        end as target_met,
        case
            when target is null or higher_is_better is null or projected_value is null then null
            when higher_is_better then projected_value >= target
            else projected_value <= target
        end as on_track,
        case
            when target is null or latest_value is null or target = 0 then null
            else abs(latest_value - target) / abs(target)
        end as relative_gap
    from indicator_breakdowns

),

final as (

    select
        cast(indicator_id as {{ dbt.type_string() }}) as indicator_id,
        cast(breakdown_code as {{ dbt.type_string() }}) as breakdown_code,
        cast(latest_year as {{ dbt.type_int() }}) as latest_year,
        cast(latest_value as {{ type_double() }}) as latest_value,
        cast(first_year as {{ dbt.type_int() }}) as first_year,
        cast(first_value as {{ type_double() }}) as first_value,
        cast(trend_per_year as {{ type_double() }}) as trend_per_year,
        cast(projected_value as {{ type_double() }}) as projected_value,
        cast(target as {{ type_double() }}) as target,
        cast(target_year as {{ dbt.type_int() }}) as target_year,
        cast(target_is_illustrative as {{ dbt.type_boolean() }}) as target_is_illustrative,
        cast(higher_is_better as {{ dbt.type_boolean() }}) as higher_is_better,
        cast(relative_gap as {{ type_double() }}) as relative_gap,
        cast(origin as {{ dbt.type_string() }}) as origin,
        cast(goal_indicator as {{ dbt.type_string() }}) as goal_indicator,
        cast(case
            when target is null or higher_is_better is null then 'no_target'
            when latest_value is null then 'no_data'
            when target_met then 'green'
            when on_track then 'green'
            when relative_gap <= {{ var('status_yellow_tolerance') }} then 'yellow'
            else 'red'
        end as {{ dbt.type_string() }}) as status,
        cast(case
            when target is null or higher_is_better is null then 'No target set'
            when latest_value is null then 'No value yet'
            when target_met then 'Target met'
            when on_track then 'On track: linear trend reaches the target by the target year'
            when relative_gap <= {{ var('status_yellow_tolerance') }} then 'Within tolerance of the target'
            else 'Behind target and trend'
        end as {{ dbt.type_string() }}) as status_reason
    from assessed

)

select * from final
