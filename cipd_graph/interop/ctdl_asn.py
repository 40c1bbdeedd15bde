"""CTDL-ASN (Credential Engine's competency frameworks in JSON-LD): import and export.

Many health-education bodies publish competency frameworks to the Credential Registry in
CTDL-ASN: a JSON-LD ``@graph`` holding one ``ceasn:CompetencyFramework`` and its
``ceasn:Competency`` nodes, each with a CTID (``ceterms:ctid``), language-mapped texts and
IRI links for the hierarchy and for alignments to other frameworks.

Import (``cipd import ctdl-asn``) reads such a document (or a registry envelope holding it in
``decoded_resource``) with pyld, against a local copy of the CTDL-ASN context (``contexts/
ctdlasn.jsonld``; nothing is fetched), into the model a CASE import makes: the framework is a
``cipd:CompetencyFramework`` concept scheme, each competency a ``cipd:FrameworkItem``:

- ``ceterms:ctid`` -> ``dcterms:identifier``; ``@id`` -> ``dcterms:source`` (and, for an item,
  ``skos:exactMatch``, the key modules and projects can name it by);
- ``ceasn:name`` / ``ceasn:competencyText`` -> ``skos:prefLabel`` (one language: English first,
  else the first tag; the others are reported); ``ceasn:competencyLabel`` -> ``skos:altLabel``;
  ``ceasn:codedNotation`` (else ``ceasn:listID``) -> ``skos:notation``; ``ceasn:competencyCategory``
  -> ``dcterms:type``; ``ceasn:comment`` -> ``skos:note``; ``ceasn:description`` ->
  ``dcterms:description``; ``ceasn:dateCreated``/``dateModified`` -> ``dcterms:created``/
  ``modified``; ``ceasn:creator``/``publisher`` (IRIs) and ``ceasn:publisherName`` ->
  ``dcterms:creator``/``publisher``; ``ceasn:license`` -> ``dcterms:license``;
- ``ceasn:isChildOf``/``hasChild`` -> ``skos:broader``/``narrower``; ``ceasn:isTopChildOf``/
  ``hasTopChild`` -> top concepts; ``ceasn:derivedFrom`` -> ``prov:wasDerivedFrom``;
- alignments to other frameworks: ``exactAlignment`` -> ``skos:exactMatch``, ``broadAlignment``
  -> ``skos:broadMatch``, ``narrowAlignment`` -> ``skos:narrowMatch``, ``majorAlignment`` ->
  ``skos:closeMatch``, ``minorAlignment`` -> ``skos:relatedMatch``; an alignment between two
  competencies of the file -> ``skos:related``.

Everything else (other CTDL-ASN properties, nodes of other types) is reported as a warning.

Export (``cipd export ctdl-asn``) writes the tapestry model as a framework of competencies
(default), a programme's modules with their mappings as alignments (``programme=ID``:
strong -> ``majorAlignment``, moderate and weak -> ``minorAlignment``, the strength and
justification in ``comment``), or an imported framework (``framework=ID``). CTIDs are the
imported ones, else ``ce-`` and a UUID derived from the IRI, so that exports are stable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from pyld import jsonld
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, SKOS

from cipd_graph._errors import RecordError, RecordProblem
from cipd_graph._ontology import CIPD, ONTOLOGY_IRI
from cipd_graph._resources import data_dir
from cipd_graph.graph import GraphStore
from cipd_graph.interop import Format, FormatError, Option, register
from cipd_graph.interop._common import find_record, pointer_problem, read_json, select, sha256
from cipd_graph.interop._frameworks import Framework, Text, read_framework
from cipd_graph.interop.case import _kind_title, _timestamp, case_uuid
from cipd_graph.mapping.mapper import MappedFile, Mapper
from cipd_graph.records.parse import Located, RecordFile

CEASN = "https://purl.org/ctdlasn/terms/"
CETERMS = "https://purl.org/ctdl/terms/"
#: The CTDL-ASN context as documents name it; served from ``contexts/ctdlasn.jsonld``.
CONTEXT_URL = "https://credreg.net/ctdlasn/schema/context/json"
_CONTEXT_URLS = (CONTEXT_URL, "http://credreg.net/ctdlasn/schema/context/json")
CONTEXT_FILE = "ctdlasn.jsonld"
_CTID = re.compile(r"^ce-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
#: Alignment properties and the SKOS mapping property each becomes (to other frameworks).
ALIGNMENTS = {
    "exactAlignment": SKOS.exactMatch,
    "broadAlignment": SKOS.broadMatch,
    "narrowAlignment": SKOS.narrowMatch,
    "majorAlignment": SKOS.closeMatch,
    "minorAlignment": SKOS.relatedMatch,
}
_READ_FRAMEWORK = {
    "name", "description", "creator", "publisher", "publisherName", "dateCreated",
    "dateModified", "license", "hasTopChild", "inLanguage",
}  # fmt: skip
_READ_ITEM = {
    "competencyText", "competencyLabel", "codedNotation", "listID", "competencyCategory",
    "comment", "dateCreated", "dateModified", "isChildOf", "hasChild", "isTopChildOf",
    "isPartOf", "derivedFrom", "inLanguage", *ALIGNMENTS,
}  # fmt: skip


def context_path() -> Path:
    """The shipped copy of the CTDL-ASN context."""
    return data_dir("contexts") / CONTEXT_FILE


@lru_cache(maxsize=1)
def _context() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(context_path().read_text(encoding="utf-8"))
    return loaded


def document_loader(url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A pyld loader serving the CTDL-ASN context (any ``releaseID``) from the local copy."""
    if url.split("?", 1)[0] in _CONTEXT_URLS:
        return {"contextUrl": None, "documentUrl": url, "document": _context()}
    raise jsonld.JsonLdError(
        f"{url}: no remote JSON-LD documents are loaded; a CTDL-ASN document names {CONTEXT_URL}",
        "jsonld.LoadDocumentError",
        code="loading document failed",
    )


