{#
    The quality label of each indicator's inputs: the latest label (by computed_at) of every raw
    dataset the indicator reads (seed indicator_inputs), and the worst of them
    (bronze < silver < gold < platinum). 'unrated' when any input has no label yet, e.g. before
    the quality run has run once.
#}

with

inputs as (

    select * from {{ ref('indicator_inputs') }}

),

labels as (

    select * from {{ ref('stg_quality__labels') }}

),

latest_labels as (

    select dataset, label
    from (
        select
            dataset,
            label,
            row_number() over (partition by dataset order by computed_at desc, run_id desc) as recency
        from labels
    ) as ranked
    where recency = 1

),

ranked_inputs as (

    select
        inputs.indicator_id,
        inputs.dataset,
        latest_labels.label,
        case latest_labels.label
            when 'bronze' then 1
            when 'silver' then 2
            when 'gold' then 3
            when 'platinum' then 4
        end as label_rank
    from inputs
    left join latest_labels
        on latest_labels.dataset = inputs.dataset

),

final as (

    select
        indicator_id,
        case
            when count(label_rank) < count(*) then 'unrated'
            when min(label_rank) = 1 then 'bronze'
            when min(label_rank) = 2 then 'silver'
            when min(label_rank) = 3 then 'gold'
            else 'platinum'
        end as input_quality_label
    from ranked_inputs
    group by indicator_id

)

select * from final
