"""The ontology parses with rdflib and pyoxigraph, resolves its imports and has a full header."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, XSD

from cipd_graph import ONTOLOGY_IRI, OntologyError, load_ontology, ontology_dir, ontology_files

VANN = "http://purl.org/vocab/vann/"
MODULES = {
    "imports.ttl",
    "sources.ttl",
    "core.ttl",
    "social-learning.ttl",
    "practice.ttl",
    "learning.ttl",
    "actors.ttl",
    "opportunities.ttl",
    "professions.ttl",
    "provenance.ttl",
}


def test_umbrella_imports_every_module_through_the_catalog():
    files = ontology_files()
    assert files[0].name == "cipd.ttl"
    assert {p.name for p in files[1:]} == MODULES
    on_disk = {p.name for p in (ontology_dir() / "modules").glob("*.ttl")}
    assert on_disk == MODULES, "a module file is not imported by cipd.ttl"


def test_umbrella_holds_only_header_and_imports():
    graph = Graph().parse(ontology_dir() / "cipd.ttl")
    assert set(graph.subjects()) == {ONTOLOGY_IRI}


@pytest.mark.parametrize("path", ontology_files(), ids=lambda p: p.name)
def test_each_file_parses_the_same_with_rdflib_and_pyoxigraph(path: Path):
    with_rdflib = Graph().parse(path, format="turtle")
    with_oxigraph = list(pyoxigraph.parse(path=str(path), format=pyoxigraph.RdfFormat.TURTLE))
    assert len(with_rdflib) > 0
    assert len(with_oxigraph) == len(with_rdflib)


def test_merged_ontology_loads_into_an_oxigraph_store(ontology: Graph):
    store = pyoxigraph.Store()
    store.load(ontology.serialize(format="nt"), format=pyoxigraph.RdfFormat.N_TRIPLES)
    assert len(store) == len(ontology)
    strands = store.query(
        "PREFIX cipd: <https://w3id.org/cipd#> SELECT (COUNT(?s) AS ?n) WHERE { ?s a cipd:Strand }"
    )
    assert int(next(iter(strands))["n"].value) == 4


def test_merged_ontology_has_one_header_and_no_imports(ontology: Graph):
    assert list(ontology.subjects(RDF.type, OWL.Ontology)) == [ONTOLOGY_IRI]
    assert (None, OWL.imports, None) not in ontology


def test_header_is_complete(ontology: Graph):
    def one(predicate: URIRef) -> object:
        values = list(ontology.objects(ONTOLOGY_IRI, predicate))
        assert len(values) == 1, f"header needs exactly one {predicate}"
        return values[0]

    assert one(DCTERMS.title)
    assert one(DCTERMS.description)
    assert one(DCTERMS.creator)
    assert str(one(DCTERMS.license)).startswith("https://creativecommons.org/")
    created, modified = one(DCTERMS.created), one(DCTERMS.modified)
    assert isinstance(created, Literal) and created.datatype == XSD.date
    assert isinstance(modified, Literal) and modified.datatype == XSD.date
    version = str(one(OWL.versionInfo))
    assert str(one(OWL.versionIRI)) == f"https://w3id.org/cipd/releases/{version}"
    assert str(modified) == version, "the version IRI is dated by the last modification"
    assert str(one(URIRef(VANN + "preferredNamespacePrefix"))) == "cipd"
    assert str(one(URIRef(VANN + "preferredNamespaceUri"))) == "https://w3id.org/cipd#"


def test_a_broken_module_is_reported_with_its_file_and_line(ontology_copy: Path):
    core = ontology_copy / "modules" / "core.ttl"
    lines = core.read_text(encoding="utf-8").splitlines()
    lines[40] = "cipd:Broken a owl:Class ; rdfs:label ."
    core.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(OntologyError) as info:
        load_ontology(ontology_copy)
    message = str(info.value)
    assert "core.ttl" in message
    assert "41" in message  # rdflib reports the line


def test_an_import_missing_from_the_catalog_is_reported(ontology_copy: Path):
    catalog = ontology_copy / "catalog-v001.xml"
    text = catalog.read_text(encoding="utf-8")
    catalog.write_text(
        "\n".join(line for line in text.splitlines() if "/practice" not in line), encoding="utf-8"
    )
    with pytest.raises(OntologyError, match=r"owl:imports <https://w3id.org/cipd/practice>"):
        load_ontology(ontology_copy)


def test_a_missing_module_file_is_reported(ontology_copy: Path):
    (ontology_copy / "modules" / "learning.ttl").unlink()
    with pytest.raises(OntologyError, match=r"learning\.ttl: file not found"):
        load_ontology(ontology_copy)


def test_edits_to_the_files_are_seen_without_restarting(ontology_copy: Path):
    before = len(load_ontology(ontology_copy))
    extra = ontology_copy / "modules" / "opportunities.ttl"
    extra.write_text(
        extra.read_text(encoding="utf-8")
        + '\ncipd:LessonJointWorking <http://www.w3.org/2004/02/skos/core#note> "x"@en .\n',
        encoding="utf-8",
    )
    assert len(load_ontology(ontology_copy)) == before + 1
