"""Analytics over the real sample store: projections agree with the named queries, and the
pictures and the report are drawn from the sample records (valid SVG/PNG, expected elements)."""

from __future__ import annotations

import json
import re
import struct
import xml.etree.ElementTree as ET
from html import escape
from pathlib import Path

import pytest

from cipd_graph import run_query
from cipd_graph.analytics import (
    AnalyticsError,
    NotFoundError,
    collaboration,
    coverage,
    draw_figure,
    explain_paths,
    list_scopes,
    module_matrix,
    resolve_scope,
    scope_projects,
    timeline,
)

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def store(loaded_sample_store):
    return loaded_sample_store


def ids_in(svg: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg)  # well-formed XML, or this raises
    assert root.tag == f"{SVG}svg"
    return {e.get("id"): e for e in root.iter() if e.get("id")}


def title_of(element: ET.Element) -> str:
    title = element.find(f"{SVG}title")
    assert title is not None
    return title.text or ""


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


# --------------------------------------------------------------------------- scopes


def test_scopes_resolve_by_kind_iri_or_bare_id(store):
    by_kind = resolve_scope(store, "project:ward7-falls")
    assert by_kind == resolve_scope(store, "ward7-falls") == resolve_scope(store, by_kind.iri)
    assert by_kind.label == "Reducing inpatient falls on Ward 7"
    assert resolve_scope(store, "nsu-msc-qi").kind == "programme"
    assert resolve_scope(store, "northshire-trust").kind == "organisation"
    assert resolve_scope(store, "all").kind == "all"
    keys = {s.key for s in list_scopes(store)}
    assert {"all", "project:ward7-falls", "team:northshire-qi-cop", "programme:nsu-msc-qi"} <= keys
    assert len([k for k in keys if k.startswith("project:")]) == 26


def test_unknown_and_malformed_scopes_are_refused(store):
    with pytest.raises(NotFoundError, match="no project, team, organisation or programme"):
        resolve_scope(store, "no-such-thing")
    with pytest.raises(NotFoundError):
        resolve_scope(store, "team:ward7-falls")  # a project id, not a team
    with pytest.raises(AnalyticsError, match="is not an id"):
        resolve_scope(store, "project:bad id")
    with pytest.raises(AnalyticsError, match="give 'all'"):
        resolve_scope(store, "} . ?s ?p ?o {")


def test_scope_projects(store):
    programme = resolve_scope(store, "programme:wdu-pgcert-ipe")
    projects = scope_projects(store, programme)
    assert projects and all(p.startswith(store.base + "project/") for p in projects)
    team = resolve_scope(store, "team:ward7-microsystem")
    assert scope_projects(store, team) == [store.base + "project/ward7-falls"]


# --------------------------------------------------------------------------- coverage


@pytest.mark.parametrize("project", ["ward7-falls", "xray-repeat-rates", "district-nursing-visits"])
def test_coverage_of_a_project_agrees_with_cq01(store, project):
    cov = coverage(store, resolve_scope(store, f"project:{project}"))
    expected = {
        row["strand"]: row["evidenced"] == "true"
        for row in run_query(store, "cq01-project-strands", {"project": project}).rows
    }
    assert {s.iri: s.projects == 1 for s in cov.strands} == expected
    assert cov.missing_strands == [s.notation for s in cov.strands if not expected[s.iri]]


def test_coverage_shares_of_an_organisation(store):
    scope = resolve_scope(store, "organisation:northshire-trust")
    cov = coverage(store, scope)
    hosted = run_query(store, "cq11-social-learning-profile", {"organisation": "northshire-trust"})
    by_dimension = {r["dimension"]: int(r["projects"] or 0) for r in hosted.rows}
    n = len(cov.projects)
    assert n >= 12
    for dim in cov.dimensions:
        # the scope also holds projects the trust partners, so at least the hosted ones count
        assert dim.projects >= by_dimension[dim.iri]
        assert dim.share == round(dim.projects / n, 3)
    assert "Northshire Hospitals NHS Foundation Trust" in cov.providers


def test_xray_project_evidences_no_interprofessional_strand(store):
    cov = coverage(store, resolve_scope(store, "xray-repeat-rates"))
    assert "IPW" in cov.missing_strands and "IPL" in cov.missing_strands
    assert cov.all_strands_evidenced == [] and cov.interwoven == []


def test_levels_of_ward7(store):
    cov = coverage(store, resolve_scope(store, "ward7-falls"))
    project = store.base + "project/ward7-falls"
    # all four strands, and the huddle (two families of the team, informed by cycle 1, at
    # work) and the reflections on the cycles tie them into one whole
    assert cov.all_strands_evidenced == [project] and cov.interwoven == [project]


# --------------------------------------------------------------------------- matrix


