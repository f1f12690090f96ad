-- The tables `helsedata build` materialises, computed by one hand-written DuckDB script: the
-- baseline of bench/bench_build.py and bench/bench_platform.py. Same definitions as the dbt models
-- (docs/indicators.md); reads raw.* and the seeds dbt loaded into reference.*; writes
-- bench.mart_indicator_values, bench.mart_indicator_status, bench.mart_registry_reporting_coverage
-- and the analysis room's bench.person_aar (equal to dbt's analysis.person_aar row for row,
-- tests/integration/test_dbt_build.py). Parameters are the dbt vars' defaults. Not here: the
-- few-hundred-row mart_indicator_status_history and the reported figures.
create schema if not exists bench;
-- the same session settings as the dbt profile: tables have no order, so DuckDB may spill freely
set preserve_insertion_order = false;

-- ---------- kommune mapping to 2024 codes (int_kommuner_mapped_to_2024)
create or replace temp table kmap as
with mapped as (
    select source_year, source_kommunenummer, kommunenummer_2024 from reference.kommune_crosswalk_to_2024
    union all
    select 2017, source_kommunenummer, kommunenummer_2024 from reference.kommune_crosswalk_to_2024 where source_year = 2018
    union all
    select 2017, c.old_kommunenummer, x.kommunenummer_2024
    from reference.kommune_changes c
    join reference.kommune_crosswalk_to_2024 x on x.source_year = 2018 and x.source_kommunenummer = c.new_kommunenummer
    where c.change_date = date '2018-01-01' and c.code_changed
    union all
    select 2024, kommunenummer, kommunenummer from reference.kommuner_2024
    union all
    select 2024, '9999', '9999'
), all_m as (
    select distinct * from (
        select * from mapped
        union all
        select y.source_year, k.kommunenummer, k.kommunenummer
        from (select distinct source_year from mapped where source_year < 2024) y, reference.kommuner_2024 k
        where not exists (select 1 from mapped m where m.source_year = y.source_year and m.source_kommunenummer = k.kommunenummer)
    )
), w as (
    select m.*, coalesce(p.pop_total, 1) as weight
    from all_m m left join reference.population_kommune p on p.year = 2024 and p.kommunenummer = m.kommunenummer_2024
)
select source_year, source_kommunenummer, kommunenummer_2024,
    (sum(weight) over c - weight)::double / sum(weight) over t as lo,
    case when sum(weight) over c = sum(weight) over t then 1.0 else (sum(weight) over c)::double / sum(weight) over t end as hi
from w
window t as (partition by source_year, source_kommunenummer),
       c as (partition by source_year, source_kommunenummer order by kommunenummer_2024 rows between unbounded preceding and current row);

create or replace temp table geo_bridge as
select kommunenummer as k, 'nasjonal' as geo_level, 'NO' as geo_code from reference.kommuner_2024
union all select '9999', 'nasjonal', 'NO'
union all select kommunenummer, 'fylke', fylkesnummer from reference.kommuner_2024
union all select kommunenummer, 'kommune', kommunenummer from reference.kommuner_2024;

create or replace temp table geos as
select 'nasjonal' as geo_level, 'NO' as geo_code, 'Norge' as geo_name, 357 as n_kommuner
union all select 'fylke', f.fylkesnummer, f.fylkesnavn, (select count(*) from reference.kommuner_2024 k where k.fylkesnummer = f.fylkesnummer) from reference.fylker_2024 f
union all select 'kommune', kommunenummer, kommunenavn, 1 from reference.kommuner_2024;

