{#
    Every indicator value of every int_indicators__* model, in their shared row shape
    (macro yearly_indicator_columns): what mart_indicator_values names and labels, and what
    mart_indicator_status compares with the targets.
#}

with

velferdsteknologi as (

    select * from {{ ref('int_indicators__velferdsteknologi') }}

),

kontakter as (

    select * from {{ ref('int_indicators__kontakter') }}

),

register as (

    select * from {{ ref('int_indicators__register') }}

),

datatilgang as (

    select * from {{ ref('int_indicators__datatilgang') }}

),

reported as (

    select * from {{ ref('int_indicators__reported') }}

),

final as (

    select * from velferdsteknologi
    union all
    select * from kontakter
    union all
    select * from register
    union all
    select * from datatilgang
    union all
    select * from reported

)

select * from final
