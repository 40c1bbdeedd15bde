"""The analytics report: one self-contained HTML page per scope, with its pictures and tables.

``write_report`` writes ``index.html`` (the SVG figures inlined, no external file or script
needed to read it), the figures again as ``figures/<name>.svg`` and ``.png``, and every number
of the page as ``analytics.json``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from html import escape
from pathlib import Path
from typing import Any

from cipd_graph.analytics._figures import draw_figure, figure_names
from cipd_graph.analytics._graphs import (
    Collaboration,
    Coverage,
    ModuleMatrix,
    Scope,
    Timeline,
    TooWideError,
    collaboration,
    coverage,
    module_matrix,
    timeline,
)
from cipd_graph.analytics._links import LearningLinks, learning_links
from cipd_graph.graph import GraphStore


def jsonable(value: Any) -> Any:
    """Analytics results as JSON-ready values: dataclasses as dicts, dates as ISO text.

    >>> jsonable({"when": dt.date(2024, 5, 1), "pair": (1, 2)})
    {'when': '2024-05-01', 'pair': [1, 2]}
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return [jsonable(v) for v in items]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@dataclasses.dataclass(frozen=True)
class Analytics:
    """Every analytic of one scope."""

    scope: Scope
    coverage: Coverage
    matrix: ModuleMatrix
    collaboration: Collaboration
    timeline: Timeline | None
    links: LearningLinks


