{#
    1 January of a year given as an integer expression, as a date (portable: built as ISO text).
#}
{% macro year_start(year_expression) -%}
    cast({{ dbt.concat([dbt.safe_cast(year_expression, dbt.type_string()), "'-01-01'"]) }} as date)
{%- endmacro %}

{#  The first day of a 'YYYY-MM' month text, as a date. #}
{% macro month_start(month_text) -%}
    cast({{ dbt.concat([month_text, "'-01'"]) }} as date)
{%- endmacro %}

{#  A date as 'YYYY-MM' text. #}
{% macro to_year_month(date_expression) -%}
    {{ return(adapter.dispatch('to_year_month', 'helsedata')(date_expression)) }}
{%- endmacro %}

{% macro default__to_year_month(date_expression) -%}
    date_format({{ date_expression }}, 'yyyy-MM')
{%- endmacro %}

{% macro duckdb__to_year_month(date_expression) -%}
    strftime({{ date_expression }}, '%Y-%m')
{%- endmacro %}

{% macro trino__to_year_month(date_expression) -%}
    date_format({{ date_expression }}, '%Y-%m')
{%- endmacro %}