# --------------------------------------------------------------------------- import


def _nodes(expanded: Any) -> list[dict[str, Any]]:
    """Every node object of an expanded document, named graphs included."""
    found: list[dict[str, Any]] = []
    for item in expanded if isinstance(expanded, list) else [expanded]:
        if not isinstance(item, dict):
            continue
        if "@graph" in item:
            found.extend(_nodes(item["@graph"]))
            rest = {k for k in item if k not in ("@id", "@graph")}
            if not rest:
                continue
        found.append(item)
    return found


class _Reader:
    def __init__(self, path: Path, mapper: Mapper) -> None:
        self.path = path
        self.mapper = mapper
        self.problems: list[RecordProblem] = []
        self.warnings: list[RecordProblem] = []
        self._warned: set[str] = set()
        self.pointers: dict[str, str] = {}

    def where(self, node: Mapping[str, Any]) -> str:
        return self.pointers.get(str(node.get("@id")), str(node.get("@id", "/")))

    def fail(self, node: Mapping[str, Any], field: str, reason: str) -> None:
        self.problems.append(pointer_problem(self.path, self.where(node), field, reason))

    def warn(self, node: Mapping[str, Any], field: str, reason: str, once: str = "") -> None:
        if once:
            if once in self._warned:
                return
            self._warned.add(once)
        self.warnings.append(pointer_problem(self.path, self.where(node), field, reason))

    # -- values of expanded nodes ----------------------------------------------------
    def texts(self, node: Mapping[str, Any], term: str) -> list[tuple[str, str]]:
        out = []
        for v in node.get(CEASN + term, []):
            if isinstance(v, dict) and isinstance(v.get("@value"), str):
                out.append((v["@value"].strip(), str(v.get("@language", ""))))
        return [t for t in out if t[0]]

    def text(self, node: Mapping[str, Any], term: str) -> Text | None:
        """One text of a language-mapped property: English first, else the first tag."""
        values = self.texts(node, term)
        if not values:
            return None
        langs = sorted({lang for _, lang in values})
        english = [t for t in langs if t.lower() == "en" or t.lower().startswith("en-")]
        chosen = english[0] if english else langs[0]
        texts = sorted(text for text, lang in values if lang == chosen)
        others = [t for t in langs if t != chosen]
        if others:
            self.warn(
                node,
                f"ceasn:{term}",
                f"given in {len(langs)} languages; the {chosen or 'untagged'} text is kept, "
                f"left out: {', '.join(o or 'untagged' for o in others)}",
                once=f"{term} languages",
            )
        if len(texts) > 1:
            self.warn(
                node,
                f"ceasn:{term}",
                f"{len(texts)} texts in one language; the first is kept",
                once=f"{term} several {node.get('@id')}",
            )
        return Text(texts[0], chosen)

    @staticmethod
    def ids(node: Mapping[str, Any], term: str, ns: str = CEASN) -> list[str]:
        out: list[str] = []
        for v in node.get(ns + term, []):
            if isinstance(v, dict) and "@list" in v:  # CaSS writes hasChild as an @list
                out.extend(x["@id"] for x in v["@list"] if isinstance(x, dict) and "@id" in x)
            elif isinstance(v, dict) and isinstance(v.get("@id"), str):
                out.append(v["@id"])
        return out

    @staticmethod
    def plain(node: Mapping[str, Any], term: str, ns: str = CEASN) -> str | None:
        for v in node.get(ns + term, []):
            if isinstance(v, dict) and isinstance(v.get("@value"), str | int | float):
                text = str(v["@value"]).strip()
                if text:
                    return text
        return None

    def unread(self, node: Mapping[str, Any], known: set[str]) -> None:
        for key in sorted(node):
            if key.startswith("@"):
                continue
            term = key.removeprefix(CEASN)
            if key.startswith(CEASN) and term in known:
                continue
            if key == CETERMS + "ctid":
                continue
            short = "ceasn:" + term if key.startswith(CEASN) else key.replace(CETERMS, "ceterms:")
            self.warn(node, short, "not carried by this import; left out", once=f"unread {short}")

    # -- the document ----------------------------------------------------------------
    def read(self) -> MappedFile:  # noqa: PLR0912, PLR0915 - framework, items, hierarchy, alignments
        data, value = read_json(self.path)
        if isinstance(value, dict) and isinstance(value.get("decoded_resource"), dict):
            value = value["decoded_resource"]  # a Credential Registry envelope
        if not isinstance(value, dict) or "@context" not in value:
            raise RecordError(
                [
                    pointer_problem(
                        self.path,
                        "/",
                        "@context",
                        f'not a CTDL-ASN JSON-LD document: it needs "@context": "{CONTEXT_URL}"',
                    )
                ]
            )
        contexts = value["@context"] if isinstance(value["@context"], list) else [value["@context"]]
        other = [
            c for c in contexts if isinstance(c, str) and c.split("?", 1)[0] not in _CONTEXT_URLS
        ]
        if other:
            raise RecordError(
                [
                    pointer_problem(
                        self.path,
                        "/",
                        "@context",
                        f"names {', '.join(other)}: no remote JSON-LD documents are loaded, "
                        f"only the CTDL-ASN context {CONTEXT_URL} (from a local copy)",
                    )
                ]
            )
        graph = value.get("@graph")
        repeated: list[dict[str, Any]] = []
        for i, node in enumerate(graph if isinstance(graph, list) else []):
            if isinstance(node, dict) and isinstance(node.get("@id"), str):
                if node["@id"] in self.pointers:
                    repeated.append({"@id": node["@id"]})
                self.pointers.setdefault(node["@id"], f"/@graph/{i}")
        for node in repeated:  # editors that copy a competency under a second parent do this
            self.warn(
                node,
                "@id",
                "listed more than once; merged into one competency, as JSON-LD reads one @id",
                once=f"repeated {node['@id']}",
            )
        try:
            # flattened: one node per @id, whatever nesting and repetition the file has
            expanded = jsonld.flatten(value, None, {"documentLoader": document_loader})
        except jsonld.JsonLdError as exc:
            message = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
            first = message.strip().splitlines()[0] if message.strip() else type(exc).__name__
            raise RecordError(
                [pointer_problem(self.path, "/", "@context", f"not valid JSON-LD: {first}")]
            ) from exc
        nodes = _nodes(expanded)
        frameworks = [n for n in nodes if CEASN + "CompetencyFramework" in n.get("@type", [])]
        competencies = [n for n in nodes if CEASN + "Competency" in n.get("@type", [])]
        for node in nodes:
            if node not in frameworks and node not in competencies:
                kinds = ", ".join(node.get("@type", [])) or "no type"
                self.warn(node, "@type", f"a node of type {kinds} is not imported; left out")
        if len(frameworks) != 1:
            raise RecordError(
                [
                    pointer_problem(
                        self.path,
                        "/@graph",
                        "@type",
                        f"expected one ceasn:CompetencyFramework, found {len(frameworks)}",
                    )
                ]
            )
        fw = frameworks[0]
        fw_id = str(fw.get("@id", ""))
        ident = self.plain(fw, "ctid", CETERMS) or fw_id
        name = self.text(fw, "name")
        if not ident:
            self.fail(fw, "ceterms:ctid", "missing: a framework needs a CTID or an @id")
        if name is None:
            self.fail(fw, "ceasn:name", "missing; CTDL-ASN requires a framework name")
        if self.problems or name is None:
            raise RecordError(self.problems)
        self.unread(fw, _READ_FRAMEWORK)
        m = self.mapper
        scheme = m.framework(ident)
        g = Graph()
        g.add((scheme, RDF.type, CIPD.CompetencyFramework))
        g.add((scheme, RDF.type, SKOS.ConceptScheme))
        g.add((scheme, DCTERMS.identifier, Literal(ident)))
        g.add((scheme, SKOS.prefLabel, Literal(name.text, lang=name.lang or None)))
        if _iri(fw_id):
            g.add((scheme, DCTERMS.source, URIRef(fw_id)))
        description = self.text(fw, "description")
        if description:
            g.add(
                (
                    scheme,
                    DCTERMS.description,
                    Literal(description.text, lang=description.lang or None),
                )
            )
        for term, prop in (("creator", DCTERMS.creator), ("publisher", DCTERMS.publisher)):
            for target in self.ids(fw, term):
                if _iri(target):
                    g.add((scheme, prop, URIRef(target)))
        for text, lang in self.texts(fw, "publisherName"):
            g.add((scheme, DCTERMS.publisher, Literal(text, lang=lang or None)))
        for term, prop in (("dateCreated", DCTERMS.created), ("dateModified", DCTERMS.modified)):
            found = self.plain(fw, term)
            if found:
                g.add((scheme, prop, Literal(found)))
        for target in self.ids(fw, "license"):
            if _iri(target):
                g.add((scheme, DCTERMS.license, URIRef(target)))
        records: list[Located[Any]] = [Located(fw, 0, f"framework {ident}")]
        out_records: dict[str, tuple[int, str]] = {str(scheme): (0, f"framework {ident}")}

        # items
        items: dict[str, URIRef] = {}
        ctids: dict[str, str] = {ident: fw_id}
        for node in competencies:
            node_id = str(node.get("@id", ""))
            item_ident = self.plain(node, "ctid", CETERMS) or node_id
            if item_ident in ctids and ctids[item_ident] != node_id:
                self.warn(
                    node,
                    "ceterms:ctid",
                    f"{item_ident} is also the CTID of {ctids[item_ident]}; this competency is "
                    "identified by its @id instead",
                )
                item_ident = node_id
            ctids.setdefault(item_ident, node_id)
            statement = self.text(node, "competencyText")
            if statement is None:
                self.fail(node, "ceasn:competencyText", "missing; CTDL-ASN requires it")
                continue
            if not item_ident:
                self.fail(node, "ceterms:ctid", "missing: a competency needs a CTID or an @id")
                continue
            if node_id in items or item_ident == ident:
                self.fail(node, "@id", f"{node_id or item_ident!r} is used by another node")
                continue
            concept = m.framework_item(ident, item_ident)
            items[node_id] = concept
            records.append(Located(node, 0, f"competency {item_ident}"))
            out_records[str(concept)] = (0, f"competency {item_ident} ({self.where(node)})")
            g.add((concept, RDF.type, CIPD.FrameworkItem))
            g.add((concept, RDF.type, SKOS.Concept))
            g.add((concept, SKOS.inScheme, scheme))
            g.add((concept, DCTERMS.identifier, Literal(item_ident)))
            g.add((concept, SKOS.prefLabel, Literal(statement.text, lang=statement.lang or None)))
            label = self.text(node, "competencyLabel")
            if label and label.text != statement.text:
                g.add((concept, SKOS.altLabel, Literal(label.text, lang=label.lang or None)))
            code = self.plain(node, "codedNotation") or self.plain(node, "listID")
            if code:
                g.add((concept, SKOS.notation, Literal(code)))
            category = self.text(node, "competencyCategory")
            if category:
                g.add((concept, DCTERMS.type, Literal(category.text)))
            comment = self.text(node, "comment")
            if comment:
                g.add((concept, SKOS.note, Literal(comment.text, lang=comment.lang or None)))
            for term, prop in (
                ("dateCreated", DCTERMS.created),
                ("dateModified", DCTERMS.modified),
            ):
                found = self.plain(node, term)
                if found:
                    g.add((concept, prop, Literal(found)))
            if _iri(node_id):
                g.add((concept, SKOS.exactMatch, URIRef(node_id)))
                g.add((concept, DCTERMS.source, URIRef(node_id)))
            for target in self.ids(node, "derivedFrom"):
                if _iri(target):
                    g.add((concept, PROV.wasDerivedFrom, URIRef(target)))
            self.unread(node, _READ_ITEM)
            parts = set(self.ids(node, "isPartOf"))
            if parts and fw_id not in parts:
                self.warn(
                    node,
                    "ceasn:isPartOf",
                    f"is part of {', '.join(sorted(parts))}, not of this file's framework; imported into it",
                )

        # hierarchy and alignments
        top = set(self.ids(fw, "hasTopChild"))
        for node in competencies:
            found = items.get(str(node.get("@id", "")))
            if found is None:
                continue
            concept = found
            parents = self.ids(node, "isChildOf")
            if (
                str(node.get("@id")) in top
                or fw_id in self.ids(node, "isTopChildOf")
                or fw_id in parents
            ):
                g.add((concept, SKOS.topConceptOf, scheme))
                g.add((scheme, SKOS.hasTopConcept, concept))
            for parent in parents:
                if parent == node.get("@id"):
                    self.warn(
                        node, "ceasn:isChildOf", "a competency is not its own parent; ignored"
                    )
                elif parent in items:
                    g.add((concept, SKOS.broader, items[parent]))
                    g.add((items[parent], SKOS.narrower, concept))
                elif parent != fw_id:
                    self.warn(
                        node,
                        "ceasn:isChildOf",
                        f"parent {parent} is not in this file; imported without it",
                    )
            for child in self.ids(node, "hasChild"):
                if child in items:
                    g.add((items[child], SKOS.broader, concept))
                    g.add((concept, SKOS.narrower, items[child]))
            for term, prop in ALIGNMENTS.items():
                for target in self.ids(node, term):
                    if target == node.get("@id"):
                        continue  # aligned with itself: nothing to say
                    if target in items:
                        g.add((concept, SKOS.related, items[target]))
                        g.add((items[target], SKOS.related, concept))
                    elif _iri(target):
                        g.add((concept, prop, URIRef(target)))
        for child in top - set(items):
            self.warn(
                fw, "ceasn:hasTopChild", f"{child} is not a competency in this file; left out"
            )
        if self.problems:
            raise RecordError(self.problems)
        source = RecordFile(self.path, "ctdl-asn", tuple(records), sha256=sha256(data))
        out = MappedFile(source, g, Graph(), records=out_records)
        out.warnings.extend(self.warnings)
        return out


