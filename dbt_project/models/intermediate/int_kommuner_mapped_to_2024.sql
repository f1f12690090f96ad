{#
    Maps a kommunenummer valid in a source year (2017-2024) to the 2024 kommune(s), with the share
    of the source kommune each 2024 kommune receives.

    Rule (docs: kommune_mapping):
      * 2018-2023: SSB's crosswalk (seed kommune_crosswalk_to_2024).
      * 2017: the changes of 2018-01-01 (seed kommune_changes), then the 2018 crosswalk.
      * 2024 and later: the 2024 codes themselves.
      * A 2024 code that is not a source code of that year's crosswalk maps to itself (extracts
        that already use current codes).
      * Split kommuner (n_targets > 1): each person is allocated whole to one successor, with
        probability proportional to the successor's 2024 population (pop_total): a number
        u in [0, 1) fixed by the person's pseudonym picks the successor whose
        [share_lower, share_upper) interval holds it. So a person counts once, and counts split
        in proportion to population in expectation.
#}

with

crosswalk as (

    select * from {{ ref('kommune_crosswalk_to_2024') }}

),

changes as (

    select * from {{ ref('kommune_changes') }}

),

kommuner as (

    select * from {{ ref('kommuner_2024') }}

),

population as (

    select kommunenummer, pop_total
    from {{ ref('population_kommune') }}
    where year = 2024

),

mapped_2018_2023 as (

    select source_year, source_kommunenummer, kommunenummer_2024
    from crosswalk

),

mapped_2017 as (

    -- codes that did not change on 2018-01-01 map as in 2018
    select 2017 as source_year, source_kommunenummer, kommunenummer_2024
    from crosswalk
    where source_year = 2018

    union all

    -- codes retired on 2018-01-01 go through their successor's 2018 mapping
    select 2017 as source_year, changes.old_kommunenummer, crosswalk.kommunenummer_2024
    from changes
    inner join crosswalk
        on crosswalk.source_year = 2018
        and crosswalk.source_kommunenummer = changes.new_kommunenummer
    where changes.change_date = cast('2018-01-01' as date)
        and changes.code_changed

),

mapped_2024 as (

    select 2024 as source_year, kommunenummer as source_kommunenummer, kommunenummer as kommunenummer_2024
    from kommuner

    union all

    select 2024, '9999', '9999'

),

mapped as (

    select * from mapped_2018_2023
    union all
    select * from mapped_2017
    union all
    select * from mapped_2024

),

current_codes_as_is as (

    -- 2024 codes used in an earlier year that are not source codes of that year
    select source_years.source_year, kommuner.kommunenummer as source_kommunenummer,
        kommuner.kommunenummer as kommunenummer_2024
    from (select distinct source_year from mapped where source_year < 2024) as source_years
    cross join kommuner
    where not exists (
        select 1 from mapped
        where mapped.source_year = source_years.source_year
            and mapped.source_kommunenummer = kommuner.kommunenummer
    )

),

all_mappings as (

    select distinct source_year, source_kommunenummer, kommunenummer_2024
    from (
        select * from mapped
        union all
        select * from current_codes_as_is
    ) as unioned

),

weighted as (

    select
        all_mappings.source_year,
        all_mappings.source_kommunenummer,
        all_mappings.kommunenummer_2024,
        coalesce(population.pop_total, 1) as weight
    from all_mappings
    left join population
        on population.kommunenummer = all_mappings.kommunenummer_2024

),

shares as (

    select
        source_year,
        source_kommunenummer,
        kommunenummer_2024,
        count(*) over (partition by source_year, source_kommunenummer) as n_targets,
        cast(weight as {{ type_double() }})
            / sum(weight) over (partition by source_year, source_kommunenummer) as share,
        sum(weight) over (
            partition by source_year, source_kommunenummer
            order by kommunenummer_2024
            rows between unbounded preceding and current row
        ) as cumulative_weight,
        sum(weight) over (partition by source_year, source_kommunenummer) as total_weight,
        weight
    from weighted

),

final as (

    select
        source_year,
        source_kommunenummer,
        kommunenummer_2024,
        n_targets,
        share,
        cast(cumulative_weight - weight as {{ type_double() }}) / total_weight as share_lower,
        case
            when cumulative_weight = total_weight then 1.0
            else cast(cumulative_weight as {{ type_double() }}) / total_weight
        end as share_upper
    from shares

)

select * from final
