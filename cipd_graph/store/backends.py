"""Where the graph's quads live: an embedded Oxigraph store, or a remote SPARQL 1.1 server.

A backend knows nothing of records. It answers queries (with pyoxigraph's own result
types, so callers never know which backend they talk to), applies a :class:`ChangeSet`
all together or not at all, and looks triples up for the derivation of facts.

Its default graph is the *union* (see :mod:`cipd_graph.store.layout`): every triple of the
record, derived and ontology graphs, each once. The embedded store keeps it in Oxigraph's
default graph; a remote one in the named graph ``<base>graph/union``, which it names as the
default graph of every query.

The embedded store applies a change set as one SPARQL update, one Oxigraph transaction. A
remote server such as Virtuoso does not run a multi-operation request atomically (measured:
the operations before a failing one stay applied), so :class:`RemoteBackend` keeps an undo
journal: before it writes, it saves what the change would lose (the content of the graphs it
replaces, and the triples it adds to or removes from the others) in a journal graph; if any
request fails it puts that back and deletes the journal. A writer that dies half-way leaves
its journal, and the next :class:`RemoteBackend` to open the store rolls it back first.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyoxigraph as ox

from cipd_graph._errors import ConfigError, StoreError, StoreInUseError
from cipd_graph.store.layout import GraphLayout

#: What a query gives back: solutions, a yes/no answer, or the triples of a CONSTRUCT/DESCRIBE.
QueryAnswer = ox.QuerySolutions | ox.QueryBoolean | list[ox.Triple]

XSD = "http://www.w3.org/2001/XMLSchema#"
#: Quads per INSERT DATA request: Virtuoso 7.2 refuses one of about 2,000 triples
#: ("SPARQL compiler ... memory exhausted") and a request of several larger ones.
INSERT_CHUNK = 500
#: Size of a journal literal holding part of a saved graph.
JOURNAL_CHUNK = 400
#: IRIs in one VALUES block of a remote look-up.
LOOKUP_CHUNK = 400
#: The key of the union in a :class:`ChangeSet`.
UNION = ""
_GRAPH_IRI = re.compile(r"GRAPH\s*<([^>]+)>", re.IGNORECASE)
_INSERT_DATA = re.compile(r"^\s*INSERT\s+DATA\s*\{(.*)\}\s*$", re.IGNORECASE | re.DOTALL)


@dataclass
class ChangeSet:
    """Writes that apply all together or not at all.

    ``replace``: graph -> its whole new content (the graph is emptied first; an empty list
    removes it). ``remove`` and ``add``: graph (:data:`UNION` for the union) -> triples. A
    writer puts in ``remove`` only triples the graph holds and in ``add`` only triples it
    does not, so a remote store's journal can undo them exactly.
    """

    replace: dict[str, list[ox.Triple]] = field(default_factory=dict)
    remove: dict[str, list[ox.Triple]] = field(default_factory=dict)
    add: dict[str, list[ox.Triple]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.replace) or any(self.remove.values()) or any(self.add.values())

    def extend(self, other: ChangeSet) -> None:
        """Add ``other``'s writes (to other graphs, or more triples) to this set."""
        self.replace.update(other.replace)
        for mine, theirs in ((self.remove, other.remove), (self.add, other.add)):
            for graph, triples in theirs.items():
                mine.setdefault(graph, []).extend(triples)

    def graphs(self) -> set[str]:
        """Every graph the set writes (:data:`UNION` included if it does)."""
        return (
            set(self.replace)
            | {g for g, t in self.remove.items() if t}
            | {g for g, t in self.add.items() if t}
        )


def nt_line(triple: ox.Triple | ox.Quad) -> str:
    """A triple as one N-Triples statement (the graph of a quad left out)."""
    return f"{triple.subject} {triple.predicate} {triple.object} ."