def _iri(text: str) -> bool:
    return bool(re.match(r"^https?://[^\s<>\"{}|\\^`]+$", text))


def read_ctdl_asn(path: Path, mapper: Mapper) -> MappedFile:
    """A CTDL-ASN competency framework as an imported framework (the model CASE imports make)."""
    return _Reader(path, mapper).read()


# --------------------------------------------------------------------------- export


def ctid(identifier: str, iri: str) -> str:
    """A CTID: the identifier when it is one, else ``ce-`` and a UUID derived from ``iri``.

    >>> ctid("ce-8c2da966-9c5a-4d65-aa51-f2808ffab550", "x")
    'ce-8c2da966-9c5a-4d65-aa51-f2808ffab550'
    >>> ctid("TT2", "https://w3id.org/cipd#CIPD") == "ce-" + case_uuid("https://w3id.org/cipd#CIPD")
    True
    """
    return identifier if _CTID.match(identifier) else "ce-" + case_uuid(iri)


def _lang_map(text: Text, default: str = "en") -> dict[str, str]:
    return {text.lang or default: text.text}


def framework_graph(fw: Framework) -> list[dict[str, Any]]:  # noqa: PLR0912, PLR0915 - one branch per optional property
    """An imported framework as the nodes of a CTDL-ASN ``@graph``."""
    fw_id = fw.uri or fw.iri
    ids = {i.iri: i.uri or i.iri for i in fw.items.values()}
    children: dict[str, list[str]] = {}
    for item in fw.items.values():
        for parent in item.broader:
            if parent in ids:
                children.setdefault(parent, []).append(ids[item.iri])
    lang = fw.title.lang or "en"
    head: dict[str, Any] = {
        "@id": fw_id,
        "@type": "ceasn:CompetencyFramework",
        "ceasn:name": _lang_map(fw.title),
        "ceasn:inLanguage": [lang],
        "ceterms:ctid": ctid(fw.identifier, fw.iri),
    }
    if fw.description:
        head["ceasn:description"] = _lang_map(fw.description)
    tops = sorted(ids[i.iri] for i in fw.items.values() if i.top)
    if tops:
        head["ceasn:hasTopChild"] = tops
    if fw.creator_iris:
        head["ceasn:creator"] = fw.creator_iris
    if fw.publisher_iris:
        head["ceasn:publisher"] = fw.publisher_iris
    if fw.publishers:
        names: dict[str, list[str]] = {}
        for name in fw.publishers:
            names.setdefault(name.lang or lang, []).append(name.text)
        head["ceasn:publisherName"] = names
    if fw.created:
        head["ceasn:dateCreated"] = fw.created
    if fw.modified:
        head["ceasn:dateModified"] = fw.modified
    if fw.licence:
        head["ceasn:license"] = fw.licence
    nodes = [head]
    for item in fw.items.values():
        node: dict[str, Any] = {
            "@id": ids[item.iri],
            "@type": "ceasn:Competency",
            "ceasn:competencyText": _lang_map(item.label, lang),
            "ceasn:isPartOf": fw_id,
            "ceasn:inLanguage": [item.label.lang or lang],
            "ceterms:ctid": ctid(item.identifier, item.iri),
        }
        if item.alt_labels:
            node["ceasn:competencyLabel"] = _lang_map(item.alt_labels[0], lang)
        if item.code:
            node["ceasn:codedNotation"] = item.code
        if item.kind:
            node["ceasn:competencyCategory"] = {item.label.lang or lang: item.kind}
        if item.note:
            node["ceasn:comment"] = {item.note.lang or lang: [item.note.text]}
        parents = sorted(ids[b] for b in item.broader if b in ids)
        if parents:
            node["ceasn:isChildOf"] = parents
        if item.iri in children:
            node["ceasn:hasChild"] = sorted(children[item.iri])
        if item.top:
            node["ceasn:isTopChildOf"] = fw_id
        related = sorted(ids[r] for r in item.related if r in ids)
        for term, targets in (
            ("exactAlignment", item.exact),
            ("broadAlignment", item.broad_match),
            ("narrowAlignment", item.narrow_match),
            ("majorAlignment", item.close),
            ("minorAlignment", sorted({*item.related_match, *related})),
        ):
            if targets:
                node[f"ceasn:{term}"] = targets
        if item.derived_from:
            node["ceasn:derivedFrom"] = item.derived_from[0]
        if item.created:
            node["ceasn:dateCreated"] = item.created
        if item.modified:
            node["ceasn:dateModified"] = item.modified
        nodes.append(node)
    return [head, *sorted(nodes[1:], key=lambda n: str(n["@id"]))]


