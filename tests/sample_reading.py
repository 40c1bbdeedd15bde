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

import yaml
from rdflib import Graph, Namespace

from cipd_graph._ontology import ontology_files

CIPD = Namespace("https://w3id.org/cipd#")
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


def stage_participants(cycle: dict[str, Any]) -> list[set[str]]:
    """Who took part in each recorded stage of a PDSA cycle (``plan:``, ``do:``, ``study:``,
    ``act:`` written as a mapping with ``participants:``; a stage written as text names no
    one)."""
    return [
        set(stage.get("participants") or [])
        for stage in (cycle.get(name) for name in ("plan", "do", "study", "act"))
        if isinstance(stage, dict)
    ]


def cycle_people(project: dict[str, Any], records: Records) -> dict[int, set[str]]:
    """Cycle number -> the people associated with the cycle: the project's team (a cycle is
    done by the project's team) and whoever took part in one of its stages."""
    team = records.team(project)
    return {
        c["number"]: team.union(*stage_participants(c)) for c in project.get("pdsa_cycles") or []
    }


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
    """(kind, strand, strand) by the definitions of rule 33."""
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
    # members of the team of two or more counted families taking part in the same stage of a
    # cycle (the stage participants of the record format: mh-crisis-response, ward7-falls and
    # stroke-swallow-screening give them)
    for c in project.get("pdsa_cycles") or []:
        if any(len(records.families(people & team)) >= 2 for people in stage_participants(c)):
            links.add(("interprofessional-stage", "IPW", "SI"))
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
        cycles = cycle_people(p, records)
        for a in p.get("learning_activities") or []:
            target = f"{pid}/activity/{a['id']}"
            present = set(a.get("participants", []))
            strength = "strong" if present & team else "moderate"
            links.add((pid, "activity-of-project", target, strength))
            if a.get("cycle") is not None:
                strength = "strong" if present & cycles[a["cycle"]] else "moderate"
                links.add(
                    (f"{pid}/cycle/{a['cycle']}", "activity-informed-by-cycle", target, strength)
                )
            if a.get("module") in records.modules:
                links.add((pid, "activity-in-module", f"module/{a['module']}", "weak"))
        for r in reflections_on_practice(p):
            # any mode (in, on or through practice): the link is the reflection's naming the
            # project or cycle it is about
            if r.get("cycle") is not None:
                practice, people = f"{pid}/cycle/{r['cycle']}", cycles[r["cycle"]]
            else:
                practice, people = pid, team
            strength = "strong" if r["by"] in people else "moderate"
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