class Backend(Protocol):
    """The calls a store makes on its storage; one implementation per kind of storage."""

    #: Where the store keeps local files (a pseudonym key, uploads); None when it has none.
    location: Path | None
    layout: GraphLayout
    read_only: bool

    def query(self, text: str) -> QueryAnswer:
        """Run a SPARQL query: its default graph is the union; ``GRAPH ?g`` sees every graph."""

    def apply(
        self, changes: ChangeSet, after: Sequence[str] = (), *, graphs: Collection[str] = ()
    ) -> None:
        """Apply ``changes``, then the update operations ``after``, all together or not at
        all (``graphs``: every graph ``after`` changes beyond those its text names)."""

    def update(self, operations: Sequence[str], *, graphs: Collection[str] = ()) -> None:
        """Run SPARQL update operations all together or not at all (``graphs``: every graph
        they change beyond those their text names)."""

    def named_graphs(self) -> list[str]:
        """The IRIs of the named graphs of this store (not the server's other graphs)."""

    def quads(self, graph: str | None = None) -> Iterator[ox.Quad]:
        """Every quad of the named ``graph``, or of every named graph of the store."""

    def graph_triples(self, graph: str) -> list[ox.Triple]:
        """Every triple of one named graph."""

    def count(self) -> int:
        """How many quads the named graphs hold (the union and the store's meta graph not
        counted)."""

    def union_size(self) -> int:
        """How many triples the union holds."""

    def has_graph(self, graph: str) -> bool:
        """Whether the store holds the named ``graph`` (a look-up, not a listing)."""

    def union_is_empty(self) -> bool:
        """Whether the union holds no triple (a look-up, not a count)."""

    def has_named_graphs(self) -> bool:
        """Whether the store holds any named graph."""

    def edges(
        self, nodes: Collection[ox.NamedNode], predicate: ox.NamedNode | None, *, inverse: bool
    ) -> list[ox.Triple]:
        """The union's triples with one of ``nodes`` as subject (``inverse``: as object),
        through ``predicate`` (None: any)."""

    def in_graph(self, graph: str, subjects: Collection[ox.NamedNode]) -> list[ox.Triple]:
        """The triples of the named ``graph`` whose subject is one of ``subjects``."""

    def holders(self, triples: Collection[ox.Triple]) -> dict[ox.Triple, set[str]]:
        """For each of ``triples`` held anywhere, the named graphs holding it."""

    def placement(
        self,
        triples: Collection[ox.Triple],
        whole: dict[ox.NamedNode, list[ox.Triple]] | None = None,
    ) -> tuple[dict[ox.Triple, set[str]], set[ox.Triple]]:
        """:meth:`holders` of ``triples``, and those of them the union holds. ``whole``: where
        the backend may put, for a subject it read whole on the way, every triple the union
        holds with it as subject."""

    def close(self) -> None:
        """Make writes durable and release the store."""


def touched_graphs(operations: Sequence[str]) -> set[str]:
    """The graphs an update's text names (a superset of those it writes).

    >>> sorted(touched_graphs(["DROP SILENT GRAPH <urn:a>", "INSERT DATA { GRAPH <urn:b> { } }"]))
    ['urn:a', 'urn:b']
    """
    return {iri for op in operations for iri in _GRAPH_IRI.findall(op)}


def update_text(changes: ChangeSet, union: str | None) -> list[str]:
    """``changes`` as SPARQL update operations, in the order that applies them:
    empty the replaced graphs, remove, add. ``union``: the union's graph (None: the default
    graph)."""

    def block(graph: str, triples: Iterable[ox.Triple]) -> str:
        # Oxigraph's serialiser, not a line per triple in Python: 80,000 triples 0.08 s
        # against 0.24 s (100 files into a store).
        lines = (ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b"").decode()
        if graph == UNION and union is None:
            return lines
        return f"GRAPH <{union if graph == UNION else graph}> {{ {lines} }}"

    operations = [f"DROP SILENT GRAPH <{g}>" for g in changes.replace]
    removed = [block(g, t) for g, t in changes.remove.items() if t]
    if removed:
        operations.append("DELETE DATA { " + "\n".join(removed) + " }")
    added = [block(g, t) for g, t in changes.replace.items() if t]
    added += [block(g, t) for g, t in changes.add.items() if t]
    if added:
        operations.append("INSERT DATA { " + "\n".join(added) + " }")
    return operations


# --------------------------------------------------------------------------- embedded