def model_graph(store: GraphStore) -> list[dict[str, Any]]:
    """The tapestry model as a CTDL-ASN framework: one competency per model element."""
    model = store.model
    g = model.graph
    scheme = str(CIPD.TapestryModel)
    by_iri = {e.iri: e for e in model}
    children: dict[str, list[str]] = {}
    for e in model:
        for parent in e.broader:
            if parent in by_iri:
                children.setdefault(parent, []).append(e.iri)
    modified = _timestamp(store)[:10]
    head: dict[str, Any] = {
        "@id": scheme,
        "@type": "ceasn:CompetencyFramework",
        "ceasn:name": {
            "en": str(g.value(CIPD.TapestryModel, SKOS.prefLabel) or "CIPD tapestry model")
        },
        "ceasn:description": {"en": str(g.value(CIPD.TapestryModel, SKOS.definition) or "")},
        "ceasn:inLanguage": ["en"],
        "ceasn:hasTopChild": sorted(
            e.iri for e in model if not any(b in by_iri for b in e.broader)
        ),
        "ceasn:dateModified": modified,
        "ceterms:ctid": ctid("", scheme),
    }
    licences = sorted(str(o) for o in g.objects(ONTOLOGY_IRI, DCTERMS.license))
    if licences:
        head["ceasn:license"] = licences[0]
    nodes = [head]
    for e in model:
        node: dict[str, Any] = {
            "@id": e.iri,
            "@type": "ceasn:Competency",
            "ceasn:competencyText": {"en": e.definition or e.label},
            "ceasn:competencyLabel": {"en": e.label},
            "ceasn:competencyCategory": {"en": _kind_title(store, e.kind)},
            "ceasn:isPartOf": scheme,
            "ceasn:inLanguage": ["en"],
            "ceterms:ctid": ctid("", e.iri),
        }
        if e.notation:
            node["ceasn:codedNotation"] = e.notation
        if e.sequence is not None:
            node["ceasn:listID"] = str(e.sequence)
        parents = sorted(b for b in e.broader if b in by_iri)
        if parents:
            node["ceasn:isChildOf"] = parents
        else:
            node["ceasn:isTopChildOf"] = scheme
        if e.iri in children:
            node["ceasn:hasChild"] = sorted(children[e.iri])
        exact = sorted(str(o) for o in g.objects(URIRef(e.iri), SKOS.exactMatch))
        if exact:
            node["ceasn:exactAlignment"] = exact
        related = sorted(str(o) for o in g.objects(URIRef(e.iri), SKOS.related) if str(o) in by_iri)
        if related:
            node["ceasn:minorAlignment"] = related
        nodes.append(node)
    return [head, *sorted(nodes[1:], key=lambda n: str(n["@id"]))]


