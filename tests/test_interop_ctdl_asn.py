"""CTDL-ASN in and out: a registry-shaped physician framework, its odd shapes, the exports.

The framework file follows the structure of the AAMC general physician competencies as
published to the Credential Engine sandbox (github.com/stuartasutton/medbiquitous,
GeneralPhysicianCompetencies.json), with texts written for these tests (see tests/data/README.md).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, SKOS

from cipd_graph import GraphStore, Settings
from cipd_graph._ontology import CIPD
from cipd_graph.interop import export_format, import_files
from cipd_graph.interop.ctdl_asn import context_path

from .conftest import SAMPLES
from .standards import DATA, json_errors

KEY = "test-key-0123456789abcdef"
FILE = DATA / "ctdl-asn" / "interprofessional-physician-competencies.json"
CTID = "ce-e8a05721-9d5e-56e1-bb51-177fb9aca869"
R = "https://sandbox.credentialengineregistry.org/resources/"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[GraphStore]:
    with GraphStore(tmp_path / "store", Settings(pseudonym_key=KEY, user="tester")) as s:
        yield s


def batch(store: GraphStore, path: Path) -> Graph:
    g = Graph()
    name = store.batch_graph(path)
    for q in store.oxigraph:
        if getattr(q.graph_name, "value", "") == name:
            g.parse(data=f"{q.subject} {q.predicate} {q.object} .", format="nt")
    return g


def doc() -> dict:  # type: ignore[type-arg]
    return json.loads(FILE.read_text(encoding="utf-8"))


def write(path: Path, value: object) -> Path:
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def test_a_registry_framework_becomes_the_framework_model(
    store: GraphStore, tmp_path: Path
) -> None:
    path = write(tmp_path / "fw.json", doc())
    result = import_files(store, "ctdl-asn", [path])
    assert result.ok and result.written, result.to_text()
    g = batch(store, path)
    scheme = URIRef("https://w3id.org/cipd/data/framework/" + CTID)
    assert (scheme, RDF.type, CIPD.CompetencyFramework) in g
    assert (
        scheme,
        SKOS.prefLabel,
        Literal("Interprofessional Physician Competencies by Domain (test)", lang="en-us"),
    ) in g
    items = store.framework_items()  # modules can now name an item by code, CTID or URI
    tw2, tw, qi2, tw3 = (
        items["TW 2"],
        items[doc()["@graph"][1]["ceterms:ctid"]],
        items["QI 2"],
        items["TW 3"],
    )
    assert (tw2, SKOS.broader, tw) in g and (tw, SKOS.topConceptOf, scheme) in g
    assert (
        tw2,
        SKOS.notation,
        Literal("TW 2"),
    ) in g  # listID, as the registry file has no codedNotation
    assert (tw, DCTERMS.type, Literal("Domain")) in g
    assert (tw, SKOS.note, None) in g
    assert (qi2, SKOS.related, tw3) in g  # an alignment inside the framework
    qi1 = items["QI 1"]
    assert (qi1, SKOS.broadMatch, URIRef(R + "ce-8c2da966-9c5a-4d65-aa51-f2808ffab550")) in g
    assert (tw3, PROV.wasDerivedFrom, URIRef(R + "ce-56493611-b46b-4658-88d4-f80c0427f011")) in g
    assert (tw2, DCTERMS.source, URIRef(doc()["@graph"][3]["@id"])) in g
    warned = {(w.record, w.field) for w in result.warnings}
    assert warned == {("/@graph/3", "ceasn:competencyText"), ("/@graph/7", "ceasn:conceptKeyword")}
    assert "left out: fr" in next(w.reason for w in result.warnings if "Text" in w.field)


def test_odd_shapes_real_publishers_write(store: GraphStore, tmp_path: Path) -> None:
    """A registry envelope, CaSS's @list for hasChild, a ReleaseID on the context, a node of
    another type, a competency listed twice (the sandbox's CoreEntrustableBehaviors.json copies
    a competency under a second parent), a competency with its framework's CTID (Connecting
    Credentials' framework has one)."""
    value = doc()
    value["@context"] = "https://credreg.net/ctdlasn/schema/context/json?releaseID=20170929"
    domain = value["@graph"][1]
    domain["ceasn:hasChild"] = {"@list": domain["ceasn:hasChild"]}
    copy = json.loads(json.dumps(value["@graph"][2]))
    copy["ceasn:isChildOf"] = [value["@graph"][5]["@id"]]  # TW 1 also under the second domain
    value["@graph"].append(copy)
    clash = value["@graph"][4]
    clash["ceterms:ctid"] = CTID
    value["@graph"].append(
        {
            "@id": R + "ce-a4041983-b1ae-4ad4-a43d-284a5b4b2d73",
            "@type": "ceterms:CredentialOrganization",
        }
    )
    envelope = {"envelope_ctdl_type": "ceasn:CompetencyFramework", "decoded_resource": value}
    path = write(tmp_path / "envelope.json", envelope)
    result = import_files(store, "ctdl-asn", [path])
    assert result.ok and result.written, result.to_text()
    reasons = {w.field: w.reason for w in result.warnings}
    assert "CredentialOrganization" in reasons["@type"]
    assert "merged into one competency" in reasons["@id"]
    assert "identified by its @id instead" in reasons["ceterms:ctid"]
    items = store.framework_items()
    g = batch(store, path)
    parents = {items[value["@graph"][n]["ceterms:ctid"]] for n in (1, 5)}
    assert set(g.objects(items["TW 1"], SKOS.broader)) == parents
    assert (items[clash["@id"]], DCTERMS.identifier, Literal(clash["@id"])) in g


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["@graph"][2].pop("ceasn:competencyText"), "ceasn:competencyText"),
        (lambda d: d["@graph"][0].pop("ceasn:name"), "ceasn:name"),
        (lambda d: d.update({"@context": "https://example.org/other-context"}), "@context"),
        (lambda d: d.pop("@context"), "@context"),
        (lambda d: d["@graph"].pop(0), "@type"),
    ],
    ids=[
        "no competency text",
        "no framework name",
        "another context",
        "no context",
        "no framework",
    ],
)
def test_malformed_documents_are_located_and_change_nothing(
    store: GraphStore, tmp_path: Path, change: object, field: str
) -> None:
    value = doc()
    change(value)  # type: ignore[operator]
    result = import_files(store, "ctdl-asn", [write(tmp_path / "bad.json", value)])
    assert not result.written
    assert [p.field for p in result.problems] == [field], result.to_text()
    assert not list(store.oxigraph)


