"""Pictures drawn from the analytics, as SVG and PNG (matplotlib, Agg backend).

Nothing is drawn by hand: positions follow a fixed layout, but every shade, label, bar and
point comes from the data of a scope. SVGs are deterministic (fixed hash salt, text kept as
text, no date) and key elements carry an ``id`` and a ``<title>`` (``strand-IPW``,
``dimension-doing``, ``cycle-1``, ``profession-nurse``, ``gap-IPL``...) so that a reader's
tools, and the tests, can find them.

Colours are colour-blind safe: one-hue blue ramps for amounts, the Okabe-Ito palette for
categories, and shapes as well as colours for professions.
"""

from __future__ import annotations

import io
import math
import re
import textwrap
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import escape
from typing import Any

import matplotlib as mpl

mpl.use("Agg")  # before pyplot could be imported anywhere: no display is ever needed

import networkx as nx
import numpy as np
from matplotlib import colormaps
from matplotlib import dates as _dates
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.colors import BoundaryNorm, ListedColormap, Normalize, to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyBboxPatch, Patch, Polygon, Rectangle, Wedge

from cipd_graph._model import Model
from cipd_graph.analytics._graphs import (
    AnalyticsError,
    Collaboration,
    Coverage,
    ModuleMatrix,
    Scope,
    Timeline,
    TooWideError,
    collaboration,
    collaboration_network,
    communities,
    coverage,
    module_matrix,
    person_label,
    timeline,
)
from cipd_graph.graph import GraphStore

#: Okabe and Ito's colour-blind-safe palette (black last).
OKABE_ITO = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
)
MARKERS = ("o", "s", "^", "D", "v", "P")
STAGE_COLOURS = {"plan": "#0072B2", "do": "#E69F00", "study": "#009E73", "act": "#CC79A7"}
GAP_COLOUR = "#D55E00"
#: Amounts (coverage shares) run from pale to dark blue.
SHADE = colormaps["Blues"]
FIGURE_NAMES = ("tapestry", "heatmap", "network", "timeline", "measures")
#: Most people the network figure draws. 2,344 people (1,000 generated projects) take 12 s
#: and a 2.7 MB SVG; 19,453 (10,000 projects) ran for more than 8 minutes, a picture no one
#: can read, so a wider scope is refused before the drawing starts.
NETWORK_MOST_PEOPLE = 3000

_RC: dict[str, Any] = {
    "svg.hashsalt": "cipd-graph",
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.titlesize": 13,
    "axes.titleweight": "bold",
    "path.simplify": True,
}
_LOCK = threading.RLock()
#: matplotlib.dates is untyped; used through Any.
mdates: Any = _dates


@contextmanager
def _style() -> Iterator[None]:
    # rcParams are global to matplotlib: one drawing at a time (the API serves from threads).
    with _LOCK, mpl.rc_context(_RC):  # type: ignore[arg-type]
        yield


def gid(text: str) -> str:
    """An SVG id made from ``text``: letters, digits, ``-`` and ``_`` only.

    >>> gid("cipd:Model For/Improvement")
    'cipd-Model-For-Improvement'
    """
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "x"


@dataclass
class Drawing:
    """A figure drawn from data, with a ``<title>`` for each element id it marks."""

    name: str
    figure: Figure
    titles: dict[str, str] = field(default_factory=dict)

    def mark(self, artist: Any, element_id: str, title: str) -> None:
        """Give ``artist`` the SVG id ``element_id`` and a tooltip ``title``."""
        artist.set_gid(element_id)
        self.titles[element_id] = title

    def svg(self) -> str:
        """The figure as SVG text (deterministic: same data, same bytes)."""
        buffer = io.StringIO()
        with _style():
            FigureCanvasAgg(self.figure)
            self.figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
        text = buffer.getvalue()
        for element_id, title in self.titles.items():
            text = text.replace(
                f'<g id="{element_id}">',
                f'<g id="{element_id}">\n   <title>{escape(title)}</title>',
                1,
            )
        return text

    def png(self, dpi: int = 110) -> bytes:
        """The figure as PNG."""
        buffer = io.BytesIO()
        with _style():
            FigureCanvasAgg(self.figure)
            self.figure.savefig(
                buffer, format="png", dpi=dpi, metadata={"Software": None}, bbox_inches="tight"
            )
        return buffer.getvalue()


def _text_colour(value: float) -> str:
    return "white" if value > 0.55 else "#1a1a1a"


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width, break_on_hyphens=False)) or text


# --------------------------------------------------------------------------- tapestry


