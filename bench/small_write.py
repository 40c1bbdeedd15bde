"""Small writes into large stores (issue 20's targets), ours beside today's code, same run.

    .venv/bin/python bench/small_write.py --sizes 1000,10000,100000

For each size N (projects), for ours and for the baseline (the code before issue 20, at
``--baseline``, with its own ``.venv``; run only up to ``--baseline-max`` projects and
projected beyond): generate N + 112 projects with that code's own ``cipd generate`` (the
two record formats differ), hold 112 back, then

1. ``cipd load`` the N projects (wall time, triples/s) and compare with pyoxigraph's own
   ``Store.bulk_load`` of the same quads (the loaded store dumped as N-Quads, loaded into a
   fresh store, in the same run);
2. serve the store (``cipd serve``, uvicorn, a child in its own process group) and time,
   end to end over HTTP, uploads of one new project each (``POST /records``) and changes of
   one module mapping each (ours: ``PATCH /modules/{id}/mappings/{element}``; the baseline
   has only ``PUT /modules/{id}/mappings`` with the module's whole list), each a different
   project / mapping; the first of each kind warms the server up and is reported apart;
3. the first page (50 rows) of every named query through ``run_query`` (the baseline's are
   not paged: its whole answer), with parameters taken from the store;
4. ``cipd load`` of a directory of 100 held-back projects into the loaded store;
5. (ours, at the size nearest 10,000) profiles: one one-project load in process into the
   store, and a 5,000-project staged load (the loading process, and its worker processes
   by stage).

Results go to ``--json`` (default bench/small_write.json) and, as the section
"## Small writes into large stores (issue 20)", into bench/results.md. ``make bench`` runs
this too (bench/run.py, ``BENCH_SMALL_WRITE_SIZES``).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import csv
import io
import json
import math
import os
import pstats
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve()
RESULTS_MD = HERE.with_name("results.md")
HEADING = "## Small writes into large stores (issue 20)"
KEY = "bench-key-0123456789"
TOKEN = "bench-token-0123456789"  # noqa: S105 - a throwaway server's, on loopback
SEED = 0
UPLOADS = 22  # held back for uploads: half timed with the store out of the page cache, half in
BATCH = 100  # held back for the 100-file load, and as many again for its profile
SPARE = 3  # held back: the profile's warm-up load and profiled load; the batch's warm-up
PROFILE_PROJECTS = int(os.environ.get("BENCH_PROFILE_PROJECTS", "5000"))
PAGE = 50
QUERY_BUDGET_S = 5.0
#: Candidate parameter values (generated ids); each is checked against the store.
PARAMS = {
    "project": "synthetic-000000",
    "team": "synthetic-000000-team",
    "organisation": "provider-0000",
    "module": "module-00000",
    "programme": "programme-00000",
}
TARGETS = {
    "write_p50_s": 1.0,
    "write_growth": 1.5,
    "batch_s": 3.0,
    "load_tps": 100_000,
    "bulk_ratio": 1.5,
    "query_p50_s": 0.050,
}


# ----------------------------------------------------------------------------- helpers


def _env(store: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIPD_")}
    env.update(CIPD_STORE=str(store), CIPD_PSEUDONYM_KEY=KEY, CIPD_USER="bench", **extra)
    return env


class Children:
    """Every child process this run starts, each in its own process group, stopped on exit."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            proc = subprocess.Popen(  # noqa: S603 - our own tools
                args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.procs.append(proc)
        return proc

    def run(self, args: list[str], env: dict[str, str], log: Path, limit: float = 7200) -> float:
        """Run to the end: wall seconds (raises if it fails)."""
        start = time.perf_counter()
        proc = self.start(args, env, log)
        try:
            code = proc.wait(timeout=limit)
        finally:
            self.stop(proc)
        if code != 0:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{' '.join(args[:4])}... exited {code}:\n{tail}")
        return time.perf_counter() - start

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        with contextlib.suppress(ProcessLookupError):  # workers left in its group
            os.killpg(proc.pid, signal.SIGKILL)
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in list(self.procs):
            self.stop(proc)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pcts(values: list[float]) -> dict[str, Any]:
    """p50 and p95 (inclusive quantiles) of ``values``."""
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    p95 = (
        ordered[-1]
        if len(ordered) < 2
        else statistics.quantiles(ordered, n=20, method="inclusive")[18]
    )
    return {"n": len(values), "p50": statistics.median(ordered), "p95": p95, "all": values}


@contextlib.contextmanager
def serving(children: Children, cipd: Path, store: Path, log: Path) -> Iterator[str]:
    import httpx

    port = _free_port()
    env = _env(store, CIPD_API_TOKEN=TOKEN, CIPD_PORT=str(port), CIPD_HOST="127.0.0.1")
    proc = children.start([str(cipd), "serve"], env, log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    "the server stopped:\n" + log.read_text(errors="replace")[-3000:]
                )
            try:
                if httpx.get(url + "/health", timeout=30).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not answer in 600 s")
            time.sleep(0.5)
        yield url
    finally:
        children.stop(proc)


# ----------------------------------------------------------------------------- HTTP writes


