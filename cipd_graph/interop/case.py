"""1EdTech CASE 1.1 (Competencies and Academic Standards Exchange): export and import.

Export (``cipd export case``): the tapestry model as a CFPackage. The CFDocument is the
``cipd:TapestryModel`` scheme; each model element is a CFItem whose ``uri`` is the element's
IRI, whose ``identifier`` is a UUID derived from that IRI (stable across exports), and whose
CFItemType is the element's class (Strand, Social learning dimension, ...). Associations:

- ``isChildOf`` for ``skos:broader`` (elements without a broader element are children of the
  CFDocument, as CASE frameworks place their top items), with the paper's order as
  ``sequenceNumber``;
- ``isRelatedTo`` for the rows of Table 1 (dimension -> the practice that realises it),
  grouped by a CFAssociationGrouping "Table 1". CASE has no "realises" type; ``exemplar``
  is for an example resource and ``exactMatchOf`` would claim the two are the same, so the
  generic non-hierarchical ``isRelatedTo`` is the honest choice, and the grouping says which
  relation it is. ``skos:related`` pairs are ``isRelatedTo`` too, outside the grouping;
- ``precedes`` between consecutive PDSA stages (plan precedes do ...).

With ``programme=ID`` the package describes a programme instead: the CFDocument is the
programme, its modules are CFItems (CFItemType "Module"), and every module mapping is an
``isRelatedTo`` association from the module to the model element's CFItem (a cross-document
association) with the strength and justification in ``notes``.

Import (``cipd import case``): any CASE CFPackage (top-level, wrapped in ``"CFPackage"``, or
a bare CFDocument) becomes a ``cipd:CompetencyFramework`` concept scheme whose CFItems are
``cipd:FrameworkItem`` concepts: fullStatement -> ``skos:prefLabel``, humanCodingScheme ->
``skos:notation``, abbreviatedStatement/alternativeLabel -> ``skos:altLabel``, identifier ->
``dcterms:identifier``, uri -> ``skos:exactMatch``, CFItemType -> ``dcterms:type``, notes ->
``skos:note``; ``isChildOf`` -> ``skos:broader`` (or top concept when the parent is the
document), ``isRelatedTo``/``isPeerOf`` inside the package -> ``skos:related``, and to other
documents ``exactMatchOf`` -> ``skos:exactMatch``, ``isRelatedTo`` -> ``skos:relatedMatch``.
Other association types, rubrics and definitions are reported as warnings and left out.
Modules (``mappings.csv`` column ``element``) and projects (``claims``) can then name an item
by its CASE identifier, its URI, its IRI, or its code when no other imported item shares it.
"""

from __future__ import annotations

import itertools
import json
import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, SKOS

from cipd_graph._errors import RecordError, RecordProblem
from cipd_graph._model import Element
from cipd_graph._ontology import CIPD, ONTOLOGY_IRI
from cipd_graph.graph import GraphStore
from cipd_graph.interop import Format, FormatError, Option, register
from cipd_graph.interop._common import find_record, pointer_problem, read_json, select, sha256
from cipd_graph.interop._frameworks import read_framework
from cipd_graph.mapping.mapper import MappedFile, Mapper
from cipd_graph.records.parse import Located, RecordFile

CASE_VERSION = "1.1"
#: The association types CASE 1.1 defines (its extensible enumeration; others start "ext:").
ASSOCIATION_TYPES = (
    "isChildOf",
    "isPeerOf",
    "isPartOf",
    "exactMatchOf",
    "precedes",
    "isRelatedTo",
    "replacedBy",
    "exemplar",
    "hasSkillLevel",
    "isTranslationOf",
)
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
NS = uuid.UUID("6f1d8a3e-3c1b-5b9e-9a57-2f6c1e0d4b21")  # namespace of cipd-graph's CASE UUIDs


def case_uuid(*parts: str) -> str:
    """A stable CASE identifier (a version-5 UUID) for an IRI or a tuple of IRIs.

    >>> case_uuid("https://w3id.org/cipd#CIPD") == case_uuid("https://w3id.org/cipd#CIPD")
    True
    """
    return str(uuid.uuid5(NS, "|".join(parts)))


