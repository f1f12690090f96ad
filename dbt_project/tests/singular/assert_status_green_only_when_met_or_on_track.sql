-- The traffic light follows its written rule (docs: indicator_status_rule).
select *
from {{ ref('mart_indicator_status') }}
where (status = 'green' and not (
            (higher_is_better and (latest_value >= target or projected_value >= target))
            or (not higher_is_better and (latest_value <= target or projected_value <= target))))
    or (status = 'yellow' and relative_gap > {{ var('status_yellow_tolerance') }})
    or (status = 'no_target' and target is not null and higher_is_better is not null)
    or (status = 'no_data' and latest_value is not null)
