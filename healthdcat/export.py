"""The HealthDCAT-AP catalogue of the warehouse, validated and serialised (``helsedata catalogue
export`` and the portal's `/katalog/dcat.ttl` both call :func:`export_catalogue`).

Reads the warehouse read-only (:func:`healthdcat.entries.collect`), builds the DCAT graph, validates
it with pyshacl against the shapes shipped in ``healthdcat/shapes/`` and only then writes it. A
catalogue that does not validate is never written: that is a bug, reported as a
:class:`~kernel.errors.PipelineFailure` naming each violation (docs/catalogue.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from kernel.config import Settings
from kernel.errors import ConfigurationError, PipelineFailure

Format = Literal["turtle", "jsonld"]
#: rdflib's serializer name per --format.
RDFLIB_FORMATS = {"turtle": "turtle", "jsonld": "json-ld"}


@dataclass(frozen=True)
class CatalogueExport:
    text: str  # the serialised catalogue
    datasets: int
    public: int


def export_catalogue(settings: Settings, fmt: Format = "turtle", now: dt.datetime | None = None) -> CatalogueExport:
    """The validated catalogue of this platform, serialised as ``fmt``."""
    from healthdcat.dcat import build_graph
    from healthdcat.entries import collect
    from healthdcat.validate import validate
    from kernel.warehouse import read_only

    if not settings.warehouse.exists():
        raise ConfigurationError(f"Fant ikke noe datavarehus i {settings.warehouse}; last inn og bygg først "
                                 "(helsedata ingest / helsedata run --demo).")
    with read_only(settings) as con:
        entries = collect(con)
    graph = build_graph(entries, now or dt.datetime.now(dt.UTC).replace(tzinfo=None))
    result = validate(graph)
    if not result.conforms:
        raise PipelineFailure(f"Katalogen oppfyller ikke SHACL-formene ({len(result.violations)} brudd): "
                              + "; ".join(result.violations[:10]))
    return CatalogueExport(graph.serialize(format=RDFLIB_FORMATS[fmt]), len(entries),
                           sum(1 for e in entries if e.public))


def write_catalogue(export: CatalogueExport, out: Path) -> Path:
    """Write atomically: a reader never sees half a catalogue."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(export.text, encoding="utf-8")
    tmp.replace(out)
    return out