# --------------------------------------------------------------------------- export


def _timestamp(store: GraphStore) -> str:
    modified = [str(o) for o in store.model.graph.objects(ONTOLOGY_IRI, DCTERMS.modified)]
    day = max(modified) if modified else "2026-01-01"
    return f"{day}T00:00:00+00:00"


def _link(title: str, iri: str) -> dict[str, str]:
    return {"title": title, "identifier": case_uuid(iri), "uri": iri}


def _kind_title(store: GraphStore, kind: str) -> str:
    label = store.model.graph.value(
        CIPD[kind], URIRef("http://www.w3.org/2000/01/rdf-schema#label")
    )
    return str(label) if label is not None else kind


def _item(store: GraphStore, e: Element, changed: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "identifier": case_uuid(e.iri),
        "uri": e.iri,
        "fullStatement": e.definition or e.label,
        "abbreviatedStatement": e.label,
        "CFItemType": _kind_title(store, e.kind),
        "CFItemTypeURI": _link(_kind_title(store, e.kind), str(CIPD[e.kind])),
        "language": "en",
        "lastChangeDateTime": changed,
    }
    if e.notation:
        item["humanCodingScheme"] = e.notation
    if e.alt_labels:
        item["alternativeLabel"] = e.alt_labels[0]
    if e.sequence is not None:
        item["listEnumeration"] = str(e.sequence)
    if e.sources:
        item["notes"] = "Source: " + ", ".join(e.sources)
    return item


def _association(
    kind: str, origin: tuple[str, str], destination: tuple[str, str], changed: str, **extra: Any
) -> dict[str, Any]:
    iri = f"{origin[1]}|{kind}|{destination[1]}"
    identifier = case_uuid(iri)
    return {
        "identifier": identifier,
        "associationType": kind,
        "uri": f"https://w3id.org/cipd/case/CFAssociations/{identifier}",
        "originNodeURI": _link(*origin),
        "destinationNodeURI": _link(*destination),
        "lastChangeDateTime": changed,
        **extra,
    }


def model_package(store: GraphStore) -> dict[str, Any]:
    """The tapestry model as a CASE 1.1 CFPackage."""
    model = store.model
    g = model.graph
    changed = _timestamp(store)
    scheme = str(CIPD.TapestryModel)
    title = str(g.value(CIPD.TapestryModel, SKOS.prefLabel) or "CIPD tapestry model")
    document = {
        "identifier": case_uuid(scheme),
        "uri": scheme,
        "caseVersion": CASE_VERSION,
        "creator": str(g.value(ONTOLOGY_IRI, DCTERMS.creator) or "cipd-graph"),
        "title": title,
        "lastChangeDateTime": changed,
        "description": str(g.value(CIPD.TapestryModel, SKOS.definition) or ""),
        "language": "en",
        "version": model.version,
        "adoptionStatus": "Draft",
        "notes": f"Exported by cipd-graph from the CIPD ontology {ONTOLOGY_IRI}; licence "
        + ", ".join(str(o) for o in g.objects(ONTOLOGY_IRI, DCTERMS.license)),
    }
    elements = list(model)
    items = [_item(store, e, changed) for e in elements]
    by_iri = {e.iri: e for e in elements}
    doc_node = (title, scheme)
    associations: list[dict[str, Any]] = []
    for e in elements:
        parents: list[str | None] = [b for b in e.broader if b in by_iri]
        for parent in parents or [None]:
            destination = (by_iri[parent].label, parent) if parent else doc_node
            extra = {"sequenceNumber": e.sequence} if e.sequence is not None else {}
            associations.append(
                _association("isChildOf", (e.label, e.iri), destination, changed, **extra)
            )
    grouping_iri = "https://w3id.org/cipd/case/CFAssociationGroupings/table-1"
    grouping = {
        "identifier": case_uuid(grouping_iri),
        "uri": grouping_iri,
        "title": "Table 1: social learning and improvement learning",
        "description": "Each social learning dimension (origin) is realised by the improvement-learning practice (destination): cipd:isRealisedBy.",
        "lastChangeDateTime": changed,
    }
    for row in model.table1:
        associations.append(
            _association(
                "isRelatedTo",
                (row.dimension.label, row.dimension.iri),
                (row.practice.label, row.practice.iri),
                changed,
                CFAssociationGroupingURI=_link(grouping["title"], grouping_iri),
            )
        )
    seen: set[frozenset[str]] = set()
    for e in elements:
        for other in sorted(g.objects(URIRef(e.iri), SKOS.related), key=str):
            pair = frozenset((e.iri, str(other)))
            if str(other) in by_iri and pair not in seen:
                seen.add(pair)
                o = by_iri[str(other)]
                associations.append(
                    _association("isRelatedTo", (e.label, e.iri), (o.label, o.iri), changed)
                )
    stages = model.of_kind("PDSAStage")
    for before, after in itertools.pairwise(stages):
        associations.append(
            _association("precedes", (before.label, before.iri), (after.label, after.iri), changed)
        )
    kinds = sorted({e.kind for e in elements})
    item_types = [
        {
            "identifier": case_uuid(str(CIPD[k])),
            "uri": str(CIPD[k]),
            "title": _kind_title(store, k),
            "description": str(g.value(CIPD[k], SKOS.definition) or _kind_title(store, k)),
            "hierarchyCode": k,
            "typeCode": k,
            "lastChangeDateTime": changed,
        }
        for k in kinds
    ]
    return {
        "CFDocument": document,
        "CFItems": items,
        "CFAssociations": associations,
        "CFDefinitions": {"CFItemTypes": item_types, "CFAssociationGroupings": [grouping]},
    }


