-- Distinct recipients in total can never be fewer than the recipients of any one technology,
-- nor more than the sum over technologies (a person is counted once, under at least one).
with

totals as (
    select period, geo_level, geo_code, value
    from {{ ref('mart_indicator_values') }}
    where indicator_id = 'vft_mottakere'
),

technologies as (
    select period, geo_level, geo_code, max(value) as largest, sum(value) as summed
    from {{ ref('mart_indicator_values') }}
    where indicator_id = 'vft_mottakere_teknologi'
    group by period, geo_level, geo_code
)

select totals.*, technologies.largest, technologies.summed
from totals
inner join technologies
    on technologies.period = totals.period
    and technologies.geo_level = totals.geo_level
    and technologies.geo_code = totals.geo_code
where totals.value < technologies.largest or totals.value > technologies.summed
