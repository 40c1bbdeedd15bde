"""Where the graph's quads live: an embedded Oxigraph store, or a remote SPARQL 1.1 server.

:class:`~cipd_graph.GraphStore` keeps the load logic (parse, map, validate, build one
update) and talks to a backend through six calls: :meth:`Backend.query`,
:meth:`Backend.update`, :meth:`Backend.named_graphs`, :meth:`Backend.quads`,
:meth:`Backend.count` and :meth:`Backend.close`. Both backends answer queries with
pyoxigraph's own result types, so callers never know which one they talk to.

An update is a list of operations that must apply all together or not at all. The
embedded store runs them as one Oxigraph transaction. A remote server such as Virtuoso
does not run a multi-operation request atomically (measured: the operations before a
failing one stay applied), so :class:`RemoteBackend` keeps an undo journal: before it
writes, it reads every graph the operations change and saves that content in a journal
graph; if any request fails it puts the saved graphs back and deletes the journal. A
writer that dies half-way leaves its journal, and the next :class:`RemoteBackend` to open
the store rolls it back first.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import pyoxigraph as ox

from cipd_graph._errors import ConfigError, StoreError, StoreInUseError

#: What a query gives back: solutions, a yes/no answer, or the triples of a CONSTRUCT/DESCRIBE.
QueryAnswer = ox.QuerySolutions | ox.QueryBoolean | list[ox.Triple]

XSD = "http://www.w3.org/2001/XMLSchema#"
#: Quads per INSERT DATA request: Virtuoso 7.2 refuses one of about 2,000 triples
#: ("SPARQL compiler ... memory exhausted") and a request of several larger ones.
INSERT_CHUNK = 500
#: Size of a journal literal holding part of a saved graph.
JOURNAL_CHUNK = 400
_GRAPH_IRI = re.compile(r"GRAPH\s*<([^>]+)>", re.IGNORECASE)
_INSERT_DATA = re.compile(r"^\s*INSERT\s+DATA\s*\{(.*)\}\s*$", re.IGNORECASE | re.DOTALL)


class Backend(Protocol):
    """The low-level calls the store makes; one implementation per kind of storage."""

    #: Where the store keeps local files (a pseudonym key, uploads); None when it has none.
    location: Path | None

    def query(self, text: str, *, union: bool = False) -> QueryAnswer:
        """Run a SPARQL query; ``union`` makes the default graph the union of readable graphs."""

    def update(
        self, operations: Sequence[str], *, prologue: str = "", graphs: Collection[str] = ()
    ) -> None:
        """Apply the update operations all together or not at all.

        ``graphs`` names every graph the operations change beyond those they name with
        ``GRAPH <iri>`` or ``DROP ... GRAPH <iri>`` (which are found in the text).
        """

    def named_graphs(self) -> list[str]:
        """The IRIs of the named graphs of this store (not the server's other graphs)."""

    def quads(self, graph: str | None = None) -> Iterator[ox.Quad]:
        """Every quad of ``graph``, or of every graph of the store."""

    def count(self) -> int:
        """How many quads the store holds."""

    def close(self) -> None:
        """Make writes durable and release the store."""


def touched_graphs(operations: Sequence[str]) -> set[str]:
    """The graphs an update's text names (a superset of those it writes).

    >>> sorted(touched_graphs(["DROP SILENT GRAPH <urn:a>", "INSERT DATA { GRAPH <urn:b> { } }"]))
    ['urn:a', 'urn:b']
    """
    return {iri for op in operations for iri in _GRAPH_IRI.findall(op)}


# --------------------------------------------------------------------------- embedded


class EmbeddedBackend:
    """Oxigraph on disk at ``location/oxigraph``, or in memory when ``location`` is None.

    ``location/oxigraph`` is a plain directory (stores made before staged loads) or a
    symbolic link to a version directory ``location/oxigraph.v-<id>``. A staged load
    (:meth:`stage`, :meth:`swap_in`) writes into a checkpoint of the store in a new version
    directory and then points the link at it with one ``os.replace``, so the store any
    process opens is the one before or the one after, never half. Opening the store puts
    back a store whose swap was cut short and removes version directories nothing points
    at (those of a staged load that was killed or failed). ``directory`` opens one version
    directory itself (a staged load's own copy) and touches nothing around it.
    """

    def __init__(self, location: Path | None, *, directory: Path | None = None) -> None:
        self.location = location
        self.directory = directory
        try:
            if directory is not None:
                self.store = ox.Store(str(directory))
            elif location is not None:
                _recover(location)
                (location / LIVE).mkdir(parents=True, exist_ok=True)
                # Opened by its real directory: RocksDB names its files by the path it was
                # opened with, so a store opened through the link would write into the new
                # store's directory once a staged load swaps the link.
                self.store = ox.Store(str((location / LIVE).resolve()))
                _remove_stale(location)
            else:
                self.store = ox.Store()
        except OSError as exc:
            if "lock" in str(exc).lower():
                raise StoreInUseError(
                    f"{location}: the store is in use by another process (a running `cipd serve` "
                    "or load); stop it or point CIPD_STORE elsewhere"
                ) from exc
            raise StoreError(f"{location}: cannot open the store: {exc}") from exc

    def stage(self) -> Path:
        """A checkpoint of the store in a new version directory (hard links, so cheap); open it
        with ``EmbeddedBackend(location, directory=...)`` and write there."""
        if self.location is None:
            raise StoreError("a staged load needs a store on disk")
        directory = self.location / f"{LIVE}.v-{uuid.uuid4().hex[:12]}"
        try:
            self.store.backup(str(directory))
        except OSError as exc:
            shutil.rmtree(directory, ignore_errors=True)
            raise StoreError(f"{self.location}: cannot stage a copy of the store: {exc}") from exc
        return directory

    def swap_in(self, staged: EmbeddedBackend) -> Path:
        """Make the ``staged`` store (opened on a version directory) the store, in one atomic
        rename, and take over its open handle.

        Returns the directory of the store it replaced, for :meth:`discard`; until then a
        process killed leaves that directory behind, and the next open removes it.
        """
        assert self.location is not None and staged.directory is not None
        staged.store.flush()
        live = self.location / LIVE
        if live.is_symlink():
            old = live.parent / live.readlink()
            link = self.location / f"{LIVE}.link-{uuid.uuid4().hex[:12]}"
            link.symlink_to(staged.directory.name)
            link.replace(live)  # the one step that changes which store is live
            self.close()
        else:  # a store made before staged loads: its directory becomes a link
            self.close()
            old = self.location / f"{LIVE}.old-{uuid.uuid4().hex[:12]}"
            live.rename(old)  # killed here: the next open renames it back (as before)
            live.symlink_to(staged.directory.name)
        self.store = staged.store
        del staged.store
        return old

    @staticmethod
    def discard(directory: Path) -> None:
        """Remove a version directory no longer live."""
        shutil.rmtree(directory, ignore_errors=True)

    def query(self, text: str, *, union: bool = False) -> QueryAnswer:
        # The union of all graphs, which Oxigraph answers 10-25x faster than an explicit
        # list of graphs. It includes the names graphs, so named queries never read foaf:name.
        result = self.store.query(text, use_default_graph_as_union=union)
        if isinstance(result, ox.QueryTriples):
            return list(result)
        return result

    def update(
        self, operations: Sequence[str], *, prologue: str = "", graphs: Collection[str] = ()
    ) -> None:
        try:
            self.store.update(prologue + "\n" + " ;\n".join(operations))
        except (OSError, SyntaxError) as exc:
            raise StoreError(f"the store refused the update, nothing was written: {exc}") from exc
        if self.location is not None:
            self.store.flush()

    def named_graphs(self) -> list[str]:
        return [g.value for g in self.store.named_graphs() if isinstance(g, ox.NamedNode)]

    def quads(self, graph: str | None = None) -> Iterator[ox.Quad]:
        if graph is None:
            yield from self.store
        else:
            yield from self.store.quads_for_pattern(None, None, None, ox.NamedNode(graph))

    def count(self) -> int:
        return len(self.store)

    def close(self) -> None:
        store = getattr(self, "store", None)
        if store is None:
            return
        if self.location is not None:
            store.flush()
        del self.store, store


#: The name of the live store (a directory, or a link to a version directory) in a location.
LIVE = "oxigraph"


def _recover(location: Path) -> None:
    """Put back the store of a swap killed between its two renames (the store before)."""
    live = location / LIVE
    if live.exists() or live.is_symlink():
        return
    for old in sorted(location.glob(f"{LIVE}.old-*")):
        old.rename(live)
        return


def _remove_stale(location: Path) -> None:
    """Remove version directories and links the live store does not use (called holding its lock)."""
    live = location / LIVE
    current = str(live.readlink()) if live.is_symlink() else LIVE
    for entry in location.glob(f"{LIVE}.*"):
        if entry.name != current and entry.name.split(".", 1)[1][:2] in ("v-", "ol", "li"):
            if entry.is_symlink() or entry.is_file():
                entry.unlink()
            else:
                shutil.rmtree(entry, ignore_errors=True)


# --------------------------------------------------------------------------- remote


def _normalise_term(term: dict[str, Any]) -> dict[str, Any]:
    """A SPARQL JSON term as pyoxigraph reads it (Virtuoso's dialect smoothed out)."""
    kind = term.get("type")
    if kind == "typed-literal":  # SPARQL 1.0 JSON, still sent by Virtuoso
        term = {**term, "type": "literal"}
    if kind == "bnode":  # Virtuoso's "nodeID://b10003" is not a valid blank node label
        term = {**term, "value": re.sub(r"[^A-Za-z0-9]", "_", term["value"])}
    if term.get("datatype") == XSD + "boolean" and term["value"] in ("1", "0"):
        term = {**term, "value": "true" if term["value"] == "1" else "false"}  # Virtuoso
    return term


def parse_json_results(body: bytes) -> ox.QuerySolutions | ox.QueryBoolean:
    """SPARQL JSON results from any server as pyoxigraph results.

    >>> body = b'{"head": {"vars": ["b"]}, "results": {"bindings": [{"b": {"type": "typed-literal",'
    >>> body += b' "datatype": "http://www.w3.org/2001/XMLSchema#boolean", "value": "1"}}]}}'
    >>> [row["b"].value for row in parse_json_results(body)]
    ['true']
    """
    data = json.loads(body)
    if "boolean" in data:
        return ox.parse_query_results(
            json.dumps({"head": {}, "boolean": bool(data["boolean"])}), ox.QueryResultsFormat.JSON
        )
    variables = data.get("head", {}).get("vars", [])
    bindings = [
        {k: _normalise_term(v) for k, v in row.items()}
        for row in data.get("results", {}).get("bindings", [])
    ]
    text = json.dumps({"head": {"vars": variables}, "results": {"bindings": bindings}})
    return ox.parse_query_results(text, ox.QueryResultsFormat.JSON)


def _nt_line(quad: ox.Quad | ox.Triple) -> str:
    return f"{quad.subject} {quad.predicate} {quad.object} ."


class RemoteBackend:
    """Any SPARQL 1.1 Query + Update server (and its Graph Store Protocol, when configured).

    The store's graphs are those whose IRI starts with ``owned`` prefixes (the base IRI's
    ``graph/`` and the ontology IRI): a shared server's other graphs are never read or
    written. Queries over the union default graph name the readable graphs in the
    request (``default-graph-uri``/``named-graph-uri``), so hidden graphs stay hidden even
    where the server's own default graph is the union of everything.
    """

    location: Path | None = None

    def __init__(
        self,
        query_url: str,
        *,
        update_url: str | None = None,
        gsp_url: str | None = None,
        user: str | None = None,
        password: str | None = None,
        auth: str = "basic",
        base: str,
        ontology_iri: str,
        readable: Callable[[str], bool],
        timeout_s: float = 300.0,
    ) -> None:
        import httpx

        self.query_url = query_url
        self.update_url = update_url or query_url
        self.gsp_url = gsp_url
        self.base = base
        self.ontology_iri = ontology_iri
        self.readable = readable
        self.journal_prefix = base + "graph/journal/"
        credentials: httpx.Auth | None = None
        if user:
            if auth == "digest":
                credentials = httpx.DigestAuth(user, password or "")
            elif auth == "basic":
                credentials = httpx.BasicAuth(user, password or "")
            else:
                raise ConfigError(f"CIPD_STORE_AUTH={auth!r}: use basic or digest")
        self.client = httpx.Client(auth=credentials, timeout=timeout_s)
        self.recover()

    # -- HTTP ---------------------------------------------------------------------
    def _post(self, url: str, **kwargs: Any) -> Any:
        import httpx

        try:
            response = self.client.post(url, **kwargs)
        except httpx.HTTPError as exc:
            raise StoreError(f"{url}: cannot reach the SPARQL server: {exc}") from exc
        if response.status_code == 401:
            raise StoreError(
                f"{url}: the server refused the credentials (HTTP 401); check CIPD_STORE_USER, "
                "CIPD_STORE_PASSWORD and CIPD_STORE_AUTH (basic or digest)"
            )
        if response.status_code >= 400:
            detail = response.text.strip().splitlines()[0][:300] if response.text.strip() else ""
            raise StoreError(f"{url}: HTTP {response.status_code}: {detail}")
        return response

    def _dataset(self) -> dict[str, list[str]]:
        graphs = [g for g in self.named_graphs() if self.readable(g)]
        if not graphs:  # an empty list would mean "the server's default dataset"
            graphs = [self.base + "graph/none"]
        return {"default-graph-uri": graphs, "named-graph-uri": graphs}

    def send_query(
        self, text: str, *, accept: str, union: bool = False, timeout_s: float | None = None
    ) -> bytes:
        """POST a query (form-encoded) and return the raw answer in the ``accept`` format.

        With ``union``, the default graph is the union of the readable graphs, named in the
        request: a server's own default graph may hold other stores' graphs, system graphs
        (Virtuoso) or nothing at all (Fuseki without unionDefaultGraph).
        """
        import httpx

        data: dict[str, Any] = {"query": text}
        if union:
            data |= self._dataset()
        timeout = httpx.Timeout(timeout_s) if timeout_s is not None else self.client.timeout
        try:
            response = self.client.post(
                self.query_url, data=data, headers={"Accept": accept}, timeout=timeout
            )
        except httpx.TimeoutException:
            raise
        except httpx.HTTPError as exc:
            raise StoreError(f"{self.query_url}: cannot reach the SPARQL server: {exc}") from exc
        if response.status_code >= 400:
            detail = response.text.strip().splitlines()[0][:300] if response.text.strip() else ""
            raise StoreError(f"{self.query_url}: HTTP {response.status_code}: {detail}")
        content: bytes = response.content
        return content

    def query(self, text: str, *, union: bool = False) -> QueryAnswer:
        form = _query_form(text)
        if form in ("CONSTRUCT", "DESCRIBE"):
            body = self.send_query(text, accept="application/n-triples", union=union)
            return list(ox.parse(body, format=ox.RdfFormat.N_TRIPLES))
        body = self.send_query(text, accept="application/sparql-results+json", union=union)
        return parse_json_results(body)

    def _select(self, text: str) -> list[dict[str, Any]]:
        result = self.query(text)
        assert isinstance(result, ox.QuerySolutions)
        names = [v.value for v in result.variables]
        return [{n: row[n] for n in names} for row in result]

    def _run_update(self, text: str) -> None:
        self._post(self.update_url, data={"update": text})

    # -- graphs ---------------------------------------------------------------------
    def _owned(self, graph: str) -> bool:
        if graph.startswith(self.journal_prefix):
            return False
        return graph.startswith(self.base + "graph/") or graph == self.ontology_iri

    def named_graphs(self) -> list[str]:
        # Filtered by prefix in the query: Virtuoso lists its own system graphs 30x slower.
        rows = self._select(
            "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } "
            f'FILTER(STRSTARTS(STR(?g), "{self.base}graph/") || ?g = <{self.ontology_iri}>) }}'
        )
        return sorted(g for g in (r["g"].value for r in rows) if self._owned(g))

    def _graph_count(self, graph: str) -> int:
        rows = self._select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
        return int(rows[0]["n"].value)

    def graph_triples(self, graph: str) -> list[ox.Triple]:
        """Every triple of one graph, read whole (checked against its count)."""
        if self.gsp_url:
            import httpx

            try:
                response = self.client.get(
                    self.gsp_url,
                    params={"graph": graph},
                    headers={"Accept": "application/n-triples"},
                )
            except httpx.HTTPError as exc:
                raise StoreError(f"{self.gsp_url}: cannot reach the server: {exc}") from exc
            if response.status_code == 404:
                return []
            if response.status_code >= 400:
                raise StoreError(f"{self.gsp_url}: HTTP {response.status_code} reading <{graph}>")
            triples = list(ox.parse(response.content, format=ox.RdfFormat.N_TRIPLES))
        else:
            result = self.query(
                f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
            )
            assert isinstance(result, list)
            triples = [t for t in result if isinstance(t, ox.Triple)]
        expected = self._graph_count(graph)
        if len(triples) < expected:
            raise StoreError(
                f"the server returned {len(triples)} of the {expected} triples of <{graph}>: it "
                "caps results (Virtuoso: raise ResultSetMaxRows in the [SPARQL] section of "
                "virtuoso.ini, or set CIPD_STORE_GSP)"
            )
        return triples

    def quads(self, graph: str | None = None) -> Iterator[ox.Quad]:
        for name in [graph] if graph is not None else self.named_graphs():
            node = ox.NamedNode(name)
            for t in self.graph_triples(name):
                yield ox.Quad(t.subject, t.predicate, t.object, node)

    def count(self) -> int:
        rows = self._select(
            "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } "
            f'FILTER((STRSTARTS(STR(?g), "{self.base}graph/") && !STRSTARTS(STR(?g), "{self.journal_prefix}")) '
            f"|| ?g = <{self.ontology_iri}>) }}"
        )
        return int(rows[0]["n"].value)

    def close(self) -> None:
        self.client.close()

    # -- writes -----------------------------------------------------------------------
    def _requests(self, prologue: str, operations: Sequence[str]) -> Iterator[tuple[str, Any]]:
        """The update split into requests the server accepts: ("update", text) or ("gsp", ...)."""
        for op in operations:
            match = _INSERT_DATA.match(op)
            if match is None:
                yield "update", prologue + "\n" + self._own_graphs_only(op)
                continue
            try:
                quads = list(ox.parse(match.group(1), format=ox.RdfFormat.TRIG))
            except SyntaxError as exc:
                raise StoreError(f"the update holds data that is not valid RDF: {exc}") from exc
            by_graph: dict[str, list[ox.Quad]] = {}
            for q in quads:
                name = q.graph_name.value if isinstance(q.graph_name, ox.NamedNode) else ""
                by_graph.setdefault(name, []).append(q)
            for name, group in by_graph.items():
                if self.gsp_url and name:
                    yield "gsp", (name, "\n".join(_nt_line(q) for q in group) + "\n")
                    continue
                plain = [q for q in group if not _has_bnode(q)]
                blank = [q for q in group if _has_bnode(q)]
                target = f"GRAPH <{name}> " if name else ""
                for start in range(0, len(plain), INSERT_CHUNK):
                    lines = "\n".join(_nt_line(q) for q in plain[start : start + INSERT_CHUNK])
                    yield "update", f"INSERT DATA {{ {target}{{ {lines} }} }}"
                if blank:  # Virtuoso refuses blank nodes in INSERT DATA; a template makes them
                    lines = "\n".join(_nt_line(q) for q in blank)
                    yield "update", f"INSERT {{ {target}{{ {lines} }} }} WHERE {{}}"

    def _own_graphs_only(self, op: str) -> str:
        """``op`` with its WHERE reading only this store's graphs (``USING NAMED``).

        Rules read ``GRAPH ?g``; on a server holding other data (other stores, system
        graphs) that would derive facts from it.
        """
        where = _top_level_where(op)
        if where is None:
            return op
        using = " ".join(f"USING NAMED <{g}>" for g in self.named_graphs())
        return op[:where] + using + "\n" + op[where:]

    def _gsp_post(self, graph: str, data: str) -> None:
        assert self.gsp_url is not None
        self._post(
            self.gsp_url,
            params={"graph": graph},
            content=data.encode("utf-8"),
            headers={"Content-Type": "application/n-triples"},
        )

    def update(
        self, operations: Sequence[str], *, prologue: str = "", graphs: Collection[str] = ()
    ) -> None:
        changed = sorted(touched_graphs(operations) | set(graphs))
        journal = self.journal_prefix + uuid.uuid4().hex
        try:
            self._save(journal, changed)
        except StoreError as exc:
            self._forget(journal)
            raise StoreError(f"could not prepare the write, nothing was written: {exc}") from exc
        try:
            for kind, payload in self._requests(prologue, operations):
                if kind == "gsp":
                    self._gsp_post(*payload)
                else:
                    self._run_update(payload)
        except StoreError as exc:
            try:
                self._rollback(journal)
            except StoreError as again:
                raise StoreError(
                    f"the server refused the update ({exc}) and putting back the earlier graphs "
                    f"failed too ({again}); the undo journal <{journal}> stays, and the next "
                    "cipd command that opens the store rolls it back"
                ) from exc
            raise StoreError(f"the store refused the update, nothing was written: {exc}") from exc
        self._forget(journal)

    def _save(self, journal: str, graphs: Sequence[str]) -> None:
        """Write the current content of ``graphs`` into the journal graph, as text."""
        jr = self.journal_prefix + "#"
        items: list[str] = []
        existing = set(self.named_graphs())
        for i, graph in enumerate(graphs):
            held = graph in existing or not self._owned(graph)
            lines = [_nt_line(t) for t in self.graph_triples(graph)] if held else []
            chunks = [lines[s : s + JOURNAL_CHUNK] for s in range(0, len(lines), JOURNAL_CHUNK)]
            for j, chunk in enumerate(chunks or [[]]):
                node = f"<{journal}/{i}/{j}>"
                text = _sparql_string("\n".join(chunk))
                items.append(f"{node} <{jr}graph> <{graph}> ; <{jr}content> {text} .")
        items.append(f"<{journal}> <{jr}complete> true .")  # the journal is only valid whole
        for start in range(0, len(items), 20):
            body = "\n".join(items[start : start + 20])
            self._run_update(f"INSERT DATA {{ GRAPH <{journal}> {{ {body} }} }}")

    def _forget(self, journal: str) -> None:
        self._run_update(f"DROP SILENT GRAPH <{journal}>")

    def _rollback(self, journal: str) -> None:
        """Put back the graphs saved in ``journal``, then delete it."""
        jr = self.journal_prefix + "#"
        rows = self._select(
            f"SELECT ?graph ?content WHERE {{ GRAPH <{journal}> {{ ?part <{jr}graph> ?graph ; "
            f"<{jr}content> ?content }} }}"
        )
        complete = self.query(f"ASK {{ GRAPH <{journal}> {{ <{journal}> <{jr}complete> ?x }} }}")
        if not complete:  # written only in part: nothing was changed yet
            self._forget(journal)
            return
        saved: dict[str, list[str]] = {}
        for row in rows:
            saved.setdefault(row["graph"].value, []).append(row["content"].value)
        for graph, parts in saved.items():
            self._run_update(f"DROP SILENT GRAPH <{graph}>")
            data = "\n".join(p for p in parts if p)
            if data:
                op = f"INSERT DATA {{ GRAPH <{graph}> {{ {data} }} }}"
                for kind, payload in self._requests("", [op]):
                    if kind == "gsp":
                        self._gsp_post(*payload)
                    else:
                        self._run_update(payload)
        self._forget(journal)

    def recover(self) -> list[str]:
        """Roll back writes that a process left half-done; return their journal graphs."""
        rows = self._select(
            "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } "
            f'FILTER(STRSTARTS(STR(?g), "{self.journal_prefix}")) }}'
        )
        journals = [r["g"].value for r in rows]
        for journal in journals:
            self._rollback(journal)
        return journals


def _top_level_where(op: str) -> int | None:
    """Where the WHERE of an INSERT/DELETE ... WHERE operation starts, outside braces.

    >>> op = "INSERT { GRAPH <urn:g> { ?s <urn:where> ?o } } WHERE { GRAPH ?g { ?s ?p ?o } }"
    >>> op[_top_level_where(op):][:7]
    'WHERE {'
    >>> _top_level_where("DROP SILENT GRAPH <urn:g>") is None
    True
    """
    if not re.match(r"\s*(INSERT|DELETE)\b", op, re.IGNORECASE):
        return None
    depth = 0
    i = 0
    while i < len(op):
        c = op[i]
        if c == "<":  # an IRI
            i = op.index(">", i)
        elif c in "\"'":  # a string
            j = i + 1
            while op[j] != c:
                j += 2 if op[j] == "\\" else 1
            i = j
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif depth == 0 and op[i : i + 5].upper() == "WHERE":
            return i
        i += 1
    return None


def _has_bnode(quad: ox.Quad) -> bool:
    return isinstance(quad.subject, ox.BlankNode) or isinstance(quad.object, ox.BlankNode)


def _sparql_string(text: str) -> str:
    """``text`` as a SPARQL string literal.

    >>> print(_sparql_string('say "hi"'))
    "say \\"hi\\""
    """
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r") + '"'


def _query_form(text: str) -> str:
    """SELECT, ASK, CONSTRUCT or DESCRIBE: the first form keyword outside the prologue.

    >>> _query_form("PREFIX s: <http://x/SELECT#> # ASK\\nCONSTRUCT { ?s ?p ?o } WHERE { }")
    'CONSTRUCT'
    """
    body = re.sub(r"<[^>]*>", "<>", text)
    body = re.sub(r"#[^\n]*", "", body)
    match = re.search(r"\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", body, re.IGNORECASE)
    return match.group(1).upper() if match else "SELECT"
