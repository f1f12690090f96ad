-- Contacts are counted once each: fylke denominators add up to the national one, less the
-- contacts in an unknown kommune (9999), which count only nationally.
with

by_level as (
    select period, geo_level, sum(denominator) as contacts
    from {{ ref('mart_indicator_values') }}
    where indicator_id = 'digital_konsultasjon_andel' and geo_level in ('nasjonal', 'fylke')
    group by period, geo_level
),

unknown as (
    select cast(kontakt_aar as {{ dbt.type_string() }}) as period, sum(n_kontakter) as contacts
    from {{ ref('int_kontakter_counted_by_form') }}
    where kommunenummer_2024 = '9999'
    group by kontakt_aar
)

select nasjonal.period, nasjonal.contacts as national, fylke.contacts as fylker, unknown.contacts as unknown
from by_level as nasjonal
inner join by_level as fylke
    on fylke.period = nasjonal.period and fylke.geo_level = 'fylke'
left join unknown
    on unknown.period = nasjonal.period
where nasjonal.geo_level = 'nasjonal'
    and nasjonal.contacts <> fylke.contacts + coalesce(unknown.contacts, 0)
