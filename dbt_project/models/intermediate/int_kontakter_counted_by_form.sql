{#  Contacts counted per 2024 kommune, month and kontaktform, with the form's digital flag. #}

with

contacts as (

    select *, {{ uniform_from_key('person_id') }} as person_share
    from {{ ref('stg_kpr__kontakter') }}

),

mapping as (

    select * from {{ ref('int_kommuner_mapped_to_2024') }}

),

forms as (

    select * from {{ ref('codelist_kontaktform') }}

),

mapped as (

    select
        coalesce(mapping.kommunenummer_2024, '9999') as kommunenummer_2024,
        contacts.kontakt_aar,
        contacts.kontakt_maaned,
        contacts.kontaktform
    from contacts
    left join mapping
        on {{ map_to_kommune_2024('mapping', 'contacts.kommunenummer',
                                  'contacts.kontakt_aar', 'contacts.person_id',
                                  person_share='contacts.person_share') }}

),

final as (

    select
        mapped.kommunenummer_2024,
        mapped.kontakt_aar,
        mapped.kontakt_maaned,
        mapped.kontaktform,
        coalesce(forms.digital, false) as er_digital,
        count(*) as n_kontakter
    from mapped
    left join forms
        on forms.kontaktform = mapped.kontaktform
    group by
        mapped.kommunenummer_2024,
        mapped.kontakt_aar,
        mapped.kontakt_maaned,
        mapped.kontaktform,
        coalesce(forms.digital, false)

)

select * from final
