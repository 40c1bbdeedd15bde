"""JSON-LD, SKOS, CASE 1.1 and Open Badges 3.0: round trips, real-shaped imports, edge cases."""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import OWL, RDF, SKOS, XSD

from cipd_graph import GraphStore, Settings
from cipd_graph.interop import FormatError, export_format, formats, import_files
from cipd_graph.interop._common import find_record
from cipd_graph.interop.jsonld import (
    build_context,
    context_path,
    module_graph,
    project_graph,
    to_graph,
)

from .standards import json_errors

DATA = Path(__file__).parent / "data"
SAMPLES = Path(__file__).parent.parent / "examples" / "records"
KEY = "test-key-0123456789abcdef"
IPEC = DATA / "case" / "ipec-core-competencies.case.json"


def plain(graph: Graph) -> Graph:
    """xsd:string literals as plain literals (the same RDF 1.1 term, spelt two ways)."""
    out = Graph()
    for s, p, o in graph:
        plain_o = Literal(str(o)) if isinstance(o, Literal) and o.datatype == XSD.string else o
        out.add((s, p, plain_o))
    return out


def snapshot(store: GraphStore) -> set[str]:
    return {str(q) for q in store.oxigraph}


@pytest.fixture
def reference_store(tmp_path: Path) -> Iterator[GraphStore]:
    """A writable on-disk store with the sample reference tables (no projects)."""
    target = tmp_path / "reference"
    shutil.copytree(SAMPLES / "reference", target)
    with GraphStore(tmp_path / "store", Settings(pseudonym_key=KEY, user="tester")) as store:
        assert store.load([target]).ok
        yield store


def write(path: Path, value: object) -> Path:
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- JSON-LD


def test_shipped_context_is_the_one_the_ontology_gives() -> None:
    shipped = json.loads(context_path().read_text(encoding="utf-8"))
    assert shipped == build_context(), "stale: run `make schemas` (cipd context) to regenerate it"


def test_project_export_reparses_to_the_project_graph(loaded_sample_store: GraphStore) -> None:
    doc = json.loads(
        export_format(loaded_sample_store, "jsonld-project", {"project": "af-anticoagulation"})
    )
    assert doc["@context"] == "https://w3id.org/cipd/contexts/cipd.jsonld"
    assert doc["type"] == "ImprovementProject" and "@included" not in doc
    assert {p["id"].rsplit("/", 2)[-2] for p in doc["parts"]} == {"activity"}
    project = find_record(loaded_sample_store, "project", "af-anticoagulation")
    stored = project_graph(loaded_sample_store, project)
    assert len(stored) > 150
    assert isomorphic(plain(to_graph(doc)), plain(stored))


def test_module_export_reparses_to_the_module_graph(loaded_sample_store: GraphStore) -> None:
    doc = json.loads(
        export_format(loaded_sample_store, "jsonld-module", {"module": "ncu-qi-practice"})
    )
    assert doc["inProgrammes"]["identifier"] == "nsu-msc-qi"
    assert {m["mapsToElement"]["id"] for m in doc["hasMapping"]} >= {"cipd:ServiceImprovement"}
    module = find_record(loaded_sample_store, "module", "ncu-qi-practice")
    assert isomorphic(plain(to_graph(doc)), plain(module_graph(loaded_sample_store, module)))


def test_unknown_records_are_clear_errors(loaded_sample_store: GraphStore) -> None:
    with pytest.raises(FormatError, match=r"no project 'nope' in the store; known projects: af-"):
        export_format(loaded_sample_store, "jsonld-project", {"project": "nope"})
    with pytest.raises(FormatError, match=r"option.*module.*required"):
        export_format(loaded_sample_store, "jsonld-module", {})


# --------------------------------------------------------------------------- SKOS

