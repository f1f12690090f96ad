"""``helsedata catalogue export`` on the demo warehouse: HealthDCAT-AP that validates (real pyshacl).

Works on a copy of the session's demo build (``test_dbt_build.py``: real ingestion and dbt), runs
the real quality suites and publication on it, then exports the catalogue through the CLI.
"""

from __future__ import annotations

import filecmp
import json
import shutil

import duckdb
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF

from healthdcat.dcat import DQV, HEALTHDCATAP
from healthdcat.validate import SHAPES_DIR, validate
from helsedata.cli import main
from kernel.config import PROJECT_ROOT, Settings
from kernel.sources import SOURCES
from privacy.catalogue import DATASETS
from tests.integration.test_dbt_build import demo_build  # noqa: F401 - session fixture

pytestmark = pytest.mark.slow

ACCESS = "http://publications.europa.eu/resource/authority/access-right/"


def _cli(home, *args, capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in args], environ={"HELSEDATA_HOME": str(home)})
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def published(demo_build, tmp_path_factory):  # noqa: F811
    """The demo warehouse after a quality run and a publication (module-wide; tests only read it)."""
    source, _ = demo_build
    settings = Settings(home=tmp_path_factory.mktemp("catalogue") / "home").ensure()
    shutil.copy(source.warehouse, settings.warehouse)
    shutil.copytree(source.dbt_target, settings.dbt_target)
    environ = {"HELSEDATA_HOME": str(settings.home)}
    assert main(["quality", "--json"], environ=environ) == 0
    assert main(["publish", "--json"], environ=environ) == 0
    return settings


@pytest.fixture(scope="module")
def turtle(published, tmp_path_factory) -> Graph:
    out = tmp_path_factory.mktemp("export") / "catalogue.ttl"
    assert main(["catalogue", "export", "--out", str(out)], environ={"HELSEDATA_HOME": str(published.home)}) == 0
    return Graph().parse(out, format="turtle")


def _datasets(graph: Graph, access: str) -> set[URIRef]:
    return set(graph.subjects(DCTERMS.accessRights, URIRef(ACCESS + access))) & set(
        graph.subjects(RDF.type, DCAT.Dataset))


def test_the_demo_catalogue_validates_with_no_violation(turtle):
    result = validate(turtle)
    assert result.conforms, result.violations
    non_public, public = _datasets(turtle, "NON_PUBLIC"), _datasets(turtle, "PUBLIC")
    assert {str(d).rsplit(":", 2)[-2] for d in non_public} == {"raw", "room"}
    assert len(non_public) == len(SOURCES) + len(DATASETS)  # every raw source and every room dataset
    assert {str(d) for d in public} == {"urn:helsedata:dataset:public:indicator_values",
                                        "urn:helsedata:dataset:public:indicator_status",
                                        "urn:helsedata:dataset:public:registry_reporting_coverage"}


def test_every_dataset_carries_rounded_counts_and_its_quality_label(turtle, published):
    vft = URIRef("urn:helsedata:dataset:raw:vft_mottakere")
    with duckdb.connect(str(published.warehouse), read_only=True) as con:
        rows, persons = con.execute("select count(*), count(distinct person_id) from raw.vft_mottakere").fetchone()
        label = con.execute("select label from quality.latest_labels where dataset = 'raw.vft_mottakere'").fetchone()[0]
    records = int(turtle.value(vft, HEALTHDCATAP.numberOfRecords))
    individuals = int(turtle.value(vft, HEALTHDCATAP.numberOfUniqueIndividuals))
    assert records % 100 == 0 and individuals % 100 == 0, "rounded, never exact"
    assert abs(records - rows) <= max(50, rows * 0.05) and abs(individuals - persons) <= max(50, persons * 0.05)
    for dataset in _datasets(turtle, "NON_PUBLIC") | _datasets(turtle, "PUBLIC"):
        annotation = turtle.value(dataset, DQV.hasQualityAnnotation)
        assert annotation is not None, f"{dataset} has no quality label"
    body = turtle.value(turtle.value(vft, DQV.hasQualityAnnotation), URIRef("http://www.w3.org/ns/oa#hasBody"))
    text = str(turtle.value(body, RDF.value))
    assert text.startswith("Kvalitetsetikett:") and f"({label})" in text and "Tilgang:" in text
    assert (vft, DCTERMS.title, Literal("Mottakere av velferdsteknologi", lang="nb")) in turtle


def test_room_datasets_json_carries_the_catalogue_identifiers(turtle, published, capsys):
    code, out, _ = _cli(published.home, "room", "datasets", "--json", capsys=capsys)
    assert code == 0
    room = json.loads(out)
    assert {"name", "description", "group_by", "numeric"} <= set(room[0])  # the documented keys are kept
    in_catalogue = {str(d) for d in _datasets(turtle, "NON_PUBLIC")}
    assert {d["identifier"] for d in room} <= in_catalogue
    for d in room:
        assert (URIRef(d["identifier"]), DCTERMS.identifier, Literal(d["identifier"])) in turtle


def test_jsonld_holds_the_same_graph_on_stdout(turtle, published, capsys):
    code, out, _ = _cli(published.home, "catalogue", "export", "--format", "jsonld", capsys=capsys)
    assert code == 0
    graph = Graph().parse(data=out, format="json-ld")
    assert len(graph) == len(turtle)
    assert validate(graph).conforms


def test_a_broken_catalogue_is_reported_with_its_violations(turtle):
    broken = Graph()
    for triple in turtle:
        if triple[1] not in (DCTERMS.identifier, HEALTHDCATAP.hdab):
            broken.add(triple)
    result = validate(broken)
    assert not result.conforms
    assert any("dct:identifier" in v for v in result.violations)
    assert any("healthdcatap:hdab" in v for v in result.violations)


def test_export_without_a_warehouse_exits_2(tmp_path, capsys):
    code, _, err = _cli(tmp_path / "empty", "catalogue", "export", capsys=capsys)
    assert code == 2 and "Fant ikke noe datavarehus" in err


def test_the_shapes_are_the_shared_reference_files():
    shared = PROJECT_ROOT.parent / "shared" / "data" / "shacl"
    if not shared.is_dir():
        pytest.skip(f"no shared reference data at {shared}")
    for path in SHAPES_DIR.glob("*.ttl"):
        assert filecmp.cmp(path, shared / path.name, shallow=False), f"{path.name} differs from {shared}"