def programme_package(store: GraphStore, key: str) -> dict[str, Any]:
    """A programme's modules as CFItems and their mappings as CFAssociations."""
    programme = find_record(store, "programme", key)
    changed = _timestamp(store)
    node = ox.NamedNode(str(programme))
    info = select(
        store,
        "SELECT ?title ?provider WHERE { #+ bind\n ?p rdfs:label ?title . "
        "OPTIONAL { ?p schema:provider/rdfs:label ?provider } } LIMIT 1",
        {"p": node},
    )
    title = info[0]["title"].value if info else key
    provider = info[0]["provider"].value if info and info[0]["provider"] else "unknown"
    rows = select(
        store,
        "SELECT DISTINCT ?module ?mid ?mtitle ?code ?element ?strength ?why WHERE { #+ bind\n"
        " ?p schema:hasCourse ?module . ?module dcterms:identifier ?mid ; rdfs:label ?mtitle . "
        " OPTIONAL { ?module schema:courseCode ?code } "
        " OPTIONAL { ?module cipd:hasMapping ?m . ?m cipd:mapsToElement ?element ; "
        "   cipd:mappingStrength ?strength ; cipd:justification ?why } } "
        "ORDER BY ?mid ?module ?element ?strength ?why ?code ?mtitle",
        {"p": node},
    )
    doc_title = f"{title}: module mappings to the CIPD tapestry model"
    document = {
        "identifier": case_uuid(str(programme)),
        "uri": str(programme),
        "caseVersion": CASE_VERSION,
        "creator": provider,
        "title": doc_title,
        "lastChangeDateTime": changed,
        "description": f"The modules of {title} and the CIPD model elements each addresses.",
        "language": "en",
    }
    items: dict[str, dict[str, Any]] = {}
    associations: list[dict[str, Any]] = []
    framework_items = _framework_items(store)
    mapped: set[tuple[str, str]] = set()
    for row in rows:
        module = row["module"].value
        mtitle = row["mtitle"].value
        if module not in items:
            item: dict[str, Any] = {
                "identifier": case_uuid(module),
                "uri": module,
                "fullStatement": mtitle,
                "CFItemType": "Module",
                "lastChangeDateTime": changed,
                "language": "en",
            }
            if row["code"] is not None:
                item["humanCodingScheme"] = row["code"].value
            items[module] = item
            associations.append(
                _association("isChildOf", (mtitle, module), (doc_title, str(programme)), changed)
            )
        if row["element"] is None or (module, row["element"].value) in mapped:
            continue  # one association a mapping, whatever else the rows repeat
        target = row["element"].value
        mapped.add((module, target))
        try:
            e = store.model.element(target)
            dest_title, dest_uri = e.label, e.iri
        except KeyError:
            dest_title, dest_uri = framework_items.get(target, (target, target))
        strength = row["strength"].value.rsplit("#", 1)[-1].removesuffix("Mapping").lower()
        associations.append(
            _association(
                "isRelatedTo",
                (mtitle, module),
                (dest_title, dest_uri),
                changed,
                notes=f"Mapping strength: {strength}. {row['why'].value}",
            )
        )
        associations[-1]["destinationNodeURI"]["targetType"] = "CASE"
    return {
        "CFDocument": document,
        "CFItems": list(items.values()),
        "CFAssociations": associations,
    }