ASK_VIOLATIONS = {
    "S9 Concept and ConceptScheme disjoint": "SELECT ?x WHERE { ?x a skos:Concept , skos:ConceptScheme }",
    "S13 prefLabel and altLabel disjoint": "SELECT ?x WHERE { ?x skos:prefLabel ?l ; skos:altLabel ?l }",
    "S14 one prefLabel per language": "SELECT ?x WHERE { ?x skos:prefLabel ?a , ?b FILTER(?a != ?b && LANG(?a) = LANG(?b)) }",
    "S27 related disjoint with broaderTransitive": "SELECT ?x WHERE { ?x skos:related ?y ; skos:broader+ ?y }",
    "S46 exactMatch disjoint with broadMatch/relatedMatch": "SELECT ?x WHERE { ?x skos:exactMatch ?y . { ?x skos:broadMatch ?y } UNION { ?x skos:relatedMatch ?y } }",
    "hierarchy without cycles": "SELECT ?x WHERE { ?x skos:broader+ ?x }",
    "narrower is the inverse of broader": "SELECT ?x WHERE { ?x skos:broader ?y FILTER NOT EXISTS { ?y skos:narrower ?x } }",
    "every concept in a scheme": "SELECT ?x WHERE { ?x a skos:Concept FILTER NOT EXISTS { ?x skos:inScheme ?s } }",
    "every concept has a prefLabel": "SELECT ?x WHERE { ?x a skos:Concept FILTER NOT EXISTS { ?x skos:prefLabel ?l } }",
}


@pytest.mark.parametrize("condition", sorted(ASK_VIOLATIONS))
def test_skos_export_meets_the_integrity_conditions(
    loaded_sample_store: GraphStore, condition: str
) -> None:
    graph = Graph().parse(data=export_format(loaded_sample_store, "skos"), format="turtle")
    rows = list(graph.query(ASK_VIOLATIONS[condition], initNs={"skos": SKOS}))
    assert rows == [], condition


def test_skos_export_is_the_model_without_owl(loaded_sample_store: GraphStore) -> None:
    graph = Graph().parse(data=export_format(loaded_sample_store, "skos"), format="turtle")
    model = loaded_sample_store.model
    assert {URIRef(e.iri) for e in model} <= set(graph.subjects(RDF.type, SKOS.Concept))
    for e in model:
        if e.notation:
            assert (URIRef(e.iri), SKOS.notation, Literal(e.notation)) in graph
    assert not [
        t for t in graph if str(t[1]).startswith(str(OWL)) or str(t[2]).startswith(str(OWL))
    ]
    assert set(graph.objects(None, RDF.type)) == {SKOS.Concept, SKOS.ConceptScheme}
    assert any(graph.triples((None, SKOS.exactMatch, None)))  # professions -> ESCO
    assert (
        URIRef("https://w3id.org/cipd#TapestryModel"),
        SKOS.hasTopConcept,
        URIRef("https://w3id.org/cipd#CIPD"),
    ) in graph


# --------------------------------------------------------------------------- CASE


def test_case_exports_validate_against_the_case_schema(loaded_sample_store: GraphStore) -> None:
    model = json.loads(export_format(loaded_sample_store, "case"))
    assert json_errors("case", model) == []
    assert len(model["CFItems"]) == len(loaded_sample_store.model)
    kinds = {a["associationType"] for a in model["CFAssociations"]}
    assert kinds == {"isChildOf", "isRelatedTo", "precedes"}
    programme = json.loads(export_format(loaded_sample_store, "case", {"programme": "nsu-msc-qi"}))
    assert json_errors("case", programme) == []
    # the check is not vacuous: what the schema requires is required
    broken = json.loads(json.dumps(programme))
    del broken["CFItems"][0]["lastChangeDateTime"]
    broken["CFAssociations"][0]["identifier"] = "not-a-uuid"
    broken["CFDocument"]["colour"] = "red"
    assert len(json_errors("case", broken)) == 3
    mappings = [a for a in programme["CFAssociations"] if a["associationType"] == "isRelatedTo"]
    assert mappings and all(a["notes"].startswith("Mapping strength: ") for a in mappings)
    assert {a["destinationNodeURI"]["uri"] for a in mappings} <= {
        e.iri for e in loaded_sample_store.model
    }