def mapping_changes(reference: Path, count: int) -> list[tuple[str, list[dict[str, str]], int]]:
    """``count`` changes of one mapping each, in different modules: (module, its mappings
    as mappings.csv gives them, the index of the one whose strength changes)."""
    by_module: dict[str, list[dict[str, str]]] = {}
    with (reference / "mappings.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            by_module.setdefault(row["module"], []).append(row)
    return [(module, rows, 0) for module, rows in list(by_module.items())[:count]]


def _other(strength: str) -> str:
    return {"strong": "weak", "weak": "moderate", "moderate": "strong"}.get(strength, "weak")


def page_cache(folder: Path, *, keep: bool) -> float:
    """Read every file under ``folder`` through the OS page cache (``keep``), or take its
    pages out of it (``posix_fadvise`` DONTNEED, which needs no privilege); the seconds it took.

    A store is timed both ways: right after a load it is out of the cache (at 100,000 projects
    the bench's ``bulk_load`` comparison wrote 20 GB in between), and on a server that has run
    a while, the parts it reads are in it."""
    t0 = time.perf_counter()
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        with path.open("rb") as handle:
            if keep:
                while handle.read(1 << 24):
                    pass
            else:
                os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    return time.perf_counter() - t0


def http_writes(
    url: str, impl: str, uploads: list[Path], changes: list[Any], *, runs: int, budget: float
) -> dict[str, Any]:
    """Time uploads and mapping changes end to end (request sent to answer read)."""
    import httpx

    auth = {"Authorization": f"Bearer {TOKEN}"}
    out: dict[str, Any] = {}
    with httpx.Client(base_url=url, timeout=3600, headers=auth) as http:

        def upload(path: Path) -> None:
            files = [("files", (path.name, path.read_bytes(), "application/x-yaml"))]
            answer = http.post("/records", files=files)
            if answer.status_code != 200 or not answer.json().get("ok"):
                raise RuntimeError(
                    f"upload of {path.name}: {answer.status_code} {answer.text[:2000]}"
                )

        def change(item: tuple[str, list[dict[str, str]], int]) -> None:
            module, rows, i = item
            row = rows[i]
            new = _other(row["strength"])
            if impl == "ours":
                answer = http.patch(
                    f"/modules/{module}/mappings/{row['element']}",
                    json={"strength": new, "mapped_by": row["mapped_by"]},
                )
            else:  # the baseline replaces the module's whole list
                body = [
                    {k: r[k] for k in ("element", "strength", "justification", "mapped_by")}
                    for r in rows
                ]
                body[i]["strength"] = new
                answer = http.put(f"/modules/{module}/mappings", json=body)
            if answer.status_code >= 300:
                raise RuntimeError(
                    f"mapping change of {module}: {answer.status_code} {answer.text[:2000]}"
                )

        for kind, work, items in (("upload", upload, uploads), ("edit", change, changes)):
            times: list[float] = []
            first = None
            started = time.perf_counter()
            for n, item in enumerate(items[: runs + 1]):
                t0 = time.perf_counter()
                work(item)  # type: ignore[operator]
                seconds = time.perf_counter() - t0
                if n == 0:
                    first = seconds
                else:
                    times.append(seconds)
                # at least 3 timed runs; fewer than ``runs`` when they take long
                if len(times) >= 3 and time.perf_counter() - started > budget:
                    break
            out[kind] = {"first": first, **pcts(times)}
            print(f"    {impl} {kind}: first {first:.2f} s, {_fmt_pcts(out[kind])}", flush=True)
    return out


def _fmt_pcts(p: dict[str, Any]) -> str:
    if not p.get("n"):
        return "-"
    return f"p50 {p['p50']:.3f} s, p95 {p['p95']:.3f} s (n={p['n']})"


# ----------------------------------------------------------------------------- children
# Run with either code's Python: they import only what both versions of cipd_graph share.


def child_queries(store_dir: str, out: str, paged: str) -> None:
    """The named queries: first page of 50 (ours) or the whole answer (the baseline)."""
    from cipd_graph import GraphStore, Settings
    from cipd_graph._queries import named_queries, run_query

    store = GraphStore(Path(store_dir), Settings.from_env())
    base = store.base
    values: dict[str, str] = {}
    for name, generated in PARAMS.items():
        prefix = name + "/"
        candidate = generated
        if not bool(store.query(f"ASK {{ <{base}{prefix}{candidate}> ?p ?o }}")):
            rows = list(
                store.query(
                    f"SELECT ?s WHERE {{ ?s ?p ?o FILTER(STRSTARTS(STR(?s), '{base}{prefix}')) }} LIMIT 1"
                )
            )
            candidate = (
                rows[0]["s"].value[len(base + prefix) :].split("/")[0] if rows else candidate
            )
        values[name] = candidate
    triples = store.stats()["triples"]
    results: dict[str, Any] = {"triples": triples, "params": values, "queries": {}}
    kwargs = {"page_size": PAGE} if paged == "paged" else {}
    for qname, query in named_queries().items():
        cases = [(qname, {p.name: values[p.name] for p in query.parameters if p.required})]
        if any(not p.required for p in query.parameters):  # also scoped to one of them
            cases.append((qname + " (scoped)", {p.name: values[p.name] for p in query.parameters}))
        for label, given in cases:
            times: list[float] = []
            rows_n = 0
            while len(times) < 10 and (not times or sum(times) < QUERY_BUDGET_S):
                t0 = time.perf_counter()
                answer = run_query(store, qname, given, **kwargs)
                times.append(time.perf_counter() - t0)
                rows_n = len(answer.rows)
            results["queries"][label] = {"rows": rows_n, **pcts(times)}
    store.close()
    Path(out).write_text(json.dumps(results), encoding="utf-8")


def child_bulk(store_dir: str, work: str, out: str) -> None:
    """Dump every quad of the store as N-Quads, then time ``bulk_load`` of them into a fresh store."""
    import pyoxigraph as ox

    source = ox.Store.read_only(str(Path(store_dir) / "oxigraph"))
    quads = len(source)
    nq = Path(work) / "dump.nq"
    t0 = time.perf_counter()
    source.dump(output=str(nq), format=ox.RdfFormat.N_QUADS)
    dumped = time.perf_counter() - t0
    del source
    fresh = Path(work) / "fresh"
    t0 = time.perf_counter()
    target = ox.Store(str(fresh))
    target.bulk_load(path=str(nq), format=ox.RdfFormat.N_QUADS)
    target.flush()
    seconds = time.perf_counter() - t0
    loaded = len(target)
    del target
    nq.unlink()
    shutil.rmtree(fresh, ignore_errors=True)
    Path(out).write_text(
        json.dumps({"quads": quads, "loaded": loaded, "dump_s": dumped, "bulk_s": seconds}),
        encoding="utf-8",
    )


def child_batch(store_dir: str, warm: str, out: str, mode: str, *files: str) -> None:
    """What ``cipd load FILES`` does, timed in parts: open the store, a dry run of one other
    file (what a server has done before: the model, shapes and mapper read), the load."""
    t0 = time.perf_counter()
    from cipd_graph import GraphStore, Settings

    store = GraphStore(Path(store_dir), Settings.from_env())
    opened = time.perf_counter() - t0
    t0 = time.perf_counter()
    store.validate([Path(warm)])
    warm_s = time.perf_counter() - t0
    profile = cProfile.Profile()
    t0 = time.perf_counter()
    if mode == "profile":
        profile.enable()
    result = store.load([Path(f) for f in files])
    profile.disable()
    seconds = time.perf_counter() - t0
    assert result.ok, result.to_text()[:2000]
    store.close()
    done: dict[str, Any] = {"open_s": opened, "warm_s": warm_s, "load_s": seconds}
    if hasattr(result, "timing_text"):  # the baseline's code has no stages
        done["stages"] = result.timing_text()
    if mode == "profile":
        done["top"] = _top(profile)
    Path(out).write_text(json.dumps(done), encoding="utf-8")


def _took(log: Path, since: int) -> str | None:
    """The stages a ``cipd load`` printed last (its ``took ...`` line) in ``log`` after byte
    ``since``; None from code that prints none (the baseline's)."""
    with log.open("rb") as handle:
        handle.seek(since)
        text = handle.read().decode(errors="replace")
    lines = [line for line in text.splitlines() if line.startswith("took ")]
    return lines[-1] if lines else None


def _top(profile: cProfile.Profile | pstats.Stats, lines: int = 15, by: str = "cumulative") -> str:
    text = io.StringIO()
    stats = profile if isinstance(profile, pstats.Stats) else pstats.Stats(profile, stream=text)
    stats.stream = text  # type: ignore[attr-defined]
    stats.strip_dirs().sort_stats(by).print_stats(lines)
    body = text.getvalue()
    # keep the table only (drop the header lines about ordering and the file list)
    keep = [
        ln
        for ln in body.splitlines()
        if ln.strip() and not ln.startswith(("   Ordered", "   List"))
    ]
    return "\n".join(keep)


def child_profile_one(store_dir: str, warm: str, one: str, out: str) -> None:
    """cProfile of one one-project load in process (as ``POST /records`` loads), after a
    warm-up load of another file in the same process (a server has done that already)."""
    from cipd_graph import GraphStore, Settings

    store = GraphStore(Path(store_dir), Settings.from_env())
    t0 = time.perf_counter()
    assert store.load([Path(warm)], staged=False).ok
    warm_s = time.perf_counter() - t0
    profile = cProfile.Profile()
    t0 = time.perf_counter()
    profile.enable()
    result = store.load([Path(one)], staged=False)
    profile.disable()
    seconds = time.perf_counter() - t0
    assert result.ok, result.to_text()[:2000]
    store.close()
    Path(out).write_text(
        json.dumps({"warm_s": warm_s, "seconds": seconds, "top": _top(profile)}), encoding="utf-8"
    )


WORKER_STAGES = {
    # stage label: function names (pstats keys' third element) whose cumulative time it is
    "parse + map (YAML, records, triples)": ("parse_and_map",),
    "N-Quads text of the chunk": ("batch_nquads",),
    "SHACL (validate_batches)": ("validate_batches",),
    "IRIs mentioned / subjects": ("mentioned_iris", "subject_iris"),
}


def child_profile_load(records: str, store_dir: str, work: str, out: str) -> None:
    """cProfile of a staged load: the loading process, and each forked worker (its own
    profile, written when it ends), with the progress messages' times."""
    from cipd_graph import GraphStore, Settings
    from cipd_graph.load import workers

    original = workers.worker

    def profiled_worker(conn: Any, setup: Any) -> None:
        profile = cProfile.Profile()
        profile.enable()
        try:
            original(conn, setup)
        finally:
            profile.disable()
            profile.dump_stats(str(Path(work) / f"worker-{os.getpid()}.prof"))

    workers.worker = profiled_worker  # type: ignore[assignment]  # forked workers inherit it
    store = GraphStore(Path(store_dir), Settings.from_env())
    marks: list[tuple[float, str]] = []
    t0 = time.perf_counter()

    def progress(message: str) -> None:
        # every message but the chunks between the first and the last
        chunks = [m[1].startswith("staged chunk ") for m in marks[-2:]]
        if chunks == [True, True] and message.startswith("staged chunk "):
            marks.pop()
        marks.append((time.perf_counter() - t0, message))

    profile = cProfile.Profile()
    profile.enable()
    result = store.load([Path(records)], progress=progress)
    profile.disable()
    seconds = time.perf_counter() - t0
    assert result.ok, result.to_text()[:2000]
    triples = store.stats()["triples"]
    store.close()
    dumps = sorted(Path(work).glob("worker-*.prof"))
    worker_out: dict[str, Any] = {"workers": len(dumps)}
    if dumps:
        stats = pstats.Stats(str(dumps[0]))
        for extra in dumps[1:]:
            stats.add(str(extra))
        table = stats.stats  # type: ignore[attr-defined]
        total = sum(tt for (_cc, _nc, tt, _ct, _callers) in table.values())
        stages: dict[str, float] = {}
        for label, names in WORKER_STAGES.items():
            stages[label] = sum(
                ct for key, (_cc, _nc, _tt, ct, _c) in table.items() if key[2] in names
            )
        worker_out.update(total_s=total, stages=stages, top=_top(stats))
    Path(out).write_text(
        json.dumps(
            {
                "seconds": seconds,
                "triples": triples,
                "marks": marks,
                "top": _top(profile),
                "own": _top(profile, 10, "tottime"),
                "worker": worker_out,
            }
        ),
        encoding="utf-8",
    )


# ----------------------------------------------------------------------------- one size


def _split(gen: Path, held: Path) -> dict[str, list[Path]]:
    """Move the last generated projects out of ``gen``: uploads, the 100-file batch, a spare."""
    projects = sorted((gen / "projects").glob("*.yaml"))
    back = projects[-(UPLOADS + 2 * BATCH + SPARE) :]
    groups = {
        "uploads": back[:UPLOADS],
        "batch": back[UPLOADS : UPLOADS + BATCH],
        "batch2": back[UPLOADS + BATCH : UPLOADS + 2 * BATCH],
        "spare": back[UPLOADS + 2 * BATCH :],
    }
    moved: dict[str, list[Path]] = {}
    for name, files in groups.items():
        folder = held / name
        folder.mkdir(parents=True, exist_ok=True)
        moved[name] = [Path(shutil.move(str(f), folder / f.name)) for f in files]
    return moved


def _generate(
    children: Children, cipd: Path, projects: int, out: Path, *, env: dict[str, str], log: Path
) -> None:
    """``cipd generate`` of ``projects`` projects into ``out`` (the bench's seed)."""
    command = [str(cipd), "generate", "--projects", str(projects), "--out", str(out)]
    children.run([*command, "--seed", str(SEED)], env, log)


def _time_queries(
    children: Children,
    impl: str,
    python: Path,
    store: Path,
    *,
    work: Path,
    env: dict[str, str],
    log: Path,
) -> dict[str, Any]:
    """The named queries timed in a child process: ours their first page, the baseline its
    whole answer."""
    out = work / "queries.json"
    paged = "paged" if impl == "ours" else "whole"
    children.run(
        [str(python), str(HERE), "child", "queries", str(store), str(out), paged], env, log
    )
    found: dict[str, Any] = json.loads(out.read_text())
    return found


def _impls(n: int, args: argparse.Namespace) -> list[tuple[str, Path]]:
    """The code run at ``n`` projects: ours, and the baseline up to --baseline-max."""
    baseline = Path(args.baseline)
    impls = [("ours", ROOT)]
    if n <= args.baseline_max and (baseline / ".venv" / "bin" / "cipd").exists():
        impls.append(("baseline", baseline))
    return impls


def measure(  # noqa: PLR0915 - one size, step by step
    children: Children,
    impl: str,
    code: Path,
    projects: int,
    work: Path,
    *,
    args: argparse.Namespace,
    profile: bool,
    emit: Callable[[dict[str, Any]], None],
) -> dict[str, Any]:
    """Every figure of one code (``impl``) at one size; ``emit`` saves what is measured so far."""
    python = code / ".venv" / "bin" / "python"
    cipd = code / ".venv" / "bin" / "cipd"
    work.mkdir(parents=True, exist_ok=True)
    log = work / "log.txt"
    gen, store = work / "records", work / "store"
    res: dict[str, Any] = {"impl": impl, "projects": projects}

    def step(name: str) -> None:
        print(f"  [{time.strftime('%H:%M:%S')}] {impl} {projects}: {name}", flush=True)

    step("generate")
    _generate(children, cipd, projects + UPLOADS + 2 * BATCH + SPARE, gen, env=_env(store), log=log)
    held = _split(gen, work / "held")
    left = len(list((gen / "projects").glob("*.yaml")))
    if left != projects:
        raise RuntimeError(f"{left} generated projects to load, not {projects}")
    step("load")
    env = _env(store)
    before = log.stat().st_size if log.exists() else 0
    res["load_s"] = children.run([str(cipd), "load", str(gen)], env, log)
    res["load_stages"] = _took(log, before)
    emit(res)
    step("export + bulk_load")
    bulk_out = work / "bulk.json"
    children.run(
        [str(python), str(HERE), "child", "bulk", str(store), str(work), str(bulk_out)], env, log
    )
    res["bulk"] = json.loads(bulk_out.read_text())
    res["load_qps"] = res["bulk"]["quads"] / res["load_s"]
    res["bulk_qps"] = res["bulk"]["quads"] / res["bulk"]["bulk_s"]
    emit(res)
    step("serve: uploads and mapping changes")
    each = args.runs + 1
    changes = mapping_changes(gen / "reference", 2 * each)
    half = len(held["uploads"]) // 2
    cold, warm = held["uploads"][:half], held["uploads"][half:]
    if impl == "ours":
        # First with the store's files out of the page cache (the server's first open of
        # the store included), then with them read into it, each with its own files.
        page_cache(store, keep=False)
        with serving(children, cipd, store, work / "server.log") as url:
            res["http_cold"] = http_writes(
                url, impl, cold, changes[:each], runs=args.runs, budget=args.write_budget
            )
            res["warm_s"] = page_cache(store, keep=True)
            res["http"] = http_writes(
                url, impl, warm, changes[each:], runs=args.runs, budget=args.write_budget
            )
    else:  # a write of the baseline takes seconds to minutes either way: timed once
        with serving(children, cipd, store, work / "server.log") as url:
            res["http"] = http_writes(
                url, impl, cold, changes[:each], runs=args.runs, budget=args.write_budget
            )
    emit(res)
    step("named queries")
    res["queries"] = _time_queries(children, impl, python, store, work=work, env=env, log=log)
    res["triples"] = res["queries"]["triples"]
    res["load_tps"] = res["triples"] / res["load_s"]
    emit(res)
    step("100-file load")
    b_out = work / "batch.json"

    def batch(mode: str, files: list[Path]) -> float:
        warm = str(held["spare"][2])
        return children.run(
            [str(python), str(HERE), "child", "batch", str(store), warm, str(b_out), mode]
            + [str(f) for f in files],
            env,
            log,
        )

    res["batch_s"] = batch("time", held["batch"])
    res["batch"] = json.loads(b_out.read_text())
    if profile:
        step("profile: 100 more files")
        batch("profile", held["batch2"])
        res["profile_batch"] = json.loads(b_out.read_text())
    print(f"    {impl} 100 files: {res['batch_s']:.2f} s ({res['batch']})", flush=True)
    emit(res)
    if profile:
        step("profile: one project in process")
        one_out = work / "profile-one.json"
        children.run(
            [
                str(python),
                str(HERE),
                "child",
                "profile-one",
                str(store),
                str(held["spare"][0]),
                str(held["spare"][1]),
                str(one_out),
            ],
            env,
            log,
        )
        res["profile_one"] = json.loads(one_out.read_text())
        emit(res)
    shutil.rmtree(store, ignore_errors=True)
    shutil.rmtree(gen, ignore_errors=True)
    return res


def measure_queries(
    children: Children, impl: str, code: Path, projects: int, work: Path
) -> dict[str, Any]:
    """The named queries alone at one more size (the target names 1M and 10M triples, which
    the write sizes only bracket): generate, load, time the queries."""
    python = code / ".venv" / "bin" / "python"
    cipd = code / ".venv" / "bin" / "cipd"
    work.mkdir(parents=True, exist_ok=True)
    log = work / "log.txt"
    gen, store = work / "records", work / "store"
    env = _env(store)
    print(f"  [{time.strftime('%H:%M:%S')}] {impl} {projects}: queries only", flush=True)
    _generate(children, cipd, projects, gen, env=env, log=log)
    res: dict[str, Any] = {"impl": impl, "projects": projects, "query_only": True}
    res["load_s"] = children.run([str(cipd), "load", str(gen)], env, log)
    res["queries"] = _time_queries(children, impl, python, store, work=work, env=env, log=log)
    res["triples"] = res["queries"]["triples"]
    shutil.rmtree(work, ignore_errors=True)
    return res


def queries_at(
    children: Children,
    n: int,
    args: argparse.Namespace,
    tmp: Path,
    *,
    results: list[dict[str, Any]],
    save: Callable[[], None],
) -> None:
    """The named queries alone at ``n`` projects, ours and (up to --baseline-max) the baseline."""
    print(f"named queries: {n} projects", flush=True)
    for impl, code in _impls(n, args):
        try:
            results.append(measure_queries(children, impl, code, n, tmp / f"{impl}-q{n}"))
        except RuntimeError as exc:
            results.append(
                {"impl": impl, "projects": n, "query_only": True, "error": str(exc)[-2000:]}
            )
            print(f"    {impl} {n} queries: FAILED: {exc}", flush=True)
        save()


def profile_big_load(children: Children, work: Path) -> dict[str, Any]:
    """The 5,000-project staged load under cProfile (ours)."""
    cipd = ROOT / ".venv" / "bin" / "cipd"
    python = ROOT / ".venv" / "bin" / "python"
    work.mkdir(parents=True, exist_ok=True)
    log = work / "log.txt"
    gen, store = work / "records", work / "store"
    print(
        f"  [{time.strftime('%H:%M:%S')}] ours: profile of a {PROFILE_PROJECTS}-project load",
        flush=True,
    )
    children.run(
        [
            str(cipd),
            "generate",
            "--projects",
            str(PROFILE_PROJECTS),
            "--out",
            str(gen),
            "--seed",
            str(SEED),
        ],
        _env(store),
        log,
    )
    out = work / "profile-load.json"
    children.run(
        [
            str(python),
            str(HERE),
            "child",
            "profile-load",
            str(gen),
            str(store),
            str(work),
            str(out),
        ],
        _env(store),
        log,
    )
    result = json.loads(out.read_text())
    shutil.rmtree(work, ignore_errors=True)
    return dict(result)


# ----------------------------------------------------------------------------- report


def _projection(small: float | None, big: float | None, at: int, n1: int, n2: int) -> float | None:
    """Power-law projection through (n1, small) and (n2, big) to ``at`` projects."""
    if not small or not big or n1 == n2:
        return None
    exponent = math.log(big / small) / math.log(n2 / n1)
    return float(big * (at / n2) ** exponent)


def _get(d: dict[str, Any] | None, *path: str) -> Any:
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def _s(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f}"


def section(data: dict[str, Any]) -> list[str]:  # noqa: PLR0912, PLR0915 - one table after another
    """The results.md section of a run's JSON."""
    sizes: list[int] = data["sizes"]
    runs: dict[str, dict[str, Any]] = {f"{r['impl']}-{r['projects']}": r for r in data["results"]}
    base_sizes = [n for n in sizes if f"baseline-{n}" in runs and "http" in runs[f"baseline-{n}"]]

    def value(impl: str, n: int, *path: str) -> tuple[str, float | None]:
        """A figure at ``n``: measured, or projected (power law) through the two largest
        smaller sizes that measured it, or not run."""
        v = _get(runs.get(f"{impl}-{n}"), *path)
        if v is not None:
            return "measured", v
        measured = [(m, _get(runs.get(f"{impl}-{m}"), *path)) for m in sizes if m < n]
        measured = [(m, x) for m, x in measured if x is not None]
        if len(measured) >= 2:
            (n1, a), (n2, b) = measured[-2], measured[-1]
            return "projected", _projection(a, b, n, n1, n2)
        return "not run", None

    def cell(found: tuple[str, float | None], digits: int = 3) -> str:
        how, v = found
        if how == "projected":
            return f"*{_s(v, digits)} proj.*"
        return _s(v, digits) if v is not None else "not run"

    lines = [
        HEADING,
        "",
        f"Run {data['started']} UTC, `bench/small_write.py --sizes {','.join(map(str, sizes))}` "
        f"({data['minutes']:.0f} min on 2 cores). Ours: "
        f"{'commit ' + data['ours_commit'] if data.get('ours_commit') else 'this branch'}. Baseline: "
        f"`{data['baseline_code']}` (commit {data.get('baseline_commit', '?')}), its own generated "
        "records (the record formats differ), its own store, the same steps in the same run. "
        f"Baseline sizes above {data['baseline_max']:,} projects are **not run** (a write there "
        "takes many minutes); a figure not measured is a *projection* (power law through the "
        "two largest sizes that measured it), in italics and marked *proj.*",
        "",
        *[line for note in data.get("notes", []) for line in ("", note)],
        "",
        "### Writes over HTTP (`cipd serve`, end to end: request sent to answer read)",
        "",
        "Each timed run writes a different project (`POST /records`, one new generated file) or "
        "changes a different module's mapping (ours `PATCH /modules/{id}/mappings/{element}`, "
        "the baseline `PUT /modules/{id}/mappings` with the module's whole list). The first "
        "request of each kind warms the server up (model, shapes) and is shown apart. Ours is "
        "timed twice on one server, with different files and modules: first with the store's "
        "files taken out of the OS page cache before the server starts (*cold*: as right after "
        "a load, when at 100,000 projects the `bulk_load` comparison below has just written "
        "20 GB; it includes the server's first opening of the store, where RocksDB merges what "
        "the load left), then with them read into it (*warm*: as on a server that has run a "
        "while; the machine has 23 GB of memory, the largest store takes 10.6 GB). The "
        "baseline is timed once. Target: p50 <= 1 s, and largest/smallest store <= 1.5x.",
        "",
        "| write | projects | triples | ours p50 s (warm) | ours p95 s (warm) | ours p50 s (cold) | ours p95 s (cold) | ours first s | baseline p50 s | baseline p95 s | baseline first s | baseline / ours (p50, warm) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, label in (("upload", "upload one project"), ("edit", "change one mapping")):
        for n in sizes:
            o = runs.get(f"ours-{n}")
            op50, bp50 = (
                value("ours", n, "http", kind, "p50"),
                value("baseline", n, "http", kind, "p50"),
            )
            triples = _get(o, "triples")
            ratio = (
                f"{bp50[1] / op50[1]:.1f}x"
                + (" *proj.*" if "projected" in (op50[0], bp50[0]) else "")
                if bp50[1] and op50[1]
                else "-"
            )
            lines.append(
                f"| {label} | {n:,} | {f'{triples:,}' if triples else '-'} | {cell(op50)} | "
                f"{cell(value('ours', n, 'http', kind, 'p95'))} | "
                f"{_s(_get(o, 'http_cold', kind, 'p50'), 3)} | "
                f"{_s(_get(o, 'http_cold', kind, 'p95'), 3)} | "
                f"{_s(_get(o, 'http_cold', kind, 'first') or _get(o, 'http', kind, 'first'))} | "
                f"{cell(bp50)} | "
                f"{cell(value('baseline', n, 'http', kind, 'p95'))} | "
                f"{_s(_get(runs.get(f'baseline-{n}'), 'http', kind, 'first'))} | {ratio} |"
            )
    lines += ["", "Growth, largest store / smallest (p50; target <= 1.5x):", ""]
    for kind, label in (("upload", "upload"), ("edit", "mapping change")):
        parts = []
        for impl in ("ours", "baseline"):
            first = value(impl, sizes[0], "http", kind, "p50")[1]
            measured = [n for n in sizes if _get(runs.get(f"{impl}-{n}"), "http", kind, "p50")]
            if first and measured and measured[-1] != sizes[0]:
                last = measured[-1]
                who = "ours with a warm cache" if impl == "ours" else impl
                text = f"{who} {value(impl, last, 'http', kind, 'p50')[1] / first:.2f}x ({sizes[0]:,} -> {last:,}, measured)"
                if last != sizes[-1]:
                    proj = value(impl, sizes[-1], "http", kind, "p50")[1]
                    if proj:
                        text += f", *{proj / first:.1f}x to {sizes[-1]:,} projected*"
                parts.append(text)
        cold = [_get(runs.get(f"ours-{n}"), "http_cold", kind, "p50") for n in sizes]
        if cold[0] and cold[-1] and len(sizes) > 1:
            parts.append(
                f"ours with a cold cache {cold[-1] / cold[0]:.2f}x ({sizes[0]:,} -> {sizes[-1]:,})"
            )
        lines.append(f"- {label}: " + "; ".join(parts))
    lines += [
        "",
        "### Loads",
        "",
        "`cipd load DIR` wall time of the N generated projects into an empty store (staged where "
        "the code stages), the store's quads per second of it, and pyoxigraph's own "
        "`Store.bulk_load` of the same quads (the loaded store dumped as N-Quads, loaded into a "
        "fresh store in the same run). Targets: >= 100,000 triples/s or the `bulk_load` rate; "
        "within 1.5x of `bulk_load` at 10,000 projects; never slower than today. Then "
        "100 new projects loaded into the loaded store (target <= 3 s at 10,000 projects), as "
        "`cipd load FILES` does (`GraphStore(...).load(files)` in a fresh process): the "
        "process's wall time, and in brackets the load call alone (after opening the store and "
        "a dry run of one other file, which reads the model, shapes and mapper, as a server "
        "has done before).",
        "",
        "| projects | code | load s | triples (union) | quads (all graphs) | quads/s | bulk_load s | bulk_load quads/s | load / bulk_load time | 100 new files s (the load call) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in sizes:
        for impl in ("ours", "baseline"):
            r = runs.get(f"{impl}-{n}")
            if r is None or "load_s" not in r:
                load, batch = value(impl, n, "load_s"), value(impl, n, "batch_s")
                why = f" ({r['error'][:200]})" if r and r.get("error") else ""
                lines.append(
                    f"| {n:,} | {impl} | {cell(load, 0)}{why} | | | | | | | {cell(batch, 1)} |"
                )
                continue
            bulk = r.get("bulk", {})
            ratio = r["load_s"] / bulk["bulk_s"] if bulk.get("bulk_s") else None
            lines.append(
                f"| {n:,} | {impl} | {r['load_s']:.1f} | {r.get('triples', 0):,} | {bulk.get('quads', 0):,} | "
                f"{r.get('load_qps', 0):,.0f} | {_s(bulk.get('bulk_s'), 1)} | {r.get('bulk_qps', 0):,.0f} | "
                f"{_s(ratio)}x | {_s(r.get('batch_s'), 2)} ({_s(_get(r, 'batch', 'load_s'), 2)}) |"
            )
    lines += ["", "Ours against the baseline (baseline time / ours; above 1 is faster):", ""]
    for n in base_sizes:
        o, b = runs.get(f"ours-{n}", {}), runs[f"baseline-{n}"]
        parts = []
        for key, label in (("load_s", "load"), ("batch_s", "100 new files")):
            if o.get(key) and b.get(key):
                parts.append(f"{label} {b[key] / o[key]:.2f}x")
        if o.get("load_tps") and b.get("load_tps"):
            parts.append(
                f"union triples/s ours {o['load_tps']:,.0f}, baseline {b['load_tps']:,.0f}"
            )
        lines.append(f"- {n:,} projects: " + "; ".join(parts))
    staged = [
        (n, r)
        for n in sizes
        if (r := runs.get(f"ours-{n}", {})).get("load_stages") or _get(r, "batch", "stages")
    ]
    if staged:
        lines += [
            "",
            "Where ours spent the time, as each load reports it (`cipd load`'s last line; the "
            "100 new files: `LoadResult.timing_text()` of the load call):",
            "",
        ]
        for n, r in staged:
            for label, text in (
                ("load", r.get("load_stages")),
                ("100 new files", _get(r, "batch", "stages")),
            ):
                if text:
                    lines.append(f"- {n:,} projects, {label}: `{text}`")
    lines += [
        "",
        "### Named queries",
        "",
        f"p50 over up to 10 runs (fewer past {QUERY_BUDGET_S:.0f} s) through `run_query`: ours "
        f"the first page of {PAGE} rows (`page_size=50`), the baseline its whole answer (it has "
        "no pages). Parameters come from the store; a query with an optional parameter is "
        "timed over the whole store and scoped to one. Target: p50 <= 50 ms at 1M and at 10M "
        "triples.",
        "",
    ]
    head = "| query |"
    rule = "|---|"
    cols: list[tuple[str, int]] = []
    for n in sorted({*sizes, *data.get("query_sizes", [])}):
        for impl in ("ours", "baseline"):
            r = runs.get(f"{impl}-{n}")
            if r and "queries" in r:
                cols.append((impl, n))
                head += f" {impl} {n:,} ({r['queries']['triples'] / 1e6:.2f}M triples) ms |"
                rule += "---:|"
    lines += [head, rule]
    names: list[str] = []
    for impl, n in cols:
        for q in runs[f"{impl}-{n}"]["queries"]["queries"]:
            if q not in names:
                names.append(q)
    for q in names:
        cells = []
        for impl, n in cols:
            v = runs[f"{impl}-{n}"]["queries"]["queries"].get(q)
            if v is None:
                cells.append("-")
            else:
                p50 = v["p50"]
                flag = "" if impl != "ours" or p50 <= TARGETS["query_p50_s"] else " **over**"
                cells.append(f"{p50 * 1000:.1f}{flag}")
        lines.append(f"| {q} | " + " | ".join(cells) + " |")
    worst = [
        max(v["p50"] for v in runs[f"{i}-{n}"]["queries"]["queries"].values()) for i, n in cols
    ]
    lines.append("| **slowest p50** | " + " | ".join(f"**{w * 1000:.1f}**" for w in worst) + " |")
    profiles = data.get("profiles", {})
    one = profiles.get("one")
    big = profiles.get("load")
    if one or big or data.get("profiles", {}).get("batch"):
        lines += ["", "### Where the time goes now (cProfile, ours)", ""]
    if one:
        lines += [
            f"One one-project load in process into the {one['projects']:,}-project store "
            f"(`GraphStore.load([file], staged=False)`, as `POST /records` calls it, after one "
            f"warm-up load in the same process: {one['warm_s']:.2f} s): {one['seconds']:.3f} s "
            "under the profiler. Top 15 by cumulative time:",
            "",
            "```",
            one["top"],
            "```",
            "",
        ]
    pb = data.get("profiles", {}).get("batch")
    if pb:
        lines += [
            f"100 more new projects loaded into the {pb['projects']:,}-project store (after the "
            f"100 above), in process as in the table: {pb['load_s']:.2f} s under the profiler. "
            "Top 15 by cumulative time:",
            "",
            "```",
            pb["top"],
            "```",
            "",
        ]
    if big:
        lines += [
            f"A {PROFILE_PROJECTS:,}-project staged load (fresh store, {big['triples']:,} triples): "
            f"{big['seconds']:.1f} s under the profiler. Its progress messages (seconds from the start):",
            "",
        ]
        lines += [f"- {t:.1f} s: {m}" for t, m in big["marks"]]
        w = big.get("worker", {})
        if w.get("stages"):
            total = w["total_s"]
            lines += [
                "",
                f"Worker processes ({w['workers']}, profiled each; {total:.1f} s of CPU-bound "
                "Python in all), cumulative time by stage:",
                "",
            ]
            lines += [f"- {k}: {v:.1f} s ({v / total:.0%})" for k, v in w["stages"].items()]
        lines += [
            "",
            "The loading process, top 15 by cumulative time:",
            "",
            "```",
            big["top"],
            "```",
            "",
            "The loading process, top 10 by its own time (tottime):",
            "",
            "```",
            big.get("own", ""),
            "```",
        ]
        if w.get("top"):
            lines += [
                "",
                "The workers (together), top 15 by cumulative time:",
                "",
                "```",
                "\n".join(ln for ln in w["top"].splitlines() if ".prof" not in ln),
                "```",
            ]
    lines.append("")
    return lines


def write_section(lines: list[str], path: Path = RESULTS_MD) -> None:
    """Put the section into results.md: replacing an earlier one, or before "## The ontology"."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    old = text.splitlines()
    if HEADING in old:
        start = old.index(HEADING)
        end = next((i for i in range(start + 1, len(old)) if old[i].startswith("## ")), len(old))
        new = old[:start] + lines + old[end:]
    elif "## The ontology" in old:
        at = old.index("## The ontology")
        new = old[:at] + lines + old[at:]
    else:
        new = [*old, "", *lines]
    path.write_text("\n".join(new).rstrip("\n") + "\n", encoding="utf-8")


# ----------------------------------------------------------------------------- main


def _commit(checkout: Path) -> str:
    """The short commit a checkout is at ("" when it is not a git checkout)."""
    return subprocess.run(  # noqa: S603 - git on a path we were given
        ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()


def run(args: argparse.Namespace) -> dict[str, Any]:
    sizes = [int(n) for n in args.sizes.split(",") if n]
    query_sizes = [int(n) for n in args.query_sizes.split(",") if n and int(n) not in sizes]
    baseline = Path(args.baseline)
    data: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "sizes": sizes,
        "query_sizes": query_sizes,
        "ours_commit": _commit(ROOT),
        "baseline_code": str(baseline),
        "baseline_commit": _commit(baseline),
        "baseline_max": args.baseline_max,
        "results": [],
        "profiles": {},
        "minutes": 0.0,
    }
    started = time.monotonic()
    out = Path(args.json)

    def save() -> None:
        data["minutes"] = (time.monotonic() - started) / 60
        out.write_text(json.dumps(data, indent=1), encoding="utf-8")

    profile_size = min(sizes, key=lambda n: abs(math.log(n / 10_000)))
    children = Children()
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.work:  # a folder named on the command line need not exist yet
        Path(args.work).mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="cipd-small-write-", dir=args.work))
    try:
        for n in sizes:
            print(f"small writes: {n} projects", flush=True)
            for impl, code in _impls(n, args):
                slot: dict[str, Any] = {"impl": impl, "projects": n}
                data["results"].append(slot)

                def emit(res: dict[str, Any], slot: dict[str, Any] = slot) -> None:
                    slot.update(res)
                    save()

                try:
                    measure(
                        children,
                        impl,
                        code,
                        n,
                        tmp / f"{impl}-{n}",
                        args=args,
                        profile=impl == "ours" and n == profile_size,
                        emit=emit,
                    )
                except RuntimeError as exc:  # a step failed: say so, go on with the rest
                    slot["error"] = str(exc)[-2000:]
                    print(f"    {impl} {n}: FAILED: {exc}", flush=True)
                    save()
                shutil.rmtree(tmp / f"{impl}-{n}", ignore_errors=True)
                if impl == "ours" and n == profile_size:
                    one = slot.get("profile_one")
                    if one:
                        data["profiles"]["one"] = {**one, "projects": n}
                    if slot.get("profile_batch"):
                        data["profiles"]["batch"] = {**slot["profile_batch"], "projects": n}
                    if not args.no_profile_load:
                        try:
                            data["profiles"]["load"] = profile_big_load(
                                children, tmp / "profile-load"
                            )
                        except RuntimeError as exc:
                            data["profiles"]["load_error"] = str(exc)[-2000:]
                    save()
        for n in query_sizes:  # the named queries alone at more sizes
            queries_at(children, n, args, tmp, results=data["results"], save=save)
    finally:
        children.stop_all()
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(tmp, ignore_errors=True)
        save()
    return data


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="projects, comma-separated")
    parser.add_argument(
        "--query-sizes",
        default="2500,25000",
        help="projects, comma-separated: more sizes for the named queries alone (about 1M and "
        "10M triples, the sizes the target names)",
    )
    parser.add_argument("--runs", type=int, default=10, help="timed writes of each kind")
    parser.add_argument(
        "--write-budget",
        type=float,
        default=240.0,
        help="seconds of writes of one kind past 3 runs",
    )
    parser.add_argument(
        "--baseline",
        default=str(ROOT.parent / "before20"),
        help="a checkout of the code before issue 20 (commit 6e3da51) with its own .venv",
    )
    parser.add_argument("--baseline-max", type=int, default=10_000, help="largest size run with it")
    parser.add_argument("--json", default=str(HERE.with_name("small_write.json")))
    parser.add_argument("--work", default=None, help="folder for the generated records and stores")
    parser.add_argument("--no-profile-load", action="store_true")
    parser.add_argument("--no-markdown", action="store_true", help="do not touch results.md")
    parser.add_argument(
        "--from-json", type=Path, help="measure nothing: write the section of this run's JSON"
    )
    args = parser.parse_args(argv)
    data = json.loads(args.from_json.read_text(encoding="utf-8")) if args.from_json else run(args)
    lines = section(data)
    if not args.no_markdown:
        write_section(lines)
    print("\n".join(lines))


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        kind, rest = sys.argv[2], sys.argv[3:]
        {
            "queries": child_queries,
            "bulk": child_bulk,
            "profile-one": child_profile_one,
            "profile-load": child_profile_load,
            "batch": child_batch,
        }[kind](*rest)
    else:
        main()
