"""Turn the scale measurements into the tables of bench/results.md, each figure beside its baseline."""

from __future__ import annotations

import os
import statistics
from typing import Any

TARGET_TPS = 100_000
TARGET_QUERY_S = 0.050
TARGET_BATCH_S = 1.0
TARGET_RATIO = 10.0


def _pct(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _ratio(ours: float | None, base: float | None, *, higher_better: bool = False) -> str:
    if not ours or not base:
        return "-"
    ratio = ours / base if higher_better else base / ours
    return f"{ratio:.1f}x"


def _fmt(value: float | None, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}{unit}"


def _load_row(
    res: dict[str, Any], previous: dict[str, Any] | None
) -> tuple[str, str, float | None]:
    """Our load throughput (or why there is none) and triples/s for extrapolation."""
    ours = res.get("ours", {})
    if res.get("ours_status") == "ok":
        tps = ours["triples"] / ours["seconds"]
        return f"{tps:,.0f} ({ours['triples']:,} triples in {ours['seconds']:.1f} s)", "", tps
    text = f"did not finish in {res.get('ours_wall', 0):.0f} s"
    if ours.get("chunks_done") and ours.get("chunks"):
        # the first chunk is the reference tables; the others hold chunk_files projects each
        projects = min(res["projects"], (ours["chunks_done"] - 1) * ours["chunk_files"])
        text += (
            f" (by then {ours['chunks_done']} of {ours['chunks']} chunks, ~{projects:,} projects, "
            f"were validated and staged in {ours['progress_s']:.0f} s: "
            f"{projects / ours['progress_s']:,.0f} projects/s)"
        )
        if ours["chunks_done"] == ours["chunks"]:
            if ours.get("written_s"):
                text += f"; the staged quads were on disk at {ours['written_s']:.0f} s"
            if ours.get("derived_s"):
                text += (
                    f", compacted at {ours['deriving_s']:.0f} s and the facts derived at "
                    f"{ours['derived_s']:.0f} s; it was swapping the staged store in when stopped"
                )
            elif ours.get("deriving_s"):
                text += f" and compacted at {ours['deriving_s']:.0f} s; the rules were deriving when stopped"
            elif ours.get("written_s"):
                text += "; it was compacting them when stopped"
            else:
                text += "; it was writing the staged quads to disk when stopped"
    if previous and previous.get("ours_status") == "ok":
        p = previous["ours"]
        per_project = p["triples"] / previous["projects"]
        est = res["projects"] * per_project / (p["triples"] / p["seconds"])
        text += f"; at the {previous['projects']:,}-project rate it would take ~{est / 60:.0f} min"
    return text, "", None


def _base_load(res: dict[str, Any], previous: dict[str, Any] | None) -> tuple[str, float | None]:
    base = res.get("baseline", {})
    projection = res.get("baseline_projection")
    if projection:
        return f"not run: {projection['reason']}", None
    if "seconds" in base:
        tps = base["triples"] / base["seconds"]
        return (
            f"{tps:,.0f} ({base['seconds']:.1f} s: build {base['build']:.1f}, pyshacl {base['validate']:.1f}, rules {base['derive']:.1f})",
            tps,
        )
    done = ", ".join(f"{k} {base[k]:.1f} s" for k in ("build", "validate") if k in base)
    text = f"did not finish in {res.get('baseline_limit', 0):.0f} s" + (
        f" (done: {done})" if done else ""
    )
    if previous and "seconds" in previous.get("baseline", {}):
        pb = previous["baseline"]
        est = pb["seconds"] * res["projects"] / previous["projects"]
        text += (
            f"; linear extrapolation from {previous['projects']:,} projects: ~{est / 60:.0f} min"
        )
    return text, None


def _baseline_queries_skipped(res: dict[str, Any], previous: dict[str, Any] | None) -> list[str]:
    """Why the baseline's queries and HTTP figure were not run at this size, with the memory
    its graph for them would take (projected linearly from the size before)."""
    projection = res.get("baseline_queries_projection")
    if not projection:
        return []
    text = f"The baseline's queries and its HTTP figure were not run: {projection['reason']}"
    peak = ((previous or {}).get("baseline_queries") or {}).get("peak_mb")
    if peak and previous:
        mb = peak * res["projects"] / previous["projects"]
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        text += (
            f". The rdflib graph they query took {peak / 1024:.1f} GB at {previous['projects']:,} "
            f"projects: about {mb / 1024:.0f} GB here (this machine: {total:.0f} GB)"
        )
    return [text + ".", ""]


def scale_section(results: list[dict[str, Any]], baseline_limit: float) -> list[str]:
    """Markdown for every size measured."""
    lines = [
        "## Records at scale (`cipd generate`, seed 42)",
        "",
        "Ours: `GraphStore.load` of every generated file into a fresh on-disk Oxigraph store "
        "(parse, map, SHACL of the new batches plus the stored triples they touch, one "
        "transaction, derived facts; at 500 files and more the staged load, its chunks parsed, "
        "mapped and validated by one worker process per core), `run_query` for the named queries, `cipd serve` for HTTP. "
        "Baseline, same files, same run: the same parser and mapper into one rdflib in-memory "
        "graph, pyshacl over the whole graph and the rules with rdflib's SPARQL engine over that "
        "one graph (their `GRAPH ?g` wrappers removed); then, "
        "whether or not those finished, the named queries with rdflib's SPARQL engine on an "
        "rdflib Dataset (union default graph) parsed from an N-Quads export of our store (the "
        "same triples, derived facts included), and the same named-query route served from it "
        "by uvicorn. Queries get their required parameters and their optional scoping ones "
        "(cq10: one project); a query with optional parameters is also measured without them, "
        "as '(whole store)'. Load "
        "throughput counts the triples in the store (records, names, provenance, ontology, "
        "derived facts) over the wall time from files to committed store; the baseline counts "
        "its graph's triples. Peak memory is the maximum resident set of the process doing the "
        "work (for our load: the loading process plus its largest worker). Latencies: ours "
        "median/p95 of 20 runs (fewer, at least one, when 20 would take over 5 s), baseline of up to 3 runs (each limited to 10 s; one run when it takes over 1 s). HTTP: `GET /queries/cq01-project-strands?project=...`.",
        "",
        f"Targets: load+validate >= {TARGET_TPS:,} triples/s; every named query p50 <= "
        f"{TARGET_QUERY_S * 1000:.0f} ms at 1M triples; a 100-record batch validated in <= "
        f"{TARGET_BATCH_S:.0f} s; >= {TARGET_RATIO:.0f}x the baseline.",
        "",
    ]
    previous: dict[str, Any] | None = None
    for res in results:
        n = res["projects"]
        lines += [f"### {n:,} projects", ""]
        if res.get("skipped"):
            lines += ["Not run: the run's deadline had passed.", ""]
            continue
        ours = res.get("ours", {})
        base = res.get("baseline", {})
        load_text, _, tps = _load_row(res, previous)
        base_text, base_tps = _base_load(res, previous)
        early = res.get("loaded_early")
        lines += [
            f"Generated in {res['generate_s']:.1f} s"
            + (
                " (while the size before built its baseline's graph; its queries waited)."
                if res.get("generated_early")
                else "."
            )
            + (
                " Loaded straight after, while that build went on: for the first "
                f"{early['overlap_s']:.0f} s our load shared the two cores with it (an untimed "
                "step of the baseline), which can only have slowed ours. The size before's "
                "baseline queries waited until our load was done."
                if early
                else ""
            ),
            "",
            "| figure | ours | baseline | ours vs baseline | target |",
            "|---|---|---|---:|---|",
            f"| load + validate, triples/s | {load_text} | {base_text} | "
            f"{_ratio(tps, base_tps, higher_better=True)} | >= {TARGET_TPS:,}: "
            + (
                "met"
                if tps and tps >= TARGET_TPS
                else f"missed ({tps / TARGET_TPS:.2f} of it)"
                if tps
                else "missed"
            )
            + " |",
            f"| peak memory, MB | {_ours_peak(ours)} | "
            f"{_fmt(base.get('peak_mb'), digits=0) if base.get('peak_mb') else _projected_mb(res)} | {_ratio(ours.get('peak_mb'), base.get('peak_mb'))} | - |",
            f"| store size on disk, MB | {_fmt(res['store_bytes'] / 1e6 if 'store_bytes' in res else None)} | "
            "in memory only (its footprint is the peak memory above) | - | - |",
        ]
        queries = res.get("ours_queries", {})
        batch = queries.get("batch_seconds")
        warm = queries.get("batch_warm_seconds")
        base_batch = base.get("validate")
        batch_text = _fmt(batch, digits=2) + (
            f" (first check of the process; the next ones: {warm:.2f})" if warm else ""
        )
        lines.append(
            f"| validate a 100-record batch against the full store, s | {batch_text} | "
            + (
                f"{base_batch:.1f} (pyshacl over the whole graph, the measurement above)"
                if base_batch
                else f"not run (~{res['baseline_projection']['validate']:.0f} s projected: "
                "pyshacl over the whole graph)"
                if res.get("baseline_projection", {}).get("validate")
                else "not run (see the load)"
                if res.get("baseline_projection")
                else f"did not finish in {res.get('baseline_limit', 0):.0f} s"
            )
            + f" | {_ratio(batch, base_batch)} | <= {TARGET_BATCH_S:.0f} s: "
            + (
                "met"
                if batch is not None and batch <= TARGET_BATCH_S
                else "missed"
                if batch
                else "-"
            )
            + " |"
        )
        api, base_api = res.get("ours_api"), res.get("baseline_api")
        lines.append(
            "| API throughput, requests/s (p50 latency) | "
            + (f"{api['rps']:,.0f} ({api['p50']})" if api else "-")
            + " | "
            + (
                f"{base_api['rps']:,.1f} ({base_api['p50']})"
                if base_api
                else "not run (see below the queries)"
                if res.get("baseline_queries_projection")
                else "-"
            )
            + f" | {_ratio(api['rps'] if api else None, base_api['rps'] if base_api else None, higher_better=True)} | - |"
        )
        tool = (api or base_api or {}).get("tool")
        lines += ["", f"HTTP load generator: {tool}." if tool else "", ""]
        ours_q = queries.get("queries", {})
        # the baseline's latencies: rdflib over an N-Quads export of our store (same triples,
        # derived facts included), measured whether or not the baseline's own rules finished
        base_q = res.get("baseline_queries", {}).get("queries") or base.get("queries", {})
        if ours_q:
            triples = ours.get("triples", 0)
            lines += [
                f"Named queries on {triples:,} triples:",
                "",
                "| query | ours p50 ms | ours p95 ms | baseline p50 ms | ours vs baseline | p50 <= 50 ms |",
                "|---|---:|---:|---:|---:|---|",
            ]
            for name, times in ours_q.items():
                p50, p95 = statistics.median(times), _pct(times, 0.95)
                b = base_q.get(name)
                if isinstance(b, list):
                    b50 = statistics.median(b)
                    btext, ratio = f"{b50 * 1000:.1f}", _ratio(p50, b50)
                elif isinstance(b, str) and b.startswith("did not finish"):
                    btext, ratio = b, f"> {_least_ratio(b, p50)}"
                elif isinstance(b, str):
                    btext, ratio = b, "-"
                elif res.get("baseline_queries_projection"):
                    btext, ratio = "not run (see below)", "-"
                else:
                    btext, ratio = "not reached (time limit of the baseline's query step)", "-"
                verdict = (
                    "met" if p50 <= TARGET_QUERY_S else f"missed ({p50 / TARGET_QUERY_S:.1f}x over)"
                )
                lines.append(
                    f"| {name} | {p50 * 1000:.1f} | {p95 * 1000:.1f} | {btext} | {ratio} | {verdict} |"
                )
            lines.append("")
        lines += _queries_stopped(res, ours_q) + _baseline_queries_skipped(res, previous)
        previous = res
    return lines


def _queries_stopped(res: dict[str, Any], measured: dict[str, Any]) -> list[str]:
    """What the run's deadline left out of a query step it stopped."""
    from scale import bench_cases  # type: ignore[import-not-found]

    if measured:
        missing = [label for label, _n, _v in bench_cases() if label not in measured]
        if not missing:
            return []
        return [
            f"The run's deadline stopped the query step before {len(missing)} of "
            f"{len(missing) + len(measured)} queries: {', '.join(missing)}.",
            "",
        ]
    if res.get("ours_queries_status") == "timeout":
        return ["The run's deadline stopped the query step before its first query.", ""]
    return []


def _ours_peak(ours: dict[str, Any]) -> str:
    if ours.get("peak_mb"):
        return _fmt(ours["peak_mb"], digits=0)
    if ours.get("progress_peak_mb"):  # a load cut short: its peak so far
        return f"{ours['progress_peak_mb']:,.0f} (when cut short)"
    return "-"


def _projected_mb(res: dict[str, Any]) -> str:
    peak = res.get("baseline_projection", {}).get("peak_mb")
    return f"not run (~{peak:,.0f} projected)" if peak else "-"


def _least_ratio(text: str, ours: float) -> str:
    """The least speed-up a baseline run that hit its limit implies."""
    limit = float(text.split()[4])
    return f"{limit / ours:,.0f}x"
