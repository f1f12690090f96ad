{#  Every geography indicators are reported for: the nation, the 15 fylker and 357 kommuner (2024). #}

with

kommuner as (

    select * from {{ ref('kommuner_2024') }}

),

fylker as (

    select * from {{ ref('fylker_2024') }}

),

final as (

    select 'nasjonal' as geo_level, 'NO' as geo_code, 'Norge' as geo_name,
        cast(null as {{ dbt.type_string() }}) as fylkesnummer,
        (select count(*) from kommuner) as n_kommuner

    union all

    select 'fylke', fylker.fylkesnummer, fylker.fylkesnavn, fylker.fylkesnummer,
        (select count(*) from kommuner where kommuner.fylkesnummer = fylker.fylkesnummer)
    from fylker

    union all

    select 'kommune', kommunenummer, kommunenavn, fylkesnummer, 1
    from kommuner

)

select * from final