@pytest.mark.parametrize("programme", ["nsu-msc-qi", "wdu-pgcert-ipe"])
def test_matrix_gaps_agree_with_cq13(store, programme):
    matrix = module_matrix(store, resolve_scope(store, f"programme:{programme}"))
    gaps = {
        r["element"] for r in run_query(store, "cq13-programme-gaps", {"programme": programme}).rows
    }
    assert set(matrix.gaps) == gaps
    assert len(matrix.elements) == len(store.model)  # every model element is a column
    for j, element in enumerate(matrix.elements):
        column = [row[j] for row in matrix.weights]
        assert (element.iri in gaps) == (max(column, default=0) == 0)


def test_matrix_of_msc_shows_known_gaps_and_the_empty_dissertation(store):
    matrix = module_matrix(store, resolve_scope(store, "nsu-msc-qi"))
    notations = {e.iri: e.notation for e in matrix.elements}
    gap_notations = {notations[g] for g in matrix.gaps}
    assert {"IPL", "with", "from", "about", "belonging"} <= gap_notations  # EDGE_CASES.md
    row = next(i for i, m in enumerate(matrix.modules) if m.id == "ncu-dissertation")
    assert sum(matrix.weights[row]) == 0
    qi = next(i for i, m in enumerate(matrix.modules) if m.id == "ncu-qi-practice")
    si = next(j for j, e in enumerate(matrix.elements) if e.notation == "SI")
    assert matrix.weights[qi][si] == 3  # strong
    for element, modules in matrix.overlaps.items():
        j = next(k for k, e in enumerate(matrix.elements) if e.iri == element)
        assert sum(1 for row in matrix.weights if row[j]) == len(modules) >= 2


# --------------------------------------------------------------------------- paths


def test_paths_from_practice_to_learning(store):
    declared = explain_paths(store, "project:ward7-falls", "module:ncu-qi-practice")
    assert declared.length == 1
    assert declared.paths[0][0].predicates == ("^cipd:linkedToProject",)
    via_cycle = explain_paths(store, "cycle:ward7-falls/1", "SI")
    assert via_cycle.length == 2
    assert [h.predicates for h in via_cycle.paths[0]] == [
        ("^cipd:hasCycle",),
        ("cipd:claimsElement", "cipd:evidencesStrand"),
    ]
    assert via_cycle.as_text() == [
        "PDSA cycle 1 of ward7-falls --^cipd:hasCycle--> Reducing inpatient falls on Ward 7 "
        "--cipd:claimsElement | cipd:evidencesStrand--> SI"
    ]
    huddle = explain_paths(store, "activity:ward7-falls/falls-huddle-may", "project:ward7-falls")
    assert huddle.length == 1 and huddle.paths[0][0].predicates == ("cipd:partOfProject",)
    with pytest.raises(NotFoundError):
        explain_paths(store, "project:no-such", "SI")


# --------------------------------------------------------------------------- collaboration


def test_collaboration_of_one_project_by_hand(store):
    col = collaboration(store, resolve_scope(store, "ward7-falls"))
    # six members of six professions, all in one team: a clique of 6 (15 links)
    assert (col.people, col.links) == (6, 15)
    [team] = col.teams
    assert team.id == "ward7-microsystem" and team.kind == "ClinicalMicrosystem"
    assert team.blau == pytest.approx(1 - 6 * (1 / 6) ** 2, abs=1e-6)
    assert team.shannon == pytest.approx(1.791759, abs=1e-6)  # ln 6
    assert col.brokers == []  # nobody sits between others in a clique
    assert [c.size for c in col.communities] == [6]
    assert col.communities[0].best_team_label == "Ward 7 microsystem"
    assert col.communities[0].jaccard == 1.0


def test_collaboration_of_everything(store):
    col = collaboration(store, resolve_scope(store, "all"))
    assert col.people > 60 and col.links > col.people
    assert len(col.communities) >= 3
    assert col.brokers and col.brokers[0].betweenness >= col.brokers[-1].betweenness > 0
    xray = next(t for t in col.teams if t.id == "ed-radiography-team")
    assert xray.blau == 0.0 and xray.shannon == 0.0  # three radiographers (EDGE_CASES.md 3)
    kinds = {t.kind for t in col.teams}
    assert {"CommunityOfPractice", "ClinicalMicrosystem", "ActionLearningSet"} <= kinds
    assert 0 < col.mean_jaccard <= 1
    assert sum(c.size for c in col.communities) == col.people


# --------------------------------------------------------------------------- timeline


