{#
    Bridge from a 2024 kommune to every geography it counts in: itself, its fylke and the nation.
    '9999' (Uoppgitt: a code no mapping knows) counts only in the national total.
    Joining facts to this bridge and grouping by (geo_level, geo_code) gives all three levels in
    one query, and distinct counts stay distinct at each level.
#}

with

kommuner as (

    select * from {{ ref('kommuner_2024') }}

),

all_codes as (

    select kommunenummer, fylkesnummer from kommuner
    union all
    select '9999', cast(null as {{ dbt.type_string() }})

),

final as (

    select kommunenummer as kommunenummer_2024, 'nasjonal' as geo_level, 'NO' as geo_code
    from all_codes

    union all

    select kommunenummer, 'fylke', fylkesnummer
    from all_codes
    where fylkesnummer is not null

    union all

    select kommunenummer, 'kommune', kommunenummer
    from all_codes
    where fylkesnummer is not null

)

select * from final
