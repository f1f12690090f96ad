{#
    Custom schema names are used as-is (staging, intermediate, marts, reference), with no target
    prefix: the warehouse has one set of layers per HELSEDATA_HOME, and other parts of the
    platform (quality/, privacy/, dashboards/) read marts.* by that name.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
