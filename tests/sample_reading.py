"""An independent reading of the sample record files: what the derived facts should be, by
the definitions the rules state in their headers, computed in plain Python from the YAML and
CSV files and the professions scheme (each profession's family and whether the family counts
for CAIPE), never by running a rule."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import yaml
from rdflib import Graph, Namespace

from cipd_graph._ontology import ontology_files
from cipd_graph.graph import GraphStore

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
    family = {
        str(p).removeprefix(str(CIPD)).lower(): str(f)
        for p, f in scheme.subject_objects(CIPD.inProfessionFamily)
    }
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
    for p in records.projects.values():
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
                links.add(
                    (f"{pid}/cycle/{a['cycle']}", "activity-informed-by-cycle", target, strength)
                )
            if a.get("module") in records.modules:
                links.add((pid, "activity-in-module", f"module/{a['module']}", "weak"))
        for r in reflections_on_practice(p):
            practice = f"{pid}/cycle/{r['cycle']}" if r.get("cycle") is not None else pid
            strength = "strong" if r["by"] in team else "moderate"
            links.add(
                (practice, "reflection-on-practice-record", f"{pid}/reflection/{r['id']}", strength)
            )
    for module, projects in records.modules.items():
        for pid in projects:
            if pid in records.projects:
                took_part = bool(learners[module] & records.team(records.projects[pid]))
                strength = "strong" if took_part else "moderate"
                links.add((pid, "module-names-project", f"module/{module}", strength))
    return links


# --------------------------------------------------------------------------- the store


def declared_as_recorded(store: GraphStore, records: Records, root: Path) -> None:
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
        graph = store.batch_graph(root / "projects" / f"{pid}.yaml")
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
