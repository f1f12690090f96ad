{#
    Reporting to each health registry per reporting unit and month, with the shares registry
    owners monitor, flags against named thresholds (vars in dbt_project.yml) and the trend.
#}

with

reporting as (

    select * from {{ ref('stg_registry__reporting') }}

),

registries as (

    select * from {{ ref('codelist_register') }}

),

kommuner as (

    select * from {{ ref('kommuner_2024') }}

),

unit_months as (

    select
        register,
        rapporteringsenhet,
        periode,
        periode_start,
        sum(forventet) as forventet,
        sum(mottatt) as mottatt,
        sum(case when mottatt > forventet then forventet else mottatt end) as mottatt_innenfor_forventet,
        sum(mottatt_digitalt) as mottatt_digitalt,
        sum(mottatt_innen_frist) as mottatt_innen_frist
    from reporting
    group by register, rapporteringsenhet, periode, periode_start

),

with_shares as (

    select
        unit_months.*,
        -- months since year 0: consecutive months differ by 1, so windows and lags can use
        -- plain numeric offsets (portable, unlike interval range frames)
        cast(substring(periode, 1, 4) as {{ dbt.type_int() }}) * 12
            + cast(substring(periode, 6, 2) as {{ dbt.type_int() }}) as month_index,
        {{ safe_divide('mottatt_innenfor_forventet', 'forventet') }} as coverage,
        {{ safe_divide('mottatt_digitalt', 'mottatt') }} as digital_share,
        {{ safe_divide('mottatt_innen_frist', 'mottatt') }} as on_time_share
    from unit_months

),

rolling as (

    select
        with_shares.*,
        sum(mottatt_innenfor_forventet) over (
            partition by register, rapporteringsenhet
            order by month_index
            range between 11 preceding and current row
        ) as mottatt_innenfor_forventet_12m,
        sum(forventet) over (
            partition by register, rapporteringsenhet
            order by month_index
            range between 11 preceding and current row
        ) as forventet_12m,
        count(*) over (
            partition by register, rapporteringsenhet
            order by month_index
            range between 11 preceding and current row
        ) as months_in_window
    from with_shares

),

final as (

    select
        cast(with_shares.register as {{ dbt.type_string() }}) as register,
        cast(registries.navn as {{ dbt.type_string() }}) as register_navn,
        cast(registries.kind as {{ dbt.type_string() }}) as register_kind,
        cast(with_shares.rapporteringsenhet as {{ dbt.type_string() }}) as rapporteringsenhet,
        cast(registries.rapporteringsenhet_type as {{ dbt.type_string() }}) as rapporteringsenhet_type,
        cast(kommuner.kommunenavn as {{ dbt.type_string() }}) as kommunenavn,
        cast(with_shares.periode as {{ dbt.type_string() }}) as periode,
        cast(with_shares.periode_start as date) as periode_start,
        cast(with_shares.forventet as {{ dbt.type_bigint() }}) as forventet,
        cast(with_shares.mottatt as {{ dbt.type_bigint() }}) as mottatt,
        cast(with_shares.mottatt_digitalt as {{ dbt.type_bigint() }}) as mottatt_digitalt,
        cast(with_shares.mottatt_innen_frist as {{ dbt.type_bigint() }}) as mottatt_innen_frist,
        cast(with_shares.coverage as {{ type_double() }}) as coverage,
        cast(with_shares.digital_share as {{ type_double() }}) as digital_share,
        cast(with_shares.on_time_share as {{ type_double() }}) as on_time_share,
        cast(coalesce(with_shares.coverage < {{ var('coverage_threshold') }}, false)
            as {{ dbt.type_boolean() }}) as below_coverage_threshold,
        cast(coalesce(with_shares.digital_share < {{ var('digital_threshold') }}, false)
            as {{ dbt.type_boolean() }}) as below_digital_threshold,
        cast(coalesce(with_shares.on_time_share < {{ var('on_time_threshold') }}, false)
            as {{ dbt.type_boolean() }}) as below_on_time_threshold,
        cast(
            coalesce(with_shares.coverage < {{ var('coverage_threshold') }}, false)
            or coalesce(with_shares.digital_share < {{ var('digital_threshold') }}, false)
            or coalesce(with_shares.on_time_share < {{ var('on_time_threshold') }}, false)
        as {{ dbt.type_boolean() }}) as below_threshold,
        cast(three_months_ago.coverage as {{ type_double() }}) as coverage_3m_ago,
        cast(with_shares.coverage - three_months_ago.coverage as {{ type_double() }}) as coverage_change_3m,
        cast({{ safe_divide('with_shares.mottatt_innenfor_forventet_12m', 'with_shares.forventet_12m') }}
            as {{ type_double() }}) as coverage_rolling_12m,
        cast(with_shares.months_in_window as {{ dbt.type_int() }}) as months_in_rolling_window
    from rolling as with_shares
    left join registries
        on registries.register = with_shares.register
    left join kommuner
        on registries.rapporteringsenhet_type = 'kommunenummer'
        and kommuner.kommunenummer = with_shares.rapporteringsenhet
    left join with_shares as three_months_ago
        on three_months_ago.register = with_shares.register
        and three_months_ago.rapporteringsenhet = with_shares.rapporteringsenhet
        and three_months_ago.month_index = with_shares.month_index - 3

)

select * from final
