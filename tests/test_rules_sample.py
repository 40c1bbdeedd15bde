"""The derived facts of the sample records against an independent reading of the record files.

The expected answers are computed here in plain Python from the YAML and CSV files and the
professions scheme (each profession's family and whether the family counts for CAIPE), by
the definitions the rules state in their headers, never by running a rule: which activities
meet the CAIPE definition and which are shared education, which strands each project
evidences, which projects reach each weaving level, and which practice-to-learning links
exist, of what kind and strength.
"""

from __future__ import annotations

import csv
import shutil
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
import yaml
from rdflib import Graph, Namespace

from cipd_graph import Settings
from cipd_graph._ontology import ontology_files
from cipd_graph.derive import compute
from cipd_graph.graph import GraphStore

from .conftest import SAMPLES

CIPD = Namespace("https://w3id.org/cipd#")
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
STRANDS = ("IPW", "IPL", "WBL", "SI")


# --------------------------------------------------------------------------- the reading


@dataclass
class Records:
    """The sample records as the files give them."""

    projects: dict[str, dict[str, Any]]
    #: person -> professions (people.csv and every team member record)
    professions: dict[str, set[str]]
    #: team id -> members (every project file and teams.csv)
    teams: dict[str, set[str]]
    #: module id -> linked project ids
    modules: dict[str, set[str]]
    family: dict[str, str] = field(default_factory=dict)
    counts: dict[str, bool] = field(default_factory=dict)

    def families(self, people: Iterable[str]) -> set[str]:
        """The families that count for CAIPE among ``people``."""
        found = set()
        for person in people:
            for profession in self.professions.get(person, ()):
                family = self.family.get(profession)
                if family and self.counts[family]:
                    found.add(family)
        return found

    def team(self, project: dict[str, Any]) -> set[str]:
        return self.teams[project["team"].get("id") or project["id"] + "-team"]


