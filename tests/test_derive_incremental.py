"""Incremental derived facts agree with a full recomputation, after every write.

Random sequences of writes over a generated store: loads of project files (as generated,
or edited: members, participants, cycles, activities, reflections, measures taken out or
changed), reloads, drops, edited reference tables (people's professions, team members) and
triple-level edits through the API's path. After each step the store's union must equal the
record and ontology triples plus everything the rules derive from them, computed from
scratch in memory (:func:`cipd_graph.derive.compute`), and each rule's graph must hold
exactly that rule's facts.
"""

from __future__ import annotations

import copy
import csv
import io
import random
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
import yaml
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from cipd_graph import Settings
from cipd_graph._generate import generate
from cipd_graph.derive import compute, rules
from cipd_graph.graph import GraphStore

PROJECTS = 8
VARIANTS = 3  # the file as generated, and two edited versions


def _edit_project(data: dict, rng: random.Random) -> dict:
    """``data`` with a few random edits a recorder could make, keeping the file valid."""
    data = copy.deepcopy(data)
    for _ in range(rng.randint(1, 3)):
        choice = rng.randrange(8)
        members = data["team"]["members"]
        activities = data.get("learning_activities") or []
        if choice == 0 and len(members) > 2:
            gone = members.pop(rng.randrange(1, len(members)))["person"]
            for a in activities:
                if gone in a.get("participants", []) and len(a["participants"]) > 1:
                    a["participants"].remove(gone)
            data["reflections"] = [r for r in data.get("reflections") or [] if r.get("by") != gone]
            for a in activities:
                a["participants"] = [p for p in a.get("participants", []) if p != gone] or [
                    members[0]["person"]
                ]
        elif choice == 1 and activities:
            a = rng.choice(activities)
            if len(a.get("participants", [])) > 1:
                a["participants"] = a["participants"][:1]
        elif choice == 2 and activities:
            a = rng.choice(activities)
            a["at_work"] = not a.get("at_work", False)
        elif choice == 3 and activities:
            gone = activities.pop(rng.randrange(len(activities)))["id"]
            data["reflections"] = [
                r for r in data.get("reflections") or [] if r.get("activity") != gone
            ]
        elif choice == 4:
            data["reflections"] = []
        elif choice == 5:
            for m in members:
                m["identifies_as_improver"] = rng.random() < 0.3
        elif choice == 6 and data.get("measures"):
            measure = rng.choice(data["measures"])
            if len(measure.get("values", [])) > 1:
                measure["values"] = measure["values"][:-1]
        elif choice == 7:
            data["team"]["kind"] = rng.choice(
                ["team", "interprofessional-team", "clinical-microsystem", "community-of-practice"]
            )
    for key in ("learning_activities", "reflections"):
        if key in data and not data[key]:
            del data[key]
    return data