-- ---------- welfare technology: person-years
create or replace temp table vft_py as
with s as (
    select v.person_id, v.fodselsaar, coalesce(m.kommunenummer_2024, '9999') as k, v.tjenestetype as tt,
        coalesce(v.via_vkp, false) as via_vkp, v.startdato, v.sluttdato
    from raw.vft_mottakere v
    left join kmap m on m.source_kommunenummer = v.kommunenummer
        and m.source_year = least(greatest(year(v.startdato), 2017), 2024)
        and ('0x' || substring(md5(v.person_id), 1, 7))::bigint / 268435456.0 >= m.lo
        and ('0x' || substring(md5(v.person_id), 1, 7))::bigint / 268435456.0 < m.hi
), y as (
    select unnest(generate_series(2017, (select max(year(startdato)) from raw.vft_mottakere))) as aar
)
select s.person_id, y.aar, s.k, s.tt, max(y.aar - s.fodselsaar) as alder, bool_or(s.via_vkp) as via_vkp,
    bool_or(s.sluttdato is null or s.sluttdato >= make_date(y.aar, 12, 31)) as aktiv_31des
from s join y on s.startdato <= make_date(y.aar, 12, 31) and (s.sluttdato is null or s.sluttdato >= make_date(y.aar, 1, 1))
group by all;

create or replace temp table iv as
with f as (select p.*, b.geo_level, b.geo_code from vft_py p join geo_bridge b on b.k = p.k),
pop as (
    select p.year as aar, b.geo_level, b.geo_code, sum(pop_67_plus) as p67, sum(pop_80_plus) as p80
    from reference.population_kommune p join geo_bridge b on b.k = p.kommunenummer group by all
),
r as (
    select aar, geo_level, geo_code, count(distinct person_id) as n,
        count(distinct person_id) filter (where aktiv_31des) as n31,
        count(distinct person_id) filter (where alder >= 67) as n67,
        count(distinct person_id) filter (where alder >= 80) as n80,
        count(distinct k) filter (where via_vkp and k <> '9999') as nvkp
    from f group by all
),
contacts as (
    select coalesce(m.kommunenummer_2024, '9999') as k, year(c.kontaktdato) as aar,
        date_trunc('month', c.kontaktdato)::date as mnd, coalesce(cf.digital, false) as dig
    from raw.kpr_kontakter c
    left join kmap m on m.source_kommunenummer = c.kommunenummer
        and m.source_year = least(greatest(year(c.kontaktdato), 2017), 2024)
        and ('0x' || substring(md5(c.person_id), 1, 7))::bigint / 268435456.0 >= m.lo
        and ('0x' || substring(md5(c.person_id), 1, 7))::bigint / 268435456.0 < m.hi
    left join reference.codelist_kontaktform cf on cf.kontaktform = c.kontaktform
),
cg as (
    select c.*, b.geo_level, b.geo_code from contacts c join geo_bridge b on b.k = c.k
),
reg as (
    select register, cast(substring(periode, 1, 4) as int) as aar, sum(forventet) as forv,
        sum(least(mottatt, forventet)) as capped, sum(mottatt) as mott,
        sum(mottatt_digitalt) as dig, sum(mottatt_innen_frist) as frist
    from raw.registry_reporting group by all
),
reg_counts as (
    select aar,
        count(*) filter (where dig / nullif(mott, 0) > 0.95) as n95,
        count(*) filter (where dig / nullif(mott, 0) >= 0.99 and frist / nullif(mott, 0) >= 0.95) as nauto,
        count(*) filter (where mott > 0) as nreg
    from reg group by all
),
apps as (select * from raw.room_applications)
select 'vft_mottakere' as indicator_id, aar::varchar as period, 'year' as period_type, make_date(aar, 1, 1) as period_start,
    geo_level, geo_code, 'total' as breakdown, 'alle' as breakdown_code, n::double as numerator, null::double as denominator, n::double as value from r
union all select 'vft_mottakere_31des', aar::varchar, 'year', make_date(aar, 1, 1), geo_level, geo_code, 'total', 'alle', n31, null, n31 from r
union all select 'vft_mottakere_teknologi', aar::varchar, 'year', make_date(aar, 1, 1), geo_level, geo_code, 'tjenestetype', tt::varchar,
    count(distinct person_id), null, count(distinct person_id) from f group by aar, geo_level, geo_code, tt