def test_case_model_export_imports_as_an_isomorphic_scheme(
    loaded_sample_store: GraphStore, reference_store: GraphStore, tmp_path: Path
) -> None:
    path = tmp_path / "model.json"
    path.write_bytes(export_format(loaded_sample_store, "case"))
    result = import_files(reference_store, "case", [path])
    assert result.written, result.to_text()
    assert {w.field for w in result.warnings} == {"associationType"}  # precedes only
    model = loaded_sample_store.model
    rows = reference_store.oxigraph.query(
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> SELECT ?uri ?code ?parent "
        "(GROUP_CONCAT(?label; separator='|') AS ?labels) WHERE { "
        "?c a <https://w3id.org/cipd#FrameworkItem> ; skos:exactMatch ?uri . "
        "{ ?c skos:prefLabel ?label } UNION { ?c skos:altLabel ?label } "
        "OPTIONAL { ?c skos:notation ?code } OPTIONAL { ?c skos:broader/skos:exactMatch ?parent } "
        "} GROUP BY ?uri ?code ?parent"
    )
    imported = {}
    for r in rows:
        imported[r["uri"].value] = (
            r["code"].value if r["code"] else None,
            r["parent"].value if r["parent"] else None,
            set(r["labels"].value.split("|")),
        )
    assert set(imported) == {e.iri for e in model}
    for e in model:
        code, parent, labels = imported[e.iri]
        assert (code, parent) == (e.notation, e.broader[0] if e.broader else None), e.iri
        assert e.label in labels and (e.definition or e.label) in labels


def test_real_shaped_case_package_imports_and_items_become_mapping_targets(
    reference_store: GraphStore, tmp_path: Path
) -> None:
    result = import_files(reference_store, "case", [IPEC])
    assert result.written, result.to_text()
    warned = sorted(w.reason.split(" ")[0] for w in result.warnings)
    assert any("ext:hasProgressionLevel" in w.reason for w in result.warnings)
    assert any("'precedes'" in w.reason for w in result.warnings), warned
    items = reference_store.framework_items()
    tt2 = items["TT2"]
    g = Graph()
    for q in reference_store.oxigraph.quads_for_pattern(None, None, None, None):
        g.add(
            (
                URIRef(q.subject.value),
                URIRef(q.predicate.value),
                URIRef(q.object.value)
                if q.object.__class__.__name__ == "NamedNode"
                else Literal(q.object.value),
            )
        )
    assert (tt2, SKOS.broader, items["TT"]) in g
    assert (tt2, SKOS.related, items["C2"]) in g
    assert (
        tt2,
        SKOS.exactMatch,
        URIRef(
            "https://casenetwork.example.org/ims/case/v1p1/CFItems/0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a"
        ),
    ) in g
    # a module can now be mapped to an imported item, by code or by CASE identifier
    # (the whole reference folder is reloaded: loading mappings.csv alone is refused because
    # validation does not see the stored type of a module's institution, two hops away)
    mappings = tmp_path / "reference" / "mappings.csv"
    with mappings.open("a", encoding="utf-8") as f:
        f.write(
            "ncu-qi-practice,TT2,strong,Students use improvement methods with their ward team.,nsu-0401\n"
            "ncu-measurement,7c0e0002-1a2b-4c3d-9e4f-5a6b7c8d9e0f,weak,Touches on shared values when agreeing measures.,nsu-0401\n"
        )
    loaded = reference_store.load([tmp_path / "reference"])
    assert loaded.written, loaded.to_text()
    badge = json.loads(export_format(reference_store, "badges", {"module": "ncu-measurement"}))
    assert {a["targetFramework"] for a in badge["alignment"]} >= {
        "IPEC Core Competencies for Interprofessional Collaborative Practice (2023)"
    }


def test_a_wrapped_cfpackage_and_a_bare_cfdocument_import(
    reference_store: GraphStore, tmp_path: Path
) -> None:
    package = json.loads(IPEC.read_text())
    wrapped = write(tmp_path / "wrapped.json", {"CFPackage": package})
    assert import_files(reference_store, "case", [wrapped], write=False).ok
    bare = write(tmp_path / "bare.json", package["CFDocument"])
    result = import_files(reference_store, "case", [bare])
    assert result.written and any("bare CFDocument" in w.reason for w in result.warnings)


