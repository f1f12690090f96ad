{#
    A 64-bit floating-point type. type_double() is `float`, which is 32-bit on DuckDB; counts
    up to millions and shares need double precision on every engine.
#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'helsedata')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double
{%- endmacro %}

{% macro postgres__type_double() -%}
    double precision
{%- endmacro %}
