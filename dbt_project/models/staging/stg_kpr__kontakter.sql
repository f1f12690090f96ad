with

source as (

    select * from {{ source('raw', 'kpr_kontakter') }}

),

renamed as (

    select

        ---------- ids
        person_id,
        kommunenummer,

        ---------- person
        fodselsaar,
        kjonn,

        ---------- properties
        tjenesteyter,
        kontaktform,

        ---------- dates
        kontaktdato,
        extract(year from kontaktdato) as kontakt_aar,
        {{ dbt.date_trunc('month', 'kontaktdato') }} as kontakt_maaned,

        ---------- lineage
        _file_sha256,
        _line_number,
        _loaded_at

    from source

)

select * from renamed