class EmbeddedBackend:
    """Oxigraph on disk at ``location/oxigraph``, or in memory when ``location`` is None.

    ``location/oxigraph`` is a symbolic link to a version directory
    ``location/oxigraph.v-<id>`` (a store made before staged loads, a plain directory,
    becomes one when a writer first opens it: :func:`_link`). A staged load
    (:meth:`stage`, :meth:`swap_in`) writes into a checkpoint of the store in a new version
    directory and then points the link at it with one ``os.replace``, so the store any
    process opens is the one before or the one after, never half. Opening the store puts
    back a store whose swap was cut short and removes version directories nothing points
    at (those of a staged load that was killed or failed). ``directory`` opens one version
    directory itself (a staged load's own copy) and touches nothing around it.

    ``read_only`` opens a snapshot of the store as it is at opening, beside a process that
    writes it (RocksDB's read-only mode takes no lock): a reader beside ``cipd serve``.
    """

    def __init__(
        self,
        location: Path | None,
        layout: GraphLayout,
        *,
        directory: Path | None = None,
        read_only: bool = False,
    ) -> None:
        self.location = location
        self.layout = layout
        self.directory = directory
        self.read_only = read_only
        try:
            if directory is not None:
                self.store = ox.Store(str(directory))
            elif location is not None and read_only:
                self.store = ox.Store.read_only(str((location / LIVE).resolve()))
            elif location is not None:
                _recover(location)
                _link(location)
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
        with ``EmbeddedBackend(location, layout, directory=...)`` and write there."""
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
        assert live.is_symlink(), "opened for writing, the live store is a link (_link)"
        old = live.parent / live.readlink()
        link = self.location / f"{LIVE}.link-{uuid.uuid4().hex[:12]}"
        link.symlink_to(staged.directory.name)
        link.replace(live)  # the one step that changes which store is live
        self.close()
        self.store = staged.store
        del staged.store
        return old

    @staticmethod
    def discard(directory: Path) -> None:
        """Remove a version directory no longer live."""
        shutil.rmtree(directory, ignore_errors=True)

    def query(self, text: str) -> QueryAnswer:
        result = self.store.query(text)
        if isinstance(result, ox.QueryTriples):
            return list(result)
        return result

    def _write(self, text: str) -> None:
        if self.read_only:
            raise StoreError("the store was opened read-only (a reader); nothing was written")
        try:
            self.store.update(text)
        except (OSError, SyntaxError) as exc:
            raise StoreError(f"the store refused the update, nothing was written: {exc}") from exc
        # No flush here: the write-ahead log already keeps a committed write for the next
        # process (a reader opening the store read-only replays it), and a flush after each
        # write left a new file each time, so that every few writes one waited for RocksDB to
        # merge them into the level below: 7 s of one module-mapping edit in ten at 10M
        # triples, against 0.01-0.1 s for the others. ``close`` flushes.

    def apply(
        self, changes: ChangeSet, after: Sequence[str] = (), *, graphs: Collection[str] = ()
    ) -> None:
        operations = [*update_text(changes, None), *after]
        if operations:
            self._write(" ;\n".join(operations))

    def update(self, operations: Sequence[str], *, graphs: Collection[str] = ()) -> None:
        if operations:
            self._write(" ;\n".join(operations))

    def named_graphs(self) -> list[str]:
        return [g.value for g in self.store.named_graphs() if isinstance(g, ox.NamedNode)]

    def quads(self, graph: str | None = None) -> Iterator[ox.Quad]:
        if graph is None:
            for quad in self.store:
                if not isinstance(quad.graph_name, ox.DefaultGraph):
                    yield quad
        else:
            yield from self.store.quads_for_pattern(None, None, None, ox.NamedNode(graph))

    def graph_triples(self, graph: str) -> list[ox.Triple]:
        return [
            q.triple for q in self.store.quads_for_pattern(None, None, None, ox.NamedNode(graph))
        ]

    def count(self) -> int:
        meta = self.store.quads_for_pattern(None, None, None, ox.NamedNode(self.layout.meta))
        return len(self.store) - self.union_size() - sum(1 for _ in meta)

    def union_size(self) -> int:
        answer = self.store.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
        assert isinstance(answer, ox.QuerySolutions)
        return int(next(iter(answer))[0].value)

    def has_graph(self, graph: str) -> bool:
        return self.store.contains_named_graph(ox.NamedNode(graph))

    def union_is_empty(self) -> bool:
        pattern = self.store.quads_for_pattern(None, None, None, ox.DefaultGraph())
        return next(iter(pattern), None) is None

    def has_named_graphs(self) -> bool:
        return next(iter(self.store.named_graphs()), None) is not None

    def edges(
        self, nodes: Collection[ox.NamedNode], predicate: ox.NamedNode | None, *, inverse: bool
    ) -> list[ox.Triple]:
        default = ox.DefaultGraph()
        found: list[ox.Triple] = []
        for node in nodes:
            pattern = (
                (None, predicate, node, default) if inverse else (node, predicate, None, default)
            )
            found.extend(q.triple for q in self.store.quads_for_pattern(*pattern))
        return found

    def in_graph(self, graph: str, subjects: Collection[ox.NamedNode]) -> list[ox.Triple]:
        name = ox.NamedNode(graph)
        return [
            q.triple
            for node in subjects
            for q in self.store.quads_for_pattern(node, None, None, name)
        ]

    def holders(self, triples: Collection[ox.Triple]) -> dict[ox.Triple, set[str]]:
        found: dict[ox.Triple, set[str]] = {}
        for t in triples:
            for q in self.store.quads_for_pattern(t.subject, t.predicate, t.object, None):
                if isinstance(q.graph_name, ox.NamedNode):
                    found.setdefault(t, set()).add(q.graph_name.value)
        return found

    def placement(
        self,
        triples: Collection[ox.Triple],
        whole: dict[ox.NamedNode, list[ox.Triple]] | None = None,
    ) -> tuple[dict[ox.Triple, set[str]], set[ox.Triple]]:
        # One look-up a triple for both (any graph, the default one included), not two: a
        # 100-file load asks about 40,000 triples. A subject asked about for several triples
        # is read once, all its quads (a new project's subjects are mostly new, and then one
        # look-up answers for all of their triples).
        held: dict[ox.Triple, set[str]] = {}
        union: set[ox.Triple] = set()
        by_subject: dict[ox.NamedNode | ox.BlankNode | ox.Triple, list[ox.Triple]] = {}
        for t in triples:
            by_subject.setdefault(t.subject, []).append(t)
        for subject, asked in by_subject.items():
            if len(asked) == 1:
                t = asked[0]
                quads: Iterable[ox.Quad] = self.store.quads_for_pattern(
                    t.subject, t.predicate, t.object, None
                )
                wanted: Collection[ox.Triple] = asked
            else:
                quads = list(self.store.quads_for_pattern(subject, None, None, None))
                wanted = set(asked)
                if whole is not None and isinstance(subject, ox.NamedNode):
                    whole[subject] = [
                        q.triple for q in quads if not isinstance(q.graph_name, ox.NamedNode)
                    ]
            for q in quads:
                t = q.triple
                if t not in wanted:
                    continue
                if isinstance(q.graph_name, ox.NamedNode):
                    held.setdefault(t, set()).add(q.graph_name.value)
                else:
                    union.add(t)
        return held, union

    def close(self) -> None:
        store = getattr(self, "store", None)
        if store is None:
            return
        if self.location is not None and not self.read_only:
            store.flush()
        del self.store, store


#: The name of the live store (a directory, or a link to a version directory) in a location.
LIVE = "oxigraph"


def _recover(location: Path) -> None:
    """Put back the live store of a process killed between two renames: :func:`_link`'s
    (its link is ready), or a swap of a release before :func:`_link` (the store before)."""
    live = location / LIVE
    if live.exists() or live.is_symlink():
        return
    for link in sorted(location.glob(f"{LIVE}.link-*")):
        if link.is_symlink() and (location / link.readlink()).is_dir():
            link.replace(live)
            return
    for old in sorted(location.glob(f"{LIVE}.old-*")):
        old.rename(live)
        return


def _link(location: Path) -> None:
    """Make the live store a link to a version directory, before a writer opens it: a new
    store, or one a release before staged loads made as a plain directory.

    A writer opens the store by the real directory the link points at, and a swap only
    replaces the link; a writer that had opened a plain directory by its name would, after
    the swap made that name a link, have its files looked up in the new store's directory
    (a handle to it still alive at the swap then deleted files of the new store)."""
    live = location / LIVE
    if live.is_symlink():
        return
    suffix = uuid.uuid4().hex[:12]
    target = location / f"{LIVE}.v-{suffix}"
    if not live.exists():
        target.mkdir(parents=True)  # killed before the link: the next open removes it
        live.symlink_to(target.name)
        return
    link = location / f"{LIVE}.link-{suffix}"
    link.symlink_to(target.name)
    live.rename(target)  # killed here: the next open puts the link in place (_recover)
    link.replace(live)


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


class RemoteBackend:
    """Any SPARQL 1.1 Query + Update server (and its Graph Store Protocol, when configured).

    The store's graphs are those the layout owns (under the base IRI's ``graph/``, and the
    ontology IRI): a shared server's other graphs are never read or written. Every query
    names the union's graph as its default graph, and (when it reads ``GRAPH``) this store's
    graphs as its named graphs, so other graphs stay out even where the server's own default
    graph is the union of everything.
    """

    location: Path | None = None
    read_only = False

    def __init__(
        self,
        query_url: str,
        layout: GraphLayout,
        *,
        update_url: str | None = None,
        gsp_url: str | None = None,
        user: str | None = None,
        password: str | None = None,
        auth: str = "basic",
        timeout_s: float = 300.0,
    ) -> None:
        import httpx

        self.query_url = query_url
        self.update_url = update_url or query_url
        self.gsp_url = gsp_url
        self.layout = layout
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

    def dataset(self, text: str) -> dict[str, list[str]]:
        """The protocol's dataset parameters for ``text``: the union as the default graph,
        and this store's graphs as named graphs when the query reads ``GRAPH``."""
        data = {"default-graph-uri": [self.layout.union]}
        if re.search(r"\bGRAPH\b", text, re.IGNORECASE):
            graphs = self.named_graphs()
            # An empty list would mean "the server's named graphs".
            data["named-graph-uri"] = graphs or [self.layout.graphs + "none"]
        return data

    def send_query(
        self,
        text: str,
        *,
        accept: str,
        timeout_s: float | None = None,
        dataset: Mapping[str, list[str]] | None = None,
        plain: bool = False,
    ) -> bytes:
        """POST a query (form-encoded) and return the raw answer in ``accept``: over
        ``dataset`` (protocol parameters) when given, else over this store's own (the union
        as default graph), or with ``plain`` over the server's (for look-ups that name their
        graphs)."""
        import httpx

        data: dict[str, Any] = {"query": text}
        if dataset is not None:
            data |= dataset
        elif not plain:
            data |= self.dataset(text)
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

    def query(self, text: str, *, plain: bool = False) -> QueryAnswer:
        form = _query_form(text)
        if form in ("CONSTRUCT", "DESCRIBE"):
            body = self.send_query(text, accept="application/n-triples", plain=plain)
            return [q.triple for q in ox.parse(body, format=ox.RdfFormat.N_TRIPLES)]
        body = self.send_query(text, accept="application/sparql-results+json", plain=plain)
        return parse_json_results(body)

    def _select(self, text: str) -> list[dict[str, Any]]:
        """Rows of a look-up that names its graphs (over the server's own dataset)."""
        result = self.query(text, plain=True)
        assert isinstance(result, ox.QuerySolutions)
        names = [v.value for v in result.variables]
        return [{n: row[n] for n in names} for row in result]

    def _run_update(self, text: str) -> None:
        self._post(self.update_url, data={"update": text})

    # -- graphs ---------------------------------------------------------------------
    def _owned(self, graph: str) -> bool:
        return self.layout.owned(graph) and not graph.startswith(self.layout.journal_prefix)

    def named_graphs(self) -> list[str]:
        # Filtered by prefix in the query: Virtuoso lists its own system graphs 30x slower.
        rows = self._select(
            "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } "
            f'FILTER(STRSTARTS(STR(?g), "{self.layout.graphs}") || ?g = <{self.layout.ontology}>) }}'
        )
        return sorted(
            g for g in (r["g"].value for r in rows) if self._owned(g) and g != self.layout.union
        )

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
            triples = [q.triple for q in ox.parse(response.content, format=ox.RdfFormat.N_TRIPLES)]
        else:
            result = self.query(
                f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}",
                plain=True,
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
            f'FILTER((STRSTARTS(STR(?g), "{self.layout.graphs}") '
            f'&& !STRSTARTS(STR(?g), "{self.layout.journal_prefix}") && ?g != <{self.layout.union}> '
            f"&& ?g != <{self.layout.meta}>) "
            f"|| ?g = <{self.layout.ontology}>) }}"
        )
        return int(rows[0]["n"].value)

    def union_size(self) -> int:
        return self._graph_count(self.layout.union)

    def has_graph(self, graph: str) -> bool:
        return bool(self.query(f"ASK {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}", plain=True))

    def union_is_empty(self) -> bool:
        return not self.has_graph(self.layout.union)

    def has_named_graphs(self) -> bool:
        return bool(self.named_graphs())

    # -- look-ups ---------------------------------------------------------------------
    def _rows(self, text: str) -> Iterator[tuple[Any, ...]]:
        result = self.query(text, plain=True)
        assert isinstance(result, ox.QuerySolutions)
        for row in result:
            yield tuple(row)

    def edges(
        self, nodes: Collection[ox.NamedNode], predicate: ox.NamedNode | None, *, inverse: bool
    ) -> list[ox.Triple]:
        found: list[ox.Triple] = []
        ordered = sorted(nodes, key=str)
        p = str(predicate) if predicate is not None else "?p"
        for start in range(0, len(ordered), LOOKUP_CHUNK):
            values = " ".join(str(n) for n in ordered[start : start + LOOKUP_CHUNK])
            if inverse:
                text = f"SELECT ?s ?p ?n WHERE {{ VALUES ?n {{ {values} }} GRAPH <{self.layout.union}> {{ ?s {p} ?n }} }}"
            else:
                text = f"SELECT ?n ?p ?o WHERE {{ VALUES ?n {{ {values} }} GRAPH <{self.layout.union}> {{ ?n {p} ?o }} }}"
            for a, b, c in self._rows(text):
                found.append(ox.Triple(a, predicate or b, c))
        return found

    def in_graph(self, graph: str, subjects: Collection[ox.NamedNode]) -> list[ox.Triple]:
        found: list[ox.Triple] = []
        ordered = sorted(subjects, key=str)
        for start in range(0, len(ordered), LOOKUP_CHUNK):
            values = " ".join(str(n) for n in ordered[start : start + LOOKUP_CHUNK])
            text = f"SELECT ?s ?p ?o WHERE {{ VALUES ?s {{ {values} }} GRAPH <{graph}> {{ ?s ?p ?o }} }}"
            found.extend(ox.Triple(*row) for row in self._rows(text))
        return found

    def _triple_values(self, triples: Sequence[ox.Triple]) -> Iterator[str]:
        plain = [t for t in triples if not _has_bnode(t)]
        for start in range(0, len(plain), LOOKUP_CHUNK):
            part = plain[start : start + LOOKUP_CHUNK]
            yield " ".join(f"({t.subject} {t.predicate} {t.object})" for t in part)

    def holders(self, triples: Collection[ox.Triple]) -> dict[ox.Triple, set[str]]:
        found: dict[ox.Triple, set[str]] = {}
        for values in self._triple_values(list(triples)):
            text = (
                f"SELECT ?s ?p ?o ?g WHERE {{ VALUES (?s ?p ?o) {{ {values} }} "
                f'GRAPH ?g {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?g), "{self.layout.graphs}") '
                f"|| ?g = <{self.layout.ontology}>) }}"
            )
            for s, p, o, g in self._rows(text):
                if self._owned(g.value) and g.value != self.layout.union:
                    found.setdefault(ox.Triple(s, p, o), set()).add(g.value)
        return found

    def _in_union(self, triples: Collection[ox.Triple]) -> set[ox.Triple]:
        found: set[ox.Triple] = set()
        for values in self._triple_values(list(triples)):
            text = (
                f"SELECT ?s ?p ?o WHERE {{ VALUES (?s ?p ?o) {{ {values} }} "
                f"GRAPH <{self.layout.union}> {{ ?s ?p ?o }} }}"
            )
            found.update(ox.Triple(*row) for row in self._rows(text))
        return found

    def placement(
        self,
        triples: Collection[ox.Triple],
        whole: dict[ox.NamedNode, list[ox.Triple]] | None = None,
    ) -> tuple[dict[ox.Triple, set[str]], set[ox.Triple]]:
        return self.holders(triples), self._in_union(triples)

    def close(self) -> None:
        self.client.close()

    # -- writes -----------------------------------------------------------------------
    def _requests(self, operations: Sequence[str]) -> Iterator[tuple[str, Any]]:
        """The update split into requests the server accepts: ("update", text) or ("gsp", ...)."""
        for op in operations:
            match = _INSERT_DATA.match(op)
            if match is None:
                yield "update", self._own_graphs_only(op)
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
                yield from self._insert_requests(name, [q.triple for q in group])

    def _insert_requests(
        self, name: str, triples: Sequence[ox.Triple]
    ) -> Iterator[tuple[str, Any]]:
        if self.gsp_url and name:
            yield "gsp", (name, "\n".join(nt_line(t) for t in triples) + "\n")
            return
        plain = [t for t in triples if not _has_bnode(t)]
        blank = [t for t in triples if _has_bnode(t)]
        target = f"GRAPH <{name}> " if name else ""
        for start in range(0, len(plain), INSERT_CHUNK):
            lines = "\n".join(nt_line(t) for t in plain[start : start + INSERT_CHUNK])
            yield "update", f"INSERT DATA {{ {target}{{ {lines} }} }}"
        if blank:  # Virtuoso refuses blank nodes in INSERT DATA; a template makes them
            lines = "\n".join(nt_line(t) for t in blank)
            yield "update", f"INSERT {{ {target}{{ {lines} }} }} WHERE {{}}"

    def _delete_requests(
        self, name: str, triples: Sequence[ox.Triple]
    ) -> Iterator[tuple[str, Any]]:
        for start in range(0, len(triples), INSERT_CHUNK):
            lines = "\n".join(nt_line(t) for t in triples[start : start + INSERT_CHUNK])
            yield "update", f"DELETE DATA {{ GRAPH <{name}> {{ {lines} }} }}"

    def _change_requests(self, changes: ChangeSet) -> Iterator[tuple[str, Any]]:
        union = self.layout.union
        for graph in changes.replace:
            yield "update", f"DROP SILENT GRAPH <{graph}>"
        for graph, triples in changes.remove.items():
            yield from self._delete_requests(union if graph == UNION else graph, triples)
        for graph, triples in changes.replace.items():
            yield from self._insert_requests(graph, triples)
        for graph, triples in changes.add.items():
            yield from self._insert_requests(union if graph == UNION else graph, triples)

    def _own_graphs_only(self, op: str) -> str:
        """``op`` with its WHERE reading only this store's union (``USING``) and graphs
        (``USING NAMED``): on a server holding other data (other stores, system graphs) it
        would otherwise read that too."""
        where = _top_level_where(op)
        if where is None or re.match(r"\s*DELETE\s+WHERE\b", op, re.IGNORECASE):
            return op  # DELETE WHERE names its graphs itself and takes no USING
        using = f"USING <{self.layout.union}> " + " ".join(
            f"USING NAMED <{g}>" for g in self.named_graphs()
        )
        return op[:where] + using + "\n" + op[where:]

    def _gsp_post(self, graph: str, data: str) -> None:
        assert self.gsp_url is not None
        self._post(
            self.gsp_url,
            params={"graph": graph},
            content=data.encode("utf-8"),
            headers={"Content-Type": "application/n-triples"},
        )

    def _send(self, requests: Iterable[tuple[str, Any]]) -> None:
        for kind, payload in requests:
            if kind == "gsp":
                self._gsp_post(*payload)
            else:
                self._run_update(payload)

    def _journalled(
        self, entries: list[tuple[str, str, list[str]]], requests: Iterable[tuple[str, Any]]
    ) -> None:
        """Save ``entries`` (kind, graph, N-Triples lines) in a new journal, send
        ``requests``, and forget the journal; on failure roll the journal back."""
        journal = self.layout.journal_prefix + uuid.uuid4().hex
        try:
            self._save(journal, entries)
        except StoreError as exc:
            self._forget(journal)
            raise StoreError(f"could not prepare the write, nothing was written: {exc}") from exc
        try:
            self._send(requests)
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

    def apply(
        self, changes: ChangeSet, after: Sequence[str] = (), *, graphs: Collection[str] = ()
    ) -> None:
        if not changes and not after:
            return
        union = self.layout.union
        existing = set(self.named_graphs())
        whole = list(changes.replace)
        if after:  # operations whose effect is not known in advance: save the graphs whole
            whole += sorted((touched_graphs(after) | set(graphs) | {union}) - set(whole))
        entries: list[tuple[str, str, list[str]]] = []
        for graph in whole:
            held = graph in existing or graph == union
            lines = [nt_line(t) for t in self.graph_triples(graph)] if held else []
            entries.append(("content", graph, lines))
        for kind, part in (("removed", changes.remove), ("added", changes.add)):
            for graph, triples in part.items():
                target = union if graph == UNION else graph
                if triples and target not in whole:
                    entries.append((kind, target, [nt_line(t) for t in triples]))
        requests = itertools.chain(self._change_requests(changes), self._requests(after))
        self._journalled(entries, requests)

    def update(self, operations: Sequence[str], *, graphs: Collection[str] = ()) -> None:
        changed = sorted(touched_graphs(operations) | set(graphs))
        existing = set(self.named_graphs())
        entries = [
            ("content", g, [nt_line(t) for t in self.graph_triples(g)] if g in existing else [])
            for g in changed
        ]
        self._journalled(entries, self._requests(operations))

    def _save(self, journal: str, entries: list[tuple[str, str, list[str]]]) -> None:
        """Write what a write would lose into the journal graph, as text: a replaced
        graph's content, or the triples added to or removed from a graph."""
        jr = self.layout.journal_prefix + "#"
        items: list[str] = []
        for i, (kind, graph, lines) in enumerate(entries):
            chunks = [lines[s : s + JOURNAL_CHUNK] for s in range(0, len(lines), JOURNAL_CHUNK)]
            for j, chunk in enumerate(chunks or [[]]):
                node = f"<{journal}/{i}/{j}>"
                text = _sparql_string("\n".join(chunk))
                items.append(
                    f'{node} <{jr}graph> <{graph}> ; <{jr}kind> "{kind}" ; <{jr}content> {text} .'
                )
        items.append(f"<{journal}> <{jr}complete> true .")  # the journal is only valid whole
        for start in range(0, len(items), 20):
            body = "\n".join(items[start : start + 20])
            self._run_update(f"INSERT DATA {{ GRAPH <{journal}> {{ {body} }} }}")

    def _forget(self, journal: str) -> None:
        self._run_update(f"DROP SILENT GRAPH <{journal}>")

    def _rollback(self, journal: str) -> None:
        """Undo what ``journal`` saved, then delete it: put back replaced graphs, take out
        added triples, put back removed ones."""
        jr = self.layout.journal_prefix + "#"
        rows = self._select(
            f"SELECT ?graph ?kind ?content WHERE {{ GRAPH <{journal}> {{ ?part <{jr}graph> ?graph ; "
            f"<{jr}content> ?content . OPTIONAL {{ ?part <{jr}kind> ?kind }} }} }}"
        )
        complete = self.query(
            f"ASK {{ GRAPH <{journal}> {{ <{journal}> <{jr}complete> ?x }} }}", plain=True
        )
        if not complete:  # written only in part: nothing was changed yet
            self._forget(journal)
            return
        saved: dict[tuple[str, str], list[str]] = {}
        for row in rows:
            kind = row["kind"].value if row["kind"] is not None else "content"
            saved.setdefault((kind, row["graph"].value), []).append(row["content"].value)
        for (kind, graph), parts in sorted(saved.items()):
            data = "\n".join(p for p in parts if p)
            triples = (
                [q.triple for q in ox.parse(data.encode(), format=ox.RdfFormat.N_TRIPLES)]
                if data
                else []
            )
            if kind == "content":
                self._run_update(f"DROP SILENT GRAPH <{graph}>")
                self._send(self._insert_requests(graph, triples))
            elif kind == "added":
                self._send(self._delete_requests(graph, triples))
            else:
                self._send(self._insert_requests(graph, triples))
        self._forget(journal)

    def recover(self) -> list[str]:
        """Roll back writes that a process left half-done; return their journal graphs."""
        rows = self._select(
            "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } "
            f'FILTER(STRSTARTS(STR(?g), "{self.layout.journal_prefix}")) }}'
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


def _has_bnode(triple: ox.Quad | ox.Triple) -> bool:
    return isinstance(triple.subject, ox.BlankNode) or isinstance(triple.object, ox.BlankNode)


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
