"""Scale benchmarks: generated records at 1k, 10k and 100k projects, ours against a baseline.

Ours: ``GraphStore.load`` into an on-disk Oxigraph store (parse, map, incremental SHACL,
derived facts), as ``cipd load`` runs it: at 1k projects and more (``CIPD_BULK_FILES``
files or more) that is the staged load, chunk by chunk into a copy swapped in at the end; named queries through ``run_query``, the API under
uvicorn. The naive baseline, on the same generated files in the same run: the same
parser and mapper into one rdflib in-memory graph, pyshacl over the whole graph, the
derivation rules and the named queries with rdflib's SPARQL engine, and the same query
served over HTTP from that graph.

Each heavy step runs in a child process with a time limit (so a step that cannot finish
is reported as "did not finish in N s", with an extrapolation, and the run goes on), and
its peak memory is the child's maximum resident set size.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from threading import Thread
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PARAMS = {
    "project": "synthetic-000000",
    "team": "synthetic-000000-team",
    "organisation": "provider-0000",
    "module": "module-00000",
    "programme": "programme-00000",
}
WHOLE_STORE = " (whole store)"
QUERY_RUNS = 20
QUERY_BUDGET_S = 5.0  # per query: fewer runs than QUERY_RUNS (at least one) past 5 s in all
BASELINE_QUERY_LIMIT = 10.0  # seconds per baseline query run
RULE_LIMIT = 60.0  # seconds per baseline rule
BASELINE_QUERIES_LIMIT = 1200.0  # seconds for the baseline's export, parse and queries
#: Seconds before the deadline at which a load started early is stopped, so that the baseline
#: queries waiting for it (about a minute at 10,000 projects) and their HTTP figure still run.
EARLY_LOAD_RESERVE_S = 120.0
API_QUERY = "cq01-project-strands"
SEED = 42


def _settings() -> Any:
    from cipd_graph import Settings

    return Settings(pseudonym_key="bench-key-0123456789", user="bench")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _children_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# --------------------------------------------------------------------------- child steps


def bench_cases() -> list[tuple[str, str, dict[str, str]]]:
    """(row label, query name, parameter values) for every measured named query.

    Each query gets its required parameters and its optional scoping ones (cq10 for one
    project: what the API and CLI are asked for most); a query with optional parameters is
    measured unscoped as well, as "<name> (whole store)", since that answer reads everything.
    """
    from cipd_graph._queries import named_queries

    cases = []
    for name, query in named_queries().items():
        cases.append((name, name, {p.name: PARAMS[p.name] for p in query.parameters}))
        if any(not p.required for p in query.parameters):
            required = {p.name: PARAMS[p.name] for p in query.parameters if p.required}
            cases.append((name + WHOLE_STORE, name, required))
    return cases


def _emit(out: Path, **values: Any) -> None:
    """Merge ``values`` into the JSON file ``out`` (children report progressively)."""
    data = _read(out)
    data.update(values)
    partial = out.with_suffix(".partial")
    partial.write_text(json.dumps(data))
    partial.replace(out)  # atomic: the parent never reads half a file


def _read(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}


def generate_records(records: Path, projects: int, out: Path) -> None:
    """Child: the records of one size (run while the size before builds its baseline graph)."""
    from cipd_graph._generate import generate

    start = time.perf_counter()
    generate(records, projects=projects, seed=SEED)
    _emit(out, generate_s=time.perf_counter() - start, projects=projects)


def ours_load(records: Path, store_dir: Path, out: Path) -> None:
    """Child: load every generated file into a fresh on-disk store."""
    from cipd_graph.graph import GraphStore

    store = GraphStore(store_dir, _settings())
    staged = store.pipeline.stages(
        [records]
    )  # what `cipd load` does by default for this many files
    start = time.perf_counter()

    def progress(message: str) -> None:
        # "staged chunk 12/401: 250 file(s)": how far a load cut short by the deadline got
        if message.startswith("validated "):  # every chunk staged and written: compacting
            _emit(out, written_s=time.perf_counter() - start)
        if message.startswith("compacted the staged store"):  # deriving
            _emit(out, deriving_s=time.perf_counter() - start)
        if message.startswith("derived the facts"):  # swapping the staged store in
            _emit(out, derived_s=time.perf_counter() - start)
        if message.startswith("staged chunk "):
            done, total = message.split()[2].rstrip(":").split("/")
            _emit(
                out,
                chunks_done=int(done),
                chunks=int(total),
                chunk_files=store.settings.bulk_chunk,
                progress_s=time.perf_counter() - start,
                progress_peak_mb=_rss_mb() + _children_rss_mb(),
            )

    result = store.load([records], progress=progress)
    seconds = time.perf_counter() - start
    if not result.ok:
        raise SystemExit("the generated records did not load:\n" + result.to_text()[:4000])
    triples = len(store.oxigraph)
    workers = store.settings.load_workers if staged else 1
    store.close()
    _emit(
        out,
        seconds=seconds,
        triples=triples,
        errors=len(result.report.errors),
        staged=staged,
        workers=workers,
        # the loading process plus its largest worker (they run at the same time)
        peak_mb=_rss_mb() + _children_rss_mb(),
    )


def ours_queries(records: Path, store_dir: Path, out: Path) -> None:
    """Child: a 100-record batch validated against the store, then the named query latencies.

    The batch comes first and each query's times are written as soon as they are measured,
    so a step the run's deadline stops (at 100,000 projects) still reports what it measured.
    """
    from cipd_graph._queries import run_query
    from cipd_graph.graph import GraphStore

    store = GraphStore(store_dir, _settings())
    batch = sorted((records / "projects").glob("*.yaml"))[:100]
    start = time.perf_counter()
    result = store.validate(batch)
    seconds = time.perf_counter() - start
    # The first check of a process also loads the shapes and the model; a server's later
    # checks do not. The median of three more shows both.
    again = []
    for _ in range(3):
        start = time.perf_counter()
        store.validate(batch)
        again.append(time.perf_counter() - start)
    peak = _rss_mb()
    _emit(
        out,
        batch_seconds=seconds,
        batch_warm_seconds=statistics.median(again),
        batch_ok=result.ok,
        peak_mb=peak,
    )
    latencies: dict[str, list[float]] = {}
    for label, name, values in bench_cases():
        times: list[float] = []
        # QUERY_RUNS runs, or as many as fit in QUERY_BUDGET_S (at least one)
        while len(times) < QUERY_RUNS and (not times or sum(times) < QUERY_BUDGET_S):
            start = time.perf_counter()
            run_query(store, name, values)
            times.append(time.perf_counter() - start)
        latencies[label] = times
        peak = max(peak, _rss_mb())
        _emit(out, queries=latencies, peak_mb=peak)
    store.close()


def _alarm(seconds: float) -> None:
    def handler(signum: int, frame: object) -> None:
        raise TimeoutError

    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)


def baseline(records: Path, out: Path) -> None:
    """Child: the naive baseline's load: build, whole-graph pyshacl, rules; reports as it goes."""
    import pyshacl
    from rdflib import Dataset, Graph, URIRef

    from cipd_graph.derive.rules import rules
    from cipd_graph.graph import GraphStore
    from cipd_graph.validation.report import _schema_triples, shapes_graph

    store = GraphStore(None, _settings())  # only for its parser and mapper
    start = time.perf_counter()
    mapped, _problems = store.pipeline.parse_and_map([records])
    parse_map = time.perf_counter() - start
    dataset = Dataset(default_union=True)
    for m in mapped:
        graph = dataset.graph(URIRef(store.batch_graph(m.source.path)))
        graph += m.graph
    whole = Graph()
    for m in mapped:
        whole += m.graph
    for triple in _schema_triples():
        whole.add(triple)  # type: ignore[arg-type]
    build = time.perf_counter() - start
    _emit(out, parse_map=parse_map, build=build, peak_mb=_rss_mb())
    start = time.perf_counter()
    conforms, _results, _text = pyshacl.validate(
        whole,
        shacl_graph=shapes_graph(),
        inference="none",
        abort_on_first=False,
        allow_warnings=True,
        advanced=True,
    )
    validate = time.perf_counter() - start
    _emit(out, validate=validate, conforms=bool(conforms), peak_mb=_rss_mb())
    start = time.perf_counter()
    inferred = dataset.graph(URIRef(store.inferred_graph))
    unfinished = []
    for rule in rules():
        try:
            _alarm(RULE_LIMIT)
            derived = list(whole.query(single_graph(rule.construct)))
            signal.setitimer(signal.ITIMER_REAL, 0)
        except TimeoutError:
            unfinished.append(rule.name)
            continue
        for triple in derived:
            inferred.add(triple)  # type: ignore[arg-type]
            whole.add(triple)  # type: ignore[arg-type]  # later rules read earlier ones' facts
    derive = time.perf_counter() - start
    triples = len(dataset)
    _emit(out, derive=derive, triples=triples, seconds=build + validate + derive)
    _emit(out, peak_mb=_rss_mb(), rules_unfinished=unfinished)
    _emit(out, done=True)


