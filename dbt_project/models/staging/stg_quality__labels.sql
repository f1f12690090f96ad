with

source as (

    select * from {{ source('quality', 'labels') }}

),

renamed as (

    select

        ---------- ids
        run_id,
        -- quality/ may name a dataset "raw.vft_mottakere" or "vft_mottakere"; keep the table name
        case
            when dataset like 'raw.%' then substring(dataset, 5, 200)
            else dataset
        end as dataset,
        dataset as dataset_qualified,

        ---------- properties
        lower(label) as label,
        reasons,

        ---------- timestamps
        computed_at

    from source

)

select * from renamed
