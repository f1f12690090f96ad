"""SHACL validation of the catalogue with pyshacl, against the shapes in ``healthdcat/shapes/``.

The HealthDCAT-AP Release 5 shapes are written for NON_PUBLIC datasets: they require every
``dcat:Dataset`` to have ``dct:accessRights`` NON_PUBLIC. So the catalogue is validated twice:

1. the whole graph against DCAT-AP 3.0.0 (shapes and class ranges) — every dataset, public or not;
2. the graph without its PUBLIC datasets against all three files (DCAT-AP and HealthDCAT-AP
   NON_PUBLIC) — every non-public dataset meets the health profile too.

A catalogue is valid when neither pass reports a violation (``sh:Violation``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF

SHAPES_DIR = Path(__file__).resolve().parent / "shapes"
DCAT_AP_FILES = ("dcat-ap-3.0.0-shapes.ttl", "dcat-ap-3.0.0-range.ttl")
HEALTH_FILES = (*DCAT_AP_FILES, "healthdcat-ap-r5-nonpublic-shapes.ttl")
PUBLIC = URIRef("http://publications.europa.eu/resource/authority/access-right/PUBLIC")


@dataclass(frozen=True)
class Validation:
    conforms: bool
    #: One line per violation: the focus node, the path and the shape's message.
    violations: tuple[str, ...]


@cache
def shapes(files: tuple[str, ...]) -> Graph:
    graph = Graph()
    for name in files:
        graph.parse(SHAPES_DIR / name, format="turtle")
    return graph


def without_public_datasets(graph: Graph) -> Graph:
    """A copy of ``graph`` in which the PUBLIC datasets are no longer ``dcat:Dataset`` targets."""
    copy = Graph()
    for triple in graph:
        copy.add(triple)
    for dataset in set(graph.subjects(DCTERMS.accessRights, PUBLIC)):
        copy.remove((dataset, RDF.type, DCAT.Dataset))
        copy.remove((None, DCAT.dataset, dataset))
    return copy


def _violations(data: Graph, files: tuple[str, ...]) -> list[str]:
    import pyshacl

    _, report, _ = pyshacl.validate(data, shacl_graph=shapes(files), inference="none", advanced=True,
                                    allow_warnings=True)
    sh = "http://www.w3.org/ns/shacl#"
    out = []
    for result in report.subjects(RDF.type, URIRef(sh + "ValidationResult")):
        if report.value(result, URIRef(sh + "resultSeverity")) != URIRef(sh + "Violation"):
            continue
        focus, path, message = (report.value(result, URIRef(sh + p))
                                for p in ("focusNode", "resultPath", "resultMessage"))
        out.append(f"{focus} {path}: {message}")
    return out


def validate(graph: Graph) -> Validation:
    """Validate the catalogue in the two passes described above."""
    violations = _violations(graph, DCAT_AP_FILES) + _violations(without_public_datasets(graph), HEALTH_FILES)
    return Validation(not violations, tuple(sorted(set(violations))))