def single_graph(query: str) -> str:
    """A rule over one graph, as the naive baseline keeps its data: each ``GRAPH ?g { P }``
    becomes ``P .`` in the enclosing group (kept as separate groups, rdflib joins them by
    nested loops and the baseline's rules did not finish at 1,000 projects).

    >>> single_graph("SELECT * WHERE { GRAPH ?g { ?s ?p ?o } GRAPH ?h { ?o ?q ?r } }")
    'SELECT * WHERE {  ?s ?p ?o .  ?o ?q ?r . }'
    """
    from cipd_graph.derive.rules import _matching_brace

    out = query
    while match := re.search(r"GRAPH\s+\?\w+\s*\{", out):
        end = _matching_brace(out, match.end() - 1)
        inner = out[match.end() : end].rstrip()
        out = out[: match.start()] + inner + ("" if inner.endswith(".") else " .") + out[end + 1 :]
    return out


def baseline_queries(store_dir: Path, out: Path, port: int, go: Path | None = None) -> None:
    """Child: the named queries with rdflib's SPARQL engine on the same triples as our store.

    Independent of whether the baseline's own rule step finished: our store (records, names,
    provenance, ontology and derived facts) is exported as N-Quads and parsed into one rdflib
    Dataset whose default graph is the union, as ours. Each run has a time limit. Then the
    named-query route is served from that graph for the HTTP figure.

    With ``go``, the queries wait until that file exists: the parent generates the next
    size's records while this builds its graph, and says go when it is done, so nothing
    else runs while the queries are timed.
    """
    import pyoxigraph as ox
    from rdflib import Dataset, URIRef

    from cipd_graph._rdf import rdflib_terms

    _patch_rdflib_distinct_aggregates()
    start = time.perf_counter()
    oxi = ox.Store.read_only(str(store_dir / "oxigraph"))
    dataset = Dataset(default_union=True)
    # Our quads handed to rdflib as terms, each converted once: a third faster than parsing an
    # N-Quads dump with rdflib (the baseline's query figures do not include this step).
    term = rdflib_terms()
    graphs: dict[Any, Any] = {}

    def graph(node: Any) -> Any:
        found = graphs.get(node)
        if found is None:
            found = graphs[node] = dataset.graph(URIRef(node.value))
        return found

    dataset.addN(
        (term(q.subject), term(q.predicate), term(q.object), graph(q.graph_name)) for q in oxi
    )
    del oxi, term
    _emit(out, build=time.perf_counter() - start, triples=len(dataset), peak_mb=_rss_mb())
    waited = time.perf_counter()
    while go is not None and not go.exists():
        time.sleep(0.2)
    _emit(out, waited_s=time.perf_counter() - waited)
    base = _settings().base_iri
    latencies: dict[str, list[float] | str] = {}
    for label, name, values in bench_cases():
        text = _rdflib_query(name, values, base)
        times: list[float] = []
        try:
            for _ in range(3):
                _alarm(BASELINE_QUERY_LIMIT)
                t0 = time.perf_counter()
                list(dataset.query(text))
                times.append(time.perf_counter() - t0)
                signal.setitimer(signal.ITIMER_REAL, 0)
                if times[-1] > 1:  # one slow run says enough
                    break
            latencies[label] = times
        except TimeoutError:
            latencies[label] = f"did not finish in {BASELINE_QUERY_LIMIT:.0f} s"
        except Exception as exc:
            signal.setitimer(signal.ITIMER_REAL, 0)
            latencies[label] = f"failed: {type(exc).__name__}"
        _emit(out, queries=latencies, peak_mb=_rss_mb())
    _serve_baseline(dataset, base, port, out)


