"""Pages of the named queries and listings (issue 20): following the cursors from the first
page to the last gives the whole answer, each row once, in the same order every time;
cursors of another query or other parameters are refused; the API and the CLI expose them."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from cipd_graph import Settings
from cipd_graph._pages import CursorError
from cipd_graph._queries import QueryResult, named_queries, run_query
from cipd_graph.graph import GraphStore

from .conftest import SAMPLES
from .test_store_backends import normalised

PARAMS = {
    "project": "ward7-falls",
    "team": "ward7-microsystem",
    "organisation": "northshire-trust",
    "module": "ncu-qi-practice",
    "programme": "nsu-msc-qi",
}
PAGED = sorted(name for name, q in named_queries().items() if q.paging is not None)


def _rows(result: QueryResult, text: str) -> list[str]:
    """Rows as text; a GROUP_CONCAT list sorted (SPARQL leaves its order open)."""
    if result.triples is not None:
        return [str(t) for t in result.triples]
    return [normalised([row], text)[0] for row in result.rows]


def _walk(store: GraphStore, name: str, values: dict[str, str], size: int) -> list[str]:
    text = named_queries()[name].text
    rows: list[str] = []
    cursor: str | None = None
    for _ in range(10_000):
        page = run_query(store, name, values, page_size=size, cursor=cursor)
        assert len(_rows(page, text)) <= size
        rows += _rows(page, text)
        cursor = page.next_cursor
        if cursor is None:
            return rows
    raise AssertionError(f"{name}: the pages never end")


def test_every_listing_query_is_paged():
    assert len(PAGED) == len(named_queries()), sorted(set(named_queries()) - set(PAGED))


@pytest.mark.parametrize("name", PAGED)
def test_pages_walk_the_whole_answer_once(loaded_sample_store: GraphStore, name: str):
    query = named_queries()[name]
    for values in (
        {p.name: PARAMS[p.name] for p in query.parameters if p.required},
        {p.name: PARAMS[p.name] for p in query.parameters},
    ):
        whole = _rows(run_query(loaded_sample_store, name, values), query.text)
        assert whole, f"{name} {values}: no answer to page"
        walked = _walk(loaded_sample_store, name, values, size=7)
        assert Counter(walked) == Counter(whole), name  # every row, once
        assert _walk(loaded_sample_store, name, values, size=7) == walked  # a stable order
        assert _walk(loaded_sample_store, name, values, size=1000) == walked  # whatever the size


def test_a_cursor_belongs_to_its_query_and_parameters(loaded_sample_store: GraphStore):
    mine = {"project": "ward7-falls"}
    first = run_query(loaded_sample_store, "cq01-project-strands", mine, page_size=2)
    assert first.next_cursor
    with pytest.raises(CursorError):
        run_query(loaded_sample_store, "cq06-improvers", {}, cursor=first.next_cursor)
    other = {"project": "af-anticoagulation"}
    with pytest.raises(CursorError):
        run_query(loaded_sample_store, "cq01-project-strands", other, cursor=first.next_cursor)
    with pytest.raises(CursorError):
        run_query(loaded_sample_store, "cq01-project-strands", mine, cursor="not-a-cursor")


def test_the_cli_pages(tmp_path: Path):
    """`cipd query --page-size --cursor`, as a script would follow it: the JSON's
    next_cursor until there is none gives the rows of the whole answer."""
    location = tmp_path / "store"
    with GraphStore(location, Settings(pseudonym_key="k" * 24, user="tester")) as store:
        assert store.load([SAMPLES]).ok
    env = {"CIPD_STORE": str(location), "CIPD_PSEUDONYM_KEY": "k" * 24, "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-m", "cipd_graph", "query", "cq06-improvers", "--format", "json"]

    def run(*extra: str) -> dict[str, object]:
        done = subprocess.run(
            [*command, *extra], check=False, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        answer = json.loads(done.stdout)
        assert isinstance(answer, dict)
        return answer

    whole = run()["rows"]
    assert isinstance(whole, list) and len(whole) > 3
    rows: list[object] = []
    page = run("--page-size", "3")
    while True:
        assert isinstance(page["rows"], list) and len(page["rows"]) <= 3
        rows += page["rows"]
        if not page.get("next_cursor"):
            break
        page = run("--page-size", "3", "--cursor", str(page["next_cursor"]))
    key = lambda row: json.dumps(row, sort_keys=True)  # noqa: E731
    assert sorted(map(key, rows)) == sorted(map(key, whole))
