{#
    The grain of a model: no two rows share these columns, and none of them is null.
    Exact, but in two passes so it fits the platform's memory limit at national scale: first group
    a 64-bit hash of the columns (8 bytes a row, which DuckDB spills), then group the real columns
    of only the rows whose hash repeats. A hash collision costs a second look, never a wrong answer.
    Grouping the columns themselves (a 64-character person_id or file hash per row) ran out of
    memory on 162 M contacts under the 2 GB limit.
#}
{% test unique_combination(model, columns) %}

{%- set key = columns | join(', ') %}
with repeated_hashes as (
    select hash({{ key }}) as row_hash
    from {{ model }}
    group by row_hash
    having count(*) > 1
)

select {{ key }}, count(*) as n_rows
from {{ model }}
where hash({{ key }}) in (select row_hash from repeated_hashes)
group by {{ key }}
having count(*) > 1

union all

select {{ key }}, 1 as n_rows
from {{ model }}
where {% for column in columns %}{{ column }} is null{% if not loop.last %} or {% endif %}{% endfor %}

{% endtest %}
