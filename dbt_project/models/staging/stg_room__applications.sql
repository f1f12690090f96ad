with

source as (

    select * from {{ source('raw', 'room_applications') }}

),

renamed as (

    select

        ---------- ids
        application_id,

        ---------- properties
        lower(status) as status,
        n_datasets,

        ---------- timestamps
        submitted_at,
        decided_at,
        cast(submitted_at as date) as submitted_date,
        cast(decided_at as date) as decided_date,
        extract(year from submitted_at) as submitted_year,
        extract(year from decided_at) as decided_year

    from source

)

select * from renamed