_MAPPINGS = """
SELECT DISTINCT ?module ?mtitle ?code ?element ?strength ?why WHERE { #+ bind
  ?p schema:hasCourse ?module . ?module rdfs:label ?mtitle .
  OPTIONAL { ?module schema:courseCode ?code }
  OPTIONAL { ?module cipd:hasMapping ?m . ?m cipd:mapsToElement ?element ;
    cipd:mappingStrength ?strength ; cipd:justification ?why }
}
"""


def programme_graph(store: GraphStore, key: str) -> list[dict[str, Any]]:
    """A programme's modules as competencies aligned to the model elements they map to."""
    programme = str(find_record(store, "programme", key))
    info = select(
        store,
        "SELECT ?title WHERE { #+ bind\n ?p rdfs:label ?title }",
        {"p": _node(programme)},
    )
    title = min((r["title"].value for r in info), default=key)
    modules: dict[str, dict[str, Any]] = {}
    for row in select(store, _MAPPINGS, {"p": _node(programme)}):
        module = row["module"].value
        entry = modules.setdefault(
            module,
            {
                "title": row["mtitle"].value,
                "code": None,
                "major": set(),
                "minor": set(),
                "notes": set(),
            },
        )
        entry["title"] = min(entry["title"], row["mtitle"].value)
        if row["code"] is not None:
            entry["code"] = min(entry["code"] or row["code"].value, row["code"].value)
        if row["element"] is None:
            continue
        strength = row["strength"].value.rsplit("#", 1)[-1].removesuffix("Mapping").lower()
        element = row["element"].value
        entry["major" if strength == "strong" else "minor"].add(element)
        entry["notes"].add(f"{element}: {strength}. {row['why'].value}")
    head: dict[str, Any] = {
        "@id": programme,
        "@type": "ceasn:CompetencyFramework",
        "ceasn:name": {"en": f"{title}: module mappings to the CIPD tapestry model"},
        "ceasn:description": {
            "en": f"The modules of {title}, each aligned to the CIPD model elements it addresses "
            "(major: a strong mapping; minor: moderate or weak)."
        },
        "ceasn:inLanguage": ["en"],
        "ceasn:hasTopChild": sorted(modules),
        "ceasn:dateModified": _timestamp(store)[:10],
        "ceterms:ctid": ctid("", programme),
    }
    nodes = [head]
    for module, entry in sorted(modules.items()):
        node: dict[str, Any] = {
            "@id": module,
            "@type": "ceasn:Competency",
            "ceasn:competencyText": {"en": entry["title"]},
            "ceasn:competencyCategory": {"en": "Module"},
            "ceasn:isPartOf": programme,
            "ceasn:isTopChildOf": programme,
            "ceasn:inLanguage": ["en"],
            "ceterms:ctid": ctid("", module),
        }
        if entry["code"]:
            node["ceasn:codedNotation"] = entry["code"]
        for term in ("major", "minor"):
            if entry[term]:
                node[f"ceasn:{term}Alignment"] = sorted(entry[term])
        if entry["notes"]:
            node["ceasn:comment"] = {"en": sorted(entry["notes"])}
        nodes.append(node)
    return nodes