def _framework_items(store: GraphStore) -> dict[str, tuple[str, str]]:
    rows = select(
        store,
        "SELECT ?item ?label ?uri WHERE { ?item a cipd:FrameworkItem ; skos:prefLabel ?label . "
        "OPTIONAL { ?item dcterms:source ?uri } }",
        {},
    )
    found: dict[str, tuple[str, str]] = {}
    for r in rows:
        entry = (r["label"].value, r["uri"].value if r["uri"] else r["item"].value)
        found[r["item"].value] = min(found.get(r["item"].value, entry), entry)
    return found


def _case_id(identifier: str, iri: str) -> str:
    """A CASE identifier (a UUID) for an imported item: its own when it is one, the UUID of
    a CTDL-ASN CTID (``ce-`` + UUID), else a UUID derived from its IRI.

    >>> _case_id("ce-8c2da966-9c5a-4d65-aa51-f2808ffab550", "x")
    '8c2da966-9c5a-4d65-aa51-f2808ffab550'
    """
    bare = identifier.removeprefix("ce-")
    return bare if UUID_RE.match(bare) else case_uuid(iri)


_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _date_time(text: str | None, fallback: str) -> str:
    """An ISO 8601 date-time for CASE: as stored when it is one, a date or year made into
    midnight UTC of its first day, else ``fallback``.

    >>> _date_time("2014", "x"), _date_time("2022-05-20", "x"), _date_time("soon", "x")
    ('2014-01-01T00:00:00+00:00', '2022-05-20T00:00:00+00:00', 'x')
    """
    if text and _DATE_TIME.match(text):
        return text
    for form, pad in (
        (r"^\d{4}$", "-01-01"),
        (r"^\d{4}-\d{2}$", "-01"),
        (r"^\d{4}-\d{2}-\d{2}$", ""),
    ):
        if text and re.match(form, text):
            return f"{text}{pad}T00:00:00+00:00"
    return fallback


