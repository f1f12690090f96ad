{#
    Digital share of municipal consultations, per year and per month, for every geography:
    contacts whose kontaktform is digital in codelist_kontaktform (video, e-konsultasjon) over all
    contacts.
#}

with

contacts as (

    select * from {{ ref('int_kontakter_counted_by_form') }}

),

bridge as (

    select * from {{ ref('int_kommuner_rolled_up_to_geographies') }}

),

facts as (

    select contacts.*, bridge.geo_level, bridge.geo_code
    from contacts
    inner join bridge
        on bridge.kommunenummer_2024 = contacts.kommunenummer_2024

),

by_year as (

    select
        {{ dbt.safe_cast('kontakt_aar', dbt.type_string()) }} as period,
        'year' as period_type,
        {{ year_start('kontakt_aar') }} as period_start,
        geo_level,
        geo_code,
        sum(case when er_digital then n_kontakter else 0 end) as n_digital,
        sum(n_kontakter) as n_all
    from facts
    group by kontakt_aar, geo_level, geo_code

),

by_month as (

    select
        {{ to_year_month('kontakt_maaned') }} as period,
        'month' as period_type,
        cast(kontakt_maaned as date) as period_start,
        geo_level,
        geo_code,
        sum(case when er_digital then n_kontakter else 0 end) as n_digital,
        sum(n_kontakter) as n_all
    from facts
    group by kontakt_maaned, geo_level, geo_code

),

periods as (

    select * from by_year
    union all
    select * from by_month

),

final as (

    select
        'digital_konsultasjon_andel' as indicator_id,
        period,
        period_type,
        period_start,
        geo_level,
        geo_code,
        'total' as breakdown,
        'alle' as breakdown_code,
        cast(n_digital as {{ type_double() }}) as numerator,
        cast(n_all as {{ type_double() }}) as denominator,
        {{ safe_divide('n_digital', 'n_all') }} as value,
        {{ origin_columns() }}
    from periods

)

select * from final