def _broken(tmp_path: Path, change: object) -> Path:
    package = json.loads(IPEC.read_text())
    change(package)  # type: ignore[operator]
    return write(tmp_path / "broken.json", package)


@pytest.mark.parametrize(
    ("change", "pointer", "field", "reason"),
    [
        (lambda p: p["CFItems"][3].pop("fullStatement"), "/CFItems/3", "fullStatement", "missing"),
        (lambda p: p["CFDocument"].pop("title"), "/CFDocument", "title", "missing"),
        (
            lambda p: p["CFItems"][4].update(identifier=p["CFItems"][3]["identifier"]),
            "/CFItems/4",
            "identifier",
            "duplicate identifier",
        ),
        (
            lambda p: p["CFAssociations"][0].pop("originNodeURI"),
            "/CFAssociations/0",
            "originNodeURI",
            "missing",
        ),
        (lambda p: p.update(CFItems={"not": "a list"}), "/CFItems", "", "expected a JSON array"),
    ],
)
def test_malformed_case_is_located_and_changes_nothing(
    reference_store: GraphStore,
    tmp_path: Path,
    change: object,
    pointer: str,
    field: str,
    reason: str,
) -> None:
    before = snapshot(reference_store)
    result = import_files(reference_store, "case", [_broken(tmp_path, change)])
    assert not result.ok and not result.written
    assert [(p.record, p.field) for p in result.problems] == [(pointer, field)]
    assert reason in result.problems[0].reason
    assert snapshot(reference_store) == before


def test_not_json_and_not_case_are_clear_errors(
    reference_store: GraphStore, tmp_path: Path
) -> None:
    before = snapshot(reference_store)
    bad = tmp_path / "bad.json"
    bad.write_text('{"CFDocument": ', encoding="utf-8")
    other = write(tmp_path / "other.json", {"hello": "world"})
    result = import_files(reference_store, "case", [bad, other])
    assert [p.reason.split(":")[0] for p in result.problems] == ["not JSON", "missing"]
    assert snapshot(reference_store) == before


def test_lenient_cases_warn(reference_store: GraphStore, tmp_path: Path) -> None:
    def change(p: dict) -> None:  # type: ignore[type-arg]
        p["CFItems"][0]["identifier"] = "ve"  # not a UUID
        for a in p["CFAssociations"]:
            if a["originNodeURI"]["identifier"] == p["CFItems"][1]["identifier"]:
                a["destinationNodeURI"] = {
                    "title": "gone",
                    "identifier": "no-such-item",
                    "uri": "https://x.example/gone",
                }
        for a in p["CFAssociations"]:
            if a["originNodeURI"]["identifier"] == "7c0e0001-1a2b-4c3d-9e4f-5a6b7c8d9e0f":
                a["originNodeURI"]["identifier"] = "ve"
                a["originNodeURI"]["uri"] = "https://x.example/ve"
        p["CFItems"][0].pop("uri")

    result = import_files(reference_store, "case", [_broken(tmp_path, change)])
    assert result.written, result.to_text()
    reasons = " | ".join(w.reason for w in result.warnings)
    assert "'ve' is not a UUID" in reasons
    assert "parent no-such-item is not in this package" in reasons
    assert "missing (CASE 1.1 requires it)" in reasons


# --------------------------------------------------------------------------- Open Badges


