{#- One row per calendar year from var first_year to var last_year (portable: no generate_series). -#}
{%- set years = range(var('first_year') | int, (var('last_year') | int) + 1) -%}

with

years as (

    {% for y in years -%}
    select {{ y }} as aar{% if not loop.last %} union all{% endif %}
    {% endfor %}

),

final as (

    select
        aar,
        {{ year_start('aar') }} as aar_start,
        {{ dbt.dateadd('day', -1, dbt.dateadd('year', 1, year_start('aar'))) }} as aar_slutt
    from years

)

select * from final
