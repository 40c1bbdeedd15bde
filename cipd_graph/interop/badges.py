"""1EdTech Open Badges 3.0: a module or a completed project as an Achievement.

The Achievement (what a badge is awarded *for*, not an award to a person: no recipient,
no issuance, no proof) carries ``alignment`` entries to the model elements it addresses.
Each alignment's ``targetUrl`` is the element's IRI, which is also the ``uri`` of its CFItem
in ``cipd export case``, hence ``targetType: "CFItem"``; items of imported frameworks point
at their URI in the publishing system.

- ``module=ID``: ``achievementType: "Course"``; alignments are the module's mappings.
- ``project=ID``: only a *completed* project: it has an end date and at least one PDSA
  cycle that reached its act stage (the team studied the result and decided what to do).
  Other projects are refused with a clear error. ``achievementType: "Achievement"``;
  alignments are the elements it claims, the strands its records evidence (derived),
  the quality dimensions it targets and the opportunities it addresses.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pyoxigraph as ox
from rdflib import URIRef

from cipd_graph.graph import GraphStore
from cipd_graph.interop import Format, FormatError, Option, register
from cipd_graph.interop._common import find_record, select

CONTEXT = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
MODEL_FRAMEWORK = "CIPD tapestry model"


def _alignments(store: GraphStore, targets: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    framework_rows = {
        r["item"].value: r
        for r in select(
            store,
            "SELECT ?item ?label ?code ?uri ?fw WHERE { ?item a cipd:FrameworkItem ; "
            "skos:prefLabel ?label ; skos:inScheme ?s . ?s skos:prefLabel ?fw . "
            "OPTIONAL { ?item skos:notation ?code } OPTIONAL { ?item skos:exactMatch ?uri } }",
            {},
        )
    }
    for target in dict.fromkeys(targets):
        try:
            e = store.model.element(target)
        except KeyError:
            row = framework_rows.get(target)
            if row is None:
                continue
            entry = {
                "type": ["Alignment"],
                "targetName": row["label"].value,
                "targetUrl": row["uri"].value if row["uri"] else target,
                "targetFramework": row["fw"].value,
                "targetType": "CFItem",
            }
            if row["code"] is not None:
                entry["targetCode"] = row["code"].value
            out.append(entry)
            continue
        entry = {
            "type": ["Alignment"],
            "targetName": e.label,
            "targetUrl": e.iri,
            "targetDescription": e.definition,
            "targetFramework": MODEL_FRAMEWORK,
            "targetType": "CFItem",
        }
        if e.notation:
            entry["targetCode"] = e.notation
        out.append(entry)
    return out


def module_achievement(store: GraphStore, key: str) -> dict[str, Any]:
    """A module as an Open Badges 3.0 Achievement aligned to what its mappings name."""
    module = find_record(store, "module", key)
    node = ox.NamedNode(str(module))
    rows = select(
        store,
        "SELECT ?title ?code ?credits ?org ?orgname WHERE { #+ bind\n ?m rdfs:label ?title ; "
        "schema:provider ?org . OPTIONAL { ?org rdfs:label ?orgname } "
        # a co-delivered module has several providers: the educational institution awards it
        "OPTIONAL { ?org a ?awarding FILTER(?awarding = cipd:EducationalInstitution) } "
        "OPTIONAL { ?m schema:courseCode ?code } OPTIONAL { ?m schema:numberOfCredits ?credits } } "
        "ORDER BY DESC(BOUND(?awarding)) ?org LIMIT 1",
        {"m": node},
    )
    if not rows:
        raise FormatError(f"module {key!r} has no title or provider in the store")
    r = rows[0]
    targets = [
        t["e"].value
        for t in select(
            store,
            "SELECT ?e WHERE { #+ bind\n ?m cipd:hasMapping/cipd:mapsToElement ?e } ORDER BY ?e",
            {"m": node},
        )
    ]
    title = r["title"].value
    provider = r["orgname"].value if r["orgname"] else r["org"].value
    achievement: dict[str, Any] = {
        "@context": CONTEXT,
        "id": str(module) + "/achievement",
        "type": ["Achievement"],
        "name": title,
        "description": f"Completion of the module {title} offered by {provider}.",
        "criteria": {
            "narrative": f"Complete and pass the module {title}"
            + (f" ({r['credits'].value} credits)" if r["credits"] else "")
            + f" at {provider}."
        },
        "achievementType": "Course",
        "creator": {"id": r["org"].value, "type": ["Profile"], "name": provider},
        "alignment": _alignments(store, targets),
    }
    if r["code"] is not None:
        achievement["humanCode"] = r["code"].value
    if r["credits"] is not None:
        achievement["creditsAvailable"] = float(r["credits"].value)
    return achievement


def completion(store: GraphStore, project: URIRef) -> tuple[str | None, int]:
    """The project's end date (or None) and how many of its PDSA cycles reached an act stage."""
    node = ox.NamedNode(str(project))
    end = select(
        store, "SELECT ?end WHERE { #+ bind\n ?p schema:endDate ?end } LIMIT 1", {"p": node}
    )
    acts = select(
        store,
        "SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { #+ bind\n ?p cipd:hasCycle ?c . "
        "?c cipd:hasStage/cipd:stageType cipd:ActStage }",
        {"p": node},
    )
    return (end[0]["end"].value if end else None), int(acts[0]["n"].value)