def framework_package(store: GraphStore, key: str) -> dict[str, Any]:  # noqa: PLR0912 - one branch per optional field
    """An imported framework (CASE or CTDL-ASN) as a CASE 1.1 CFPackage: the identifiers,
    URIs and change times it was imported with; the associations rebuilt from its hierarchy,
    related items and matches to other frameworks."""
    fw = read_framework(store, key)
    changed = _date_time(fw.modified, _timestamp(store))
    doc_uri = fw.uri or fw.iri
    document: dict[str, Any] = {
        "identifier": _case_id(fw.identifier, fw.iri),
        "uri": doc_uri,
        "caseVersion": CASE_VERSION,
        "creator": (fw.creators or fw.creator_iris or ["unknown"])[0],
        "title": fw.title.text,
        "lastChangeDateTime": changed,
    }
    if fw.publishers:
        document["publisher"] = fw.publishers[0].text
    if fw.description:
        document["description"] = fw.description.text
    if fw.title.lang:
        document["language"] = fw.title.lang
    if fw.version:
        document["version"] = fw.version
    if fw.note:
        document["notes"] = fw.note.text
    items: list[dict[str, Any]] = []
    associations: list[dict[str, Any]] = []
    nodes = {
        i.iri: (i.label.text, i.uri or i.iri, _case_id(i.identifier, i.iri))
        for i in fw.items.values()
    }
    doc_node = (fw.title.text, doc_uri)

    def link(iri: str) -> tuple[str, str]:
        title, uri, _ = nodes[iri]
        return title, uri

    for item in sorted(fw.items.values(), key=lambda i: nodes[i.iri][2]):
        entry: dict[str, Any] = {
            "identifier": nodes[item.iri][2],
            "uri": item.uri or item.iri,
            "fullStatement": item.label.text,
            "lastChangeDateTime": _date_time(item.modified, changed),
        }
        alt = [t.text for t in item.alt_labels]
        if alt:
            entry["abbreviatedStatement"] = alt[0]
        if len(alt) > 1:
            entry["alternativeLabel"] = alt[1]
        if item.code:
            entry["humanCodingScheme"] = item.code
        if item.kind:
            entry["CFItemType"] = item.kind
        if item.note:
            entry["notes"] = item.note.text
        if item.label.lang:
            entry["language"] = item.label.lang
        items.append(entry)
        origin = link(item.iri)
        parents = [b for b in item.broader if b in nodes]
        for parent in parents:
            associations.append(_association("isChildOf", origin, link(parent), changed))
        if item.top:
            associations.append(_association("isChildOf", origin, doc_node, changed))
        for other in item.related:
            if other in nodes and nodes[other][2] > nodes[item.iri][2]:
                associations.append(_association("isRelatedTo", origin, link(other), changed))
        for kind, targets in (("exactMatchOf", item.exact), ("isRelatedTo", item.related_match)):
            for target in targets:
                associations.append(_association(kind, origin, (target, target), changed))
    for a in associations:
        if a["destinationNodeURI"]["uri"] not in {n[1] for n in nodes.values()} | {doc_uri}:
            a["destinationNodeURI"]["targetType"] = "CASE"
    associations.sort(
        key=lambda a: (
            a["originNodeURI"]["uri"],
            a["associationType"],
            a["destinationNodeURI"]["uri"],
        )
    )
    return {"CFDocument": document, "CFItems": items, "CFAssociations": associations}


