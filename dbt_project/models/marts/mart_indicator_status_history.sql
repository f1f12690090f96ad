{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['indicator_id', 'breakdown_code', 'reporting_period'],
    )
}}
{#
    The status of every indicator per reporting period of the strategy (Q1 and Q3 each year),
    with a comment, kept over time: an incremental table, so a build replaces only the rows of
    the current reporting period and every earlier period stays as it was recorded.
      - status_origin rapportert: the statuses the strategy's status reports gave (seed
        indicator_status_reports, e.g. 2023-Q3), with the report's comment;
      - status_origin beregnet: the platform's own status (mart_indicator_status) recorded for
        the reporting period of the run date (var run_date: January-June is Q1, July-December
        Q3), with the rule's reason as the comment.
    A reported status wins over a computed one for the same indicator and period.
#}

with

computed_status as (

    select * from {{ ref('mart_indicator_status') }}

),

reported_status as (

    select * from {{ ref('indicator_status_reports') }}

),

{% set run_date = var('run_date') or modules.datetime.date.today().isoformat() %}
{% set run_year = run_date[:4] %}
{% set half = 'Q1' if (run_date[5:7] | int) <= 6 else 'Q3' %}

computed as (

    select
        indicator_id,
        breakdown_code,
        '{{ run_year }}-{{ half }}' as reporting_period,
        status,
        'beregnet' as status_origin,
        case status
            when 'green' then 'Målet er nådd, eller trenden når det innen målåret.'
            when 'yellow' then 'Innenfor 10 % av målet.'
            when 'red' then 'Bak målet og trenden.'
            when 'no_data' then 'Ingen verdi ennå.'
            else 'Ikke noe mål satt.'
        end as comment,
        cast(null as {{ dbt.type_string() }}) as assessed_by,
        cast(null as {{ dbt.type_string() }}) as seed_reference,
        target,
        target_year,
        target_is_illustrative,
        latest_year,
        latest_value
    from computed_status
    where not exists (
        select 1 from reported_status
        where reported_status.indicator_id = computed_status.indicator_id
            and reported_status.reporting_period = '{{ run_year }}-{{ half }}'
    )

),

reported as (

    select
        reported_status.indicator_id,
        'alle' as breakdown_code,
        reported_status.reporting_period,
        reported_status.status,
        'rapportert' as status_origin,
        reported_status.comment,
        reported_status.assessed_by,
        reported_status.seed_reference,
        computed_status.target,
        computed_status.target_year,
        computed_status.target_is_illustrative,
        cast(null as {{ dbt.type_int() }}) as latest_year,
        cast(null as {{ type_double() }}) as latest_value
    from reported_status
    left join computed_status
        on computed_status.indicator_id = reported_status.indicator_id
        and computed_status.breakdown_code = 'alle'

),

unioned as (

    select * from computed
    union all
    select * from reported

),

final as (

    select
        cast(indicator_id as {{ dbt.type_string() }}) as indicator_id,
        cast(breakdown_code as {{ dbt.type_string() }}) as breakdown_code,
        cast(reporting_period as {{ dbt.type_string() }}) as reporting_period,
        cast(status as {{ dbt.type_string() }}) as status,
        cast(status_origin as {{ dbt.type_string() }}) as status_origin,
        cast(comment as {{ dbt.type_string() }}) as comment,
        cast(assessed_by as {{ dbt.type_string() }}) as assessed_by,
        cast(seed_reference as {{ dbt.type_string() }}) as seed_reference,
        cast(target as {{ type_double() }}) as target,
        cast(target_year as {{ dbt.type_int() }}) as target_year,
        cast(target_is_illustrative as {{ dbt.type_boolean() }}) as target_is_illustrative,
        cast(latest_year as {{ dbt.type_int() }}) as latest_year,
        cast(latest_value as {{ type_double() }}) as latest_value,
        cast('{{ run_date }}' as date) as recorded_on
    from unioned

)

select * from final
