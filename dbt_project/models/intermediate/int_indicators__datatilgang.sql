{#
    Data-access applications (mål 3, "Bruk av helseregistre"), from the analysis room's export:
      datatilgang_soknader               applications submitted in the year
      datatilgang_behandlingstid_median  median whole days from submission to decision, over
                                         applications decided in the year
    Empty until the room has applications.
#}

with

applications as (

    select * from {{ ref('stg_room__applications') }}

),

submitted as (

    select submitted_year as aar, count(*) as n_soknader
    from applications
    where submitted_at is not null
    group by submitted_year

),

decided as (

    select
        decided_year as aar,
        count(*) as n_avgjort,
        {{ median(dbt.datediff('submitted_date', 'decided_date', 'day')) }} as median_dager
    from applications
    where decided_at is not null and submitted_at is not null
    group by decided_year

),

unioned as (

    select 'datatilgang_soknader' as indicator_id, aar,
        cast(n_soknader as {{ type_double() }}) as numerator,
        cast(null as {{ type_double() }}) as denominator,
        cast(n_soknader as {{ type_double() }}) as value
    from submitted

    union all

    select 'datatilgang_behandlingstid_median', aar,
        null, n_avgjort, median_dager
    from decided

),

final as (

    select
        {{ yearly_indicator_columns(geo_level="'nasjonal'", geo_code="'NO'", breakdown="'total'", breakdown_code="'alle'") }}
    from unioned

)

select * from final