def _patch_rdflib_distinct_aggregates() -> None:
    """Let rdflib's DISTINCT aggregates skip unbound values, as SPARQL says they should.

    rdflib 7.6 checks DISTINCT with ``_eval`` of the bare variable, which raises NotBoundError
    when an OPTIONAL left it unbound (cq03's activities without professions, cq07's teams
    without members), so the whole query fails instead of skipping the value.
    """
    from rdflib.plugins.sparql import aggregates
    from rdflib.plugins.sparql.sparql import NotBoundError

    def use_row(self: Any, row: Any) -> bool:
        try:
            return aggregates._eval(self.expr, row) not in self.seen  # type: ignore[attr-defined]
        except NotBoundError:
            return False  # an unbound value adds nothing to an aggregate

    aggregates.Accumulator.use_row = use_row  # type: ignore[method-assign]


def _rdflib_query(name: str, values: dict[str, str], base: str) -> str:
    """The named query as rdflib runs it: the same text and VALUES block as ours."""
    from cipd_graph._queries import named_queries

    return named_queries()[name].bound(values, base)


def _serve_baseline(dataset: Any, base: str, port: int, out: Path) -> None:
    """The named query route answered by rdflib over the same data (for the HTTP load test)."""
    import uvicorn
    from fastapi import FastAPI

    from cipd_graph._queries import named_queries

    app = FastAPI()
    query = named_queries()[API_QUERY]

    @app.get(f"/queries/{API_QUERY}")
    def run(project: str) -> dict[str, Any]:
        text = query.bound({"project": project}, base)
        rows = [{str(k): str(v) for k, v in row.asdict().items()} for row in dataset.query(text)]
        return {"rows": rows}

    _emit(out, serving=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


# --------------------------------------------------------------------------- parent


def run_child(args: list[str], limit: float) -> tuple[str, float, float]:
    """Run ``bench/scale.py args`` with a time limit: (status, seconds, peak MB of the child)."""
    start = time.perf_counter()
    proc = subprocess.Popen(  # noqa: S603 - our own script
        [sys.executable, __file__, *args], cwd=ROOT, start_new_session=True
    )
    try:
        status = "ok" if proc.wait(timeout=max(1.0, limit)) == 0 else "failed"
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        status = "timeout"
    return status, time.perf_counter() - start, 0.0


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, limit: float) -> bool:
    import httpx

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=30).status_code < 500:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


