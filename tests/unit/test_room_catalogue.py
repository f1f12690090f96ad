"""The room's catalogue is generated from the kernel contract, not re-typed."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kernel.codelists import codes
from kernel.sources import ANALYSIS_TABLES, SOURCES, VFT_MOTTAKERE, Column
from privacy.catalogue import DATASETS, _from_source, domain

PERSON_KEYS = ["aar", "kommunenummer", "fylke", "kjonn", "aldersgruppe"]


@pytest.mark.parametrize("name", [n for n, s in SOURCES.items() if s.rows_per_person is not None])
def test_each_room_source_is_a_dataset_with_its_contract(name):
    source, ds = SOURCES[name], DATASETS[name]
    assert ds.rows_per_person == source.rows_per_person and ds.table == source.raw_table
    assert [c.name for c in ds.group_by] == PERSON_KEYS + list(source.room_group_by)
    for column in source.room_group_by:
        contract = source.column(column)
        public = set(domain(ds.group_column(column).domain))
        if contract.codelist:
            seed, field = contract.codelist.split(".")
            assert public == codes(seed, field, where=contract.codelist_where)
        else:
            assert contract.type == "boolean" and public == {"false", "true"}


def test_sources_outside_the_room_are_not_offered():
    offered = {n for n, s in SOURCES.items() if s.rows_per_person is not None} | set(ANALYSIS_TABLES)
    assert set(DATASETS) == offered and "registry_reporting" not in DATASETS


def test_a_new_source_is_one_declaration():
    """A fifth source with a bound and a coded column becomes a dataset with no catalogue code."""
    fifth = replace(VFT_MOTTAKERE, name="hjemmetjenester", room_counts="rows", rows_per_person=3,
                    room_group_by=("kanal",),
                    columns=VFT_MOTTAKERE.columns + (Column("kanal", "text", codelist="codelist_kontaktform.kontaktform"),))
    ds = _from_source(fifth)
    assert ds.rows_per_person == 3 and ds.table == "raw.hjemmetjenester"
    assert domain(ds.group_column("kanal").domain) == tuple(sorted(codes("codelist_kontaktform", "kontaktform")))
    assert "varighet_dager" in ds.numeric  # it has start and end dates


def test_a_column_without_a_code_list_cannot_be_a_key():
    bad = replace(VFT_MOTTAKERE, room_group_by=("startdato",))
    with pytest.raises(ValueError, match="no code list"):
        _from_source(bad)


def test_the_year_domain_needs_a_date():
    with pytest.raises(ValueError, match="today"):
        domain("aar")
