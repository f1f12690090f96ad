{#
    Welfare-technology indicators (Delmål 1B), one row per indicator x year x geography
    (x technology for vft_mottakere_teknologi). Formulas: docs/indicators.md and the seed
    indicator_definitions; each is unit-tested in int_indicators__velferdsteknologi.yml.
#}

with

person_years as (

    select * from {{ ref('int_vft_recipients_per_year') }}

),

bridge as (

    select * from {{ ref('int_kommuner_rolled_up_to_geographies') }}

),

geographies as (

    select * from {{ ref('int_geographies') }}

),

population as (

    select * from {{ ref('population_kommune') }}

),

facts as (

    select
        person_years.*,
        bridge.geo_level,
        bridge.geo_code
    from person_years
    inner join bridge
        on bridge.kommunenummer_2024 = person_years.kommunenummer_2024

),

population_by_geo as (

    select
        population.year as aar,
        bridge.geo_level,
        bridge.geo_code,
        -- demo data hold var demo_scale of Norway's persons: so does the denominator, in whole
        -- persons (disclosure control needs counts)
        cast(round(sum(population.pop_67_plus) * {{ var('demo_scale') }}) as bigint) as pop_67_plus,
        cast(round(sum(population.pop_80_plus) * {{ var('demo_scale') }}) as bigint) as pop_80_plus
    from population
    inner join bridge
        on bridge.kommunenummer_2024 = population.kommunenummer
    group by population.year, bridge.geo_level, bridge.geo_code

),

recipients as (

    select
        aar,
        geo_level,
        geo_code,
        count(distinct person_id) as n_total,
        count(distinct case when aktiv_31des then person_id end) as n_31des,
        count(distinct case when alder >= {{ var('age_67_plus') }} then person_id end) as n_67_plus,
        count(distinct case when alder >= {{ var('age_80_plus') }} then person_id end) as n_80_plus
    from facts
    group by aar, geo_level, geo_code

),

recipients_by_technology as (

    select
        aar,
        geo_level,
        geo_code,
        tjenestetype_kode,
        count(distinct person_id) as n_total
    from facts
    group by aar, geo_level, geo_code, tjenestetype_kode

),

vkp_kommuner as (

    select
        aar,
        geo_level,
        geo_code,
        count(distinct case
            when via_vkp and kommunenummer_2024 <> '9999' then kommunenummer_2024
        end) as n_kommuner_vkp
    from facts
    where geo_level in ('nasjonal', 'fylke')
    group by aar, geo_level, geo_code

),

unioned as (

    select 'vft_mottakere' as indicator_id, aar, geo_level, geo_code,
        'total' as breakdown, 'alle' as breakdown_code,
        cast(n_total as {{ type_double() }}) as numerator,
        cast(null as {{ type_double() }}) as denominator,
        cast(n_total as {{ type_double() }}) as value
    from recipients

    union all

    select 'vft_mottakere_31des', aar, geo_level, geo_code, 'total', 'alle',
        n_31des, null, n_31des
    from recipients

    union all

    select 'vft_mottakere_teknologi', aar, geo_level, geo_code, 'tjenestetype',
        {{ dbt.safe_cast('tjenestetype_kode', dbt.type_string()) }},
        n_total, null, n_total
    from recipients_by_technology

    union all

    {% for age in ['67', '80'] %}
    {#- Demo data: the scaled population is an expectation, and in a cell of a few synthetic
        persons the recipients can exceed it by chance; there the denominator is the recipients
        (a rate of 1 000). Real data (demo_scale 1) keep the population, so a numerator above it
        still fails the quality check numerator_not_above_denominator. -#}
    {%- set population = 'population_by_geo.pop_' ~ age ~ '_plus' -%}
    {%- set numerator = 'recipients.n_' ~ age ~ '_plus' -%}
    {%- set denominator = 'greatest(' ~ population ~ ', ' ~ numerator ~ ')' if var('demo_scale') | float < 1 else population -%}
    select 'vft_mottakere_{{ age }}_per_1000', recipients.aar, recipients.geo_level, recipients.geo_code,
        'total', 'alle',
        {{ numerator }}, {{ denominator }},
        1000 * {{ safe_divide(numerator, denominator) }}
    from recipients
    inner join population_by_geo
        on population_by_geo.aar = recipients.aar
        and population_by_geo.geo_level = recipients.geo_level
        and population_by_geo.geo_code = recipients.geo_code

    union all
    {% endfor %}

    select 'vkp_kommuner', vkp_kommuner.aar, vkp_kommuner.geo_level, vkp_kommuner.geo_code,
        'total', 'alle',
        vkp_kommuner.n_kommuner_vkp, geographies.n_kommuner, vkp_kommuner.n_kommuner_vkp
    from vkp_kommuner
    inner join geographies
        on geographies.geo_level = vkp_kommuner.geo_level
        and geographies.geo_code = vkp_kommuner.geo_code

),

final as (

    select
        {{ yearly_indicator_columns() }}
    from unioned

)

select * from final