union all select 'vft_mottakere_67_per_1000', r.aar::varchar, 'year', make_date(r.aar, 1, 1), r.geo_level, r.geo_code, 'total', 'alle',
    n67, p67, 1000 * (n67::double / nullif(p67, 0)) from r join pop using (aar, geo_level, geo_code)
union all select 'vft_mottakere_80_per_1000', r.aar::varchar, 'year', make_date(r.aar, 1, 1), r.geo_level, r.geo_code, 'total', 'alle',
    n80, p80, 1000 * (n80::double / nullif(p80, 0)) from r join pop using (aar, geo_level, geo_code)
union all select 'vkp_kommuner', r.aar::varchar, 'year', make_date(r.aar, 1, 1), r.geo_level, r.geo_code, 'total', 'alle', nvkp, g.n_kommuner, nvkp
    from r join geos g using (geo_level, geo_code) where r.geo_level in ('nasjonal', 'fylke')
union all select 'digital_konsultasjon_andel', aar::varchar, 'year', make_date(aar, 1, 1), geo_level, geo_code, 'total', 'alle',
    count(*) filter (where dig), count(*), (count(*) filter (where dig))::double / count(*) from cg group by aar, geo_level, geo_code
union all select 'digital_konsultasjon_andel', strftime(mnd, '%Y-%m'), 'month', mnd, geo_level, geo_code, 'total', 'alle',
    count(*) filter (where dig), count(*), (count(*) filter (where dig))::double / count(*) from cg group by mnd, geo_level, geo_code
union all select 'register_digital_95', aar::varchar, 'year', make_date(aar, 1, 1), 'nasjonal', 'NO', 'total', 'alle', n95, nreg, n95 from reg_counts
union all select 'register_automatisert', aar::varchar, 'year', make_date(aar, 1, 1), 'nasjonal', 'NO', 'total', 'alle', nauto, nreg, nauto from reg_counts
union all select 'register_dekningsgrad', aar::varchar, 'year', make_date(aar, 1, 1), 'nasjonal', 'NO', 'register', register, capped, forv, capped::double / nullif(forv, 0) from reg
union all select 'register_rettidighet', aar::varchar, 'year', make_date(aar, 1, 1), 'nasjonal', 'NO', 'register', register, frist, mott, frist::double / nullif(mott, 0) from reg
union all select 'datatilgang_soknader', year(submitted_at)::varchar, 'year', make_date(year(submitted_at), 1, 1), 'nasjonal', 'NO', 'total', 'alle',
    count(*), null, count(*) from apps where submitted_at is not null group by year(submitted_at)
union all select 'datatilgang_behandlingstid_median', year(decided_at)::varchar, 'year', make_date(year(decided_at), 1, 1), 'nasjonal', 'NO', 'total', 'alle',
    null, count(*), median(date_diff('day', submitted_at::date, decided_at::date)) from apps
    where decided_at is not null and submitted_at is not null group by year(decided_at);

create or replace table bench.mart_indicator_values as
with lab as (
    select dataset, label from (
        select case when dataset like 'raw.%' then substring(dataset, 5) else dataset end as dataset, lower(label) as label,
            row_number() over (partition by dataset order by computed_at desc, run_id desc) as rn
        from quality.labels) where rn = 1
), il as (
    select i.indicator_id,
        case when count(l.label) < count(*) then 'unrated'
             else ['bronze', 'silver', 'gold', 'platinum'][min(list_position(['bronze', 'silver', 'gold', 'platinum'], l.label))] end as q
    from reference.indicator_inputs i left join lab l using (dataset) group by all
)
select iv.indicator_id, iv.period, iv.period_type, iv.period_start, iv.geo_level, iv.geo_code, g.geo_name,
    iv.breakdown, iv.breakdown_code,
    case iv.breakdown when 'tjenestetype' then t.tjenestetype when 'register' then cr.navn else 'Alle' end as breakdown_name,
    iv.numerator, iv.denominator, iv.value, d.unit, coalesce(il.q, 'unrated') as input_quality_label, false as suppressed