def read_records(root: Path) -> Records:
    scheme = Graph()
    for path in ontology_files():
        if path.name == "professions.ttl":
            scheme.parse(path)
    family = {str(p).removeprefix(str(CIPD)).lower(): str(f) for p, f in scheme.subject_objects(CIPD.inProfessionFamily)}
    counts = {str(f): bool(v.toPython()) for f, v in scheme.subject_objects(CIPD.countsForCaipe)}
    professions: dict[str, set[str]] = defaultdict(set)
    with (root / "reference" / "people.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["profession"]:
                professions[row["id"]].add(row["profession"].lower())
    teams: dict[str, set[str]] = defaultdict(set)
    with (root / "reference" / "teams.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            teams[row["id"]] |= {m.strip() for m in row["members"].split(";") if m.strip()}
    modules: dict[str, set[str]] = {}
    with (root / "reference" / "modules.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            linked = row.get("linked_projects") or ""
            modules[row["id"]] = {p.strip() for p in linked.split(";") if p.strip()}
    projects = {}
    for path in sorted((root / "projects").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        projects[data["id"]] = data
        team_id = data["team"].get("id") or data["id"] + "-team"
        for member in data["team"]["members"]:
            teams[team_id].add(member["person"])
            if member.get("profession"):
                professions[member["person"]].add(member["profession"].lower())
    return Records(projects, professions, teams, modules, family, counts)


def caipe(records: Records, activity: dict[str, Any]) -> str:
    """'IPL', 'shared' or 'neither', by the definitions of rules 20 and 21."""
    families = records.families(activity.get("participants", []))
    modes = set(activity.get("modes") or [])
    interactive = "with" in modes and bool(modes & {"from", "about"})
    if len(families) < 2:
        return "neither"
    if interactive and activity.get("interprofessional") is not False:
        return "IPL"
    return "shared"


def reflections_on_practice(project: dict[str, Any]) -> list[dict[str, Any]]:
    """Reflections on a cycle or on the project itself (not on a learning activity)."""
    return [r for r in project.get("reflections") or [] if not r.get("activity")]


def strands(records: Records, project: dict[str, Any]) -> set[str]:
    activities = project.get("learning_activities") or []
    found = set()
    if len(records.families(records.team(project))) >= 2:
        found.add("IPW")
    if any(caipe(records, a) == "IPL" for a in activities):
        found.add("IPL")
    if any(a.get("at_work") for a in activities) or reflections_on_practice(project):
        found.add("WBL")
    if project.get("pdsa_cycles") or project.get("methodologies") or project.get("co_design"):
        found.add("SI")
    return found


def strand_links(records: Records, project: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(kind, strand, strand) by the definitions of rule 33 (no stage participants in the
    sample records)."""
    team = records.team(project)
    links = set()
    for a in project.get("learning_activities") or []:
        ipl = caipe(records, a) == "IPL"
        if a.get("cycle") is not None and ipl:
            links.add(("activity-informed-by-cycle", "IPL", "SI"))
        if a.get("cycle") is not None and a.get("at_work"):
            links.add(("activity-informed-by-cycle", "WBL", "SI"))
        learners = set(a.get("participants", [])) & team
        if ipl and len(records.families(learners)) >= 2:
            links.add(("team-learning-together", "IPW", "IPL"))
    if reflections_on_practice(project):
        links.add(("reflection-on-practice-record", "WBL", "SI"))
    return links


def connected(links: Iterable[tuple[str, str, str]]) -> bool:
    """Whether the links join the four strands into one whole (a walk from IPW)."""
    edges = {(a, b) for _k, a, b in links} | {(b, a) for _k, a, b in links}
    seen, todo = {"IPW"}, ["IPW"]
    while todo:
        here = todo.pop()
        for a, b in edges:
            if a == here and b not in seen:
                seen.add(b)
                todo.append(b)
    return seen == set(STRANDS)


def practice_links(records: Records) -> set[tuple[str, str, str, str]]:
    """(practice, kind, learning, strength), practice as 'project' or 'project/cycle/n',
    learning as 'project/activity/id', 'project/reflection/id' or 'module/id'."""
    links = set()
    learners: dict[str, set[str]] = defaultdict(set)  # module -> people in its activities
    for pid, p in records.projects.items():
        for a in p.get("learning_activities") or []:
            if a.get("module"):
                learners[a["module"]] |= set(a.get("participants", []))
    for pid, p in records.projects.items():
        team = records.team(p)
        for a in p.get("learning_activities") or []:
            target = f"{pid}/activity/{a['id']}"
            took_part = bool(set(a.get("participants", [])) & team)
            strength = "strong" if took_part else "moderate"
            links.add((pid, "activity-of-project", target, strength))
            if a.get("cycle") is not None:
                # a cycle is done by the project's team
                links.add((f"{pid}/cycle/{a['cycle']}", "activity-informed-by-cycle", target, strength))
            if a.get("module") in records.modules:
                links.add((pid, "activity-in-module", f"module/{a['module']}", "weak"))
        for r in reflections_on_practice(p):
            practice = f"{pid}/cycle/{r['cycle']}" if r.get("cycle") is not None else pid
            strength = "strong" if r["by"] in team else "moderate"
            links.add((practice, "reflection-on-practice-record", f"{pid}/reflection/{r['id']}", strength))
    for module, projects in records.modules.items():
        for pid in projects:
            if pid in records.projects:
                took_part = bool(learners[module] & records.team(records.projects[pid]))
                strength = "strong" if took_part else "moderate"
                links.add((pid, "module-names-project", f"module/{module}", strength))
    return links


# --------------------------------------------------------------------------- the store


def _declared_as_recorded(store: GraphStore, records: Records) -> None:
    """Make the record graphs say what the record format says of interprofessional
    learning: the recorder's flag as ``cipd:declaredInterprofessional``, and no asserted
    class. The mapper of the records branch writes exactly this; until it is merged the
    mapper still types a declared activity, and this edit takes that type out (once merged,
    the edit changes nothing)."""
    remove: dict[str, list[ox.Triple]] = {}
    add: dict[str, list[ox.Triple]] = {}
    ipl = ox.NamedNode(str(CIPD.InterprofessionalLearningActivity))
    declared = ox.NamedNode(str(CIPD.declaredInterprofessional))
    boolean = ox.NamedNode("http://www.w3.org/2001/XMLSchema#boolean")
    for pid, p in records.projects.items():
        graph = store.batch_graph(SAMPLES / "projects" / f"{pid}.yaml")
        for a in p.get("learning_activities") or []:
            activity = ox.NamedNode(f"{store.base}project/{pid}/activity/{a['id']}")
            remove.setdefault(graph, []).append(ox.Triple(activity, ox.NamedNode(RDF_TYPE), ipl))
            if "interprofessional" in a:
                value = "true" if a["interprofessional"] else "false"
                add.setdefault(graph, []).append(
                    ox.Triple(activity, declared, ox.Literal(value, datatype=boolean))
                )
    result = store.edit(remove=remove, add=add)
    assert result.ok, result.to_text()


@pytest.fixture(scope="module")
def records() -> Records:
    return read_records(SAMPLES)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, records: Records):
    location = tmp_path_factory.mktemp("sample-rules")
    graph_store = GraphStore(location, Settings(pseudonym_key="test-key-0123456789abcdef", user="tester"))
    result = graph_store.load([SAMPLES])
    assert result.ok, result.to_text()
    _declared_as_recorded(graph_store, records)
    yield graph_store
    graph_store.close()
    shutil.rmtree(location, ignore_errors=True)


def _local(store: GraphStore, iri: str) -> str:
    return iri.removeprefix(store.base).removeprefix("project/")


def _select(store: GraphStore, text: str) -> list[dict[str, str]]:
    answer = store.query("PREFIX cipd: <https://w3id.org/cipd#>\n" + text)
    assert isinstance(answer, ox.QuerySolutions)
    names = [v.value for v in answer.variables]
    return [{n: row[n].value for n in names if row[n] is not None} for row in answer]


def _instances(store: GraphStore, cls: str) -> set[str]:
    rows = _select(store, f"SELECT DISTINCT ?x WHERE {{ ?x a cipd:{cls} }}")
    return {_local(store, r["x"]) for r in rows}


# --------------------------------------------------------------------------- the tests


def test_which_sample_activities_meet_the_caipe_definition(store: GraphStore, records: Records):
    verdicts = {
        f"{pid}/activity/{a['id']}": caipe(records, a)
        for pid, p in records.projects.items()
        for a in p.get("learning_activities") or []
    }
    ipl = {a for a, v in verdicts.items() if v == "IPL"}
    shared = {a for a, v in verdicts.items() if v == "shared"}
    assert _instances(store, "InterprofessionalLearningActivity") == ipl
    assert _instances(store, "SharedEducationActivity") == shared
    assert len(ipl) == 21 and len(shared) == 22  # worked out from the files (see above)
    # the cases: a briefing declared not interprofessional, learning about only, and
    # an e-learning of two families declared not interprofessional
    assert "msk-first-contact/activity/care-navigation-briefing" in shared
    assert "childhood-asthma-plans/activity/paediatric-asthma-e-learning" in shared
    assert "ward7-falls/activity/falls-huddle-may" in ipl


def test_which_projects_evidence_which_strands(store: GraphStore, records: Records):
    names = {"IPW": "InterprofessionalWorking", "IPL": "InterprofessionalLearning",
             "WBL": "WorkBasedLearning", "SI": "ServiceImprovement"}
    rows = _select(store, "SELECT ?p ?s WHERE { ?p a cipd:ImprovementProject ; cipd:evidencesStrand ?s }")
    found: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        found[_local(store, row["p"])].add(row["s"].removeprefix(str(CIPD)))
    for pid, p in records.projects.items():
        assert found[pid] == {names[s] for s in strands(records, p)}, pid
    # the district nursing team (nurses, a nursing associate and an HCA) is one family
    assert "InterprofessionalWorking" not in found["district-nursing-visits"]
    assert found["msk-first-contact"] == {"InterprofessionalWorking", "WorkBasedLearning", "ServiceImprovement"}


def test_which_projects_reach_each_weaving_level(store: GraphStore, records: Records):
    evidenced = {pid for pid, p in records.projects.items() if len(strands(records, p)) == 4}
    woven = {pid for pid in evidenced if connected(strand_links(records, records.projects[pid]))}
    assert _instances(store, "AllStrandsEvidencedProject") == evidenced
    assert _instances(store, "InterwovenProject") == woven
    assert "msk-first-contact" not in evidenced
    assert len(evidenced) == 17 and len(woven) == 10


def test_strand_links_of_the_sample(store: GraphStore, records: Records):
    notation = {"InterprofessionalWorking": "IPW", "InterprofessionalLearning": "IPL",
                "WorkBasedLearning": "WBL", "ServiceImprovement": "SI"}
    rows = _select(
        store,
        "SELECT ?p ?kind ?a ?b WHERE { ?p cipd:hasStrandLink ?l . ?l cipd:linkKind ?k ; "
        "cipd:linksStrand ?a , ?b . ?k <http://www.w3.org/2004/02/skos/core#notation> ?kind "
        "FILTER(STR(?a) < STR(?b)) }",
    )
    found: dict[str, set[tuple[str, str, str]]] = defaultdict(set)
    order = {s: i for i, s in enumerate(STRANDS)}
    for row in rows:
        a, b = sorted((notation[row["a"].removeprefix(str(CIPD))], notation[row["b"].removeprefix(str(CIPD))]), key=order.get)
        found[_local(store, row["p"])].add((row["kind"], a, b))
    for pid, p in records.projects.items():
        assert found[pid] == strand_links(records, p), pid


def test_which_practice_to_learning_links_exist_and_why(store: GraphStore, records: Records):
    rows = _select(
        store,
        "SELECT ?from ?kind ?to ?strength WHERE { ?l a cipd:PracticeLearningLink ; "
        "cipd:fromPractice ?from ; cipd:toLearning ?to ; cipd:linkKind ?k ; cipd:linkStrength ?s . "
        "?k <http://www.w3.org/2004/02/skos/core#notation> ?kind . "
        "?s <http://www.w3.org/2004/02/skos/core#notation> ?strength }",
    )
    found = {(_local(store, r["from"]), r["kind"], _local(store, r["to"]), r["strength"]) for r in rows}
    expected = practice_links(records)
    assert found == expected
    # af-anticoagulation: its activities, cycles and reflections, and nothing else (the
    # report used to show 12 links of it to modules, each through a shared quality dimension)
    af = {link for link in found if link[0].startswith("af-anticoagulation")}
    assert not any(link[2].startswith("module/") for link in af)
    assert len(found) == 175


def test_incremental_and_full_derivation_agree_on_the_sample(store: GraphStore):
    """The edit above went through incremental derivation: it gives what a full
    recomputation of the same records gives, minted link nodes included."""
    layout = store.layout
    base = [
        t
        for g in store.named_graphs()
        if layout.is_record(g) or g == layout.ontology
        for t in store.backend.graph_triples(g)
    ]
    expected = compute(base)
    for key, triples in expected.facts.items():
        assert set(store.backend.graph_triples(layout.derived(key))) == set(triples), key