def test_timeline_of_a_running_project(store):
    tl = timeline(store, resolve_scope(store, "home-visit-triage"))
    assert tl.end is None
    last = tl.cycles[-1]
    assert last.number == 3 and last.end is None
    assert [s.name for s in last.stages] == ["plan", "do"]  # EDGE_CASES.md 4
    with pytest.raises(AnalyticsError, match="for a project"):
        timeline(store, resolve_scope(store, "northshire-trust"))


def test_timeline_of_ward7(store):
    tl = timeline(store, resolve_scope(store, "ward7-falls"))
    assert [c.number for c in tl.cycles] == [1, 2, 3]
    plan = tl.cycles[1].stages[0]
    assert (plan.name, str(plan.start), str(plan.end)) == ("plan", "2024-05-20", "2024-05-20")
    [measure] = tl.measures
    assert (measure.baseline, measure.target, len(measure.points)) == (8.1, 5.0, 4)
    kinds = ["activity", "reflection", "reflection", "activity", "reflection"]
    assert [e.kind for e in tl.events] == kinds


# --------------------------------------------------------------------------- pictures


def test_tapestry_picture_of_a_project(store):
    drawing = draw_figure(store, resolve_scope(store, "xray-repeat-rates"), "tapestry")
    svg = drawing.svg()
    ids = ids_in(svg)
    for key in ("strand-IPW", "strand-IPL", "strand-WBL", "strand-SI", "core", "grounding"):
        assert key in ids
    for dim in ("doing", "belonging", "becoming", "experience"):
        assert f"dimension-{dim}" in ids
    assert title_of(ids["strand-SI"]).startswith("Service improvement (SI): 1 of 1 projects")
    assert "0 of 1 projects" in title_of(ids["strand-IPW"])
    assert "Reducing repeat" in svg or "X-ray" in svg or "x-ray" in svg.lower()
    assert svg == drawing.svg()  # deterministic
    assert "<dc:date>" not in svg
    width, height = png_size(drawing.png())
    assert width > 600 and height > 500


def test_heatmap_picture_marks_the_gaps(store):
    scope = resolve_scope(store, "nsu-msc-qi")
    svg = draw_figure(store, scope, "heatmap").svg()
    ids = ids_in(svg)
    matrix = module_matrix(store, scope)
    gap_ids = {k for k in ids if k.startswith("gap-")}
    assert len(gap_ids) == len(matrix.gaps)
    assert "gap-IPL" in ids and "gap-SI" not in ids
    assert {f"module-{m.id}" for m in matrix.modules} <= set(ids)
    assert "element-SI" in ids
    assert "Improvement Science in Practice" in svg


def test_network_picture_colours_professions(store):
    scope = resolve_scope(store, "all")
    svg = draw_figure(store, scope, "network").svg()
    ids = ids_in(svg)
    col = collaboration(store, scope)
    assert {f"profession-{p.lower().replace(' ', '-')}" for p in col.professions} <= set(ids)
    assert title_of(ids["profession-nurse"]) == f"Nurse: {col.professions['Nurse']} people"
    assert "broker-1" in ids and "community-1" in ids
    assert "Profession (people)" in svg


def test_timeline_picture(store):
    scope = resolve_scope(store, "ward7-falls")
    drawing = draw_figure(store, scope, "timeline")
    ids = ids_in(drawing.svg())
    assert {"cycle-1", "cycle-2", "cycle-3", "project"} <= set(ids)
    assert {f"stage-2-{s}" for s in ("plan", "do", "study", "act")} <= set(ids)
    assert "stage-1-plan" not in ids  # cycle 1's stages have no dates of their own
    assert "measure-falls-rate" in ids
    assert "2024-08-31 = 5.4" in title_of(ids["measure-falls-rate"])
    png_size(drawing.png())
    with pytest.raises(AnalyticsError):
        draw_figure(store, resolve_scope(store, "all"), "timeline")
    with pytest.raises(AnalyticsError, match="no figure"):
        draw_figure(store, scope, "pie")


def test_measures_picture_and_a_timeline_fitted_to_the_cycles(store):
    scope = resolve_scope(store, "ward7-falls")
    ids = ids_in(draw_figure(store, scope, "measures").svg())
    assert "measure-falls-rate" in ids and "2024-08-31 = 5.4" in title_of(ids["measure-falls-rate"])
    # the project runs a year; its cycles and observations (May to August) fill the axis
    svg = draw_figure(store, scope, "timeline").svg()
    assert "project runs from 2024-04-01 to 2025-03-31" in svg
    with pytest.raises(AnalyticsError):
        draw_figure(store, resolve_scope(store, "all"), "measures")