def project_achievement(store: GraphStore, key: str) -> dict[str, Any]:
    """A completed project as an Open Badges 3.0 Achievement; other projects are refused."""
    project = find_record(store, "project", key)
    end, acted = completion(store, project)
    missing = []
    if end is None:
        missing.append("it has no end date")
    if acted == 0:
        missing.append("none of its PDSA cycles reached an act stage")
    if missing:
        raise FormatError(
            f"project {key!r} is not completed ({'; '.join(missing)}): an Open Badges "
            "achievement is only made for a project with an end date and at least one PDSA "
            "cycle through to its act stage"
        )
    node = ox.NamedNode(str(project))
    info = select(
        store,
        "SELECT ?title ?aim ?org ?orgname WHERE { #+ bind\n ?p dcterms:title ?title ; "
        "cipd:hasAim/dcterms:description ?aim ; cipd:hostedBy ?org . OPTIONAL { ?org rdfs:label ?orgname } } LIMIT 1",
        {"p": node},
    )[0]
    targets = [
        t["e"].value
        for t in select(
            store,
            "SELECT DISTINCT ?e WHERE { #+ bind\n "
            "VALUES ?link { cipd:claimsElement cipd:evidencesStrand cipd:targetsQualityDimension cipd:addresses } "
            "?p ?link ?e } ORDER BY ?e",
            {"p": node},
        )
    ]
    title = info["title"].value
    host = info["orgname"].value if info["orgname"] else info["org"].value
    return {
        "@context": CONTEXT,
        "id": str(project) + "/achievement",
        "type": ["Achievement"],
        "name": f"Improvement project: {title}",
        "description": f"Took part in the interprofessional improvement project {title} hosted by {host}. Aim: {info['aim'].value}",
        "criteria": {
            "narrative": f"Be a member of the team of {title} through at least one complete "
            f"plan-do-study-act cycle, to its act stage ({acted} cycle(s) completed; project ended {end})."
        },
        "achievementType": "Achievement",
        "creator": {"id": info["org"].value, "type": ["Profile"], "name": host},
        "alignment": _alignments(store, targets),
    }


def write_badge(store: GraphStore, options: Mapping[str, str]) -> bytes:
    """An Open Badges 3.0 Achievement for ``module`` or ``project`` (exactly one)."""
    given = [k for k in ("module", "project") if options.get(k)]
    if len(given) != 1:
        raise FormatError("export badges: give exactly one of module=ID or project=ID")
    if given[0] == "module":
        achievement = module_achievement(store, options["module"])
    else:
        achievement = project_achievement(store, options["project"])
    return (json.dumps(achievement, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


register(
    Format(
        name="badges",
        title="1EdTech Open Badges 3.0 Achievement (JSON-LD)",
        media_type="application/ld+json",
        suffix=".json",
        writer=write_badge,
        options=(
            Option("module", "the module's id or IRI"),
            Option("project", "a completed project's id or IRI (end date and an act stage)"),
        ),
        limits=(
            "An Achievement only (what a badge is for): no OpenBadgeCredential, recipient, "
            "issuance date or proof, so nothing about people; alignments name model elements "
            "and imported framework items, not mapping strengths or justifications."
        ),
        specification="https://www.imsglobal.org/spec/ob/v3p0/",
    )
)