def test_exports_validate_and_say_what_they_map(loaded_sample_store: GraphStore) -> None:
    model = json.loads(export_format(loaded_sample_store, "ctdl-asn"))
    assert json_errors("ctdl-asn", model) == []
    assert model["@context"] == "https://credreg.net/ctdlasn/schema/context/json"
    assert len(model["@graph"]) == len(loaded_sample_store.model) + 1
    programme = json.loads(
        export_format(loaded_sample_store, "ctdl-asn", {"programme": "nsu-msc-qi"})
    )
    assert json_errors("ctdl-asn", programme) == []
    modules = {n["@id"].rsplit("/", 1)[-1]: n for n in programme["@graph"][1:]}
    practice = modules["ncu-qi-practice"]
    assert practice["ceasn:codedNotation"] == "QI7001"
    assert "https://w3id.org/cipd#ServiceImprovement" in practice["ceasn:majorAlignment"]
    assert any("strong." in c for c in practice["ceasn:comment"]["en"])
    # the validator is not vacuous
    broken = json.loads(json.dumps(model))
    broken["@graph"][1].pop("ceterms:ctid")
    broken["@graph"][0]["ceasn:name"] = "not a language map"
    assert len(json_errors("ctdl-asn", broken)) == 2


def test_the_context_is_local_and_nothing_is_fetched(store: GraphStore, tmp_path: Path) -> None:
    context = json.loads(context_path().read_text(encoding="utf-8"))["@context"]
    assert context["ceasn"] == "https://purl.org/ctdlasn/terms/"
    assert context["ceasn:competencyText"] == {"@container": "@language"}
    value = doc()
    value["@context"] = [
        "https://credreg.net/ctdlasn/schema/context/json",
        "https://example.org/more.jsonld",
    ]
    result = import_files(store, "ctdl-asn", [write(tmp_path / "remote.json", value)])
    assert (
        not result.written and "no remote JSON-LD documents are loaded" in result.problems[0].reason
    )


def test_a_module_can_be_mapped_to_an_imported_competency(tmp_path: Path) -> None:
    records = tmp_path / "reference"
    shutil.copytree(SAMPLES / "reference", records)
    with GraphStore(tmp_path / "s", Settings(pseudonym_key=KEY, user="tester")) as s:
        assert import_files(s, "ctdl-asn", [write(tmp_path / "fw.json", doc())]).written
        with (records / "mappings.csv").open("a", encoding="utf-8") as f:
            f.write(
                "ncu-qi-practice,QI 2,strong,Students run small tests of change with their ward team.,nsu-0401\n"
            )
        loaded = s.load([records])
        assert loaded.written, loaded.to_text()
        exported = json.loads(export_format(s, "ctdl-asn", {"programme": "nsu-msc-qi"}))
        practice = next(n for n in exported["@graph"] if n["@id"].endswith("/ncu-qi-practice"))
        assert s.framework_items()["QI 2"] in {URIRef(x) for x in practice["ceasn:majorAlignment"]}