def draw_tapestry(coverage: Coverage, model: Model) -> Drawing:  # noqa: PLR0915
    """Figure 1 redrawn: the four strands around the CIPD core, woven by social learning and
    grounded in providers and institutions, each shaded by how widely the scope evidences it.

    Strands and dimensions are shaded by the share of the scope's projects that evidence
    them; the strand boxes also say how many of the scope's modules map to them.
    """
    with _style():
        fig = Figure(figsize=(10, 8.6))
        ax = fig.add_axes((0.02, 0.1, 0.96, 0.82))
        drawing = Drawing("tapestry", fig)
        ax.set_xlim(-5.2, 5.2)
        ax.set_ylim(-4.9, 3.45)
        ax.set_aspect("equal")
        ax.axis("off")
        n = len(coverage.projects)
        fig.suptitle(
            f"The CIPD tapestry: {coverage.scope.label}",
            fontsize=14,
            fontweight="bold",
            y=0.97,
        )
        fig.text(
            0.5,
            0.925,
            f"{n} project{'s' if n != 1 else ''} and {len(coverage.modules)} module"
            f"{'s' if len(coverage.modules) != 1 else ''} in scope; shade = share of the "
            "projects that evidence each strand or dimension",
            ha="center",
            fontsize=9.5,
            color="#444444",
        )
        centre = (0.0, 0.3)

        # Grounding: the wider world of providers and institutions.
        ground = model.grounding()[0] if model.grounding() else None
        band = FancyBboxPatch(
            (-4.9, -4.75),
            9.8,
            1.25,
            boxstyle="round,pad=0.02,rounding_size=0.15",
            facecolor="#EFEBE1",
            edgecolor="#8C7B5A",
            linewidth=1.2,
        )
        ax.add_patch(band)
        providers = ", ".join(coverage.providers) or "none recorded"
        institutions = ", ".join(coverage.institutions) or "none recorded"
        ground_label = ground.label if ground else "Wider world"
        drawing.mark(
            band,
            "grounding",
            f"{ground_label}: providers: {providers}; institutions: {institutions}",
        )
        ax.text(0, -3.72, ground_label, ha="center", va="center", fontsize=10, fontweight="bold")
        ax.text(
            -2.45,
            -4.2,
            _wrap(f"Service providers ({len(coverage.providers)}): {providers}", 58),
            ha="center",
            va="center",
            fontsize=7.5,
        )
        ax.text(
            2.45,
            -4.2,
            _wrap(f"Educational institutions ({len(coverage.institutions)}): {institutions}", 58),
            ha="center",
            va="center",
            fontsize=7.5,
        )

        # Strands in the four corners, each linked to the core.
        corners = [(-3.35, 2.55), (3.35, 2.55), (3.35, -1.95), (-3.35, -1.95)]
        for strand, (x, y) in zip(coverage.strands, corners, strict=False):
            share = strand.share
            box = FancyBboxPatch(
                (x - 1.55, y - 0.6),
                3.1,
                1.2,
                boxstyle="round,pad=0.02,rounding_size=0.2",
                facecolor=SHADE(0.08 + 0.85 * share),
                edgecolor="#08306B" if strand.projects else GAP_COLOUR,
                linewidth=1.5,
                linestyle="-" if strand.projects else "--",
                zorder=2,
            )
            ax.add_patch(box)
            modules = (
                f"{strand.modules} module{'s' if strand.modules != 1 else ''} mapped"
                if strand.modules
                else "no module mapped"
            )
            drawing.mark(
                box,
                f"strand-{gid(strand.notation)}",
                f"{strand.label} ({strand.notation}): {strand.projects} of {strand.of_projects} "
                f"projects ({strand.share:.0%}); {modules}",
            )
            colour = _text_colour(0.08 + 0.85 * share)
            ax.text(
                x,
                y + 0.22,
                f"{strand.label} ({strand.notation})",
                ha="center",
                va="center",
                fontsize=9,
                fontweight="bold",
                color=colour,
                zorder=3,
            )
            ax.text(
                x,
                y - 0.22,
                f"{strand.projects}/{strand.of_projects} projects ({strand.share:.0%}); {modules}",
                ha="center",
                va="center",
                fontsize=8,
                color=colour,
                zorder=3,
            )

        # Social learning: a ring of the four dimensions around the core (the membrane).
        outer, width = 2.3, 0.95
        medium = model.integrating_medium.label
        for i, dim in enumerate(coverage.dimensions):
            start = 90 - 90 * (i + 1)
            wedge = Wedge(
                centre,
                outer,
                start,
                start + 90,
                width=width,
                facecolor=SHADE(0.08 + 0.85 * dim.share),
                edgecolor="white",
                linewidth=2,
                zorder=2,
            )
            ax.add_patch(wedge)
            drawing.mark(
                wedge,
                f"dimension-{gid(dim.notation)}",
                f"{dim.label}: {dim.projects} of {dim.of_projects} projects ({dim.share:.0%})",
            )
            angle = math.radians(start + 45)
            r = outer - width / 2
            ax.text(
                centre[0] + r * math.cos(angle),
                centre[1] + r * math.sin(angle),
                f"{dim.label.replace('Learning as ', 'as ')}\n{dim.share:.0%}",
                ha="center",
                va="center",
                fontsize=7.5,
                color=_text_colour(0.08 + 0.85 * dim.share),
                zorder=3,
            )
        membrane = Wedge(
            centre,
            outer + 0.06,
            0,
            360,
            width=0.0,
            facecolor="none",
            edgecolor="#08306B",
            linewidth=1.2,
            linestyle=(0, (4, 3)),
            zorder=3,
        )
        ax.add_patch(membrane)
        across = ", ".join(e.label.lower() for e in model.integrates_across())
        drawing.mark(membrane, "membrane", f"{medium} integrates the strands across {across}")
        ax.text(
            centre[0],
            centre[1] + outer + 0.22,
            f"{medium}, across {across}s",
            ha="center",
            va="bottom",
            fontsize=8.5,
            style="italic",
            color="#08306B",
        )

        # The core.
        core = Wedge(
            centre,
            outer - width,
            0,
            360,
            facecolor="#FFF7E0",
            edgecolor="#8C6D1F",
            linewidth=1.5,
            zorder=2,
        )
        ax.add_patch(core)
        woven = len(coverage.interwoven)
        evidenced = len(coverage.all_strands_evidenced)
        drawing.mark(
            core,
            "core",
            f"{model.centre.label}: {evidenced} of {n} projects evidence all four strands, "
            f"{woven} interwoven (strand links join all four)",
        )
        ax.text(
            centre[0],
            centre[1] + 0.25,
            _wrap(model.centre.label, 18),
            ha="center",
            va="center",
            fontsize=8.5,
            fontweight="bold",
            zorder=3,
        )
        ax.text(
            centre[0],
            centre[1] - 0.5,
            f"{woven}/{n} interwoven\n{evidenced}/{n} all four",
            ha="center",
            va="center",
            fontsize=7.5,
            zorder=3,
        )

        cax = fig.add_axes((0.3, 0.075, 0.4, 0.018))
        bar = fig.colorbar(
            mpl.cm.ScalarMappable(
                norm=Normalize(0, 1), cmap=ListedColormap(SHADE(0.08 + 0.85 * _ramp(256)))
            ),
            cax=cax,
            orientation="horizontal",
        )
        bar.set_label("share of the scope's projects that evidence it", fontsize=8.5)
        bar.ax.xaxis.set_major_formatter(mpl.ticker.PercentFormatter(1.0))
        bar.ax.tick_params(labelsize=8)
        drawing.mark(bar.ax, "legend", "Colour scale: share of projects")
    return drawing


