{#  A column that is a share: between 0 and 1 inclusive where not null. #}
{% test is_share(model, column_name) %}

select *
from {{ model }}
where {{ column_name }} is not null
  and ({{ column_name }} < 0 or {{ column_name }} > 1)

{% endtest %}