def write_case(store: GraphStore, options: Mapping[str, str]) -> bytes:
    """The model (or, with ``programme``, a programme's mappings; with ``framework``, an
    imported framework) as a CASE 1.1 CFPackage."""
    given = [k for k in ("programme", "framework") if options.get(k)]
    if len(given) > 1:
        raise FormatError("export case: give at most one of programme=ID or framework=ID")
    if options.get("programme"):
        package = programme_package(store, options["programme"])
    elif options.get("framework"):
        package = framework_package(store, options["framework"])
    else:
        package = model_package(store)
    return (json.dumps(package, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


# --------------------------------------------------------------------------- import


class _Reader:
    """Reads one CASE file; collects every problem before failing."""

    def __init__(self, path: Path, mapper: Mapper) -> None:
        self.path = path
        self.mapper = mapper
        self.problems: list[RecordProblem] = []
        self.warnings: list[RecordProblem] = []

    def fail(self, record: str, field: str, reason: str) -> None:
        self.problems.append(pointer_problem(self.path, record, field, reason))

    def warn(self, record: str, field: str, reason: str) -> None:
        self.warnings.append(pointer_problem(self.path, record, field, reason))

    def text(
        self,
        obj: Mapping[str, Any],
        pointer: str,
        key: str,
        *,
        required: bool = False,
        spec_required: bool = False,
    ) -> str | None:
        value = obj.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(pointer, key, "missing; CASE 1.1 requires it")
            elif spec_required:
                self.warn(pointer, key, "missing (CASE 1.1 requires it); imported without it")
            return None
        if not isinstance(value, str):
            self.fail(pointer, key, f"expected a string, got {type(value).__name__}")
            return None
        return value.strip()

    def identifier(self, obj: Mapping[str, Any], pointer: str) -> str | None:
        ident = self.text(obj, pointer, "identifier", required=True)
        if ident is not None and not UUID_RE.match(ident):
            self.warn(
                pointer,
                "identifier",
                f"{ident!r} is not a UUID as CASE 1.1 requires; kept as it is",
            )
        return ident

    def read(self) -> MappedFile:  # noqa: PLR0912, PLR0915
        data, value = read_json(self.path)
        package = value.get("CFPackage", value) if isinstance(value, dict) else value
        if not isinstance(package, dict):
            raise RecordError(
                [pointer_problem(self.path, "/", "", "expected a JSON object (a CASE CFPackage)")]
            )
        root = "/CFPackage" if isinstance(value, dict) and "CFPackage" in value else ""
        if "CFDocument" in package:
            doc = package["CFDocument"]
            doc_ptr = f"{root}/CFDocument"
        elif {"identifier", "title"} <= set(package) and "CFItems" not in package:
            doc, doc_ptr = package, root or "/"
        else:
            raise RecordError(
                [
                    pointer_problem(
                        self.path,
                        root or "/",
                        "CFDocument",
                        "missing: not a CASE CFPackage or CFDocument",
                    )
                ]
            )
        if not isinstance(doc, dict):
            raise RecordError([pointer_problem(self.path, doc_ptr, "", "expected a JSON object")])
        bare = "CFItems" not in package and "CFAssociations" not in package
        if bare:
            self.warn(
                doc_ptr,
                "",
                "a bare CFDocument carries no items; fetch its CFPackage (CFPackages/{id}) to import them",
            )
        doc_id = self.identifier(doc, doc_ptr)
        title = self.text(doc, doc_ptr, "title", required=True)
        for key in ("uri", "creator", "lastChangeDateTime"):
            self.text(doc, doc_ptr, key, spec_required=True)
        items_value = package.get("CFItems", [])
        assocs_value = package.get("CFAssociations", [])
        for key, v in (("CFItems", items_value), ("CFAssociations", assocs_value)):
            if not isinstance(v, list):
                self.fail(f"{root}/{key}", "", "expected a JSON array")
        if self.problems or doc_id is None or title is None:
            raise RecordError(self.problems)
        lang = doc.get("language") if isinstance(doc.get("language"), str) else None
        m = self.mapper
        scheme = m.framework(doc_id)
        g = Graph()
        records: list[Located[Any]] = [Located(doc, 0, f"CFDocument {doc_id}")]
        out_records: dict[str, tuple[int, str]] = {str(scheme): (0, f"CFDocument {doc_id}")}
        g.add((scheme, RDF.type, CIPD.CompetencyFramework))
        g.add((scheme, RDF.type, SKOS.ConceptScheme))
        g.add((scheme, SKOS.prefLabel, Literal(title, lang=lang)))
        g.add((scheme, DCTERMS.identifier, Literal(doc_id)))
        for key, prop in (
            ("creator", DCTERMS.creator),
            ("publisher", DCTERMS.publisher),
            ("description", DCTERMS.description),
            ("version", DCTERMS.hasVersion),
        ):
            text = doc.get(key)
            if isinstance(text, str) and text.strip():
                g.add((scheme, prop, Literal(text.strip())))
        uri = doc.get("uri")
        if isinstance(uri, str) and _iri(uri):
            g.add((scheme, DCTERMS.source, URIRef(uri)))
        for key, prop in (("lastChangeDateTime", DCTERMS.modified), ("notes", SKOS.note)):
            text = doc.get(key)
            if isinstance(text, str) and text.strip():
                g.add((scheme, prop, Literal(_zoned(text.strip()))))
        # items
        items: dict[str, URIRef] = {}
        by_uri: dict[str, str] = {}
        for i, item in enumerate(items_value if isinstance(items_value, list) else []):
            ptr = f"{root}/CFItems/{i}"
            if not isinstance(item, dict):
                self.fail(ptr, "", "expected a JSON object (a CFItem)")
                continue
            ident = self.identifier(item, ptr)
            statement = self.text(item, ptr, "fullStatement", required=True)
            self.text(item, ptr, "uri", spec_required=True)
            self.text(item, ptr, "lastChangeDateTime", spec_required=True)
            if ident is None or statement is None:
                continue
            if ident in items or ident == doc_id:
                self.fail(
                    ptr, "identifier", f"duplicate identifier {ident!r}; each CFItem needs its own"
                )
                continue
            concept = m.framework_item(doc_id, ident)
            items[ident] = concept
            records.append(Located(item, 0, f"CFItem {ident}"))
            out_records[str(concept)] = (
                0,
                f"CFItem {item.get('humanCodingScheme') or ident} ({ptr})",
            )
            item_lang = item.get("language") if isinstance(item.get("language"), str) else lang
            g.add((concept, RDF.type, CIPD.FrameworkItem))
            g.add((concept, RDF.type, SKOS.Concept))
            g.add((concept, SKOS.inScheme, scheme))
            g.add((concept, DCTERMS.identifier, Literal(ident)))
            pref = Literal(statement, lang=item_lang)
            g.add((concept, SKOS.prefLabel, pref))
            code = self.text(item, ptr, "humanCodingScheme")
            if code:
                g.add((concept, SKOS.notation, Literal(code)))
            for key in ("abbreviatedStatement", "alternativeLabel"):
                alt = self.text(item, ptr, key)
                if alt and alt != statement:
                    g.add((concept, SKOS.altLabel, Literal(alt, lang=item_lang)))
            kind = self.text(item, ptr, "CFItemType")
            if kind:
                g.add((concept, DCTERMS.type, Literal(kind)))
            notes = self.text(item, ptr, "notes")
            if notes:
                g.add((concept, SKOS.note, Literal(notes, lang=item_lang)))
            changed = self.text(item, ptr, "lastChangeDateTime")
            if changed:
                g.add((concept, DCTERMS.modified, Literal(_zoned(changed))))
            item_uri = item.get("uri")
            if isinstance(item_uri, str) and _iri(item_uri):
                g.add((concept, SKOS.exactMatch, URIRef(item_uri)))
                g.add((concept, DCTERMS.source, URIRef(item_uri)))
                by_uri[item_uri] = ident
        # associations
        seen_assoc: set[str] = set()
        doc_uri = doc.get("uri") if isinstance(doc.get("uri"), str) else None
        for i, assoc in enumerate(assocs_value if isinstance(assocs_value, list) else []):
            ptr = f"{root}/CFAssociations/{i}"
            if not isinstance(assoc, dict):
                self.fail(ptr, "", "expected a JSON object (a CFAssociation)")
                continue
            ident = self.identifier(assoc, ptr)
            if ident is not None:
                if ident in seen_assoc:
                    self.fail(
                        ptr,
                        "identifier",
                        f"duplicate identifier {ident!r}; each CFAssociation needs its own",
                    )
                seen_assoc.add(ident)
            kind = self.text(assoc, ptr, "associationType", required=True)
            ends: list[tuple[str | None, str | None] | None] = []
            for end in ("originNodeURI", "destinationNodeURI"):
                node = assoc.get(end)
                if not isinstance(node, dict):
                    self.fail(ptr, end, "missing or not an object with identifier and uri")
                    ends.append(None)
                    continue
                node_id = node.get("identifier")
                node_uri = node.get("uri")
                if not isinstance(node_id, str) and not isinstance(node_uri, str):
                    self.fail(ptr, end, "needs an identifier or a uri")
                    ends.append(None)
                    continue
                ends.append(
                    (
                        node_id if isinstance(node_id, str) else None,
                        node_uri if isinstance(node_uri, str) else None,
                    )
                )
            if kind is None or None in ends:
                continue
            first, second = ends
            assert first is not None and second is not None
            (o_id, o_uri), (d_id, d_uri) = first, second
            origin = _resolve(o_id, o_uri, items, by_uri)
            dest = _resolve(d_id, d_uri, items, by_uri)
            dest_is_doc = d_id == doc_id or (d_uri is not None and d_uri == doc_uri)
            if kind not in ASSOCIATION_TYPES:
                self.warn(
                    ptr,
                    "associationType",
                    f"{kind!r} is not a CASE 1.1 association type this import knows; left out",
                )
                continue
            if origin is None:
                where = "another document" if o_uri else "nowhere in this package"
                self.warn(
                    ptr, "originNodeURI", f"{o_id or o_uri} is in {where}; association left out"
                )
                continue
            if kind == "isChildOf":
                if dest_is_doc:
                    g.add((origin, SKOS.topConceptOf, scheme))
                    g.add((scheme, SKOS.hasTopConcept, origin))
                elif dest is not None:
                    g.add((origin, SKOS.broader, dest))
                    g.add((dest, SKOS.narrower, origin))
                else:
                    self.warn(
                        ptr,
                        "destinationNodeURI",
                        f"parent {d_id or d_uri} is not in this package; {o_id} imported without it",
                    )
            elif kind in ("isRelatedTo", "isPeerOf", "exactMatchOf"):
                if dest is not None and kind != "exactMatchOf":
                    g.add((origin, SKOS.related, dest))
                    g.add((dest, SKOS.related, origin))
                elif dest is None and d_uri and _iri(d_uri):
                    prop = SKOS.exactMatch if kind == "exactMatchOf" else SKOS.relatedMatch
                    g.add((origin, prop, URIRef(d_uri)))
                elif dest is not None:
                    self.warn(
                        ptr,
                        "associationType",
                        "exactMatchOf between two items of one framework is not carried; left out",
                    )
                else:
                    self.warn(
                        ptr,
                        "destinationNodeURI",
                        f"{d_id} is not in this package and has no URI; association left out",
                    )
            else:
                self.warn(
                    ptr, "associationType", f"{kind!r} has no SKOS counterpart here; left out"
                )
        for key in ("CFRubrics",):
            if package.get(key):
                self.warn(f"{root}/{key}", "", "rubrics are not imported")
        if self.problems:
            raise RecordError(self.problems)
        source = RecordFile(self.path, "case-framework", tuple(records), sha256=sha256(data))
        out = MappedFile(source, g, Graph(), records=out_records)
        out.warnings.extend(self.warnings)
        return out


_NO_ZONE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$")


def _zoned(text: str) -> str:
    """A change time as kept: one without a time zone (OpenSALT writes them) is read as UTC.

    >>> _zoned("2017-05-25T18:05:33"), _zoned("2017-05-25T18:05:33Z")
    ('2017-05-25T18:05:33+00:00', '2017-05-25T18:05:33Z')
    """
    return text + "+00:00" if _NO_ZONE.match(text) else text


def _iri(text: str) -> bool:
    return bool(re.match(r"^https?://[^\s<>\"{}|\\^`]+$", text))


def _resolve(
    ident: str | None, uri: str | None, items: dict[str, URIRef], by_uri: dict[str, str]
) -> URIRef | None:
    if ident is not None and ident in items:
        return items[ident]
    if uri is not None and uri in by_uri:
        return items[by_uri[uri]]
    return None


def read_case(path: Path, mapper: Mapper) -> MappedFile:
    """A CASE CFPackage (or bare CFDocument) as an imported competency framework."""
    return _Reader(path, mapper).read()


register(
    Format(
        name="case",
        title="1EdTech CASE 1.1 (Competencies and Academic Standards Exchange) CFPackage, JSON",
        media_type="application/json",
        suffix=".json",
        reader=read_case,
        writer=write_case,
        read_suffixes=(".json",),
        options=(
            Option("programme", "export this programme's module mappings instead of the model"),
            Option("framework", "export this imported framework (identifier or IRI) instead"),
        ),
        limits=(
            "Export: the model's elements, hierarchy, Table 1 pairs, related pairs and PDSA order; "
            "not the other model relations (weaves into, integrates, aims to improve) or the OWL "
            "classes beyond CFItemType. Import: items, codes, statements, hierarchy, related and "
            "exact matches; not rubrics, subjects, concepts, licences, education levels, "
            "association groupings or the association types precedes, isPartOf, replacedBy, "
            "exemplar, hasSkillLevel, isTranslationOf (reported as warnings)."
        ),
        specification="https://www.imsglobal.org/spec/case/v1p1",
    )
)