def analyse(store: GraphStore, scope: Scope) -> Analytics:
    """Compute every analytic of a scope: coverage, module matrix, collaboration, the PDSA
    timeline (projects only) and its practice-to-learning links, each with why it is there."""
    return Analytics(
        scope=scope,
        coverage=coverage(store, scope),
        matrix=module_matrix(store, scope),
        collaboration=collaboration(store, scope),
        timeline=timeline(store, scope) if scope.kind == "project" else None,
        links=learning_links(store, scope),
    )


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #1a1a1a; padding: 0 1rem; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f2f5fa; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1rem 0; overflow-x: auto; } figure svg { max-width: 100%; height: auto; }
.gap { color: #b34700; font-weight: 600; } .note { color: #555; font-size: 0.9rem; }
code { font-size: 0.85rem; }
"""


def _table(headers: list[str], rows: list[list[Any]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{escape(str(c))}</td>'
            if i in numeric
            else f"<td>{escape(str(c))}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _inline(svg: str) -> str:
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


def no_brokers(col: Collaboration) -> str:
    """Why a collaboration network has no broker, in a sentence."""
    if col.people == 0:
        return "No brokers: no collaboration is recorded in this scope."
    if col.people < 3:
        return "No brokers: a broker links two other people, and the network has fewer than three."
    return (
        "No brokers: everyone who could be linked through someone else is linked directly "
        "(each group works together as a whole), so no one lies on a shortest path between "
        "two others and every betweenness is 0."
    )


def _gaps(matrix: ModuleMatrix) -> str:
    """The gaps of a matrix grouped by the kind of model element."""
    if not matrix.gaps:
        return "<p><b>Gaps</b>: none; every model element is mapped by a module of the scope.</p>"
    groups: dict[str, list[str]] = {}
    elements = {e.iri: e for e in matrix.elements}
    for gap in matrix.gaps:
        element = elements[gap]
        groups.setdefault(element.kind_label or element.kind, []).append(element.label)
    items = "".join(
        f"<li><b>{escape(kind)}</b> ({len(labels)}): "
        + ", ".join(f'<span class="gap">{escape(label)}</span>' for label in labels)
        + "</li>"
        for kind, labels in groups.items()
    )
    return (
        f"<p><b>Gaps</b>: no module of the scope maps to {len(matrix.gaps)} of "
        f"{len(matrix.elements)} model elements.</p><ul>{items}</ul>"
    )


def render_html(
    result: Analytics, svgs: dict[str, str], refused: dict[str, str] | None = None
) -> str:
    """The report page of ``result`` with the SVG figures ``svgs`` inlined; a figure in
    ``refused`` (name -> why) is replaced by its reason."""
    refused = refused or {}
    scope, cov, matrix, col = result.scope, result.coverage, result.matrix, result.collaboration
    elements = {e.iri: e for e in matrix.elements}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>CIPD analytics: {escape(scope.label)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>CIPD analytics: {escape(scope.label)}</h1>",
        f'<p class="note">Scope <code>{escape(scope.key)}</code>: {len(cov.projects)} projects, '
        f"{len(cov.modules)} modules, {col.people} people. People are pseudonymous.</p>",
        "<h2>The tapestry (CQ1, CQ2, CQ11)</h2>",
        f"<figure>{_inline(svgs.get('tapestry', ''))}</figure>",
        _table(
            ["element", "projects evidencing it", "share", "modules mapped", "strongest mapping"],
            [
                [
                    f"{c.label} ({c.notation})",
                    f"{c.projects} of {c.of_projects}",
                    f"{c.share:.0%}",
                    c.modules,
                    ("none", "weak", "moderate", "strong")[c.strength],
                ]
                for c in cov.strands + cov.dimensions
            ],
            {1, 2, 3},
        ),
        f"<p>Strands no project evidences: <span class=gap>{escape(', '.join(cov.missing_strands) or 'none')}</span>. "
        f"Projects evidencing all four strands side by side: {len(cov.all_strands_evidenced)} of "
        f"{len(cov.projects)}; interwoven (strand links join all four through social learning): "
        f"{len(cov.interwoven)}.</p>",
        "<h2>Modules and model elements (CQ12, CQ13)</h2>",
        f"<figure>{_inline(svgs.get('heatmap', ''))}</figure>",
        _gaps(matrix),
        _table(
            ["overlap: element", "modules mapped to it"],
            [[elements[e].label, ", ".join(ms)] for e, ms in matrix.overlaps.items()],
        ),
        "<h2>Interprofessional collaboration (CQ7)</h2>",
        (
            f'<p class="refused">No network figure: {escape(refused["network"])}.</p>'
            if "network" in refused
            else f"<figure>{_inline(svgs.get('network', ''))}</figure>"
        ),
        f"<p>{col.people} people and {col.links} links; Louvain communities against declared teams: "
        f"mean best-match Jaccard {col.mean_jaccard:.2f}, adjusted Rand index "
        f"{'n/a' if col.adjusted_rand is None else f'{col.adjusted_rand:.2f}'} "
        f"(over {col.adjusted_rand_people} people in exactly one team).</p>",
        _table(
            ["team", "kind", "members", "professions", "Blau", "Shannon"],
            [
                [
                    t.label,
                    t.kind_label or t.kind,
                    t.members,
                    ", ".join(f"{p} {n}" for p, n in t.professions.items()),
                    f"{t.blau:.2f}",
                    f"{t.shannon:.2f}",
                ]
                for t in col.teams
            ],
            {2, 4, 5},
        ),
        _table(
            ["broker", "profession", "betweenness"],
            [
                [f"B{i}: {b.label}", b.profession, f"{b.betweenness:.3f}"]
                for i, b in enumerate(col.brokers, 1)
            ],
            {2},
        )
        if col.brokers
        else f"<p>{escape(no_brokers(col))}</p>",
        _table(
            ["community", "size", "professions", "best-matching team", "Jaccard"],
            [
                [
                    f"C{c.number}",
                    c.size,
                    ", ".join(f"{p} {n}" for p, n in c.professions.items()),
                    c.best_team_label or "-",
                    f"{c.jaccard:.2f}",
                ]
                for c in col.communities
            ],
            {1, 4},
        ),
    ]
    if result.timeline is not None:
        tl = result.timeline
        parts += [
            "<h2>PDSA timeline (CQ4, CQ10)</h2>",
            f"<figure>{_inline(svgs.get('timeline', ''))}</figure>",
            _table(
                ["cycle", "start", "end", "stages recorded"],
                [
                    [c.number, c.start, c.end or "running", ", ".join(s.name for s in c.stages)]
                    for c in tl.cycles
                ],
            ),
        ]
    parts.append("<h2>From practice to learning (CQ5, CQ14)</h2>")
    links = result.links
    parts.append(f'<p class="note">{escape(links.definition)}</p>')
    if links.links:
        kinds = ", ".join(f"{k} {n}" for k, n in links.by_kind.items())
        strengths = ", ".join(f"{s} {n}" for s, n in links.by_strength.items())
        parts.append(
            f"<p>{len(links.links)} links: {escape(strengths)}. By kind: {escape(kinds)}.</p>"
        )
        parts.append(
            _table(
                ["practice", "learning", "kind", "strength", "through", "why"],
                [
                    [
                        link.source.label,
                        link.target.label,
                        link.kind_label,
                        link.strength,
                        ", ".join(v.label for v in link.via) or "-",
                        link.why,
                    ]
                    for link in links.links
                ],
            )
        )
    else:
        parts.append(
            "<p>No practice-to-learning link in this scope: no record of its projects names a "
            "learning activity, module or reflection, and no module names its projects.</p>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(store: GraphStore, scope: Scope, out: Path) -> Path:
    """Write the report of ``scope`` into the directory ``out``; return the HTML file's path."""
    result = analyse(store, scope)
    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    svgs: dict[str, str] = {}
    refused: dict[str, str] = {}
    for name in figure_names(scope):
        try:
            drawing = draw_figure(store, scope, name)
        except TooWideError as exc:  # the tables still say it all
            refused[name] = str(exc)
            continue
        svgs[name] = drawing.svg()
        (figures / f"{name}.svg").write_text(svgs[name], encoding="utf-8")
        (figures / f"{name}.png").write_bytes(drawing.png())
    (out / "analytics.json").write_text(
        json.dumps(jsonable(result), indent=2, ensure_ascii=False), encoding="utf-8"
    )
    page = out / "index.html"
    page.write_text(render_html(result, svgs, refused), encoding="utf-8")
    return page
