{#
    The columns of one yearly indicator row, as every int_indicators__* model emits them (the
    shape mart_indicator_values unions). Arguments are SQL expressions, so a model that is national
    only passes "'nasjonal'" and "'NO'".
#}
{% macro yearly_indicator_columns(year='aar', geo_level='geo_level', geo_code='geo_code',
                                  breakdown='breakdown', breakdown_code='breakdown_code') -%}
        indicator_id,
        {{ dbt.safe_cast(year, dbt.type_string()) }} as period,
        'year' as period_type,
        {{ year_start(year) }} as period_start,
        {{ geo_level }} as geo_level,
        {{ geo_code }} as geo_code,
        {{ breakdown }} as breakdown,
        {{ breakdown_code }} as breakdown_code,
        cast(numerator as {{ type_double() }}) as numerator,
        cast(denominator as {{ type_double() }}) as denominator,
        cast(value as {{ type_double() }}) as value
{%- endmacro %}