from iv
join reference.indicator_definitions d using (indicator_id)
left join geos g using (geo_level, geo_code)
left join reference.codelist_tjenestetype t on iv.breakdown = 'tjenestetype' and t.tjenestetype_kode::varchar = iv.breakdown_code
left join reference.codelist_register cr on iv.breakdown = 'register' and cr.register = iv.breakdown_code
left join il using (indicator_id);

create or replace table bench.mart_indicator_status as
with s as (
    select indicator_id, breakdown_code, period::int as aar, value,
        row_number() over (partition by indicator_id, breakdown_code order by period_start desc) as rl,
        row_number() over (partition by indicator_id, breakdown_code order by period_start) as rf
    from bench.mart_indicator_values where geo_level = 'nasjonal' and period_type = 'year' and value is not null
), l as (
    select a.indicator_id, a.breakdown_code, a.aar as ly, a.value as lv, b.aar as fy, b.value as fv,
        case when a.aar > b.aar then (a.value - b.value) / (a.aar - b.aar) end as trend
    from s a join s b on b.indicator_id = a.indicator_id and b.breakdown_code = a.breakdown_code and b.rf = 1 where a.rl = 1
), x as (
    select d.indicator_id, coalesce(l.breakdown_code, 'alle') as breakdown_code, l.ly, l.lv, l.fy, l.fv, l.trend,
        case when l.trend is not null and d.target_year > l.ly then l.lv + l.trend * (d.target_year - l.ly) end as proj,
        d.target, d.target_year, d.target_is_illustrative, d.higher_is_better
    from reference.indicator_definitions d left join l using (indicator_id)
), y as (
    select *,
        case when higher_is_better then lv >= target else lv <= target end as met,
        case when higher_is_better then proj >= target else proj <= target end as on_track,
        case when target <> 0 then abs(lv - target) / abs(target) end as gap
    from x
)
select indicator_id, breakdown_code, ly as latest_year, lv as latest_value, fy as first_year, fv as first_value,
    trend as trend_per_year, proj as projected_value, target, target_year, target_is_illustrative, higher_is_better,
    gap as relative_gap,
    case when target is null or higher_is_better is null then 'no_target' when lv is null then 'no_data'
         when met then 'green' when on_track then 'green' when gap <= 0.10 then 'yellow' else 'red' end as status
from y;

create or replace table bench.mart_registry_reporting_coverage as
with um as (
    select register, rapporteringsenhet, periode, (periode || '-01')::date as ps,
        sum(forventet) as forv, sum(mottatt) as mott, sum(least(mottatt, forventet)) as capped,
        sum(mottatt_digitalt) as dig, sum(mottatt_innen_frist) as frist
    from raw.registry_reporting group by all
), sh as (
    select *, capped::double / nullif(forv, 0) as coverage, dig::double / nullif(mott, 0) as digital_share,
        frist::double / nullif(mott, 0) as on_time_share,
        sum(capped) over w12 / nullif(sum(forv) over w12, 0) as coverage_rolling_12m,
        count(*) over w12 as months_in_rolling_window
    from um
    window w12 as (partition by register, rapporteringsenhet order by ps range between interval 11 month preceding and current row)
)
select a.register, cr.navn as register_navn, a.rapporteringsenhet, cr.rapporteringsenhet_type, k.kommunenavn, a.periode,
    a.ps as periode_start, a.forv as forventet, a.mott as mottatt, a.dig as mottatt_digitalt, a.frist as mottatt_innen_frist,
    a.coverage, a.digital_share, a.on_time_share,
    coalesce(a.coverage < 0.95, false) as below_coverage_threshold,
    coalesce(a.digital_share < 0.95, false) as below_digital_threshold,
    coalesce(a.on_time_share < 0.90, false) as below_on_time_threshold,
    coalesce(a.coverage < 0.95, false) or coalesce(a.digital_share < 0.95, false) or coalesce(a.on_time_share < 0.90, false) as below_threshold,
    b.coverage as coverage_3m_ago, a.coverage - b.coverage as coverage_change_3m,
    a.coverage_rolling_12m, a.months_in_rolling_window