def _edit_table(text: str, rng: random.Random, column: str, values: list[str]) -> str:
    rows = list(csv.DictReader(io.StringIO(text)))
    for row in rng.sample(rows, k=max(1, len(rows) // 4)):
        row[column] = rng.choice(values)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


class Pool:
    """Generated records, their edited variants, the slots they are written to, and a
    template store holding the reference tables and half of the projects."""

    def __init__(self, root: Path) -> None:
        generated = root / "generated"
        generate(generated, projects=PROJECTS, seed=11)
        self.slots = root / "records"
        shutil.copytree(generated, self.slots)
        rng = random.Random(5)
        self.projects: list[list[str]] = []
        for path in sorted((generated / "projects").glob("*.yaml")):
            original = path.read_text(encoding="utf-8")
            data = yaml.safe_load(original)
            variants = [original] + [
                yaml.safe_dump(_edit_project(data, rng), sort_keys=False)
                for _ in range(VARIANTS - 1)
            ]
            self.projects.append(variants)
        people = (generated / "reference" / "people.csv").read_text(encoding="utf-8")
        professions = [
            "Nurse",
            "Physiotherapist",
            "GeneralPractitioner",
            "Pharmacist",
            "HealthcareAssistant",
        ]
        self.people = [people] + [
            _edit_table(people, rng, "profession", professions) for _ in range(VARIANTS - 1)
        ]
        teams = (generated / "reference" / "teams.csv").read_text(encoding="utf-8")
        names = [row["id"] for row in csv.DictReader(io.StringIO(people))]
        self.teams = [teams] + [
            _edit_table(teams, rng, "members", ["; ".join(rng.sample(names, 3)) for _ in range(4)])
            for _ in range(VARIANTS - 1)
        ]
        self.settings = Settings(pseudonym_key="incremental-test-key-0123", user="tester")
        self.template = root / "template"
        with GraphStore(self.template, self.settings) as store:
            result = store.load([self.slots / "reference", *self.project_paths()[: PROJECTS // 2]])
            assert result.ok, result.to_text()

    def project_paths(self) -> list[Path]:
        return sorted((self.slots / "projects").glob("*.yaml"))


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Pool:
    return Pool(tmp_path_factory.mktemp("incremental"))


def check(store: GraphStore) -> None:
    """The store's union and derived graphs are what a full recomputation gives."""
    layout = store.layout
    base = [
        t
        for g in store.named_graphs()
        if layout.is_record(g) or g == layout.ontology
        for t in store.backend.graph_triples(g)
    ]
    expected = compute(base)
    union = {
        q.triple for q in store.oxigraph.quads_for_pattern(None, None, None, ox.DefaultGraph())
    }
    assert union == expected.union, (
        f"union: {len(union - expected.union)} extra, {len(expected.union - union)} missing: "
        f"{sorted(map(str, union ^ expected.union))[:4]}"
    )
    for rule in rules():
        stored = set(store.backend.graph_triples(layout.derived(rule.key)))
        want = set(expected.facts.get(rule.key, ()))
        assert stored == want, (rule.key, sorted(map(str, stored ^ want))[:4])


OPERATION = st.one_of(
    st.tuples(st.just("load"), st.integers(0, PROJECTS - 1), st.integers(0, VARIANTS - 1)),
    st.tuples(st.just("drop"), st.integers(0, PROJECTS - 1), st.just(0)),
    st.tuples(st.just("people"), st.just(0), st.integers(0, VARIANTS - 1)),
    st.tuples(st.just("teams"), st.just(0), st.integers(0, VARIANTS - 1)),
    st.tuples(st.just("edit"), st.integers(0, PROJECTS - 1), st.integers(0, 10_000)),
)


def _apply(store: GraphStore, pool: Pool, operation: tuple[str, int, int]) -> None:
    kind, k, v = operation
    reference = pool.slots / "reference"
    if kind == "load":
        path = pool.project_paths()[k]
        path.write_text(pool.projects[k][v], encoding="utf-8")
        store.load([path])
    elif kind == "drop":
        path = pool.project_paths()[k]
        if store.batch_graph(path) in store.record_graphs():
            store.drop(str(path))
    elif kind in ("people", "teams"):
        path = reference / f"{kind}.csv"
        path.write_text((pool.people if kind == "people" else pool.teams)[v], encoding="utf-8")
        store.load([path])
    else:  # take a random triple out of a loaded project's graph, as an API edit would
        graph = store.batch_graph(pool.project_paths()[k])
        if graph in store.record_graphs():
            triples = sorted(store.backend.graph_triples(graph), key=str)
            store.edit(remove={graph: [triples[v % len(triples)]]})


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=st.lists(OPERATION, min_size=1, max_size=4))
def test_incremental_derivation_agrees_with_a_full_recomputation(
    pool: Pool, tmp_path_factory: pytest.TempPathFactory, operations: list[tuple[str, int, int]]
):
    location = tmp_path_factory.mktemp("store")
    shutil.rmtree(location)
    shutil.copytree(pool.template, location, symlinks=True)
    for path, variants in zip(pool.project_paths(), pool.projects, strict=True):
        path.write_text(variants[0], encoding="utf-8")
    for kind, variants in (("people", pool.people), ("teams", pool.teams)):
        (pool.slots / "reference" / f"{kind}.csv").write_text(variants[0], encoding="utf-8")
    with GraphStore(location, pool.settings) as store:
        for operation in operations:
            note(f"then {operation}")
            _apply(store, pool, operation)
            check(store)
    shutil.rmtree(location)


def fresh_copy(pool: Pool, location: Path) -> list[Path]:
    """Put the pool's project files back as generated and copy its template store to
    ``location``; the project files' paths."""
    paths = pool.project_paths()
    for path, variants in zip(paths, pool.projects, strict=True):
        path.write_text(variants[0], encoding="utf-8")
    shutil.copytree(pool.template, location, symlinks=True)
    return paths


def test_a_rule_does_not_keep_a_fact_on_its_own_say(pool: Pool, tmp_path: Path):
    """Rule 22 reads team types and derives one (``cipd:InterprofessionalTeam``): a team
    whose record loses ``a cipd:Team`` loses the derived type too, as a full recomputation
    says, instead of the rule reading its own earlier fact as the team's kind. (Found by
    the property test above: ('edit', 1, 0) then ('edit', 1, 1217).)"""
    location = tmp_path / "store"
    paths = fresh_copy(pool, location)
    kind = ox.NamedNode("https://w3id.org/cipd#Team")
    derived = ox.NamedNode("https://w3id.org/cipd#InterprofessionalTeam")
    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    with GraphStore(location, pool.settings) as store:
        union = ox.DefaultGraph()
        teams = {
            q.subject for q in store.oxigraph.quads_for_pattern(None, rdf_type, derived, union)
        }
        for path in paths[: PROJECTS // 2]:
            graph = store.batch_graph(path)
            declared = [
                t
                for t in store.backend.graph_triples(graph)
                if t.predicate == rdf_type and t.object == kind and t.subject in teams
            ]
            if declared:
                break
        else:
            pytest.fail("no loaded project has a team its rule made interprofessional")
        team = declared[0].subject
        store.edit(remove={graph: declared})
        assert not list(store.oxigraph.quads_for_pattern(team, rdf_type, derived, None))
        check(store)


def test_a_write_recomputes_only_what_it_touches(pool: Pool, tmp_path: Path):
    """Reloading a file unchanged derives nothing again, and loading one new project looks
    again at the same things whether the store holds four other projects or seven."""
    paths = pool.project_paths()
    for path, variants in zip(paths, pool.projects, strict=True):
        path.write_text(variants[0], encoding="utf-8")
    small, large = tmp_path / "small", tmp_path / "large"
    shutil.copytree(pool.template, small, symlinks=True)
    shutil.copytree(pool.template, large, symlinks=True)
    with GraphStore(large, pool.settings) as store:
        assert store.load(paths[PROJECTS // 2 : -1]).ok
    counts = []
    for location in (small, large):
        with GraphStore(location, pool.settings) as store:
            again = store.load([paths[0]])
            assert again.ok and again.written
            assert set(again.derived.values()) == {0}, again.derived
            new = store.load([paths[-1]])
            assert new.ok and new.written and "*" not in new.derived
            counts.append(new.derived)
            check(store)
    assert counts[0] == counts[1]


def test_the_first_write_after_an_ontology_change_derives_everything_in_a_checkpoint(
    pool: Pool, tmp_path: Path
):
    """A store that holds an earlier ontology (another version, and a rule's facts that
    version did not derive), as an earlier release left it, gets the shipped one with its
    next write, every derived fact recomputed, in a copy of the store then swapped in."""
    location = tmp_path / "store"
    paths = fresh_copy(pool, location)
    version = ox.NamedNode("http://www.w3.org/2002/07/owl#versionInfo")
    with GraphStore(location, pool.settings) as store:
        layout, data = store.layout, store.oxigraph
        ontology = ox.NamedNode(layout.ontology)
        shipped = {q.object for q in data.quads_for_pattern(None, version, None, ontology)}
        for graph in (ontology, ox.DefaultGraph()):
            for q in list(data.quads_for_pattern(None, version, None, graph)):
                data.remove(q)
                data.add(ox.Quad(q.subject, q.predicate, ox.Literal("2000-01-01"), graph))
        _forget_the_derivation(store)  # as a store an earlier release wrote
        missing = ox.NamedNode(layout.derived(rules()[-1].key))
        gone = list(data.quads_for_pattern(None, None, None, missing))
        assert gone, "the template store derives something with the last rule"
        data.remove_graph(missing)
        for q in gone:
            data.remove(ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph()))
        before = (location / "oxigraph").resolve()

        result = store.load([paths[-1]])

        assert result.ok and result.written and result.derived == {"*": -1}
        live = (location / "oxigraph").resolve()
        assert live != before and sorted(p.name for p in location.glob("oxigraph*")) == sorted(
            {"oxigraph", live.name}
        )
        data = store.oxigraph
        assert {q.object for q in data.quads_for_pattern(None, version, None, ontology)} == shipped
        assert set(data.quads_for_pattern(None, None, None, missing))
        check(store)
        assert store.load([paths[-2]]).derived.get("*") is None  # and then incremental again
        check(store)


def _forget_the_derivation(store: GraphStore, digest: str | None = None) -> None:
    """Make the store's meta graph say its facts were derived with other rules (``digest``),
    or say nothing of it (None), as the stores of releases before the digest."""
    meta = ox.NamedNode(store.layout.meta)
    term = ox.NamedNode(store.layout.meta + "#derivation")
    for q in list(store.oxigraph.quads_for_pattern(None, term, None, meta)):
        store.oxigraph.remove(q)
        if digest is not None:
            store.oxigraph.add(ox.Quad(q.subject, q.predicate, ox.Literal(digest), meta))


@pytest.mark.parametrize("how", ["drop", "edit"])
def test_any_write_derives_everything_after_the_rules_changed(pool: Pool, tmp_path: Path, how: str):
    """Rules changed (the store keeps another digest of them) with the ontology as it was:
    the next write of any kind derives every fact again, a rule's missing facts included."""
    location = tmp_path / "store"
    paths = fresh_copy(pool, location)
    with GraphStore(location, pool.settings) as store:
        assert store.state().derivation == store.pipeline.derivation != ""
        _forget_the_derivation(store, "0" * 32)
        assert not store.derived_facts_current()
        data = store.oxigraph
        missing = ox.NamedNode(store.layout.derived(rules()[-1].key))
        gone = list(data.quads_for_pattern(None, None, None, missing))
        data.remove_graph(missing)
        for q in gone:
            data.remove(ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph()))
        graph = store.batch_graph(paths[0])
        if how == "drop":
            store.drop(str(paths[0]))
        else:
            triple = sorted(store.backend.graph_triples(graph), key=str)[0]
            store.edit(remove={graph: [triple]})
        data = store.oxigraph  # another store now: the write swapped its checkpoint in
        assert set(data.quads_for_pattern(None, None, None, missing))
        assert store.state().derivation == store.pipeline.derivation
        assert store.derived_facts_current()
        check(store)