def test_labels_for_display(store):
    col = collaboration(store, resolve_scope(store, "all"))
    labels = {t.kind: t.kind_label for t in col.teams}
    assert labels["ClinicalMicrosystem"] == "Clinical microsystem"
    assert labels["InterprofessionalTeam"] == "Interprofessional team"
    matrix = module_matrix(store, resolve_scope(store, "all"))
    ipw = next(e for e in matrix.elements if e.notation == "IPW")
    assert ipw.kind_label == "Strand" and ipw.definition.startswith("Members of different")
    # the heatmap names every column in full (labels used to be cut at 24 characters)
    svg = draw_figure(store, resolve_scope(store, "all"), "heatmap").svg()
    assert "Commissioners, providers and institutions working together" in svg
    assert "…" not in svg


def test_report_writes_a_self_contained_page(store, tmp_path: Path):
    from cipd_graph.analytics import write_report

    page = write_report(store, resolve_scope(store, "ward7-falls"), tmp_path / "out")
    html = page.read_text(encoding="utf-8")
    assert html.count("<svg") == 4
    assert "<script" not in html
    # nothing to fetch: every reference is inline data or a fragment of the page itself
    references = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert all(r.startswith(("data:", "#")) for r in references), references
    for table in ("Blau", "Shannon", "Jaccard", "stages recorded", "From practice to learning"):
        assert table in html
    assert "<td>Clinical microsystem</td>" in html and "<td>ClinicalMicrosystem</td>" not in html
    assert '<td class="num">0.83</td>' in html  # Blau, two decimals
    assert "No brokers" in html  # one team working as a whole has none; the report says why
    assert "<b>Strand</b> (2)" in html  # gaps grouped by kind
    for name in ("tapestry", "heatmap", "network", "timeline"):
        ids_in((tmp_path / "out" / "figures" / f"{name}.svg").read_text(encoding="utf-8"))
        png_size((tmp_path / "out" / "figures" / f"{name}.png").read_bytes())
    data = json.loads((tmp_path / "out" / "analytics.json").read_text(encoding="utf-8"))
    assert data["scope"]["id"] == "ward7-falls"
    assert data["collaboration"]["people"] == 6
    links = data["links"]["links"]
    # 8: the reflection through practice on cycle 2 (r-through-rounds) names a practice record
    assert len(links) == 8 and links[0]["strength"] == "strong"
    weak = [link for link in links if link["strength"] == "weak"]
    assert [(w["kind"], w["via"][0]["label"]) for w in weak] == [
        ("activity-in-module", "Coaching on run charts with the improvement academy")
    ]
    assert "Paths through shared model concepts" in data["links"]["definition"]
    assert escape("through learning activity 'Coaching on run charts") in html


def test_no_name_reaches_the_report(store, tmp_path: Path):
    """Names live only in the /names graphs; the report of everything shows people by pseudonym."""
    from cipd_graph.analytics import write_report

    from .conftest import SAMPLES

    rows = (SAMPLES / "reference" / "people.csv").read_text(encoding="utf-8").splitlines()[1:]
    names = [row.split(",")[2] for row in rows if row.split(",")[2]]
    assert names  # the samples do give some people names
    write_report(store, resolve_scope(store, "all"), tmp_path / "out")
    for path in (tmp_path / "out").rglob("*"):
        if path.suffix in (".html", ".json", ".svg"):
            text = path.read_text(encoding="utf-8")
            assert not [n for n in names if n in text], path


def test_network_picture_of_too_many_people_is_refused_before_drawing(store, monkeypatch):
    from cipd_graph.analytics import _figures

    scope = resolve_scope(store, "all")
    people = collaboration(store, scope).people
    monkeypatch.setattr(_figures, "NETWORK_MOST_PEOPLE", people - 1)
    drawn: list[object] = []
    monkeypatch.setattr(_figures, "draw_network", lambda *a, **k: drawn.append(a))
    with pytest.raises(AnalyticsError, match=f"has {people:,} people; .* at most {people - 1:,}"):
        draw_figure(store, scope, "network")
    assert drawn == []
    monkeypatch.setattr(_figures, "NETWORK_MOST_PEOPLE", people)
    draw_figure(store, scope, "network")
    assert len(drawn) == 1


def test_report_of_too_many_people_keeps_everything_but_the_network_picture(
    store, tmp_path, monkeypatch
):
    from cipd_graph.analytics import _figures, write_report

    people = collaboration(store, resolve_scope(store, "all")).people
    monkeypatch.setattr(_figures, "NETWORK_MOST_PEOPLE", people - 1)
    page = write_report(store, resolve_scope(store, "all"), tmp_path / "out")
    text = page.read_text("utf-8")
    assert (
        f"No network figure: the collaboration network of All records has {people:,} people" in text
    )
    assert not (tmp_path / "out" / "figures" / "network.svg").exists()
    assert (tmp_path / "out" / "figures" / "tapestry.svg").is_file()
    assert "Interprofessional collaboration (CQ7)" in text and "Louvain" in text
