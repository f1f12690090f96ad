{#
    Fails for every row where `expression` is not true (null counts as a failure, so write
    `x is null or ...` where null is allowed). Our own copy of dbt_utils.expression_is_true, so the
    project needs no `dbt deps` (no network at build time). Restrict rows with dbt's `where` config.

        data_tests:
          - expression_is_true:
              arguments:
                expression: "numerator <= denominator"
              config:
                where: "numerator is not null"
#}
{% test expression_is_true(model, expression, column_name=none) %}

select *
from {{ model }}
where not coalesce(({{ expression }}), false)

{% endtest %}
