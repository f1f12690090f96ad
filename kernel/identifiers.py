"""Stable identifiers of the datasets one can apply for or read (the catalogue's ``dct:identifier``).

One scheme for every place that names a dataset to the outside: the DCAT catalogue
(``helsedata catalogue export``), ``helsedata room datasets --json`` and the reports. Identifiers
are URNs, so they say what a dataset is without claiming a web address the platform does not serve.
"""

from __future__ import annotations

from typing import Literal

#: raw: a source as loaded (pseudonymised rows); room: the analysis room's dataset over it;
#: public: a disclosure-controlled published table.
DatasetKind = Literal["raw", "room", "public"]

URN_PREFIX = "urn:helsedata"


def dataset_identifier(kind: DatasetKind, name: str) -> str:
    """The identifier of one dataset.

    >>> dataset_identifier("room", "vft_mottakere")
    'urn:helsedata:dataset:room:vft_mottakere'
    >>> dataset_identifier("public", "public.indicator_values")
    'urn:helsedata:dataset:public:indicator_values'
    """
    return f"{URN_PREFIX}:dataset:{kind}:{name.split('.')[-1]}"