def _node(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def write_ctdl_asn(store: GraphStore, options: Mapping[str, str]) -> bytes:
    """The model, a programme's mappings or an imported framework as a CTDL-ASN ``@graph``."""
    given = [k for k in ("programme", "framework") if options.get(k)]
    if len(given) > 1:
        raise FormatError("export ctdl-asn: give at most one of programme=ID or framework=ID")
    if options.get("programme"):
        nodes = programme_graph(store, options["programme"])
    elif options.get("framework"):
        nodes = framework_graph(read_framework(store, options["framework"]))
    else:
        nodes = model_graph(store)
    document = {"@context": CONTEXT_URL, "@graph": nodes}
    return (json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode(
        "utf-8"
    )


FORMAT = register(
    Format(
        name="ctdl-asn",
        title="CTDL-ASN (Credential Engine competency frameworks, JSON-LD)",
        media_type="application/ld+json",
        suffix=".json",
        reader=read_ctdl_asn,
        writer=write_ctdl_asn,
        read_suffixes=(".json", ".jsonld"),
        options=(
            Option("programme", "export this programme's modules and their mappings instead"),
            Option("framework", "export this imported framework (identifier or IRI) instead"),
        ),
        limits=(
            "Import: the framework, its competencies' texts, codes, categories, comments, "
            "dates, hierarchy, derivation and alignments; one language per text (English "
            "first); not concept keywords and terms, education levels, embodied skills, "
            "weights, progression levels or other node types (reported). Export: the model's "
            "elements with their hierarchy, codes and exact matches, Table 1 and the model "
            "relations only as minor alignments; module mappings as major (strong) or minor "
            "(moderate, weak) alignments with the strength and justification in comments."
        ),
        specification="https://credreg.net/ctdlasn/terms",
    )
)
