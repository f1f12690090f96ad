"""The catalogue as an RDF graph: DCAT-AP 3.0.0 with the HealthDCAT-AP Release 5 properties.

:func:`build_graph` turns :class:`~healthdcat.entries.Entry` objects into one ``dcat:Catalog``.
Every resource a dataset points to states its class (``eli:LegalResource``, ``dct:RightsStatement``,
``skos:Concept`` with a ``skos:prefLabel``, ``vcard:Kind`` ...), because the DCAT-AP range shapes
check it. Namespaces follow the shapes in ``healthdcat/shapes/`` (README there).
"""

from __future__ import annotations

import datetime as dt

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SKOS, XSD

from healthdcat.entries import CodingSystem, Entry, Text
from kernel.identifiers import URN_PREFIX

DCATAP = Namespace("http://data.europa.eu/r5r/")
HEALTHDCATAP = Namespace("http://healthdataportal.eu/ns/health#")
DQV = Namespace("http://www.w3.org/ns/dqv#")
OA = Namespace("http://www.w3.org/ns/oa#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
ELI = Namespace("http://data.europa.eu/eli/ontology#")

#: The European Health Data Space regulation, (EU) 2025/327.
EHDS = URIRef("http://data.europa.eu/eli/reg/2025/327/oj")
ACCESS_RIGHTS = "http://publications.europa.eu/resource/authority/access-right/"
HEALTH_THEME = URIRef("http://publications.europa.eu/resource/authority/data-theme/HEAL")
NORWAY = URIRef("http://publications.europa.eu/resource/authority/country/NOR")
CATALOGUE = URIRef(f"{URN_PREFIX}:catalogue")


def _text(graph: Graph, subject, predicate, text: Text) -> None:
    graph.add((subject, predicate, Literal(text.nb, lang="nb")))
    graph.add((subject, predicate, Literal(text.en, lang="en")))


def _concept(graph: Graph, iri: URIRef, label: Text) -> URIRef:
    graph.add((iri, RDF.type, SKOS.Concept))
    _text(graph, iri, SKOS.prefLabel, label)
    return iri


def _agent(graph: Graph, key: str, name: Text, url: str) -> URIRef:
    """An organisation with exactly one contact point (HealthDCAT-AP's publisher and HDAB shapes)."""
    agent = URIRef(f"{URN_PREFIX}:agent:{key}")
    graph.add((agent, RDF.type, FOAF.Agent))
    graph.add((agent, RDF.type, FOAF.Organization))
    _text(graph, agent, FOAF.name, name)
    graph.add((agent, DCAT.contactPoint, _contact(graph, key, name, url)))
    return agent


def _contact(graph: Graph, key: str, name: Text, url: str) -> URIRef:
    contact = URIRef(f"{URN_PREFIX}:contact:{key}")
    graph.add((contact, RDF.type, VCARD.Kind))
    graph.add((contact, VCARD.fn, Literal(name.nb, lang="nb")))
    graph.add((contact, VCARD.hasURL, URIRef(url)))
    return contact


def _period(graph: Graph, start: dt.date, end: dt.date | None = None) -> BNode:
    period = BNode()
    graph.add((period, RDF.type, DCTERMS.PeriodOfTime))
    graph.add((period, DCAT.startDate, Literal(start, datatype=XSD.date)))
    if end is not None:
        graph.add((period, DCAT.endDate, Literal(end, datatype=XSD.date)))
    return period


PUBLISHER = ("helsedirektoratet", Text("Helsedirektoratet", "Norwegian Directorate of Health"),
             "https://www.helsedirektoratet.no/")
HDAB = ("helsedataservice", Text("Helsedataservice", "Health Data Service (Norwegian HDAB)"), "https://helsedata.no/")


def build_graph(entries: list[Entry], generated: dt.datetime) -> Graph:
    """The catalogue of ``entries`` as an rdflib graph."""
    g = Graph()
    for prefix, ns in (("dcat", DCAT), ("dct", DCTERMS), ("dcatap", DCATAP), ("healthdcatap", HEALTHDCATAP),
                       ("dqv", DQV), ("oa", OA), ("vcard", VCARD), ("eli", ELI), ("foaf", FOAF), ("skos", SKOS)):
        g.bind(prefix, ns)
    g.add((EHDS, RDF.type, ELI.LegalResource))
    publisher = _agent(g, *PUBLISHER)
    hdab = _agent(g, *HDAB)
    contact = _contact(g, *HDAB)
    theme = _concept(g, HEALTH_THEME, Text("Helse", "Health"))
    g.add((NORWAY, RDF.type, DCTERMS.Location))

    g.add((CATALOGUE, RDF.type, DCAT.Catalog))
    _text(g, CATALOGUE, DCTERMS.title, Text("Helsedata: datasettkatalog", "Helsedata: dataset catalogue"))
    _text(g, CATALOGUE, DCTERMS.description, Text(
        "Datasett man kan søke om tilgang til eller lese: råkilder og analyserommets datasett (ikke-offentlige) "
        "og publiserte indikatortabeller (offentlige).",
        "Datasets one can apply for or read: raw sources and the analysis room's datasets (non-public) and "
        "published indicator tables (public)."))
    g.add((CATALOGUE, DCTERMS.publisher, publisher))
    g.add((CATALOGUE, DCATAP.applicableLegislation, EHDS))
    g.add((CATALOGUE, DCTERMS.modified, Literal(generated.replace(microsecond=0), datatype=XSD.dateTime)))
    for entry in entries:
        dataset = URIRef(entry.identifier)
        g.add((CATALOGUE, DCAT.dataset, dataset))
        _dataset(g, dataset, entry, publisher=publisher, hdab=hdab, contact=contact, theme=theme)
    return g


def _dataset(g: Graph, dataset: URIRef, entry: Entry, *, publisher, hdab, contact, theme) -> None:
    g.add((dataset, RDF.type, DCAT.Dataset))
    g.add((dataset, DCTERMS.identifier, Literal(entry.identifier)))
    _text(g, dataset, DCTERMS.title, entry.title)
    _text(g, dataset, DCTERMS.description, entry.description)
    access = URIRef(ACCESS_RIGHTS + ("PUBLIC" if entry.public else "NON_PUBLIC"))
    g.add((access, RDF.type, DCTERMS.RightsStatement))
    g.add((dataset, DCTERMS.accessRights, access))
    g.add((dataset, DCATAP.applicableLegislation, EHDS))
    g.add((dataset, DCTERMS.publisher, publisher))
    g.add((dataset, HEALTHDCATAP.hdab, hdab))
    g.add((dataset, DCAT.contactPoint, contact))
    g.add((dataset, DCAT.theme, theme))
    g.add((dataset, HEALTHDCATAP.healthCategory, _concept(
        g, URIRef(f"{URN_PREFIX}:health-category:{'statistics' if entry.public else 'registry'}"),
        Text("Aggregert helsestatistikk", "Aggregated health statistics") if entry.public else
        Text("Data fra befolkningsbaserte helseregistre", "Data from population-based health registries"))))
    g.add((dataset, DCTERMS.type, _concept(
        g, URIRef(f"{URN_PREFIX}:dataset-type:{entry.kind}"),
        {"raw": Text("Pseudonymiserte registerdata", "Pseudonymised registry data"),
         "room": Text("Data for spørringer med differensielt personvern", "Data for differentially private queries"),
         "public": Text("Statistikk etter avsløringskontroll", "Statistics after disclosure control")}[entry.kind])))
    for keyword in entry.keywords:
        _text(g, dataset, DCAT.keyword, keyword)
    provenance = BNode()
    g.add((provenance, RDF.type, DCTERMS.ProvenanceStatement))
    _text(g, provenance, RDFS.label, entry.provenance)
    g.add((dataset, DCTERMS.provenance, provenance))
    g.add((dataset, DCTERMS.spatial, NORWAY))
    if entry.temporal:
        g.add((dataset, DCTERMS.temporal, _period(g, *entry.temporal)))
    for prop, value in ((HEALTHDCATAP.numberOfRecords, entry.records),
                        (HEALTHDCATAP.numberOfUniqueIndividuals, entry.individuals)):
        if value is not None:
            g.add((dataset, prop, Literal(value, datatype=XSD.nonNegativeInteger)))
    if entry.typical_age:
        g.add((dataset, HEALTHDCATAP.minTypicalAge, Literal(entry.typical_age[0], datatype=XSD.nonNegativeInteger)))
        g.add((dataset, HEALTHDCATAP.maxTypicalAge, Literal(entry.typical_age[1], datatype=XSD.nonNegativeInteger)))
    _text(g, dataset, HEALTHDCATAP.populationCoverage, entry.population)
    for system in entry.coding_systems:
        g.add((dataset, HEALTHDCATAP.hasCodingSystem, _coding_system(g, system)))
    if entry.retained_since:
        g.add((dataset, HEALTHDCATAP.retentionPeriod, _period(g, entry.retained_since)))
    for n, title in enumerate(entry.distributions):
        distribution = URIRef(f"{entry.identifier}:distribution:{n + 1}")
        g.add((distribution, RDF.type, DCAT.Distribution))
        _text(g, distribution, DCTERMS.title, title)
        g.add((distribution, DCAT.accessURL, URIRef(HDAB[2] if not entry.public else entry.identifier)))
        g.add((distribution, DCATAP.applicableLegislation, EHDS))
        g.add((dataset, DCAT.distribution, distribution))
    if entry.quality:
        g.add((dataset, DQV.hasQualityAnnotation, _quality(g, dataset, entry)))


def _coding_system(g: Graph, system: CodingSystem) -> URIRef:
    iri = URIRef(system.iri)
    g.add((iri, RDFS.label, Literal(system.label, lang="nb")))
    return iri


def _quality(g: Graph, dataset: URIRef, entry: Entry) -> BNode:
    """The quality label as a DQV quality annotation whose body is the label and its reasons, in bokmål."""
    from quality.labels import LABEL_NAMES

    label = entry.quality
    annotation, body = BNode(), BNode()
    g.add((annotation, RDF.type, DQV.QualityAnnotation))
    g.add((annotation, OA.motivatedBy, DQV.qualityAssessment))
    g.add((annotation, OA.hasTarget, dataset))
    g.add((annotation, DCTERMS.created, Literal(label.computed_at.replace(microsecond=0), datatype=XSD.dateTime)))
    g.add((annotation, DCTERMS.identifier, Literal(label.run_id)))
    g.add((annotation, OA.hasBody, body))
    g.add((body, RDF.type, OA.TextualBody))
    g.add((body, DCTERMS.language, URIRef("http://publications.europa.eu/resource/authority/language/NOB")))
    text = [f"Kvalitetsetikett: {LABEL_NAMES.get(label.label, label.label)} ({label.label})."]
    text += list(label.reasons)
    if label.access:
        text.append(f"Tilgang: {label.access}")
    if label.changes:
        text.append("Endringer siden forrige etikett: " + "; ".join(label.changes) + ".")
    g.add((body, RDF.value, Literal("\n".join(text), lang="nb")))
    return annotation
