"""Every named query on the sample records, with its answer worked out independently from
the record files (not from the graph), plus parameter checking and injection attempts."""

from __future__ import annotations

import csv

import pytest
from rdflib import RDFS, URIRef

from cipd_graph import load_model
from cipd_graph._queries import QueryError, named_queries, run_query
from cipd_graph.records.parse import parse_file

from .conftest import SAMPLES

BASE = "https://w3id.org/cipd/data/"
CIPD = "https://w3id.org/cipd#"
PROJECTS = {
    p.stem: parse_file(p).records[0].record for p in sorted((SAMPLES / "projects").glob("*.yaml"))
}


def table(name: str) -> list[dict[str, str]]:
    with (SAMPLES / "reference" / f"{name}.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


PROFESSION = {row["id"]: row["profession"] for row in table("people")}
MODEL = load_model()


def element_iri(key: str) -> str:
    return MODEL.element(key).iri


def rows(store, name, **params):
    return run_query(store, name, params).rows


def test_there_is_a_query_for_every_competency_question():
    tags = {t for q in named_queries().values() for t in q.tags}
    assert {f"CQ{i}" for i in range(1, 17)} <= tags


def test_cq01_strands_of_a_project(loaded_sample_store):
    woven = {
        r["label"]: r["woven"]
        for r in rows(loaded_sample_store, "cq01-project-strands", project="xray-repeat-rates")
    }
    # three radiographers (one profession: no IPW, no IPL), an at-work case review (WBL), PDSA cycles (SI)
    assert woven == {
        "Interprofessional working": "false",
        "Interprofessional learning": "false",
        "Work-based learning": "true",
        "Service improvement": "true",
    }
    assert {
        r["woven"]
        for r in rows(
            loaded_sample_store, "cq01-project-strands", project=BASE + "project/ward7-falls"
        )
    } == {"true"}


def _professions(participants: list[str]) -> set[str]:
    return {PROFESSION[p] for p in participants}


def test_cq02_fully_woven_projects(loaded_sample_store):
    expected = set()
    for pid, p in PROJECTS.items():
        team = _professions([m.person for m in p.team.members])
        ipl = any(len(_professions(a.participants)) >= 2 for a in p.learning_activities)
        wbl = any(a.at_work for a in p.learning_activities)
        if len(team) >= 2 and ipl and wbl and p.pdsa_cycles:
            expected.add(BASE + "project/" + pid)
    got = {r["project"] for r in rows(loaded_sample_store, "cq02-fully-woven-projects")}
    assert got == expected
    assert len(got) == 23


def test_cq03_professions_learning_together(loaded_sample_store):
    for pid in ("ward7-falls", "maternity-handover"):
        got = {
            r["activity"].rsplit("/", 1)[1]: (
                int(r["professions"]),
                set(r["professionLabels"].split(", ")),
                r["meetsCaipe"],
            )
            for r in rows(loaded_sample_store, "cq03-professions-learning-together", project=pid)
        }
        labels = {
            p: MODEL.graph.value(URIRef(CIPD + p), RDFS.label) for p in set(PROFESSION.values())
        }
        expected = {}
        for a in PROJECTS[pid].learning_activities:
            profs = _professions(a.participants)
            expected[a.id] = (
                len(profs),
                {str(labels[x]) for x in profs},
                "true" if len(profs) >= 2 else "false",
            )
        assert got == expected
    assert got["midwife-sbar-refresher"][2] == "false"  # the deliberate uniprofessional activity


def test_cq04_team_pdsa_cycles_in_order(loaded_sample_store):
    got = rows(loaded_sample_store, "cq04-team-pdsa-cycles", team="ward7-microsystem")
    cycles = PROJECTS["ward7-falls"].pdsa_cycles
    assert [(r["number"], r["start"], r["end"]) for r in got] == [
        (str(c.number), c.start.isoformat(), c.end.isoformat() if c.end else None) for c in cycles
    ]
    assert all(set(r["stages"].split()) == {"plan", "do", "study", "act"} for r in got)


def test_cq05_paths_from_practice_to_learning(loaded_sample_store):
    got = {
        (r["from"], r["activity"], r["module"], r["element"])
        for r in rows(loaded_sample_store, "cq05-practice-to-learning", project="ward7-falls")
    }
    project = BASE + "project/ward7-falls"
    huddle, coaching = project + "/activity/falls-huddle-may", project + "/activity/qi-coaching-1"
    module = BASE + "module/ncu-qi-practice"
    elements = {
        element_iri(r["element"]) for r in table("mappings") if r["module"] == "ncu-qi-practice"
    }
    expected = {(project, huddle, None, None), (project + "/cycle/1", huddle, None, None)}
    expected |= {(project, coaching, module, e) for e in elements}
    assert got == expected


def test_cq06_improvers(loaded_sample_store):
    ids = {r["id"] for r in table("people") if r["identifies_as_improver"] == "true"}
    ids |= {m.person for p in PROJECTS.values() for m in p.team.members if m.identifies_as_improver}
    expected = {BASE + "person/" + loaded_sample_store.pseudonymiser(i) for i in ids}
    assert {r["person"] for r in rows(loaded_sample_store, "cq06-improvers")} == expected


def test_cq07_microsystems_and_communities(loaded_sample_store):
    expected = {}
    for row in table("teams"):
        if row["kind"] in ("clinical-microsystem", "community-of-practice"):
            expected[BASE + "team/" + row["id"]] = len(
                _professions([m.strip() for m in row["members"].split(";")])
            )
    for p in PROJECTS.values():
        if p.team.kind.value in ("clinical-microsystem", "community-of-practice"):
            expected[BASE + "team/" + (p.team.id or p.id + "-team")] = len(
                _professions([m.person for m in p.team.members])
            )
    got = {
        r["team"]: int(r["professions"])
        for r in rows(loaded_sample_store, "cq07-microsystems-and-communities")
    }
    assert got == expected


def test_cq08_co_design(loaded_sample_store):
    expected = {
        (
            BASE + f"project/{pid}/co-design/{cd.id}",
            cd.co_designers.patients + cd.co_designers.carers,
            frozenset(cd.touch_points),
        )
        for pid, p in PROJECTS.items()
        for cd in p.co_design
    }
    got = {
        (r["activity"], int(r["coDesigners"]), frozenset(r["touchPoints"].split("; ")))
        for r in rows(loaded_sample_store, "cq08-co-design")
    }
    assert got == expected


def test_cq09_reflections_on_cycles(loaded_sample_store):
    got = [
        (r["number"], r["mode"], r["date"], r["author"])
        for r in rows(loaded_sample_store, "cq09-reflections-on-cycles", project="ward7-falls")
    ]
    p = loaded_sample_store.pseudonymiser
    assert got == [
        ("1", "on", "2024-05-14", BASE + "person/" + p("nsh-0101")),
        ("2", "in", "2024-05-24", BASE + "person/" + p("nsh-0102")),
        ("2", "through", "2024-06-20", BASE + "person/" + p("nsh-0105")),
    ]
    assert (
        rows(loaded_sample_store, "cq09-reflections-on-cycles", project="msk-first-contact") == []
    )


def test_cq10_quality_targets(loaded_sample_store):
    got = {
        (r["measure"], r["dimension"], r["latestDate"], r["latest"])
        for r in rows(loaded_sample_store, "cq10-quality-targets", project="ward7-falls")
    }
    expected = set()
    for m in PROJECTS["ward7-falls"].measures:
        last = max(m.values, key=lambda v: v.date)
        expected.add(
            (
                BASE + f"project/ward7-falls/measure/{m.id}",
                m.dimension.value,
                last.date.isoformat(),
                format(last.value, "f"),
            )
        )
    assert got == expected
    every = rows(loaded_sample_store, "cq10-quality-targets")
    assert len(every) == sum(len(p.measures) for p in PROJECTS.values())


def test_cq11_social_learning_profile(loaded_sample_store):
    trust = [p for p in PROJECTS.values() if p.organisation == "northshire-trust"]
    doing = sum(any(c.do is not None for c in p.pdsa_cycles) for p in trust)
    experience = sum(bool(p.reflections) for p in trust)
    becoming = sum(
        any(
            m.identifies_as_improver
            or any(
                r["id"] == m.person and r["identifies_as_improver"] == "true"
                for r in table("people")
            )
            for m in p.team.members
        )
        for p in trust
    )
    got = {
        r["label"]: int(r["projects"])
        for r in rows(
            loaded_sample_store, "cq11-social-learning-profile", organisation="northshire-trust"
        )
    }
    assert got["Learning as doing"] == doing
    assert got["Learning as experience"] == experience
    assert got["Learning as becoming"] == becoming
    assert list(got) == [
        "Learning as doing",
        "Learning as belonging",
        "Learning as becoming",
        "Learning as experience",
    ]


def test_cq12_module_elements(loaded_sample_store):
    expected = {
        (element_iri(r["element"]), r["strength"], r["justification"])
        for r in table("mappings")
        if r["module"] == "ncu-qi-practice"
    }
    got = [
        (r["element"], r["strength"], r["justification"])
        for r in rows(loaded_sample_store, "cq12-module-elements", module="ncu-qi-practice")
    ]
    assert set(got) == expected and len(got) == len(expected)
    order = {"strong": 3, "moderate": 2, "weak": 1}
    assert [order[s] for _, s, _ in got] == sorted((order[s] for _, s, _ in got), reverse=True)
    assert (
        rows(loaded_sample_store, "cq12-module-elements", module="ncu-dissertation") == []
    )  # the unmapped module


def test_cq13_programme_gaps(loaded_sample_store):
    modules = {
        r["id"]
        for r in table("modules")
        if "nsu-msc-qi" in [x.strip() for x in r["programmes"].split(";")]
    }
    mapped = {element_iri(r["element"]) for r in table("mappings") if r["module"] in modules}
    expected = {e.iri for e in MODEL} - mapped
    got = {
        r["element"]
        for r in rows(loaded_sample_store, "cq13-programme-gaps", programme="nsu-msc-qi")
    }
    assert got == expected


def test_cq14_modules_linked_to_practice(loaded_sample_store):
    expected = {
        (BASE + "module/" + r["id"], BASE + "project/" + pid.strip(), "declared")
        for r in table("modules")
        for pid in r["linked_projects"].split(";")
        if pid.strip()
    }
    expected |= {
        (BASE + "module/" + a.module, BASE + "project/" + pid, "learning activity")
        for pid, p in PROJECTS.items()
        for a in p.learning_activities
        if a.module
    }
    got = {
        (r["module"], r["project"], r["link"])
        for r in rows(loaded_sample_store, "cq14-modules-linked-to-practice")
    }
    assert got == expected


def test_cq15_partnerships(loaded_sample_store):
    expected = {
        BASE + "partnership/" + r["id"]: (
            len(r["members"].split(";")),
            len(r["supports_projects"].split(";")),
            len(r["supports_modules"].split(";")),
        )
        for r in table("partnerships")
    }
    got = {
        r["partnership"]: (len(r["members"].split("; ")), int(r["projects"]), int(r["modules"]))
        for r in rows(loaded_sample_store, "cq15-partnerships")
    }
    assert got == expected


def test_cq16_module_map_as_skos(loaded_sample_store):
    result = run_query(loaded_sample_store, "cq16-module-map-skos", {"programme": "wdu-pgcert-ipe"})
    assert result.triples is not None
    modules = {
        r["id"]
        for r in table("modules")
        if "wdu-pgcert-ipe" in [x.strip() for x in r["programmes"].split(";")]
    }
    skos = "http://www.w3.org/2004/02/skos/core#"
    expected = {
        (
            BASE + "module/" + r["module"],
            skos + ("closeMatch" if r["strength"] == "strong" else "relatedMatch"),
            element_iri(r["element"]),
        )
        for r in table("mappings")
        if r["module"] in modules
    }
    got = {
        (t.subject.value, t.predicate.value, t.object.value)
        for t in result.triples
        if t.predicate.value.endswith("Match")
    }
    assert got == expected


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "needs parameter(s) ['project']"),
        ({"project": "ward7-falls", "colour": "blue"}, "has no parameter ['colour']"),
        ({"project": "x> . } DROP ALL #"}, "neither an IRI nor an id"),
        ({"project": "http://example.org/x> } ; DROP ALL ; SELECT * { <y"}, "not a valid IRI"),
        ({"project": 'urn:x" } #'}, "not a valid IRI"),
    ],
)
def test_parameters_are_checked_and_never_spliced(loaded_sample_store, params, message):
    with pytest.raises(
        QueryError,
        match=message.replace("[", r"\[")
        .replace("]", r"\]")
        .replace("(", r"\(")
        .replace(")", r"\)"),
    ):
        run_query(loaded_sample_store, "cq01-project-strands", params)


