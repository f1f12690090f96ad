{#
    The columns of one yearly indicator row, as every int_indicators__* model emits them (the
    shape mart_indicator_values unions). Arguments are SQL expressions, so a model that is national
    only passes "'nasjonal'" and "'NO'". origin says whether the platform computed the value
    (beregnet) or it was reported (rapportert, with its provenance: source, reported_by,
    seed_reference; empty for computed values).
#}
{% macro yearly_indicator_columns(year='aar', geo_level='geo_level', geo_code='geo_code',
                                  breakdown='breakdown', breakdown_code='breakdown_code',
                                  origin="'beregnet'", source='null', reported_by='null',
                                  seed_reference='null') -%}
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
        cast(value as {{ type_double() }}) as value,
        {{ origin_columns(origin, source, reported_by, seed_reference) }}
{%- endmacro %}

{#  The origin and provenance columns that end every indicator row (see above). #}
{% macro origin_columns(origin="'beregnet'", source='null', reported_by='null', seed_reference='null') -%}
        cast({{ origin }} as {{ dbt.type_string() }}) as origin,
        cast({{ source }} as {{ dbt.type_string() }}) as source,
        cast({{ reported_by }} as {{ dbt.type_string() }}) as reported_by,
        cast({{ seed_reference }} as {{ dbt.type_string() }}) as seed_reference
{%- endmacro %}
