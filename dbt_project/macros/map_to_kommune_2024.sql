{#
    Join condition that maps a row's kommunenummer (valid in `year_expression`) to its 2024
    kommune through int_kommuner_mapped_to_2024 (`mapping`), allocating a person of a split
    kommune by `person_key` (see that model). Years are clamped to the mapping's 2017-2024 range.
    Use in a left join; an unknown code finds no row and becomes '9999' (Uoppgitt).
    (Keep the person condition a plain conjunction: wrapping it in CASE to skip the hash for
    unsplit kommuner made DuckDB ~10x slower, as the join could no longer filter in place.)
    On millions of rows pass `person_share`, a column holding uniform_from_key(person_key)
    computed once per row: in the join condition DuckDB hashes the key for each of the two
    comparisons, and that hashing was most of the contact models' build time.
#}
{% macro map_to_kommune_2024(mapping, kommunenummer, year_expression, person_key, person_share=none) -%}
    {%- set share = person_share if person_share else uniform_from_key(person_key) -%}
    {{ mapping }}.source_kommunenummer = {{ kommunenummer }}
    and {{ mapping }}.source_year = case
        when {{ year_expression }} < 2017 then 2017
        when {{ year_expression }} > 2024 then 2024
        else {{ year_expression }}
    end
    and {{ share }} >= {{ mapping }}.share_lower
    and {{ share }} < {{ mapping }}.share_upper
{%- endmacro %}