from sh a
left join reference.codelist_register cr using (register)
left join reference.kommuner_2024 k on cr.rapporteringsenhet_type = 'kommunenummer' and k.kommunenummer = a.rapporteringsenhet
left join sh b on b.register = a.register and b.rapporteringsenhet = a.rapporteringsenhet and b.ps = a.ps - interval 3 month;

-- ---------- the analysis room's person_aar (analysis.person_aar and its int_person_years__* models):
-- one row per person and year with a welfare-technology service, a care service or a contact.
-- Years: from the first year a service ends (the first start year if none ends) to the last start
-- year, never past this year (int_calendar_years with run_date = today).
create or replace temp table years as
select unnest(generate_series(first_year, last_year)) as aar
from (
    select case when min(year(sluttdato)) > min(year(startdato)) then min(year(sluttdato)) else min(year(startdato)) end as first_year,
        least(max(year(startdato)), year(current_date)) as last_year
    from raw.vft_mottakere
);

create or replace temp table vft_person_years as
with mapped as (
    select v.*, coalesce(m.kommunenummer_2024, '9999') as k
    from raw.vft_mottakere v
    left join kmap m on m.source_kommunenummer = v.kommunenummer
        and m.source_year = least(greatest(year(v.startdato), 2017), 2024)
        and ('0x' || substring(md5(v.person_id), 1, 7))::bigint / 268435456.0 >= m.lo
        and ('0x' || substring(md5(v.person_id), 1, 7))::bigint / 268435456.0 < m.hi
), persons as (
    select person_id, max(fodselsaar) as fodselsaar, max(kjonn) as kjonn from raw.vft_mottakere group by person_id
)
select s.person_id, y.aar, min(s.k) as k, count(distinct s.tjenestetype::int) as n_vft_teknologier,
    bool_or(s.tjenestetype::int = 6) as has_vft_6, bool_or(s.tjenestetype::int = 26) as has_vft_26,
    bool_or(s.tjenestetype::int = 27) as has_vft_27, bool_or(s.tjenestetype::int = 28) as has_vft_28,
    bool_or(coalesce(s.via_vkp, false)) as has_vft_vkp, any_value(p.fodselsaar) as fodselsaar, any_value(p.kjonn) as kjonn
from mapped s
join years y on s.startdato <= make_date(y.aar, 12, 31) and (s.sluttdato is null or s.sluttdato >= make_date(y.aar, 1, 1))
join persons p using (person_id)
group by s.person_id, y.aar;

create or replace temp table service_person_years as
with mapped as (
    select t.*, coalesce(m.kommunenummer_2024, '9999') as k
    from raw.kpr_tjenester t
    left join kmap m on m.source_kommunenummer = t.kommunenummer
        and m.source_year = least(greatest(year(t.startdato), 2017), 2024)
        and ('0x' || substring(md5(t.person_id), 1, 7))::bigint / 268435456.0 >= m.lo
        and ('0x' || substring(md5(t.person_id), 1, 7))::bigint / 268435456.0 < m.hi
), persons as (
    select person_id, max(fodselsaar) as fodselsaar, max(kjonn) as kjonn from raw.kpr_tjenester group by person_id
)
select s.person_id, y.aar, min(s.k) as k, count(*) as n_tjenester, count(distinct s.tjenestetype::int) as n_tjenestetyper,
    any_value(p.fodselsaar) as fodselsaar, any_value(p.kjonn) as kjonn
from mapped s
join years y on s.startdato <= make_date(y.aar, 12, 31) and (s.sluttdato is null or s.sluttdato >= make_date(y.aar, 1, 1))
join persons p using (person_id)
where y.aar <= (select max(year(startdato)) from raw.kpr_tjenester)
group by s.person_id, y.aar;