def _ramp(n: int) -> Any:
    return np.linspace(0, 1, n)


# --------------------------------------------------------------------------- heatmap

STRENGTH_NAMES = ("none", "weak", "moderate", "strong")
#: Short names of the kinds of model element, for the group labels above the matrix.
KIND_NAMES = {
    "Strand": "strands",
    "SocialLearningDimension": "social learning",
    "ImprovementLearningPractice": "improvement learning",
    "TapestryComponent": "tapestry",
    "CAIPEMode": "CAIPE modes",
    "PDSAStage": "PDSA stages",
    "ImprovementMethodology": "methods",
    "QualityDimension": "quality",
    "ReflectionMode": "reflection",
    "LearningApproach": "approaches",
    "LearningSetting": "settings",
    "EducationForQualityImprovementAim": "EQI aims",
    "EducationArea": "education areas",
    "OpportunityOrChallenge": "opportunities",
    "LessonForPractice": "lessons",
    "Outcome": "outcomes",
}


def _column_name(element: Any) -> str:
    """A column's name: the element's notation when it has one, else its whole label (never
    cut short: the figure's bottom margin grows to fit the longest)."""
    if not element.notation.startswith("cipd:"):
        return str(element.notation)
    return str(element.label)


def draw_heatmap(matrix: ModuleMatrix) -> Drawing:
    """The module x model-element matrix: mapping strength per cell, gaps marked per column.

    A column no module maps to is a gap (vermillion label and hatching); the row of numbers
    above the matrix counts the modules mapped to each element (two or more: an overlap).
    """
    rows, cols = len(matrix.modules), len(matrix.elements)
    shown = max(rows, 1)
    # Lay out in inches: title and legend, group names, counts, the matrix, element names.
    longest = max((len(_column_name(e)) for e in matrix.elements), default=10)
    # 7.5 pt DejaVu Sans averages about 0.058 inch a character.
    cell, left, right, top, bottom = 0.24, 3.4, 0.3, 2.3, 0.35 + 0.058 * longest
    width = left + cols * cell + right
    height = top + shown * 0.38 + bottom
    with _style():
        fig = Figure(figsize=(width, height))
        ax = fig.add_axes(
            (left / width, bottom / height, cols * cell / width, shown * 0.38 / height)
        )
        drawing = Drawing("heatmap", fig)
        cmap = ListedColormap(["#F4F4F4", *(to_hex(SHADE(v)) for v in (0.35, 0.6, 0.9))])
        data = np.array(matrix.weights, dtype=float).reshape(rows, cols) if rows else None
        image = ax.imshow(
            data if data is not None else np.zeros((1, cols)),
            cmap=cmap,
            norm=BoundaryNorm([-0.5, 0.5, 1.5, 2.5, 3.5], cmap.N),
            aspect="auto",
            interpolation="nearest",
        )
        drawing.mark(
            image,
            "heatmap-cells",
            f"{rows} modules x {cols} model elements; {len(matrix.gaps)} gaps, "
            f"{len(matrix.overlaps)} overlaps",
        )
        ax.set_xticks(range(cols))
        ax.set_xticklabels([_column_name(e) for e in matrix.elements], rotation=90, fontsize=7.5)
        ax.set_yticks(range(shown))
        ax.set_yticklabels(
            [_wrap(f"{m.label} ({m.id})", 50) for m in matrix.modules] or ["(no module in scope)"],
            fontsize=8,
        )
        ax.tick_params(length=0)
        gaps = set(matrix.gaps)
        ticks = ax.get_xticklabels()
        for j, (element, tick) in enumerate(zip(matrix.elements, ticks, strict=True)):
            drawing.mark(
                tick, f"element-{gid(element.notation)}", f"{element.label} ({element.kind})"
            )
            mapped = sum(1 for i in range(rows) if matrix.weights[i][j] > 0)
            if element.iri in gaps:
                tick.set_color(GAP_COLOUR)
                tick.set_fontweight("bold")
                hatch = Rectangle(
                    (j - 0.5, -0.5),
                    1,
                    shown,
                    facecolor="none",
                    edgecolor=GAP_COLOUR,
                    hatch="///",
                    linewidth=0,
                    alpha=0.4,
                )
                ax.add_patch(hatch)
                drawing.mark(
                    hatch,
                    f"gap-{gid(element.notation)}",
                    f"Gap: no module maps to {element.label}",
                )
            ax.text(
                j,
                -0.62,
                str(mapped) if mapped else "-",
                ha="center",
                va="bottom",
                fontsize=7,
                fontweight="bold" if mapped >= 2 else "normal",
                color=GAP_COLOUR if not mapped else "#1a1a1a",
            )
        for i, (module, tick) in enumerate(zip(matrix.modules, ax.get_yticklabels(), strict=False)):
            drawing.mark(tick, f"module-{gid(module.id)}", module.label)
            for j in range(cols):
                weight = matrix.weights[i][j]
                if weight:
                    ax.text(
                        j,
                        i,
                        STRENGTH_NAMES[weight][0].upper(),
                        ha="center",
                        va="center",
                        fontsize=6.5,
                        color=_text_colour(0.3 * weight),
                    )
        # Kind groups: separators and names along the top.
        kinds: list[tuple[str, int, int]] = []
        for j, element in enumerate(matrix.elements):
            if kinds and kinds[-1][0] == element.kind:
                kinds[-1] = (element.kind, kinds[-1][1], j)
            else:
                kinds.append((element.kind, j, j))
        for k, (kind, first, last) in enumerate(kinds):
            if first:
                ax.axvline(first - 0.5, color="white", linewidth=2.5)
            ax.text(
                (first + last) / 2,
                -1.35,
                KIND_NAMES.get(kind, _split_camel(kind)),
                ha="left",
                va="bottom",
                rotation=35,
                rotation_mode="anchor",
                fontsize=8,
                color="#08306B" if k % 2 == 0 else "#6A3D00",
            )
        ax.set_ylim(shown - 0.5, -0.5)
        for spine in ax.spines.values():
            spine.set_visible(False)
        fig.text(
            0.01,
            1 - 0.25 / height,
            f"Modules x model elements: {matrix.scope.label}",
            fontsize=13,
            fontweight="bold",
            va="top",
        )
        handles = [
            Patch(
                facecolor=cmap(i),
                edgecolor="#999999",
                label=name + (f" ({name[0].upper()})" if i else ""),
            )
            for i, name in enumerate(STRENGTH_NAMES)
        ] + [
            Patch(
                facecolor="none",
                edgecolor=GAP_COLOUR,
                hatch="///",
                label=f"gap: no module ({len(matrix.gaps)})",
            ),
        ]
        legend = fig.legend(
            handles=handles,
            loc="upper left",
            ncol=5,
            fontsize=8,
            frameon=False,
            title="Mapping strength; numbers above the columns count the modules mapped "
            f"to each element (bold: an overlap, {len(matrix.overlaps)} in all)",
            title_fontsize=8,
            alignment="left",
            bbox_to_anchor=(0.005, 1 - 0.55 / height),
        )
        drawing.mark(legend, "legend", "Mapping strengths and gaps")
    return drawing


