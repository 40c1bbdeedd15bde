"""How long a workbench edit takes to show: the write request, then the matrix read the page
makes, over HTTP against a real server, on a copy of a loaded store.

    .venv/bin/python bench/workbench_edit.py                    # the sample records
    .venv/bin/python bench/workbench_edit.py STORE [KEY]        # a loaded store (copied first)

A loaded store is one made by ``cipd load`` (e.g. of ``cipd generate --projects 1000``) with
pseudonym key KEY (``CIPD_PSEUDONYM_KEY`` at load time). Each operation (add, change,
remove, undo) runs ``--runs`` times; the report gives the median and the slowest round trip
(request to matrix refresh), and where the server spent the time of one edit (in process,
on the same copy): reading the module's mappings, mapping the row, SHACL with its context,
the pipeline's write (plan, incremental derivation, one transaction), the matrix.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cipd_graph import Settings  # noqa: E402
from cipd_graph.api import create_app  # noqa: E402
from cipd_graph.graph import GraphStore  # noqa: E402

TOKEN = "bench-token-0123456789"  # noqa: S105 - a throwaway server's, on loopback
JUSTIFIED = "Students from several professions read run charts together in every seminar."


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def pick(store: GraphStore) -> tuple[str, str, str, list[str]]:
    """A programme with modules, its first module, a designer, and elements it does not map."""
    rows = store.select(
        "PREFIX schema: <https://schema.org/> PREFIX dcterms: <http://purl.org/dc/terms/> "
        "SELECT ?pid ?mid WHERE { ?p schema:hasCourse ?m . ?p dcterms:identifier ?pid . "
        "?m dcterms:identifier ?mid }"
    )
    pairs = sorted((r["pid"].value, r["mid"].value) for r in rows)
    programme, module = pairs[0]
    mapped = {
        r["e"].value
        for r in store.select(
            "PREFIX cipd: <https://w3id.org/cipd#> SELECT ?e WHERE { "
            f"<{store.base}module/{module}> cipd:hasMapping/cipd:mapsToElement ?e }}"
        )
    }
    free = [e.notation for e in store.model if e.iri not in mapped and e.notation][:10]
    return programme, module, "", free


def designer(records: Path | None, store: GraphStore) -> str:
    """A local id of a loaded person: from the records' people.csv when given."""
    for path in ([records / "reference" / "people.csv"] if records else []) + [
        ROOT / "examples" / "records" / "reference" / "people.csv"
    ]:
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines()[1:]:
                local = line.split(",")[0]
                iri = store.base + "person/" + store.pseudonymiser(local)
                if store.query(f"ASK {{ <{iri}> a <http://xmlns.com/foaf/0.1/Person> }}"):
                    return local
    raise SystemExit("no person of people.csv is loaded in the store")


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def run_http(
    url: str, *, programme: str, module: str, who: str, free: list[str], runs: int
) -> dict[str, list[float]]:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    times: dict[str, list[float]] = {
        "add": [],
        "change": [],
        "remove": [],
        "undo": [],
        "matrix": [],
    }
    base = f"/modules/{module}/mappings"
    matrix = f"/workbench/programmes/{programme}/matrix"
    with httpx.Client(base_url=url, timeout=120, headers=auth) as http:
        http.get("/workbench")  # the page's warm-up: model and shapes
        http.get(matrix)
        time.sleep(10)  # the page starts warming the server up (model, shapes, derivation)

        def round_trip(kind: str, send: Callable[[], httpx.Response]) -> None:
            start = time.perf_counter()
            answer = send()
            assert answer.status_code < 300, answer.text
            assert http.get(matrix).status_code == 200
            times[kind].append(time.perf_counter() - start)

        for i in range(runs):
            element = free[i % len(free)]
            body = {
                "element": element,
                "strength": "strong",
                "justification": JUSTIFIED,
                "mapped_by": who,
            }
            one = f"{base}/{element}"
            round_trip("add", lambda body=body: http.post(base, json=body))
            round_trip(
                "change",
                lambda one=one: http.patch(one, json={"strength": "weak", "mapped_by": who}),
            )
            round_trip("remove", lambda one=one: http.delete(one, params={"mapped_by": who}))
            round_trip("undo", lambda: http.post(f"{base}/undo", json={"mapped_by": who}))
            times["matrix"].append(timed(lambda: http.get(matrix)))
    return times


def stages(
    store: GraphStore, programme: str, module: str, who: str, element: str
) -> dict[str, float]:
    """Where one add spends its time, stage by stage, in process."""
    from cipd_graph import edits as e
    from cipd_graph.api.routers.workbench import read_programme_matrix
    from cipd_graph.records.parse import Strength

    mm = e.ModuleMappings(store, module)
    out: dict[str, float] = {}
    out["read the module's mappings"] = timed(mm.stored)
    proposal = e._Proposal([mm._row(element, Strength.STRONG, JUSTIFIED, who)], [None])
    out["map the row (framework items read)"] = timed(lambda: mm._mapped(proposal))
    mapped = mm._mapped(proposal)
    out["SHACL with its context"] = timed(lambda: mm._check(mapped, proposal))
    original = store.edit
    spent: list[float] = []

    def measured_edit(**kwargs: object) -> object:
        start = time.perf_counter()
        try:
            return original(**kwargs)  # type: ignore[arg-type]
        finally:
            spent.append(time.perf_counter() - start)

    store.edit = measured_edit  # type: ignore[method-assign]
    total = timed(lambda: mm.add(element, Strength.STRONG, JUSTIFIED, who))
    store.edit = original  # type: ignore[method-assign]
    out["pipeline write (plan, derive, apply)"] = spent[0]
    out["whole add, in process"] = total
    out["matrix read"] = timed(lambda: read_programme_matrix(store, programme))
    mm.undo(who)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("store", nargs="?", type=Path, help="a loaded store (copied first)")
    parser.add_argument("key", nargs="?", default="bench-key-0123456789abcdef")
    parser.add_argument("--records", type=Path, help="the records it was loaded from")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        copy = Path(work) / "store"
        settings = Settings(store=str(copy), pseudonym_key=args.key, api_token=TOKEN, user="bench")
        if args.store:
            shutil.copytree(args.store, copy)
        else:
            with GraphStore(copy, settings) as store:
                assert store.load([ROOT / "examples" / "records"]).ok
        with GraphStore(copy, settings) as store:
            programme, module, _, free = pick(store)
            who = designer(args.records, store)
            size = store.stats()
        print(
            f"store: {size['projects']} projects, {size['triples']} triples, "
            f"{size['modules']} modules; programme {programme}, module {module}"
        )
        with serving(settings) as url:
            times = run_http(
                url, programme=programme, module=module, who=who, free=free, runs=args.runs
            )
        for kind, values in times.items():
            print(
                f"  {kind:7s} round trip (request + matrix): median {statistics.median(values) * 1000:6.0f} ms,"
                f" slowest {max(values) * 1000:6.0f} ms ({len(values)} runs)"
            )
        with GraphStore(copy, settings) as store:
            from cipd_graph.edits import warm_up

            warm_up(store)
            for name, seconds in stages(store, programme, module, who, free[-1]).items():
                print(f"  {name:40s} {seconds * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