def test_a_string_parameter_is_a_literal_not_query_text():
    from cipd_graph._queries import Parameter

    evil = 'x" . } DROP ALL ; #'
    term = Parameter("q", "string", True, "", "").term(evil, BASE)
    assert term.value == evil and str(term).startswith('"') and '\\"' in str(term)


def test_unknown_query(loaded_sample_store):
    with pytest.raises(QueryError, match="no named query"):
        run_query(loaded_sample_store, "cq99", {})


def test_no_named_query_returns_a_stored_name(loaded_sample_store):
    names = [r["name"] for r in table("people") if r["name"]]
    params = {
        "project": "ward7-falls",
        "team": "ward7-microsystem",
        "organisation": "northshire-trust",
        "module": "ncu-qi-practice",
        "programme": "nsu-msc-qi",
    }
    for name, query in named_queries().items():
        assert "foaf:name" not in query.text and "GRAPH" not in query.text, name
        result = run_query(
            loaded_sample_store, name, {p.name: params[p.name] for p in query.parameters}
        )
        text = str(result.rows) + str(result.triples)
        assert not any(n in text for n in names), name


def test_readable_graphs_leave_out_names(loaded_sample_store):
    graphs = set(loaded_sample_store.readable_graphs())
    assert not any(g.endswith("/names") for g in graphs)


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("date", '2024-01-01"^^<urn:x> } DROP ALL {', "is not a date"),
        ("integer", "1 } DROP ALL {", "is not a whole number"),
        ("iri", "<urn:x> } DROP ALL {", "not a valid IRI"),
    ],
)
def test_every_parameter_kind_refuses_injection(kind, value, message):
    from cipd_graph._queries import Parameter

    with pytest.raises(QueryError, match=message):
        Parameter("p", kind, True, "", "").term(value, BASE)


def test_typed_parameters_become_typed_literals():
    from cipd_graph._queries import Parameter

    assert (
        str(Parameter("d", "date", True, "", "").term("2024-03-01", BASE))
        == '"2024-03-01"^^<http://www.w3.org/2001/XMLSchema#date>'
    )
    assert (
        str(Parameter("n", "integer", True, "", "").term("+7", BASE))
        == '"7"^^<http://www.w3.org/2001/XMLSchema#integer>'
    )
