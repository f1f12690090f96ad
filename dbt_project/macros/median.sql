{#
    The median of a numeric expression, as an aggregate. Engines spell it differently.
    Trino only has an approximate percentile; its error is far below one day on our data.
#}
{% macro median(expression) -%}
    {{ return(adapter.dispatch('median', 'helsedata')(expression)) }}
{%- endmacro %}

{% macro default__median(expression) -%}
    percentile_cont(0.5) within group (order by {{ expression }})
{%- endmacro %}

{% macro duckdb__median(expression) -%}
    median({{ expression }})
{%- endmacro %}

{% macro trino__median(expression) -%}
    approx_percentile({{ expression }}, 0.5)
{%- endmacro %}

{% macro spark__median(expression) -%}
    percentile({{ expression }}, 0.5)
{%- endmacro %}
