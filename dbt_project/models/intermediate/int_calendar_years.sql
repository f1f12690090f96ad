{#
    The calendar years the welfare-technology person-year spine covers, derived from the data.
    First year: the first year in which a service of the extract ends (or, with no ended
    service, the first start year). An extract of the services active in a window carries
    services that started long before it, but none that ended before it, so the first end year
    is where the extract's coverage begins; counting the earlier start years would report
    partial years. Last year: the last start year, but never past the year of the run date
    (var run_date, which helsedata build sets to today). No year is written
    in the code, so data for a new year is counted as soon as it is loaded, and a service that
    "starts" after the run date cannot stretch the spine into the future.
#}

with

services as (

    select * from {{ ref('stg_vft__mottakere') }}

),

bounds as (

    select
        cast(coalesce(
            case
                when min(extract(year from sluttdato)) > min(extract(year from startdato))
                then min(extract(year from sluttdato))
                else min(extract(year from startdato))
            end,
            min(extract(year from startdato))
        ) as {{ dbt.type_int() }}) as first_year,
        cast(max(extract(year from startdato)) as {{ dbt.type_int() }}) as data_last_year
    from services

),

last_year as (

    select
        first_year,
        {% if var('run_date') %}
        case
            when data_last_year > {{ var('run_date')[:4] | int }} then {{ var('run_date')[:4] | int }}
            else data_last_year
        end as last_year
        {% else %}
        data_last_year as last_year
        {% endif %}
    from bounds

),

-- 0..999 without a generator function, so the model is the same SQL on every adapter
digits as (

    select 0 as d union all select 1 union all select 2 union all select 3 union all select 4
    union all select 5 union all select 6 union all select 7 union all select 8 union all select 9

),

offsets as (

    select hundreds.d * 100 + tens.d * 10 + ones.d as n
    from digits as hundreds
    cross join digits as tens
    cross join digits as ones

),

final as (

    select
        last_year.first_year + offsets.n as aar,
        {{ year_start('last_year.first_year + offsets.n') }} as aar_start,
        cast({{ dbt.concat([dbt.safe_cast('last_year.first_year + offsets.n', dbt.type_string()), "'-12-31'"]) }} as date)
            as aar_slutt
    from last_year
    cross join offsets
    where last_year.first_year + offsets.n <= last_year.last_year

)

select * from final
