-- Every source kommune's successors share exactly all of it (the allocation intervals tile [0, 1)).
select source_year, source_kommunenummer, sum(share) as total_share, min(share_lower) as first_lower,
    max(share_upper) as last_upper
from {{ ref('int_kommuner_mapped_to_2024') }}
group by source_year, source_kommunenummer
having abs(sum(share) - 1) > 1e-9 or min(share_lower) <> 0 or max(share_upper) <> 1
