{#
    The model's grain, i.e. its primary key: no two rows share the values of `columns`, and none
    of them is null. Failing rows are the duplicated keys and the keys with a null part.
#}
{% test unique_combination(model, columns) %}

select {{ columns | join(', ') }}, count(*) as n_rows
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
    or {% for column in columns %}{{ column }} is null{% if not loop.last %} or {% endif %}{% endfor %}

{% endtest %}