create or replace temp table contact_person_years as
with mapped as (
    select c.person_id, year(c.kontaktdato) as aar, coalesce(m.kommunenummer_2024, '9999') as k,
        coalesce(f.digital, false) as digital
    from raw.kpr_kontakter c
    left join reference.codelist_kontaktform f on f.kontaktform = c.kontaktform
    left join kmap m on m.source_kommunenummer = c.kommunenummer
        and m.source_year = least(greatest(year(c.kontaktdato), 2017), 2024)
        and ('0x' || substring(md5(c.person_id), 1, 7))::bigint / 268435456.0 >= m.lo
        and ('0x' || substring(md5(c.person_id), 1, 7))::bigint / 268435456.0 < m.hi
), persons as (
    select person_id, max(fodselsaar) as fodselsaar, max(kjonn) as kjonn from raw.kpr_kontakter group by person_id
)
select c.person_id, c.aar, min(c.k) as k, count(*) as n_kontakter, count(*) filter (where c.digital) as n_kontakter_digitale,
    any_value(p.fodselsaar) as fodselsaar, any_value(p.kjonn) as kjonn
from mapped c
join years y using (aar)
join persons p using (person_id)
group by c.person_id, c.aar;

-- stacked and grouped, not joined on person_id: three hash joins ran out of memory at scale 1
create or replace table bench.person_aar as
with stacked as (
    select person_id, aar, fodselsaar, kjonn, k as vk, true as has_vft, has_vft_6, has_vft_26, has_vft_27,
        has_vft_28, has_vft_vkp, n_vft_teknologier from vft_person_years
    union all by name
    select person_id, aar, fodselsaar, kjonn, k as sk, true as has_tjenester, n_tjenester, n_tjenestetyper
    from service_person_years
    union all by name
    select person_id, aar, fodselsaar, kjonn, k as ck, n_kontakter, n_kontakter_digitale from contact_person_years
), py as (
    select person_id, aar, max(vk) as vk, max(sk) as sk, max(ck) as ck, bool_or(has_vft) as has_vft,
        max(has_vft_6) as has_vft_6, max(has_vft_26) as has_vft_26, max(has_vft_27) as has_vft_27,
        max(has_vft_28) as has_vft_28, max(has_vft_vkp) as has_vft_vkp, max(n_vft_teknologier) as n_vft_teknologier,
        bool_or(has_tjenester) as has_tjenester, max(n_tjenester) as n_tjenester, max(n_tjenestetyper) as n_tjenestetyper,
        max(n_kontakter) as n_kontakter, max(n_kontakter_digitale) as n_kontakter_digitale
    from stacked group by person_id, aar
), persons as (
    select person_id, max(fodselsaar) as fodselsaar, max(kjonn) as kjonn from stacked group by person_id
)
select py.person_id, py.aar, coalesce(py.vk, py.sk, py.ck) as kommunenummer, coalesce(km.fylkesnummer, '99') as fylke,
    p.kjonn, p.fodselsaar, py.aar - p.fodselsaar as alder,
    coalesce(py.has_vft, false) as has_vft, coalesce(py.has_vft_6, false) as has_vft_6,
    coalesce(py.has_vft_26, false) as has_vft_26, coalesce(py.has_vft_27, false) as has_vft_27,
    coalesce(py.has_vft_28, false) as has_vft_28, coalesce(py.has_vft_vkp, false) as has_vft_vkp,
    coalesce(py.n_vft_teknologier, 0) as n_vft_teknologier,
    coalesce(py.has_tjenester, false) as has_tjenester, coalesce(py.n_tjenester, 0) as n_tjenester,
    coalesce(py.n_tjenestetyper, 0) as n_tjenestetyper,
    coalesce(py.n_kontakter, 0) as n_kontakter, coalesce(py.n_kontakter_digitale, 0) as n_kontakter_digitale
from py
join persons p using (person_id)
left join reference.kommuner_2024 km on km.kommunenummer = coalesce(py.vk, py.sk, py.ck);