def http_load(url: str, seconds: int = 10, connections: int = 16) -> dict[str, Any]:
    """Requests/s and latency under ``wrk`` (or a Python asyncio client when wrk is missing)."""
    wrk = shutil.which("wrk")
    if wrk:
        done = subprocess.run(  # noqa: S603 - wrk on a loopback URL we built
            [wrk, "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
            capture_output=True,
            text=True,
            check=False,
        )
        text = done.stdout
        rps = next(
            (
                float(line.split()[1])
                for line in text.splitlines()
                if line.startswith("Requests/sec")
            ),
            0.0,
        )
        p50 = next(
            (line.split()[1] for line in text.splitlines() if line.strip().startswith("50%")), "?"
        )
        errors = "Non-2xx" in text or "Socket errors" in text
        return {
            "tool": f"wrk -t2 -c{connections} -d{seconds}s",
            "rps": rps,
            "p50": p50,
            "errors": errors,
        }
    return _python_load(url, seconds, connections)


def _python_load(url: str, seconds: int, connections: int) -> dict[str, Any]:
    import asyncio

    import httpx

    async def main() -> dict[str, Any]:
        latencies: list[float] = []
        failures = 0
        stop = time.perf_counter() + seconds

        async def worker(client: httpx.AsyncClient) -> None:
            nonlocal failures
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                response = await client.get(url)
                latencies.append(time.perf_counter() - t0)
                failures += response.status_code != 200

        async with httpx.AsyncClient(timeout=60) as client:
            await asyncio.gather(*(worker(client) for _ in range(connections)))
        return {
            "tool": f"python httpx asyncio, {connections} connections, {seconds}s",
            "rps": len(latencies) / seconds,
            "p50": f"{statistics.median(latencies) * 1000:.1f}ms" if latencies else "?",
            "errors": failures > 0,
        }

    return asyncio.run(main())


def serve_ours(store_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIPD_")}
    env.update(
        CIPD_STORE=str(store_dir),
        CIPD_PSEUDONYM_KEY="bench-key-0123456789",
        CIPD_PORT=str(port),
        CIPD_HOST="127.0.0.1",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "cipd_graph", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _peak_children_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _memory_mb() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20


def baseline_projection(
    projects: int, previous: dict[str, Any] | None, limit: float
) -> dict[str, Any] | None:
    """Why the baseline's load is not run at ``projects``, projected linearly from the
    ``previous`` size (its time and peak memory grow at least linearly with the triples);
    None when it should run."""
    if previous is None or "baseline" not in previous:
        return None
    done = previous["baseline"]
    factor = projects / previous["projects"]
    earlier = previous.get("baseline_projection") or {}
    if "seconds" in earlier:  # not run at the previous size either: carry its projection on
        done = {k: earlier[k] for k in ("seconds", "peak_mb", "validate")}
    if "seconds" not in done:
        return {
            "from": previous["projects"],
            "reason": f"did not finish at {previous['projects']:,} projects",
        }
    seconds, peak_mb = done["seconds"] * factor, done.get("peak_mb", 0) * factor
    if seconds <= limit and peak_mb <= 0.75 * _memory_mb():
        return None
    return {
        "from": previous["projects"],
        "seconds": seconds,
        "peak_mb": peak_mb,
        "validate": done.get("validate", 0) * factor,
        "reason": f"projected ~{seconds / 60:.0f} min (limit {limit:.0f} s) and ~{peak_mb / 1024:.0f} GB "
        f"of memory (this machine: {_memory_mb() / 1024:.0f} GB)",
    }


def _meanwhile(
    ahead: tuple[int, Path] | None,
    side: Sequence[Sequence[str]],
    *,
    load_until: float | None = None,
) -> Thread | None:
    """Start, one after another, generating the next size's records, the ``side`` steps and,
    with ``load_until`` (a monotonic time), our load of those records (see
    :func:`measure_size`); None when there is nothing to run."""
    commands: list[list[str]] = []
    if ahead is not None:
        projects, work = ahead
        work.mkdir(parents=True, exist_ok=True)
        commands.append(
            [
                *(sys.executable, __file__, "generate"),
                *(str(work / "records"), str(projects), str(work / "generated.json")),
            ]
        )
    commands += [[sys.executable, *command] for command in side]
    if not commands:
        return None

    def run() -> None:
        for command in commands:
            subprocess.run(command, cwd=ROOT, check=False)  # noqa: S603 - our own scripts
        if ahead is not None and load_until is not None:
            _load_early(*ahead, load_until)

    thread = Thread(target=run, daemon=True)
    thread.start()
    return thread


def _load_early(projects: int, work: Path, until: float) -> None:
    """Our load of the records generated ahead into ``work``, stopped at ``until``; what
    :func:`measure_size` would run first for that size, recorded in ``loaded.json``."""
    if _read(work / "generated.json").get("projects") != projects:
        return  # the generation failed: the size generates and loads as usual
    started = time.monotonic()
    status, seconds, _ = run_child(
        ["ours-load", str(work / "records"), str(work / "store"), str(work / "ours.json")],
        until - started,
    )
    _emit(work / "loaded.json", projects=projects, status=status, wall=seconds, started=started)


def measure_size(  # noqa: PLR0912, PLR0915 - one size, step by step
    projects: int,
    work: Path,
    deadline: float,
    baseline_limit: float,
    previous: dict[str, Any] | None = None,
    *,
    ahead: tuple[int, Path] | None = None,
    side: Sequence[Sequence[str]] = (),
    load_ahead: bool = False,
) -> dict[str, Any]:
    """Everything for one size; each step is bounded by ``deadline`` (a monotonic time).

    A baseline step that the ``previous`` size shows cannot finish within its limit (or
    fit in memory) is not run; its projection is reported instead.

    ``ahead`` (the next size and its work directory): its records are generated while
    this size's baseline builds its graph for the queries, a step that is not timed and
    leaves a core free; then the ``side`` steps (arguments to Python) run there too. The
    baseline's queries wait until they are all done. Records already generated that way
    (``generated.json`` beside them) are used as they are.

    With ``load_ahead`` as well, our load of the next size follows there, and this size's
    baseline queries wait for it too: it starts while the baseline builds its graph (sharing
    the machine with that build for a while, which can only slow it), and nothing else
    runs while it goes on. It is stopped in time for those queries (``EARLY_LOAD_RESERVE_S``
    before the deadline). The next size then takes its result (``loaded.json``) instead of
    loading again."""
    res: dict[str, Any] = {"projects": projects}
    records, store_dir, generated = work / "records", work / "store", work / "generated.json"
    early = _read(generated)
    res["generated_early"] = early.get("projects") == projects and "generate_s" in early
    if not res["generated_early"]:
        shutil.rmtree(records, ignore_errors=True)  # a generation cut short
        generate_records(records, projects, generated)
    res["generate_s"] = _read(generated)["generate_s"]

    def left() -> float:
        return deadline - time.monotonic()

    # --- ours: load + validate (or its result, when the size before started it early)
    out = work / "ours.json"
    loaded = _read(work / "loaded.json")
    if loaded.get("projects") == projects:
        status, seconds = loaded["status"], loaded["wall"]
        built = (previous or {}).get("baseline_built_at")
        res["loaded_early"] = {
            # how long it shared the machine with the size before's untimed build
            "overlap_s": max(0.0, built - loaded["started"]) if built else 0.0,
        }
    else:
        status, seconds, _ = run_child(
            ["ours-load", str(records), str(store_dir), str(out)], left()
        )
    res["ours_status"], res["ours_wall"] = status, seconds
    ours = _read(out)
    res["ours"] = ours
    if status == "ok":
        res["store_bytes"] = _dir_size(store_dir)
        qout = work / "ours-queries.json"
        status, _s, _ = run_child(["ours-queries", str(records), str(store_dir), str(qout)], left())
        res["ours_queries_status"] = status
        res["ours_queries"] = _read(qout)
        if left() > 30:  # starting the server and 10 s of load take about 15 s
            port = _free_port()
            server = serve_ours(store_dir, port)
            url = f"http://127.0.0.1:{port}/queries/{API_QUERY}?project={PARAMS['project']}"
            try:
                if _wait_http(url, 120):
                    res["ours_api"] = http_load(url)
            finally:
                _stop(server)

    # --- baseline: build + whole-graph pyshacl + rules (bounded by baseline_limit)
    bout = work / "baseline.json"
    limit = min(baseline_limit, left())
    res["baseline_limit"] = limit
    projection = baseline_projection(projects, previous, baseline_limit)
    if projection is not None:
        res["baseline_status"], res["baseline_projection"] = "projected", projection
        res["baseline"] = {}
    else:
        status, seconds, _ = run_child(["baseline", str(records), str(bout)], limit)
        res["baseline_status"], res["baseline_wall"] = status, seconds
        res["baseline"] = _read(bout)

    # --- baseline queries and HTTP: rdflib over our store's triples, whatever happened above
    queries_projection = None
    if previous and previous.get("baseline_queries_wall"):
        # parsing the export and the queries grow at least linearly with the triples
        wall = previous["baseline_queries_wall"] * projects / previous["projects"]
        if wall > BASELINE_QUERIES_LIMIT or wall > left():
            budget = (
                f"limit {min(BASELINE_QUERIES_LIMIT, left()):.0f} s"
                if left() > 0
                else "the run's deadline had passed"
            )
            queries_projection = {
                "from": previous["projects"],
                "seconds": wall,
                "reason": f"projected ~{wall / 60:.0f} min from {previous['projects']:,} projects "
                f"({budget})",
            }
            res["baseline_queries_projection"] = queries_projection
    if res.get("ours_queries_status") == "ok" and left() > 60 and queries_projection is None:
        qout, go = work / "baseline-queries.json", work / "baseline-queries.go"
        port = _free_port()
        qlimit = min(BASELINE_QUERIES_LIMIT, left())
        start = time.perf_counter()
        proc = subprocess.Popen(  # noqa: S603 - our own script
            [
                *(sys.executable, __file__, "baseline-queries"),
                *(str(store_dir), str(qout), str(port), str(go)),
            ],
            cwd=ROOT,
            start_new_session=True,
        )
        until = deadline - EARLY_LOAD_RESERVE_S if load_ahead else None
        meanwhile = _meanwhile(ahead, side, load_until=until)
        went: float | None = None
        if meanwhile is None:
            go.touch()
            went = time.perf_counter()
        built: float | None = None  # when the child had built its graph
        status = "timeout"
        while left() > 0:
            now = time.perf_counter()
            if meanwhile is not None and not meanwhile.is_alive():
                meanwhile = None
                go.touch()
                went = now
            state = _read(qout)
            if built is None and "build" in state:
                built = now
                res["baseline_built_at"] = time.monotonic()
            if proc.poll() is not None:
                status = "failed"
                break
            if state.get("serving"):
                status = "ok"
                break
            # the limit is for the child's own work: the time it waited for "go" is not counted
            waiting = max(0.0, (went or now) - built) if built is not None else 0.0
            if now - start - waiting > qlimit:
                break
            time.sleep(0.5)
        if meanwhile is not None:  # the queries never started: let the steps beside them finish
            meanwhile.join()
        res["baseline_queries_status"] = status
        if status == "ok":  # the time it takes on its own, for projecting the next size
            waited = _read(qout).get("waited_s", 0.0)
            res["baseline_queries_wall"] = time.perf_counter() - start - waited
        if status == "ok" and left() > 30:
            url = f"http://127.0.0.1:{port}/queries/{API_QUERY}?project={PARAMS['project']}"
            if _wait_http(url, 60):
                res["baseline_api"] = http_load(url)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        res["baseline_queries"] = _read(qout)
    res["children_peak_mb"] = _peak_children_mb()
    return res


def main() -> None:
    command, *args = sys.argv[1:]
    if command == "ours-load":
        ours_load(Path(args[0]), Path(args[1]), Path(args[2]))
    elif command == "ours-queries":
        ours_queries(Path(args[0]), Path(args[1]), Path(args[2]))
    elif command == "baseline":
        baseline(Path(args[0]), Path(args[1]))
    elif command == "baseline-queries":
        go = Path(args[3]) if len(args) > 3 else None
        baseline_queries(Path(args[0]), Path(args[1]), int(args[2]), go)
    elif command == "generate":
        generate_records(Path(args[0]), int(args[1]), Path(args[2]))
    else:
        raise SystemExit(f"unknown step {command}")


if __name__ == "__main__":
    main()
