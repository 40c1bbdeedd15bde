"""The headline figures of the sample records, as a researcher would quote them (issue 19).

Loads ``examples/records`` into a temporary store and prints, as Markdown (or JSON with
``--json``): the strands each project's records evidence, the projects per strand and per
social learning dimension, the projects at each weaving level, the interprofessional learning
and shared education activities, and the practice-to-learning links by kind and strength::

    .venv/bin/python bench/headline_figures.py [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pyoxigraph as ox

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cipd_graph import Settings  # noqa: E402
from cipd_graph.graph import GraphStore  # noqa: E402

SAMPLES = ROOT / "examples" / "records"
CIPD = "https://w3id.org/cipd#"
PREFIX = (
    "PREFIX cipd: <https://w3id.org/cipd#>\nPREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
)


def _rows(store: GraphStore, text: str) -> list[dict[str, str]]:
    answer = store.query(PREFIX + text)
    assert isinstance(answer, ox.QuerySolutions)
    names = [v.value for v in answer.variables]
    return [{n: row[n].value for n in names if row[n] is not None} for row in answer]


def _local(iri: str) -> str:
    return iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def figures(store: GraphStore) -> dict[str, Any]:
    """The headline figures of what ``store`` holds."""
    out: dict[str, Any] = {}
    projects = sorted(
        _local(r["p"]) for r in _rows(store, "SELECT ?p WHERE { ?p a cipd:ImprovementProject }")
    )
    strands: dict[str, list[str]] = {p: [] for p in projects}
    for r in _rows(
        store,
        "SELECT ?p ?n WHERE { ?p a cipd:ImprovementProject ; cipd:evidencesStrand ?s . "
        "?s skos:notation ?n }",
    ):
        strands[_local(r["p"])].append(r["n"])
    out["projects"] = len(projects)
    out["strands_per_project"] = {p: sorted(s) for p, s in strands.items()}
    out["projects_per_strand"] = dict(
        sorted(Counter(s for v in strands.values() for s in v).items())
    )
    out["projects_by_number_of_strands"] = dict(
        sorted(Counter(len(v) for v in strands.values()).items())
    )
    dims = _rows(
        store,
        "SELECT ?n (COUNT(DISTINCT ?p) AS ?c) WHERE { ?p a cipd:ImprovementProject ; "
        "cipd:evidencesDimension ?d . ?d skos:notation ?n } GROUP BY ?n",
    )
    out["projects_per_dimension"] = {r["n"]: int(r["c"]) for r in dims}
    for name, cls in (
        ("all_strands_evidenced", "AllStrandsEvidencedProject"),
        ("interwoven", "InterwovenProject"),
        ("interprofessional_learning_activities", "InterprofessionalLearningActivity"),
        ("shared_education_activities", "SharedEducationActivity"),
        ("interprofessional_teams", "InterprofessionalTeam"),
    ):
        found = _rows(store, f"SELECT DISTINCT ?x WHERE {{ ?x a cipd:{cls} }}")
        out[name] = sorted(_local(r["x"]) for r in found)
    derived_teams = store.backend.graph_triples(store.layout.derived("interprofessional-team"))
    out["interprofessional_teams_by_the_family_test"] = sorted(
        _local(t.subject.value) for t in derived_teams if isinstance(t.subject, ox.NamedNode)
    )
    links = _rows(
        store,
        "SELECT ?k ?s (COUNT(DISTINCT ?l) AS ?c) WHERE { ?l a cipd:PracticeLearningLink ; "
        "cipd:linkKind/skos:notation ?k ; cipd:linkStrength/skos:notation ?s } GROUP BY ?k ?s",
    )
    out["practice_learning_links"] = sum(int(r["c"]) for r in links)
    out["practice_learning_links_by_kind_and_strength"] = {
        f"{r['k']} ({r['s']})": int(r["c"]) for r in sorted(links, key=lambda r: (r["k"], r["s"]))
    }
    to_modules = _rows(
        store,
        "SELECT (COUNT(DISTINCT ?l) AS ?c) WHERE { ?l a cipd:PracticeLearningLink ; "
        "cipd:toLearning ?m . ?m a cipd:Module }",
    )
    out["practice_learning_links_to_modules"] = int(to_modules[0]["c"])
    strand_links = _rows(
        store,
        "SELECT ?k (COUNT(DISTINCT ?l) AS ?c) WHERE { ?l a cipd:StrandLink ; "
        "cipd:linkKind/skos:notation ?k } GROUP BY ?k",
    )
    out["strand_links_by_kind"] = {r["k"]: int(r["c"]) for r in strand_links}
    return out


def markdown(found: dict[str, Any]) -> str:
    """The figures as a Markdown list."""
    n = found["projects"]
    lines = [
        f"- projects: {n}",
        "- projects by number of strands evidenced: "
        + ", ".join(f"{k}: {v}" for k, v in found["projects_by_number_of_strands"].items()),
        "- projects per strand: "
        + ", ".join(f"{k} {v}" for k, v in found["projects_per_strand"].items()),
        "- projects per social learning dimension: "
        + ", ".join(f"{k} {v}" for k, v in found["projects_per_dimension"].items()),
        f"- all strands evidenced: {len(found['all_strands_evidenced'])} of {n}",
        f"- interwoven: {len(found['interwoven'])} of {n} ({', '.join(found['interwoven'])})",
        f"- interprofessional learning activities: {len(found['interprofessional_learning_activities'])}",
        f"- shared education activities: {len(found['shared_education_activities'])}",
        f"- interprofessional teams: {len(found['interprofessional_teams'])} "
        f"({len(found['interprofessional_teams_by_the_family_test'])} of them by the family "
        "test; the rest only recorded with kind interprofessional-team)",
        f"- practice-to-learning links: {found['practice_learning_links']} "
        f"({found['practice_learning_links_to_modules']} to modules): "
        + ", ".join(
            f"{k} {v}" for k, v in found["practice_learning_links_by_kind_and_strength"].items()
        ),
        "- strand links: "
        + ", ".join(f"{k} {v}" for k, v in found["strand_links_by_kind"].items()),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as location:
        store = GraphStore(
            Path(location), Settings(pseudonym_key="figures-key-0123456789", user="figures")
        )
        try:
            result = store.load([SAMPLES])
            assert result.ok, result.to_text()
            found = figures(store)
        finally:
            store.close()
    print(json.dumps(found, indent=1) if args.json else markdown(found))


if __name__ == "__main__":
    main()
