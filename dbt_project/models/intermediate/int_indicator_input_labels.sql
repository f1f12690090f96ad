{#
    The quality label of each indicator's inputs: the latest label (by computed_at) of every raw
    dataset the indicator reads (seed indicator_inputs), and the worst of them by the rank in seed
    codelist_quality_label. 'unrated' when any input has no label yet, e.g. before the quality
    run has run once.
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

label_ranks as (

    select * from {{ ref('codelist_quality_label') }}

),

ranked_inputs as (

    select
        inputs.indicator_id,
        label_ranks.rank as label_rank
    from inputs
    left join latest_labels
        on latest_labels.dataset = inputs.dataset
    left join label_ranks
        on label_ranks.label = latest_labels.label

),

worst_inputs as (

    select
        indicator_id,
        -- null while any input is unlabelled
        case when count(label_rank) = count(*) then min(label_rank) end as worst_rank
    from ranked_inputs
    group by indicator_id

),

final as (

    select
        worst_inputs.indicator_id,
        coalesce(label_ranks.label, 'unrated') as input_quality_label
    from worst_inputs
    left join label_ranks
        on label_ranks.rank = worst_inputs.worst_rank

)

select * from final