def test_module_achievement_has_the_ob3_fields(loaded_sample_store: GraphStore) -> None:
    a = json.loads(export_format(loaded_sample_store, "badges", {"module": "ncu-qi-practice"}))
    assert a["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert a["type"] == ["Achievement"] and a["achievementType"] == "Course"
    assert {"id", "name", "description", "criteria"} <= set(a) and a["criteria"]["narrative"]
    codes = {al["targetCode"] for al in a["alignment"] if "targetCode" in al}
    assert {"SI", "WBL"} <= codes
    for al in a["alignment"]:
        assert al["type"] == ["Alignment"] and al["targetType"] == "CFItem"
        assert al["targetUrl"].startswith("https://w3id.org/cipd#") and al["targetName"]
    assert json_errors("badges", a) == []
    assert json_errors("badges", {**a, "criteria": {}, "achievementType": "Module"}) != []


def test_a_co_delivered_module_is_awarded_by_its_university(loaded_sample_store: GraphStore):
    a = json.loads(export_format(loaded_sample_store, "badges", {"module": "wdu-simulation"}))
    assert a["creator"]["name"] == "Westdale University"


def test_only_a_completed_project_is_an_achievement(loaded_sample_store: GraphStore) -> None:
    a = json.loads(export_format(loaded_sample_store, "badges", {"project": "af-anticoagulation"}))
    assert a["name"].startswith("Improvement project: ") and a["alignment"]
    assert json_errors("badges", a) == []
    with pytest.raises(
        FormatError, match=r"'home-visit-triage' is not completed \(it has no end date\)"
    ):
        export_format(loaded_sample_store, "badges", {"project": "home-visit-triage"})
    with pytest.raises(FormatError, match="exactly one of module=ID or project=ID"):
        export_format(loaded_sample_store, "badges", {})


def test_formats_are_listed_with_their_limits() -> None:
    listed = {f.name: f for f in formats()}
    for name in ("jsonld-project", "jsonld-module", "skos", "case", "badges", "ctdl-asn"):
        assert listed[name].limits and listed[name].specification.startswith("https://")
    assert listed["case"].reader is not None and listed["skos"].reader is None


# --------------------------------------------------------------------------- fuzz


def test_case_reader_raises_only_record_errors_on_any_json(tmp_path: Path) -> None:
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies
    from cipd_graph._errors import RecordError
    from cipd_graph.interop.case import read_case

    store = GraphStore(None, Settings(pseudonym_key=KEY))
    mapper = store.new_mapper()
    package = json.loads(IPEC.read_text())
    leaves = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
    values = st.recursive(
        leaves,
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3),
        max_leaves=8,
    )

    @hypothesis.settings(max_examples=150, deadline=None)
    @hypothesis.given(
        key=st.sampled_from(["CFDocument", "CFItems", "CFAssociations"]),
        index=st.integers(0, 5),
        field=st.sampled_from(
            ["identifier", "fullStatement", "originNodeURI", "associationType", "uri", "title"]
        ),
        value=values,
    )
    def check(key: str, index: int, field: str, value: object) -> None:
        doc = json.loads(json.dumps(package))
        target = doc[key] if key == "CFDocument" else doc[key][index]
        target[field] = value
        path = tmp_path / "fuzz.json"
        path.write_text(json.dumps(doc), encoding="utf-8")
        with contextlib.suppress(RecordError):
            read_case(path, mapper)

    check()


def test_an_imported_case_framework_exports_as_it_came(
    reference_store: GraphStore, tmp_path: Path
) -> None:
    """`framework=ID`: identifiers, URIs, change times, codes, notes and associations come
    back; precedes and ext: associations (warned on import) do not."""
    assert import_files(reference_store, "case", [IPEC]).written
    package = json.loads(
        export_format(
            reference_store, "case", {"framework": "9f3c1d2e-4b5a-4c6d-8e7f-0a1b2c3d4e5f"}
        )
    )
    assert json_errors("case", package) == []
    source = json.loads(IPEC.read_text())
    assert {i["identifier"] for i in package["CFItems"]} == {
        i["identifier"] for i in source["CFItems"]
    }
    by_id = {i["identifier"]: i for i in package["CFItems"]}
    for item in source["CFItems"]:
        got = by_id[item["identifier"]]
        assert (got["uri"], got["fullStatement"], got.get("humanCodingScheme")) == (
            item["uri"],
            item["fullStatement"],
            item.get("humanCodingScheme"),
        )
        assert got["lastChangeDateTime"] == item["lastChangeDateTime"]
    kinds = {a["associationType"] for a in package["CFAssociations"]}
    assert kinds <= {"isChildOf", "isRelatedTo", "exactMatchOf"} and "isChildOf" in kinds
    with pytest.raises(FormatError, match="no imported framework 'nope'"):
        export_format(reference_store, "case", {"framework": "nope"})
