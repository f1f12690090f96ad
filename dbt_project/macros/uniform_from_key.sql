{#
    A number in [0, 1) that is a fixed function of a text key (a person_id), used to allocate each
    person of a split kommune to one successor, in proportion to population (see
    int_kommuner_mapped_to_2024). The same key always gives the same number on one engine.
    The default uses dbt's portable md5 (dbt.hash) and reads its first 7 hex digits.
#}
{% macro uniform_from_key(key) -%}
    {{ return(adapter.dispatch('uniform_from_key', 'helsedata')(key)) }}
{%- endmacro %}

{% macro default__uniform_from_key(key) -%}
    (cast(conv(substring({{ dbt.hash(key) }}, 1, 7), 16, 10) as {{ dbt.type_bigint() }}) / 268435456.0)
{%- endmacro %}

{% macro duckdb__uniform_from_key(key) -%}
    (cast(('0x' || substring({{ dbt.hash(key) }}, 1, 7)) as bigint) / 268435456.0)
{%- endmacro %}

{% macro trino__uniform_from_key(key) -%}
    (cast(from_base(substr({{ dbt.hash(key) }}, 1, 7), 16) as bigint) / 268435456.0)
{%- endmacro %}