def _split_camel(name: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).lower()


# --------------------------------------------------------------------------- network


def profession_styles(counts: Mapping[str, int]) -> dict[str, tuple[str, str]]:
    """A (colour, marker) per profession, most frequent first; colours cycle through Okabe-Ito
    and each cycle takes the next marker, so no two professions look alike.

    >>> profession_styles({"Nurse": 3, "Pharmacist": 1})
    {'Nurse': ('#0072B2', 'o'), 'Pharmacist': ('#E69F00', 'o')}
    """
    ordered = sorted(counts, key=lambda p: (p == "unknown", -counts[p], p))
    styles = {}
    for i, profession in enumerate(ordered):
        colour = "#999999" if profession == "unknown" else OKABE_ITO[i % len(OKABE_ITO)]
        styles[profession] = (colour, MARKERS[(i // len(OKABE_ITO)) % len(MARKERS)])
    return styles


def convex_hull(
    points: Sequence[tuple[float, float]], pad: float = 0.0
) -> list[tuple[float, float]]:
    """The convex hull of ``points`` (Andrew's monotone chain), pushed out by ``pad``.

    >>> convex_hull([(0, 0), (1, 0), (1, 1), (0, 1), (0.5, 0.5)])
    [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
    """
    pts = sorted({(float(x), float(y)) for x, y in points})
    if len(pts) <= 2:
        hull = pts
    else:

        def cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
            return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

        lower: list[tuple[float, float]] = []
        for pt in pts:
            while len(lower) >= 2 and cross(lower[-2], lower[-1], pt) <= 0:
                lower.pop()
            lower.append(pt)
        upper: list[tuple[float, float]] = []
        for pt in reversed(pts):
            while len(upper) >= 2 and cross(upper[-2], upper[-1], pt) <= 0:
                upper.pop()
            upper.append(pt)
        hull = lower[:-1] + upper[:-1]
    if not pad or not hull:
        return hull
    cx = sum(x for x, _ in hull) / len(hull)
    cy = sum(y for _, y in hull) / len(hull)
    out = []
    for x, y in hull:
        d = math.hypot(x - cx, y - cy) or 1.0
        out.append((x + pad * (x - cx) / d, y + pad * (y - cy) / d))
    return out


def layout(graph: nx.Graph[str], seed: int = 7) -> dict[str, tuple[float, float]]:
    """Node positions: each connected component laid out by force (seeded, repeatable; a
    circle above 400 nodes), components packed in rows, largest first, in a unit-wide box."""
    components = sorted(
        (sorted(c) for c in nx.connected_components(graph)), key=lambda c: (-len(c), c[0])
    )
    placed: dict[str, tuple[float, float]] = {}
    x = y = row_height = 0.0
    total = max(graph.number_of_nodes(), 1)
    row_width = 1.0
    for nodes in components:
        sub = graph.subgraph(nodes)
        size = 0.9 * math.sqrt(len(nodes) / total) if len(nodes) > 1 else 0.04
        if len(nodes) == 1:
            local = {nodes[0]: (0.0, 0.0)}
        elif len(nodes) > 400:
            local = {n: (float(a), float(b)) for n, (a, b) in nx.circular_layout(sub).items()}
        else:
            found = nx.spring_layout(
                sub, seed=seed, weight="weight", iterations=200, k=1.8 / math.sqrt(len(nodes))
            )
            local = {n: (float(a), float(b)) for n, (a, b) in found.items()}
        xs = [p[0] for p in local.values()]
        ys = [p[1] for p in local.values()]
        span = max(max(xs) - min(xs), max(ys) - min(ys)) or 1.0
        if x + size > row_width and x > 0:
            x, y, row_height = 0.0, y - row_height - 0.08, 0.0
        for n, (a, b) in local.items():
            placed[n] = (x + (a - min(xs)) / span * size, y - (max(ys) - b) / span * size)
        x += size + 0.08
        row_height = max(row_height, size)
    return placed


class _LabelPlacer:
    """Puts short labels next to points of a network drawing so that no two labels overlap
    and no label covers a person: each label tries candidate spots around its anchors, nearest
    first, and takes the first free one (the least crowded one if none is free)."""

    PAD = 3.0  # pixels kept clear around every label

    def __init__(
        self,
        fig: Figure,
        ax: Any,
        pos: Mapping[str, tuple[float, float]],
        ringed: set[str],
    ) -> None:
        canvas = FigureCanvasAgg(fig)
        canvas.draw()  # type: ignore[no-untyped-call]  # settles the axes limits (aspect, data limits) before measuring
        ax.set_xlim(ax.get_xlim())
        ax.set_ylim(ax.get_ylim())
        self.renderer = canvas.get_renderer()  # type: ignore[no-untyped-call]
        self.ax = ax
        self.dpi = fig.dpi
        # The boxes taken, one row each (x0, y0, x1, y1): a label's overlap with all of
        # them is one array expression. As a Python loop it was 20 s of the 47 s the
        # network of 1,000 projects (2,344 people, 57 labels) took to draw.
        people = list(pos)
        centres = ax.transData.transform([pos[p] for p in people]) if people else np.zeros((0, 2))
        radii = np.array([(11.0 if p in ringed else 7.0) * self.dpi / 100 for p in people])
        self.taken = np.column_stack(
            (
                centres[:, 0] - radii,
                centres[:, 1] - radii,
                centres[:, 0] + radii,
                centres[:, 1] + radii,
            )
        )

    def _overlap(self, box: tuple[float, float, float, float]) -> float:
        t = self.taken
        w = np.minimum(box[2], t[:, 2]) - np.maximum(box[0], t[:, 0])
        h = np.minimum(box[3], t[:, 3]) - np.maximum(box[1], t[:, 1])
        return float(np.sum(np.where((w > 0) & (h > 0), w * h, 0.0)))

    def _take(self, box: tuple[float, float, float, float]) -> None:
        self.taken = np.vstack((self.taken, np.asarray(box, dtype=float).reshape(1, 4)))

    def place(
        self,
        label: str,
        anchors: Sequence[tuple[float, float]],
        *,
        near: float,
        away: tuple[float, float] | None = None,
        colour: str = "#1a1a1a",
        size: float = 9,
    ) -> Any:
        """Draw ``label`` at the first free spot around ``anchors`` (data coordinates)."""
        best: tuple[float, Any, tuple[float, float, float, float]] | None = None
        for distance in (near, near + 8, near + 16, near + 28):
            for ax_, ay in anchors:
                directions: list[tuple[float, float]] = [
                    (1, 1),
                    (-1, 1),
                    (1, -1),
                    (-1, -1),
                    (1, 0),
                    (-1, 0),
                    (0, 1),
                    (0, -1),
                ]
                if away is not None:
                    dx, dy = ax_ - away[0], ay - away[1]
                    norm = math.hypot(dx, dy) or 1.0
                    directions.insert(0, (dx / norm, dy / norm))
                for ux, uy in directions:
                    text = self.ax.annotate(
                        label,
                        (ax_, ay),
                        xytext=(ux * distance, uy * distance),
                        textcoords="offset points",
                        ha="center" if abs(ux) < 0.3 else ("left" if ux > 0 else "right"),
                        va="center" if abs(uy) < 0.3 else ("bottom" if uy > 0 else "top"),
                        fontsize=size,
                        fontweight="bold",
                        color=colour,
                        zorder=6,
                        bbox={
                            "boxstyle": "round,pad=0.15",
                            "fc": "white",
                            "ec": "none",
                            "alpha": 0.8,
                        },
                    )
                    extent = text.get_window_extent(self.renderer)
                    box = (
                        extent.x0 - self.PAD,
                        extent.y0 - self.PAD,
                        extent.x1 + self.PAD,
                        extent.y1 + self.PAD,
                    )
                    crowding = self._overlap(box)
                    if crowding == 0:
                        if best is not None:
                            best[1].remove()
                        self._take(box)
                        return text
                    if best is None or crowding < best[0]:
                        if best is not None:
                            best[1].remove()
                        best = (crowding, text, box)
                    else:
                        text.remove()
        assert best is not None
        self._take(best[2])
        return best[1]


def draw_network(
    graph: nx.Graph[str],
    collaboration: Collaboration,
    communities: Sequence[set[str]],
    seed: int = 7,
) -> Drawing:
    """The collaboration network: people (pseudonymous) coloured and shaped by profession,
    linked by shared teams and learning activities (line width: how many), brokers outlined
    and numbered, Louvain communities labelled at their centres."""
    with _style():
        fig = Figure(figsize=(11, 8))
        ax = fig.add_axes((0.01, 0.02, 0.68, 0.88))
        ax.axis("off")
        ax.set_aspect("equal")
        drawing = Drawing("network", fig)
        scope = collaboration.scope
        fig.suptitle(
            f"Collaboration network: {scope.label}", fontsize=14, fontweight="bold", x=0.36, y=0.97
        )
        fig.text(
            0.36,
            0.925,
            f"{collaboration.people} people, {collaboration.links} links (shared teams or "
            f"learning activities); {len(communities)} Louvain communities",
            ha="center",
            fontsize=9.5,
            color="#444444",
        )
        if graph.number_of_nodes() == 0:
            ax.text(
                0.5,
                0.5,
                "No collaboration recorded in this scope",
                ha="center",
                transform=ax.transAxes,
            )
            return drawing
        pos = layout(graph, seed)
        # One collection of lines per width, not a line each (13,470 links: 4.8 s).
        widths: dict[int, list[list[tuple[float, float]]]] = {}
        for a, b, data in sorted(graph.edges(data=True)):
            widths.setdefault(min(data["weight"], 4), []).append([pos[a], pos[b]])
        for weight, segments in sorted(widths.items()):
            ax.add_collection(
                LineCollection(
                    segments, colors="#B0B0B0", linewidths=0.5 + 0.8 * weight, alpha=0.7, zorder=1
                )
            )
        counts = collaboration.professions
        styles = profession_styles(counts)
        handles = []
        for profession, (colour, marker) in styles.items():
            nodes = sorted(n for n in graph if graph.nodes[n]["profession"] == profession)
            points = ax.scatter(
                [pos[n][0] for n in nodes],
                [pos[n][1] for n in nodes],
                s=90,
                c=colour,
                marker=marker,
                edgecolors="white",
                linewidths=0.8,
                zorder=3,
            )
            drawing.mark(
                points,
                f"profession-{gid(profession.lower())}",
                f"{profession}: {len(nodes)} people",
            )
            handles.append(
                Line2D(
                    [],
                    [],
                    linestyle="",
                    marker=marker,
                    color=colour,
                    markersize=8,
                    label=f"{profession} ({counts.get(profession, 0)})",
                )
            )
        rings = []
        for i, broker in enumerate(collaboration.brokers, 1):
            x, y = pos[broker.person]
            ring = ax.scatter(
                [x], [y], s=260, facecolors="none", edgecolors="black", linewidths=1.6, zorder=4
            )
            drawing.mark(
                ring,
                f"broker-{i}",
                f"Broker {i}: {person_label(broker.person, broker.profession)}, "
                f"betweenness {broker.betweenness:.3f}",
            )
            rings.append((i, broker.person))
        hulls: list[tuple[int, list[tuple[float, float]]]] = []
        for number, members in enumerate(communities, 1):
            if len(members) < 2:
                continue
            hull = convex_hull([pos[m] for m in sorted(members)], pad=0.045)
            shape = Polygon(
                hull,
                closed=True,
                facecolor="#D9D9D9",
                edgecolor="#8C8C8C",
                alpha=0.35,
                linewidth=0.8,
                zorder=0,
            )
            ax.add_patch(shape)
            drawing.mark(
                shape, f"community-{number}", f"Louvain community C{number}: {len(members)} people"
            )
            hulls.append((number, hull))
        placer = _LabelPlacer(fig, ax, pos, {p for _, p in rings})
        for i, person in rings:
            text = placer.place(f"B{i}", [pos[person]], near=11.0)
            drawing.mark(text, f"broker-label-{i}", f"Broker {i}")
        for number, hull in hulls:
            cx = sum(x for x, _ in hull) / len(hull)
            cy = sum(y for _, y in hull) / len(hull)
            # The top of the area first, then its other corners, away from its middle.
            corners = sorted(hull, key=lambda xy: (-xy[1], xy[0]))
            text = placer.place(
                f"C{number}", corners, near=4.0, away=(cx, cy), colour="#404040", size=9
            )
            drawing.mark(text, f"community-label-{number}", f"Louvain community C{number}")
        legend = fig.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(0.7, 0.9),
            fontsize=8,
            frameon=False,
            title="Profession (people)",
            title_fontsize=9,
            ncol=1 if len(handles) <= 24 else 2,
        )
        drawing.mark(legend, "legend", "Professions")
        notes = [
            "B1, B2, ...: brokers (highest betweenness)",
            "grey areas C1, C2, ...: Louvain communities",
            "line width: shared teams and activities",
        ]
        fig.text(0.7, 0.04, "\n".join(notes), fontsize=8, color="#444444")
    return drawing


# --------------------------------------------------------------------------- timeline


def _fitted_span(timeline: Timeline) -> tuple[Any, Any]:
    """The first and last date of a project's cycles, stages, events and observations (its
    own start and end only when it records none of those)."""
    import datetime as dt

    dates: list[dt.date] = [c.start for c in timeline.cycles]
    dates += [c.end for c in timeline.cycles if c.end]
    dates += [d for c in timeline.cycles for st in c.stages for d in (st.start, st.end) if d]
    dates += [e.date for e in timeline.events]
    dates += [p[0] for m in timeline.measures for p in m.points]
    if not dates:
        dates = [d for d in (timeline.start, timeline.end) if d] or [dt.date.today()]
    return min(dates), max(dates)


def draw_timeline(timeline: Timeline) -> Drawing:  # noqa: PLR0915
    """A project's PDSA cycles (bars, with stage segments where stages have dates), learning
    activities and reflections, and each measure over time with its baseline and target."""
    import datetime as dt

    measures = timeline.measures
    with _style():
        rows = 1 + len(measures)
        fig = Figure(figsize=(11, 3.2 + 2.3 * len(measures)))
        axes = fig.subplots(
            rows,
            1,
            sharex=True,
            squeeze=False,
            gridspec_kw={
                "height_ratios": [1.4 + 0.25 * len(timeline.cycles)] + [1.0] * len(measures)
            },
        )[:, 0]
        drawing = Drawing("timeline", fig)
        fig.suptitle(f"PDSA timeline: {timeline.project.label}", fontsize=14, fontweight="bold")
        ax = axes[0]
        first, last = _fitted_span(timeline)
        span_days = max((last - first).days, 30)
        # The axis fits the cycles, events and observations, not the whole project (a year
        # around a few weeks of cycles would leave them slivers): the project's bar is cut at
        # the axis and says its dates.
        pad = dt.timedelta(days=max(span_days // 40, 3))
        lo, hi = first - pad, last + pad
        p_start = max(timeline.start or lo, lo)
        p_end = min(timeline.end or hi, hi)
        project = ax.barh(
            -1,
            max((p_end - p_start).days, 1),
            left=mdates.date2num(p_start),
            height=0.35,
            color="#BDBDBD" if timeline.end else "#DDDDDD",
            edgecolor="#555555",
            hatch="" if timeline.end else "..",
            zorder=1,
        )
        drawing.mark(
            project.patches[0],
            "project",
            f"Project {timeline.project.label}: {timeline.start or '?'} to "
            f"{timeline.end or 'running'}",
        )
        cut = [
            f"from {timeline.start}" if timeline.start and timeline.start < lo else "",
            f"to {timeline.end}" if timeline.end and timeline.end > hi else "",
        ]
        if any(cut) or not timeline.end:
            ax.text(
                mdates.date2num(p_start) + 0.01 * span_days,
                -1,
                "project runs "
                + " ".join(c for c in cut if c)
                + ("" if timeline.end else " (running)"),
                va="center",
                ha="left",
                fontsize=7.5,
                color="#333333",
                zorder=3,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
            )
        for cycle in timeline.cycles:
            y = cycle.number
            stage_dates = [d for s in cycle.stages for d in (s.start, s.end) if d]
            end = cycle.end or max([*stage_dates, cycle.start, last])
            # At least 1.5% of the axis: a one-week cycle stays visible on a long axis.
            width = max((end - cycle.start).days, 1, 0.015 * span_days)
            bar = ax.barh(
                y,
                width,
                left=mdates.date2num(cycle.start),
                height=0.6,
                color="#E8E8E8",
                edgecolor="#555555",
                hatch="" if cycle.end else "..",
                zorder=1,
            )
            names = [s.name for s in cycle.stages]
            drawing.mark(
                bar.patches[0],
                f"cycle-{cycle.number}",
                f"PDSA cycle {cycle.number}: {cycle.start} to {cycle.end or 'running'}; "
                f"stages recorded: {', '.join(names) or 'none'}",
            )
            dated = [s for s in cycle.stages if s.start]
            for stage in dated:
                assert stage.start is not None
                s_end = stage.end or stage.start
                seg = ax.barh(
                    y,
                    max((s_end - stage.start).days, 0) + 1,
                    left=mdates.date2num(stage.start),
                    height=0.6,
                    color=STAGE_COLOURS.get(stage.name, "#777777"),
                    edgecolor="white",
                    zorder=2,
                )
                drawing.mark(
                    seg.patches[0],
                    f"stage-{cycle.number}-{stage.name}",
                    f"Cycle {cycle.number}, {stage.name}: {stage.start} to {s_end}",
                )
            undated = [s.name for s in cycle.stages if not s.start]
            if undated:
                inside = width > 0.08 * span_days
                ax.text(
                    mdates.date2num(cycle.start)
                    + (width / 2 if inside else width + 0.01 * span_days),
                    y,
                    " ".join(n[0].upper() for n in undated),
                    ha="center" if inside else "left",
                    va="center",
                    fontsize=8,
                    fontweight="bold",
                    color="#333333",
                    zorder=3,
                )
        kinds = {
            "activity": ("^", "#009E73", "learning activity"),
            "reflection": ("D", "#CC79A7", "reflection"),
        }
        for kind, (marker, colour, _) in kinds.items():
            events = [e for e in timeline.events if e.kind == kind]
            if not events:
                continue
            points = ax.scatter(
                [mdates.date2num(e.date) for e in events],
                [0.0] * len(events),
                marker=marker,
                s=70,
                color=colour,
                edgecolors="white",
                zorder=3,
            )
            drawing.mark(
                points,
                f"events-{kind}",
                "; ".join(f"{e.date}: {e.label}" for e in events),
            )
        ax.set_yticks([-1, 0] + [c.number for c in timeline.cycles])
        ax.set_yticklabels(["project", "learning"] + [f"cycle {c.number}" for c in timeline.cycles])
        ax.set_ylim(max([c.number for c in timeline.cycles] + [0]) + 0.7, -1.6)
        ax.set_xlim(mdates.date2num(lo), mdates.date2num(hi))
        ax.grid(axis="x", color="#DDDDDD", linewidth=0.6)
        ax.set_axisbelow(True)
        handles: list[Artist] = [Patch(facecolor=c, label=n) for n, c in STAGE_COLOURS.items()]
        handles += [
            Patch(
                facecolor="#E8E8E8",
                edgecolor="#555555",
                label="cycle (letters: stages without dates)",
            )
        ]
        handles += [
            Patch(facecolor="#E8E8E8", edgecolor="#555555", hatch="..", label="cycle still running")
        ]
        handles += [
            Line2D([], [], linestyle="", marker=m, color=c, label=label)
            for m, c, label in kinds.values()
        ]
        legend = ax.legend(
            handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False
        )
        drawing.mark(legend, "legend", "PDSA stages and events")
        for ax_m, measure in zip(axes[1:], measures, strict=True):
            _measure_panel(ax_m, measure, timeline, last, drawing)
        locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
        axes[-1].xaxis.set_major_locator(locator)
        axes[-1].xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        fig.subplots_adjust(left=0.1, right=0.78, hspace=0.45)
    return drawing


def _measure_panel(
    ax_m: Any, measure: Any, timeline: Timeline, last: Any, drawing: Drawing
) -> None:
    """One measure over time: its observations, baseline and target, the cycles shaded."""
    xs = [mdates.date2num(d) for d, _ in measure.points]
    ys = [v for _, v in measure.points]
    (line,) = ax_m.plot(xs, ys, marker="o", color="#0072B2", linewidth=1.8, label="observed")
    drawing.mark(
        line,
        f"measure-{gid(measure.iri.rsplit('/', 1)[-1])}",
        f"{measure.label}: " + ", ".join(f"{d} = {v:g}" for d, v in measure.points),
    )
    if measure.baseline is not None:
        ax_m.axhline(
            measure.baseline,
            color="#555555",
            linestyle="--",
            linewidth=1,
            label=f"baseline {measure.baseline:g}",
        )
    if measure.target is not None:
        ax_m.axhline(
            measure.target,
            color="#009E73",
            linestyle=":",
            linewidth=1.6,
            label=f"target {measure.target:g}",
        )
    for cycle in timeline.cycles:
        ax_m.axvspan(
            mdates.date2num(cycle.start),
            mdates.date2num(cycle.end or last),
            color="#F0F0F0",
            zorder=0,
        )
    ax_m.set_title(_wrap(measure.label, 90), fontsize=9.5, fontweight="normal", loc="left")
    ax_m.set_ylabel(_wrap(measure.unit or "", 22), fontsize=8)
    ax_m.grid(axis="y", color="#E5E5E5", linewidth=0.6)
    ax_m.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)


def draw_measures(timeline: Timeline) -> Drawing:
    """A project's measures over time, each with its baseline and target, the PDSA cycles
    shaded and numbered behind them (the dashboard draws the cycles themselves in HTML)."""
    import datetime as dt

    measures = timeline.measures
    with _style():
        fig = Figure(figsize=(11, 0.9 + 2.3 * max(len(measures), 1)))
        drawing = Drawing("measures", fig)
        fig.suptitle(f"Measures: {timeline.project.label}", fontsize=13, fontweight="bold")
        if not measures:
            fig.text(0.5, 0.45, "No measure recorded for this project", ha="center", fontsize=11)
            return drawing
        axes = fig.subplots(len(measures), 1, sharex=True, squeeze=False)[:, 0]
        dates = [p[0] for m in measures for p in m.points]
        dates += [c.start for c in timeline.cycles] + [c.end for c in timeline.cycles if c.end]
        first, last = (min(dates), max(dates)) if dates else _fitted_span(timeline)
        pad = dt.timedelta(days=max((last - first).days // 40, 3))
        for ax_m, measure in zip(axes, measures, strict=True):
            _measure_panel(ax_m, measure, timeline, last, drawing)
        top = axes[0]
        for cycle in timeline.cycles:
            middle = cycle.start + ((cycle.end or last) - cycle.start) / 2
            top.annotate(
                f"C{cycle.number}",
                (mdates.date2num(middle), 0.97),
                xycoords=("data", "axes fraction"),
                ha="center",
                va="top",
                fontsize=7.5,
                color="#555555",
            )
        axes[-1].set_xlim(mdates.date2num(first - pad), mdates.date2num(last + pad))
        locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
        axes[-1].xaxis.set_major_locator(locator)
        axes[-1].xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        fig.text(0.1, 0.005, "grey bands C1, C2, ...: PDSA cycles", fontsize=8, color="#444444")
        fig.subplots_adjust(left=0.1, right=0.78, hspace=0.55, top=0.85)
    return drawing


def figure_names(scope: Scope) -> list[str]:
    """The figures a report draws for a scope (the timeline only for a project; the
    measures are part of the timeline there, and a figure of their own for the dashboard)."""
    return [
        n for n in FIGURE_NAMES if n != "measures" and (n != "timeline" or scope.kind == "project")
    ]


def draw_figure(store: GraphStore, scope: Scope, name: str, seed: int = 7) -> Drawing:
    """Draw the figure ``name`` (tapestry, heatmap, network, timeline or measures) for a scope."""
    if name not in FIGURE_NAMES:
        raise AnalyticsError(f"no figure {name!r}: choose one of {', '.join(FIGURE_NAMES)}")
    if name == "tapestry":
        return draw_tapestry(coverage(store, scope), store.model)
    if name == "heatmap":
        return draw_heatmap(module_matrix(store, scope))
    if name == "network":
        graph, _ = collaboration_network(store, scope)
        people = graph.number_of_nodes()
        if people > NETWORK_MOST_PEOPLE:
            raise TooWideError(
                f"the collaboration network of {scope.label} has {people:,} people; the "
                f"network figure draws at most {NETWORK_MOST_PEOPLE:,}: choose a narrower "
                "scope (a project, team, organisation or programme)"
            )
        return draw_network(
            graph, collaboration(store, scope, seed), communities(graph, seed), seed
        )
    if name == "measures":
        return draw_measures(timeline(store, scope))
    return draw_timeline(timeline(store, scope))
