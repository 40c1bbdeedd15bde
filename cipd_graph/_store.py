"""The graph store, loaded one source file (batch) at a time.

The quads live in a backend (``_backend.py``): an embedded Oxigraph store on disk, or a
remote SPARQL 1.1 server when ``CIPD_STORE`` is an http(s) URL. A load parses, maps and
validates every file before anything is written; then one SPARQL Update (one Oxigraph
transaction, or one journalled write on a remote server) replaces each file's named
graph, its names and provenance graphs, refreshes the ontology graph if it changed and
recomputes the derived facts. A failed load leaves the store as it was.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import hashlib
import os
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import PROV, RDF, RDFS, XSD
from rdflib.term import Node

from cipd_graph._backend import Backend, EmbeddedBackend, QueryAnswer, RemoteBackend
from cipd_graph._bloom import SubjectFilter
from cipd_graph._config import Settings
from cipd_graph._errors import RecordError, RecordProblem, StoreError
from cipd_graph._gc import fewer_collections
from cipd_graph._mapping import MappedFile, Mapper, record_graph
from cipd_graph._model import Model
from cipd_graph._ontology import CIPD, ONTOLOGY_IRI, PREFIXES, curie, load_ontology
from cipd_graph._pseudonym import Pseudonymiser
from cipd_graph._records import PROJECT_SUFFIXES, TABLES, RecordFile, parse_file
from cipd_graph._rules import derivation_steps, rule_levels
from cipd_graph._triples import triples_of
from cipd_graph._validation import ValidationReport, validate_graph

Triple = tuple[Node, Node, Node]

TOOL_VERSION = "0.1.0"
#: Subjects a record file brings, to size a staged load's filter (generated projects: about 51).
SUBJECTS_PER_FILE = 64
#: Reference tables load before projects, in this order, so references resolve.
LOAD_ORDER = {name: i for i, name in enumerate(TABLES)} | {"project": len(TABLES)}
#: Classes whose instances one file defines; another file defining the same IRI is an error.
ENTITY_CLASSES = (
    CIPD.ImprovementProject,
    CIPD.ServiceProvider,
    CIPD.EducationalInstitution,
    CIPD.Commissioner,
    CIPD.Module,
    CIPD.Programme,
    CIPD.Partnership,
    CIPD.Team,
    CIPD.ClinicalMicrosystem,
    CIPD.InterprofessionalTeam,
    CIPD.CommunityOfPractice,
    CIPD.ActionLearningSet,
    CIPD.CompetencyFramework,
)


# --------------------------------------------------------------------------- conversions


def _to_rdflib(term: Any) -> Node:
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    raise StoreError(f"unexpected RDF term {term!r}")


def _to_oxigraph(term: Node) -> Any:
    if isinstance(term, URIRef):
        return ox.NamedNode(term)
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(term.datatype))
        return ox.Literal(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    raise StoreError(f"unexpected RDF term {term!r}")


def _nt(graph: Graph) -> str:
    return graph.serialize(format="nt", encoding="utf-8").decode("utf-8")


def _iri_ok(iri: str) -> str:
    if re.search(r"[\s<>\"{}|\\^`]", iri):
        raise StoreError(f"not a valid IRI: {iri!r}")
    return iri


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class SourceInfo:
    """A batch in the store and where it came from."""

    graph: str
    path: str
    kind: str
    sha256: str
    loaded_at: str
    loaded_by: str
    triples: int
    tool_version: str


@dataclass(frozen=True)
class BatchSummary:
    """What a load did (or would do) with one file."""

    path: str
    graph: str
    kind: str
    records: int
    triples: int
    replaces: bool


@dataclass
class LoadResult:
    """The outcome of loading or validating files: problems, the SHACL report, what was written."""

    batches: list[BatchSummary] = field(default_factory=list)
    problems: list[RecordProblem] = field(default_factory=list)
    #: Things a reader could not place and left out, reported so that nothing is dropped silently.
    warnings: list[RecordProblem] = field(default_factory=list)
    report: ValidationReport = field(default_factory=ValidationReport)
    written: bool = False

    @property
    def ok(self) -> bool:
        """No format problem and no validation error."""
        return not self.problems and self.report.conforms

    def to_text(self) -> str:
        """A plain-language account for people."""
        lines = [str(p) for p in self.problems]
        lines += [f"warning: {w}" for w in self.warnings]
        if self.report.findings:
            lines.append(self.report.to_text())
        if self.ok:
            verb = "loaded" if self.written else "valid"
            for b in self.batches:
                again = " (replaced the earlier load)" if b.replaces and self.written else ""
                lines.append(
                    f"{verb}: {b.path}: {b.records} record{'s' if b.records != 1 else ''}, {b.triples} triples{again}"
                )
        else:
            errors = len(self.problems) + len(self.report.errors)
            lines.append(f"nothing was written: {errors} error(s) to fix first")
        return "\n".join(lines)


# --------------------------------------------------------------------------- the store


class GraphStore:
    """The CIPD graph in an Oxigraph store: on disk at ``location``, or in memory.

    >>> store = GraphStore(None, Settings(pseudonym_key="doctest-key-0123456789"))
    >>> store.stats()["batches"]
    0
    """

    def __init__(
        self,
        location: Path | None,
        settings: Settings | None = None,
        *,
        backend: Backend | None = None,
    ) -> None:
        self.settings = settings or Settings.from_env()
        base = self.settings.base_iri
        self.base = base
        self.inferred_graph = base + "graph/inferred"
        self.backend: Backend = backend or EmbeddedBackend(location)
        self.location = self.backend.location
        self._pseudonymiser: Pseudonymiser | None = None
        self._mapper: Mapper | None = None  # the last load's mapper, to name people in reports
        self._model: Model | None = None
        #: During a staged load: every subject its record graphs may hold (see ``_bloom``).
        self._known_subjects: SubjectFilter | None = None
        #: During a staged load: the chunks not on disk yet.
        self._pending: _Pending | None = None

    @classmethod
    def open(cls, settings: Settings | None = None) -> GraphStore:
        """Open the store that ``CIPD_STORE`` names."""
        settings = settings or Settings.from_env()
        if not settings.store_is_remote:
            return cls(Path(settings.store), settings)
        if not settings.pseudonym_key:
            raise StoreError(
                f"CIPD_STORE={settings.store!r} is a remote SPARQL server: set CIPD_PSEUDONYM_KEY "
                "too (a remote store has no local directory to keep a generated key in, and "
                "every process writing to it must use the same key)"
            )
        backend = RemoteBackend(
            settings.store,
            update_url=settings.store_update,
            gsp_url=settings.store_gsp,
            user=settings.store_user,
            password=settings.store_password,
            auth=settings.store_auth,
            base=settings.base_iri,
            ontology_iri=str(ONTOLOGY_IRI),
            readable=_readable,
        )
        return cls(None, settings, backend=backend)

    @property
    def is_remote(self) -> bool:
        """Whether the quads live on a remote SPARQL server."""
        return isinstance(self.backend, RemoteBackend)

    def close(self) -> None:
        """Flush to disk (or close the connection) and release the store."""
        self.backend.close()

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def oxigraph(self) -> ox.Store:
        """The underlying pyoxigraph store of an embedded store (read it; write through this class)."""
        if not isinstance(self.backend, EmbeddedBackend):
            raise StoreError("the store is a remote SPARQL server: use GraphStore.query")
        return self.backend.store

    def query(self, text: str, *, union: bool = False) -> QueryAnswer:
        """Run a read-only SPARQL query; ``union``: the default graph is the union of graphs.

        On a remote store the union is the readable graphs only (never the names graphs);
        the embedded store answers over every graph, which is 10-25x faster, so queries
        that may see names (all named queries) must not read ``foaf:name``.

        >>> store = GraphStore(None, Settings(pseudonym_key="doctest-key-0123456789"))
        >>> bool(store.query("ASK { ?s ?p ?o }", union=True))
        False
        """
        return self.backend.query(text, union=union)

    def query_readable(self, text: str) -> QueryAnswer:
        """Run a read-only query whose default graph is the readable graphs only (never names).

        Slower than ``query(union=True)`` on the embedded store, for queries that may match
        any predicate of a person (exports), where a name must never slip through.
        """
        if isinstance(self.backend, EmbeddedBackend):
            graphs: list[ox.NamedNode | ox.BlankNode | ox.DefaultGraph] = list(
                self.readable_graphs()
            )
            result = self.backend.store.query(text, default_graph=graphs)
            return list(result) if isinstance(result, ox.QueryTriples) else result
        return self.backend.query(text, union=True)

    def triple_count(self) -> int:
        """How many quads the store holds (every graph, names and ontology included)."""
        return self.backend.count()

    # -- helpers ------------------------------------------------------------------
    @property
    def pseudonymiser(self) -> Pseudonymiser:
        """The keyed hash for person identifiers (CIPD_PSEUDONYM_KEY or the store's key file)."""
        if self._pseudonymiser is None:
            self._pseudonymiser = Pseudonymiser.from_settings(
                self.settings.pseudonym_key, self.location
            )
        return self._pseudonymiser

    @property
    def model(self) -> Model:
        """The CIPD model the store's records are mapped against."""
        if self._model is None:
            self._model = Model(load_ontology(self.settings.ontology_dir))
        return self._model

    def batch_graph(self, path: Path) -> str:
        """The named graph a source file is loaded into (stable for the file's location)."""
        key = str(path.resolve())
        return self.base + "graph/source/" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]

    def _is_record_graph(self, graph: str) -> bool:
        # Loaded files live under graph/source/, edits made through the API under graph/api/.
        return graph.startswith(
            (self.base + "graph/source/", self.base + "graph/api/")
        ) and not graph.endswith(("/names", "/provenance"))

    def record_graphs(self) -> list[str]:
        """The named graphs holding records (one per loaded file)."""
        return sorted(g for g in self.backend.named_graphs() if self._is_record_graph(g))

    def readable_graphs(self) -> list[ox.NamedNode | ox.DefaultGraph]:
        """The graphs queries read: records, derived facts, provenance and the ontology; never names."""
        return [ox.NamedNode(g) for g in self.backend.named_graphs() if _readable(g)]

    def _select(self, query: str, *, union: bool = False) -> list[dict[str, Any]]:
        solutions = self.backend.query(query, union=union)
        assert isinstance(solutions, ox.QuerySolutions)
        names = [v.value for v in solutions.variables]
        return [{n: row[n] for n in names} for row in solutions]

    # -- load -----------------------------------------------------------------------
    def _parse_and_map(self, paths: Sequence[Path]) -> tuple[list[MappedFile], list[RecordProblem]]:
        problems: list[RecordProblem] = []
        files = expand_paths(paths, problems)
        mapper = Mapper(self.base, self.pseudonymiser, self.model, self.framework_items())
        mapped, unreadable = parse_and_map(files, mapper)
        self._mapper = mapper
        return mapped, problems + unreadable

    def _duplicates(
        self,
        mapped: Sequence[MappedFile],
        graphs: dict[str, str],
        owners: dict[str, str] | None = None,
        ours: Collection[str] = (),
    ) -> list[RecordProblem]:
        """Entities defined twice: in two of ``mapped``, in a file of ``owners`` (entity IRI ->
        file, the earlier chunks of a staged load) or in a stored batch outside ``ours``."""
        return self._duplicate_problems(entities_of(mapped), graphs, owners, ours)

    def _duplicate_problems(
        self,
        entities: Sequence[Entity],
        graphs: dict[str, str],
        owners: dict[str, str] | None = None,
        ours: Collection[str] = (),
    ) -> list[RecordProblem]:
        """:meth:`_duplicates` over the entities the mapped files define (see :func:`entities_of`)."""
        problems: list[RecordProblem] = []
        owners = {} if owners is None else owners
        owner: dict[str, Entity] = {}
        for entity in entities:
            first = owners.setdefault(entity.iri, entity.path)
            owner.setdefault(entity.iri, entity)
            if first != entity.path:
                problems.append(
                    entity.problem(f"also defined in {first}; each entity is defined in one file")
                )
        if not owner:
            return problems
        replaced = set(graphs.values()) | set(ours)
        values = " ".join(f"<{_iri_ok(iri)}>" for iri in owner)
        # The classes as a filter, not a VALUES block: given ?c, Oxigraph reads every instance
        # of each class and joins (0.47 s a chunk at 10,000 projects, growing with the store);
        # given only ?s, it looks each one up (0.01 s).
        classes = ", ".join(f"<{c}>" for c in ENTITY_CLASSES)
        rows = self._select(
            f"SELECT DISTINCT ?s ?g WHERE {{ VALUES ?s {{ {values} }} "
            f"GRAPH ?g {{ ?s a ?c }} FILTER(?c IN ({classes})) }}"
        )
        for row in rows:
            graph = row["g"].value
            if graph in replaced or not self._is_record_graph(graph):
                continue
            reason = f"already loaded from {self._source_path(graph)}; change the id or drop that file first"
            problems.append(owner[row["s"].value].problem(reason))
        return problems

    def _source_path(self, graph: str) -> str:
        rows = self._select(
            "PREFIX prov: <http://www.w3.org/ns/prov#> PREFIX cipd: <https://w3id.org/cipd#> "
            f"SELECT ?path WHERE {{ GRAPH <{graph}/provenance> {{ <{graph}> prov:wasDerivedFrom ?f . "
            "?f cipd:sourcePath ?path } }"
        )
        return rows[0]["path"].value if rows else graph

    def _context(self, mapped: Sequence[MappedFile], replaced: set[str]) -> list[Triple]:
        """What the store already says about the IRIs the new batches mention."""
        return as_triples(self._context_triples(mentioned_iris(mapped, self.base), replaced))

    def _context_triples(self, mentioned: Collection[str], replaced: set[str]) -> list[ox.Triple]:
        """The stored triples (outside ``replaced`` and the derived facts) about ``mentioned``
        IRIs, and about the stored things those triples point at."""
        found: dict[ox.Triple, None] = {}
        base = _iri_ok(self.base)
        # Record graphs only (as _is_record_graph says), and not the ones being replaced. The
        # store filters and removes duplicates: a person's profession is stated again in the
        # graph of every project they work on, so the rows grow with the store.
        not_in = ", ".join(f"<{_iri_ok(g)}>" for g in sorted(replaced))
        where_graph = (
            f'FILTER((STRSTARTS(STR(?g), "{base}graph/source/") '
            f'|| STRSTARTS(STR(?g), "{base}graph/api/")) '
            '&& !STRENDS(STR(?g), "/names") && !STRENDS(STR(?g), "/provenance"))'
            + (f" FILTER(?g NOT IN ({not_in}))" if not_in else "")
        )

        def about(iris: Sequence[str]) -> None:
            for start in range(0, len(iris), 2000):
                part = iris[start : start + 2000]
                chunk = " ".join(f"<{_iri_ok(i)}>" for i in part)
                text = (
                    f"SELECT DISTINCT ?s ?p ?o WHERE {{ VALUES ?s {{ {chunk} }} "
                    f"GRAPH ?g {{ ?s ?p ?o }} {where_graph} }}"
                )
                # A staged load's chunks not yet on disk are pending (see _Pending).
                pending = self._pending.store_of(part) if self._pending is not None else None
                for rows in (
                    self.backend.query(text),
                    *([pending.query(text)] if pending is not None else []),
                ):
                    assert isinstance(rows, ox.QuerySolutions)
                    for s, p, o in rows:
                        found.setdefault(ox.Triple(s, p, o), None)

        known = self._known_subjects
        if known is not None:  # a staged load: skip the IRIs no record graph has as subject
            mentioned = [iri for iri in mentioned if iri in known]
        about(sorted(mentioned))
        # One hop further: what the stored things those triples point at say, so that a shape
        # checking a stored subject sees the class of its provider (a module an import adds to a
        # programme) or the professions of its participants (a person an import adds to an activity).
        further = {
            t.object.value
            for t in found
            if isinstance(t.object, ox.NamedNode) and t.object.value.startswith(self.base)
        } - set(mentioned)
        if known is not None:
            further = {iri for iri in further if iri in known}
        about(sorted(further))
        return list(found)

    def _subject_filter(self, existing: Collection[str], files: int) -> SubjectFilter | None:
        """A filter of the subjects the store holds (``existing``: its record graphs), for a
        staged load of ``files`` files to skip looking up IRIs nothing states anything about;
        None when the store is larger than the load (reading its subjects would cost more
        than the look-ups it saves)."""
        if len(existing) > files:
            return None
        known = SubjectFilter(expected=SUBJECTS_PER_FILE * (files + len(existing)))
        if existing:  # every graph's subjects: more than needed, which only costs look-ups
            rows = self.backend.query(
                "SELECT DISTINCT ?s WHERE { GRAPH ?g { ?s ?p ?o } FILTER(isIRI(?s)) }"
            )
            assert isinstance(rows, ox.QuerySolutions)
            known.update(row[0].value for row in rows)
        return known

    def _describe(self, iri: str) -> str:
        person_prefix = self.base + "person/"
        if iri.startswith(person_prefix):
            local = self._mapper_local_ids().get(iri)
            return f"person {local}" if local else "person " + iri.removeprefix(person_prefix)
        if iri.startswith(self.base):
            return iri.removeprefix(self.base)
        return curie(iri)

    def _mapper_local_ids(self) -> dict[str, str]:
        return self._mapper.local_ids if self._mapper is not None else {}

    def new_mapper(self) -> Mapper:
        """A mapper for this store (its base IRI, pseudonym key and model), for readers of other formats.

        The store remembers it so that reports name people by the ids this mapper saw.
        """
        self._mapper = Mapper(self.base, self.pseudonymiser, self.model, self.framework_items())
        self._mapper.stored_types = self.stored_types
        return self._mapper

    def framework_items(self) -> dict[str, URIRef]:
        """Items of imported competency frameworks, by every key a record may name them with.

        Keys are the item's IRI, its URI in the publishing system (``skos:exactMatch``), its
        CASE identifier, and its code (``skos:notation``) when no other item shares it.
        """
        rows = self._select(
            "PREFIX cipd: <https://w3id.org/cipd#> "
            "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
            "PREFIX dcterms: <http://purl.org/dc/terms/> "
            "SELECT ?item ?id ?uri ?code WHERE { ?item a cipd:FrameworkItem . "
            "OPTIONAL { ?item dcterms:identifier ?id } OPTIONAL { ?item skos:exactMatch ?uri } "
            "OPTIONAL { ?item skos:notation ?code } }",
            union=True,
        )
        found: dict[str, URIRef] = {}
        codes: dict[str, set[str]] = {}
        for row in rows:
            item = URIRef(row["item"].value)
            found[str(item)] = item
            for key in ("id", "uri"):
                if row[key] is not None:
                    found.setdefault(row[key].value, item)
            if row["code"] is not None:
                codes.setdefault(row["code"].value, set()).add(str(item))
        for code, items in codes.items():
            if len(items) == 1:
                found.setdefault(code, URIRef(next(iter(items))))
        return found

    def stored_types(self, iri: str, ignore: Collection[str] = ()) -> frozenset[str]:
        """The classes the loaded records give ``iri`` (empty when no record mentions it),
        not counting the batch graphs in ``ignore`` (those an import is about to replace)."""
        try:
            subject = ox.NamedNode(iri)
        except ValueError:
            return frozenset()
        rows = self._select(f"SELECT ?c ?g WHERE {{ GRAPH ?g {{ {subject} a ?c }} }}")
        return frozenset(
            row["c"].value
            for row in rows
            if isinstance(row["c"], ox.NamedNode)
            and self._is_record_graph(row["g"].value)
            and row["g"].value not in ignore
        )

    def stored_facts(self, iri: str, ignore: Collection[str] = ()) -> list[tuple[str, str, str]]:
        """What the loaded batches say about ``iri``: (predicate, object value, source path)
        rows from their record and provenance graphs, not counting the batches in ``ignore``."""
        try:
            subject = ox.NamedNode(iri)
        except ValueError:
            return []
        rows = self._select(f"SELECT ?p ?o ?g WHERE {{ GRAPH ?g {{ {subject} ?p ?o }} }}")
        paths: dict[str, str] = {}
        found: list[tuple[str, str, str]] = []
        for row in rows:
            graph = row["g"].value
            batch = graph.removesuffix("/provenance")
            if batch in ignore or not self._is_record_graph(batch) or graph.endswith("/names"):
                continue
            if batch not in paths:
                paths[batch] = self._source_path(batch)
            found.append((row["p"].value, row["o"].value, paths[batch]))
        return found

    def check(self, paths: Sequence[Path]) -> tuple[LoadResult, list[MappedFile]]:
        """Parse, map and validate ``paths`` against the store without writing anything."""
        with fewer_collections():
            mapped, problems = self._parse_and_map(paths)
            return self.check_mapped(mapped, problems), mapped

    def check_mapped(
        self, mapped: Sequence[MappedFile], problems: Sequence[RecordProblem] = ()
    ) -> LoadResult:
        """Validate already-mapped batches (from any reader) against the store; write nothing."""
        problems = [*problems, *(p for m in mapped for p in m.problems)]
        existing = set(self.record_graphs())
        graphs = {str(m.source.path): self.batch_graph(m.source.path) for m in mapped}
        result = LoadResult(problems=problems, warnings=[w for m in mapped for w in m.warnings])
        result.batches = _summaries(mapped, graphs, existing)
        if problems:
            return result
        result.problems.extend(self._duplicates(mapped, graphs))
        result.report = self._validate_batches(mapped, set(graphs.values()))
        return result

    def _validate_batches(
        self,
        mapped: Sequence[MappedFile],
        replaced: set[str],
        context: Sequence[Triple] | None = None,
    ) -> ValidationReport:
        """SHACL over ``mapped`` plus what the store says about what they mention (not
        counting the ``replaced`` graphs; ``context``: that, already read, as a load worker
        gets it); findings about the batches' own subjects only."""
        context = self._context(mapped, replaced) if context is None else context
        data: list[Graph | Sequence[Triple]] = [*(m.graph for m in mapped), context]
        index: dict[str, tuple[str, int, str]] = {}
        for m in mapped:
            for iri, (line, label) in m.records.items():
                index.setdefault(iri, (str(m.source.path), line, label))
        new_subjects = {str(s) for m in mapped for s, _, _ in triples_of(m.graph)}

        def locate(focus: str) -> tuple[str | None, int | None, str | None]:
            return index.get(focus, (None, None, None))

        return validate_graph(
            data,
            locate,
            describe=self._describe,
            focus_filter=new_subjects.__contains__,
            engine=self.settings.shacl,
        )

    def validate(self, paths: Sequence[Path]) -> LoadResult:
        """Dry run: everything a load does except writing."""
        return self.check(paths)[0]

    def load(
        self,
        paths: Sequence[Path],
        *,
        user: str | None = None,
        progress: Callable[[str], None] | None = None,
        staged: bool | None = None,
        chunk: int | None = None,
    ) -> LoadResult:
        """Load files, each into its own named graph, all in one transaction, or nothing.

        ``staged``: write through a staged copy of the store, ``chunk`` files at a time
        (default ``CIPD_BULK_CHUNK``), which bounds memory; None stages loads of at least
        ``CIPD_BULK_FILES`` files into an on-disk embedded store. Either way all or nothing.
        """
        with fewer_collections():  # a load allocates millions of objects: see ``_gc``
            if staged is None:
                staged = self.stages(paths)
            if staged:
                problems: list[RecordProblem] = []
                files = expand_paths(paths, problems)
                return self._load_staged(
                    files,
                    problems,
                    user=user,
                    progress=progress,
                    chunk=chunk or self.settings.bulk_chunk,
                )
            mapped, problems = self._parse_and_map(paths)
            return self.load_mapped(mapped, problems, user=user, progress=progress)

    @property
    def can_stage(self) -> bool:
        """Whether loads can be staged: an embedded store on disk."""
        return isinstance(self.backend, EmbeddedBackend) and self.backend.location is not None

    def stages(self, paths: Sequence[Path]) -> bool:
        """Whether ``load(paths)`` takes the staged path (``CIPD_BULK_FILES`` files or more)."""
        threshold = self.settings.bulk_files
        if not threshold or not self.can_stage:
            return False
        return len(expand_paths(paths, [])) >= threshold

    def _load_staged(
        self,
        files: Sequence[Path],
        problems: Sequence[RecordProblem],
        *,
        user: str | None,
        progress: Callable[[str], None] | None,
        chunk: int,
    ) -> LoadResult:
        """Load ``files`` chunk by chunk into a checkpoint of the store, then swap it in.

        Each chunk is parsed, mapped, checked for entities defined twice (within the load
        and against the store) and validated against the staged store, which already holds
        the earlier chunks, then written to it as quads. Only when every file of every chunk
        is clean are the derived facts recomputed there and the staged store made live (one
        ``os.replace`` of a link); otherwise it is deleted and the live store never changed.
        """
        live = self.backend
        if not isinstance(live, EmbeddedBackend) or live.location is None:
            raise StoreError("a staged load needs an embedded store on disk")
        say = progress or (lambda _msg: None)
        user = user or self.settings.user or _login()
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        result = LoadResult(problems=list(problems))
        existing = set(self.record_graphs())
        mapper = Mapper(self.base, self.pseudonymiser, self.model, self.framework_items())
        self._mapper = mapper
        ours = {self.batch_graph(f) for f in files}
        tables = [f for f in files if f.suffix.lower() == ".csv"]
        projects = sorted((f for f in files if f.suffix.lower() != ".csv"), key=str)
        chunks = ([tables] if tables else []) + [
            projects[i : i + chunk] for i in range(0, len(projects), chunk)
        ]
        state = _Staging(mapper, existing, ours, result, user=user, now=now)
        directory = live.stage()
        staging = EmbeddedBackend(live.location, directory=directory)
        swapped = False
        try:
            self.backend = staging
            self._begin_staging(staging, existing, len(files))
            earlier = sorted(ours & existing)
            if earlier:  # the earlier versions of reloaded files go first: context never sees them
                self._update(
                    [
                        f"DROP SILENT GRAPH <{g}{end}>"
                        for g in earlier
                        for end in ("", "/names", "/provenance")
                    ]
                )
            self._stage_chunks(chunks, state, staging, tables=bool(tables), say=say)
            if not result.ok or not result.batches:
                return result
            if self._pending is not None:
                self._pending.flush()
            say(f"validated {len(result.batches)} file(s); compacting the staged store")
            self._derive_staged(staging, say)
            self.backend = live
            say("swapping the staged store in")
            old = live.swap_in(staging)
            swapped = True
            say("swapped the staged store in")
            live.discard(old)
            result.written = True
            return result
        finally:
            self.backend = live
            self._end_staging()
            if not swapped:
                staging.close()
                live.discard(directory)

    def _derive_staged(self, staging: EmbeddedBackend, say: Callable[[str], None]) -> None:
        """Compact a staged store holding every chunk, then derive its facts.

        The compaction comes first because a bulk load leaves its quads in many overlapping
        files, which every look-up of a rule checks, and RocksDB starts merging them in the
        background, on a core the rules need. At 100,000 projects (31.9M quads bulk-loaded
        into a fresh store): compacting 82 s, then deriving 185 s, against deriving 314 s and
        compacting afterwards 112 s in the same load timed alone the same morning.

        The store is not compacted again after the derivation: that took 71 s in the same
        test and 116 s or more in a bench run, for the derived facts (a tenth of the quads,
        written in one bulk load a rule level). The 17 named-query cases, one run each on
        that 100,000-project store, took 95 s in all uncompacted and 80 s compacted (cq10 over
        the whole store 42 s against 31, cq06 16 against 11, cq02 9 against 14); RocksDB
        merges the derived facts' files in the background as the store is written again."""
        staging.store.optimize()
        say("compacted the staged store; deriving facts")
        ontology = self._ontology_steps()
        if ontology:
            self._update(ontology)
        self._derive_in_bulk(staging)
        say("derived the facts")

    def _begin_staging(
        self, staging: EmbeddedBackend, existing: Collection[str], files: int
    ) -> None:
        """Set up what a staged load's chunks share: the subject filter, the pending writes."""
        self._known_subjects = self._subject_filter(existing, files)
        self._pending = _Pending(staging, self.settings.stage_quads)

    def _end_staging(self) -> None:
        self._known_subjects = None
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.close()

    def _stage_chunks(
        self,
        chunks: Sequence[Sequence[Path]],
        state: _Staging,
        staging: EmbeddedBackend,
        *,
        tables: bool,
        say: Callable[[str], None],
    ) -> None:
        """Stage every chunk in order: here, or (``CIPD_LOAD_WORKERS``) in worker processes."""
        numbered = list(enumerate(chunks, 1))
        workers = self.settings.load_workers if len(chunks) > 2 else 1
        # Reference tables first, here: every project chunk's context needs them.
        serial = numbered if workers <= 1 else numbered[: 1 if tables else 0]
        for number, part in serial:
            mapped = self._stage_chunk(part, state)
            self._stage_write(self._batch_nquads(mapped, state.user, state.now), staging)
            if self._known_subjects is not None:
                self._known_subjects.update(subject_iris(mapped, self.base))
            say(f"staged chunk {number}/{len(chunks)}: {len(mapped)} file(s)")
            del mapped
        if workers > 1:
            self._stage_in_workers(
                numbered[len(serial) :], state, staging, workers=workers, say=say
            )

    def _stage_in_workers(
        self,
        chunks: Sequence[tuple[int, Sequence[Path]]],
        state: _Staging,
        staging: EmbeddedBackend,
        *,
        workers: int,
        say: Callable[[str], None],
    ) -> None:
        """Stage ``chunks`` as :meth:`_stage_chunk` does, parsed, mapped and validated by
        ``workers`` processes (see ``_parallel``); this process reads and writes the store."""
        from cipd_graph._parallel import ChunkOutcome, WorkerSetup, merge_report, run_chunks

        setup = WorkerSetup(
            settings=self.settings,
            mapper=state.mapper,
            existing=frozenset(state.existing),
            user=state.user,
            now=state.now,
        )
        replaced = {number: {self.batch_graph(p) for p in part} for number, part in chunks}
        total = max((number for number, _ in chunks), default=0)
        result = state.result

        def context(number: int, mentioned: list[str]) -> bytes:
            triples = self._context_triples(mentioned, replaced[number])
            return ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""

        def write(outcome: ChunkOutcome) -> None:
            result.problems.extend(outcome.problems)
            result.warnings.extend(outcome.warnings)
            result.batches.extend(outcome.batches)
            result.problems.extend(
                self._duplicate_problems(outcome.entities, outcome.graphs, state.owners, state.ours)
            )
            state.mapper.local_ids.update(outcome.local_ids)
            self._stage_write(outcome.nquads, staging)
            if self._known_subjects is not None:
                self._known_subjects.update(outcome.subjects)
            say(f"staged chunk {outcome.number}/{total}: {len(outcome.batches)} file(s)")

        for findings in run_chunks(chunks, setup, workers=workers, context=context, write=write):
            merge_report(result.report, findings)

    def _stage_write(self, nquads: bytes, staging: EmbeddedBackend) -> None:
        """Write a staged chunk: pending, to go to disk with others (see :class:`_Pending`)."""
        if self._pending is not None:
            self._pending.add(nquads)
        elif nquads:
            staging.store.bulk_load(nquads, format=ox.RdfFormat.N_QUADS)

    def _stage_chunk(self, part: Sequence[Path], state: _Staging) -> list[MappedFile]:
        """Parse, map, check and validate one chunk of a staged load (problems and findings
        go to ``state.result``); give the mapped files to write.

        They are written even after a problem, so that later chunks are validated against
        everything before them as in the one-transaction path; the staged copy is thrown
        away unless the whole load is clean.
        """
        result = state.result
        mapped, unreadable = parse_and_map(part, state.mapper)
        result.problems.extend(unreadable)
        graphs = {str(m.source.path): self.batch_graph(m.source.path) for m in mapped}
        result.problems.extend(p for m in mapped for p in m.problems)
        result.warnings.extend(w for m in mapped for w in m.warnings)
        result.batches.extend(_summaries(mapped, graphs, state.existing))
        result.problems.extend(self._duplicates(mapped, graphs, state.owners, state.ours))
        result.report.extend(self._validate_batches(mapped, set(graphs.values())))
        return mapped

    def _batch_nquads(self, mapped: Sequence[MappedFile], user: str, now: str) -> bytes:
        """The quads a load writes for ``mapped`` (data, names and provenance graphs), as
        N-Quads text written straight from the mapped graphs.

        Each distinct term is checked and written once, by pyoxigraph (an IRI or a language
        tag it would refuse fails here as it would in ``ox.NamedNode``); each line is then
        plain string formatting, several times faster than building a pyoxigraph quad per
        triple and serialising those.
        """
        term = ntriples_terms()
        lines: list[str] = []
        for m in mapped:
            graph = self.batch_graph(m.source.path)
            parts = [(m.graph, graph), (m.names, graph + "/names")]
            parts.append((self._provenance(m, graph, user, now), graph + "/provenance"))
            for data, name in parts:
                end = f" {ox.NamedNode(name)} .\n"
                lines.extend(f"{term(s)} {term(p)} {term(o)}{end}" for s, p, o in triples_of(data))
        return "".join(lines).encode()

    def load_mapped(
        self,
        mapped: Sequence[MappedFile],
        problems: Sequence[RecordProblem] = (),
        *,
        user: str | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> LoadResult:
        """Validate already-mapped batches and write them in one transaction, or nothing.

        This is the one write path: ``load`` uses it for record files, importers of other
        formats (``cipd_graph.interop``) for what their readers mapped.
        """
        with fewer_collections():
            result = self.check_mapped(mapped, problems)
            if not result.ok or not mapped:
                return result
            self._write(list(mapped), user or self.settings.user or _login(), progress)
        result.written = True
        return result

    def _provenance(self, m: MappedFile, graph: str, user: str, now: str) -> Graph:
        prov = record_graph()
        batch = URIRef(graph)
        source = URIRef(graph + "/provenance#file")
        load = URIRef(graph + "/provenance#load")
        tool = URIRef(self.base + "agent/cipd-graph")
        who = URIRef(self.base + "agent/user/" + re.sub(r"[^A-Za-z0-9._-]", "-", user))
        at = Literal(now, datatype=XSD.dateTime)
        prov.add((batch, RDF.type, CIPD.RecordBatch))
        prov.add((batch, PROV.wasDerivedFrom, source))
        prov.add((batch, PROV.wasGeneratedBy, load))
        prov.add((batch, PROV.generatedAtTime, at))
        prov.add((batch, CIPD.tripleCount, Literal(len(m.graph), datatype=XSD.nonNegativeInteger)))
        prov.add((source, RDF.type, CIPD.SourceFile))
        prov.add((source, CIPD.sourcePath, Literal(str(m.source.path.resolve()))))
        prov.add((source, CIPD.sha256, Literal(m.source.sha256)))
        prov.add((source, CIPD.recordKind, Literal(m.source.kind)))
        prov.add((load, RDF.type, CIPD.LoadActivity))
        prov.add((load, PROV.startedAtTime, at))
        prov.add((load, PROV.used, source))
        prov.add((load, PROV.wasAssociatedWith, tool))
        prov.add((load, PROV.wasAssociatedWith, who))
        prov.add((load, CIPD.toolVersion, Literal(TOOL_VERSION)))
        prov.add((tool, RDF.type, PROV.SoftwareAgent))
        prov.add((tool, RDFS.label, Literal(f"cipd-graph {TOOL_VERSION}")))
        prov.add((who, RDF.type, PROV.Agent))
        prov.add((who, RDFS.label, Literal(user)))
        for triple in m.provenance:
            prov.add(triple)
        return prov

    def _ontology_steps(self) -> list[str]:
        ontology = load_ontology(self.settings.ontology_dir)
        version = ontology.value(ONTOLOGY_IRI, URIRef("http://www.w3.org/2002/07/owl#versionInfo"))
        rows = self._select(
            f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{ONTOLOGY_IRI}> {{ ?s ?p ?o }} }}"
        )
        stored = int(rows[0]["n"].value)
        same = self.backend.query(
            f'ASK {{ GRAPH <{ONTOLOGY_IRI}> {{ <{ONTOLOGY_IRI}> <http://www.w3.org/2002/07/owl#versionInfo> "{version}" }} }}'
        )
        if stored == len(ontology) and bool(same):
            return []
        return [
            f"DROP SILENT GRAPH <{ONTOLOGY_IRI}>",
            f"INSERT DATA {{ GRAPH <{ONTOLOGY_IRI}> {{ {_nt(ontology)} }} }}",
        ]

    def _write(
        self, mapped: list[MappedFile], user: str, progress: Callable[[str], None] | None = None
    ) -> None:
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        prologue, derive = derivation_steps(self.inferred_graph)
        steps: list[str] = self._ontology_steps()
        for m in mapped:
            graph = self.batch_graph(m.source.path)
            steps += [
                f"DROP SILENT GRAPH <{graph}>",
                f"DROP SILENT GRAPH <{graph}/names>",
                f"DROP SILENT GRAPH <{graph}/provenance>",
            ]
            parts = [f"GRAPH <{graph}> {{ {_nt(m.graph)} }}"]
            if len(m.names):
                parts.append(f"GRAPH <{graph}/names> {{ {_nt(m.names)} }}")
            parts.append(
                f"GRAPH <{graph}/provenance> {{ {_nt(self._provenance(m, graph, user, now))} }}"
            )
            steps.append("INSERT DATA { " + " ".join(parts) + " }")
        steps += derive
        if progress is not None:  # said just before the one transaction begins
            progress(f"validated {len(mapped)} file(s); writing them in one transaction")
        self._update(steps, prologue)

    def _update(
        self, operations: Sequence[str], prologue: str = "", graphs: Sequence[str] = ()
    ) -> None:
        """Apply update operations all together or not at all (``graphs``: what they change
        beyond the graphs their text names, for the remote backend's undo journal)."""
        self.backend.update(operations, prologue=prologue, graphs=[*graphs, self.inferred_graph])

    # -- other operations -------------------------------------------------------------
    def drop(self, source: str) -> str:
        """Remove the batch loaded from ``source`` (a path or a batch graph IRI); return its graph."""
        graph = (
            source
            if source.startswith(self.base + "graph/source/")
            else self.batch_graph(Path(source))
        )
        if graph not in self.record_graphs():
            raise StoreError(
                f"nothing is loaded from {source!r}; `cipd stats` lists the loaded sources"
            )
        prologue, derive = derivation_steps(self.inferred_graph)
        steps = [
            f"DROP SILENT GRAPH <{graph}>",
            f"DROP SILENT GRAPH <{graph}/names>",
            f"DROP SILENT GRAPH <{graph}/provenance>",
            *derive,
        ]
        self._update(steps, prologue)
        return graph

    def _derive_in_bulk(self, staging: EmbeddedBackend) -> None:
        """Recompute the derived facts in a staged store: each rule as CONSTRUCT queries
        (one for each branch of its union, see :attr:`Rule.branches`) whose triples are
        bulk-written before any rule reading them runs (three times faster than the same
        rules as one SPARQL update, which builds its transaction in memory; a staged store
        needs no transaction: it is thrown away unless the load succeeds).

        The queries of a level (see :func:`rule_levels`) all run at once, each on its own
        thread: Oxigraph evaluates and serialises a query without holding the GIL, and the
        load workers are done by now, so both cores are free, and the longest query of a
        level starts at once instead of after shorter ones. What a level derives is
        written in one bulk load, so the store gets one set of new files a level, not
        one a query. At 10,000 projects (same store, alternating rounds): 10.9-11.1 s,
        against 14.5-16.5 s before this and before rule 40 named its properties (one
        query a rule on two threads, and a write a rule)."""
        graph = ox.NamedNode(self.inferred_graph)
        if staging.store.contains_named_graph(graph):
            staging.store.remove_graph(graph)

        def derive(query: str) -> bytes:
            answer = staging.store.query(query)
            assert isinstance(answer, ox.QueryTriples)
            return answer.serialize(format=ox.RdfFormat.N_TRIPLES) or b""

        for level in rule_levels():
            queries = [query for rule in level for query in rule.parts]
            with ThreadPoolExecutor(max_workers=max(1, len(queries))) as pool:
                derived = b"".join(pool.map(derive, queries))
            if derived:
                staging.store.bulk_load(derived, format=ox.RdfFormat.N_TRIPLES, to_graph=graph)

    def refresh_derived(self) -> None:
        """Recompute the derived facts (they are recomputed by every load and drop anyway)."""
        prologue, derive = derivation_steps(self.inferred_graph)
        self._update(derive, prologue)

    def sources(self) -> list[SourceInfo]:
        """Every loaded batch with its provenance."""
        rows = self._select(
            """
            PREFIX prov: <http://www.w3.org/ns/prov#>
            PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
            PREFIX cipd: <https://w3id.org/cipd#>
            SELECT ?batch ?path ?kind ?sha ?at ?who ?n ?version WHERE {
              #+ base
              GRAPH ?pg {
                ?batch a cipd:RecordBatch ; prov:wasDerivedFrom ?file ; prov:generatedAtTime ?at ;
                       cipd:tripleCount ?n ; prov:wasGeneratedBy ?load .
                ?file cipd:sourcePath ?path ; cipd:sha256 ?sha ; cipd:recordKind ?kind .
                ?load cipd:toolVersion ?version ; prov:wasAssociatedWith ?agent .
                ?agent a prov:Agent ; rdfs:label ?who .
              }
            } ORDER BY ?path
            """.replace(  # only this store's batches (a remote server may hold other stores')
                "#+ base",
                f"VALUES ?pg {{ {' '.join(f'<{g}/provenance>' for g in self.record_graphs())} }}",
            )
        )
        found = [
            SourceInfo(
                graph=r["batch"].value,
                path=r["path"].value,
                kind=r["kind"].value,
                sha256=r["sha"].value,
                loaded_at=r["at"].value,
                loaded_by=r["who"].value,
                triples=int(r["n"].value),
                tool_version=r["version"].value,
            )
            for r in rows
        ]
        # Sorted here too: Virtuoso does not keep the query's ORDER BY over GRAPH ?pg.
        return sorted(found, key=lambda s: s.path)

    def stats(self) -> dict[str, int]:
        """Counts of what the store holds."""
        counts = {"triples": self.triple_count(), "batches": len(self.record_graphs())}
        kinds = {
            "projects": CIPD.ImprovementProject,
            "pdsa_cycles": CIPD.PDSACycle,
            "learning_activities": CIPD.LearningActivity,
            "reflections": CIPD.Reflection,
            "co_design_activities": CIPD.CoDesignActivity,
            "people": URIRef("http://xmlns.com/foaf/0.1/Person"),
            "organisations": URIRef("http://www.w3.org/ns/org#FormalOrganization"),
            "modules": CIPD.Module,
            "programmes": CIPD.Programme,
            "module_mappings": CIPD.ModuleMapping,
            "partnerships": CIPD.Partnership,
        }
        subclasses = {
            URIRef("http://www.w3.org/ns/org#FormalOrganization"): (
                CIPD.ServiceProvider,
                CIPD.EducationalInstitution,
                CIPD.Commissioner,
            )
        }
        for name, cls in kinds.items():
            values = " ".join(f"<{c}>" for c in (cls, *subclasses.get(cls, ())))
            rows = self._select(
                f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ VALUES ?c {{ {values} }} GRAPH ?g {{ ?s a ?c }} "
                f'FILTER(STRSTARTS(STR(?g), "{self.base}graph/source/") || STRSTARTS(STR(?g), "{self.base}graph/api/")) }}'
            )
            counts[name] = int(rows[0]["n"].value)
        rows = self._select(
            "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { GRAPH ?g { ?s <https://w3id.org/cipd#hasProfession> ?p } "
            f'FILTER(STRSTARTS(STR(?g), "{self.base}graph/source/") || STRSTARTS(STR(?g), "{self.base}graph/api/")) }}'
        )
        counts["professions"] = int(rows[0]["n"].value)
        rows = self._select(
            f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{self.inferred_graph}> {{ ?s ?p ?o }} }}"
        )
        counts["derived_triples"] = int(rows[0]["n"].value)
        return counts

    def quads(self, *, with_names: bool = False, with_ontology: bool = False) -> Iterator[ox.Quad]:
        """Every quad to export: records, derived facts and provenance; names only if asked."""
        for quad in self.backend.quads():
            graph = quad.graph_name
            name = graph.value if isinstance(graph, ox.NamedNode) else ""
            if name.endswith("/names") and not with_names:
                continue
            if name == str(ONTOLOGY_IRI) and not with_ontology:
                continue
            yield quad

    def export(self, fmt: str, *, with_names: bool = False, with_ontology: bool = False) -> bytes:
        """Serialise the store: ``nq`` and ``trig`` keep the graphs; ``ttl``, ``nt`` and ``jsonld`` merge them."""
        quads = self.quads(with_names=with_names, with_ontology=with_ontology)
        formats = {
            "nq": ox.RdfFormat.N_QUADS,
            "trig": ox.RdfFormat.TRIG,
            "ttl": ox.RdfFormat.TURTLE,
            "nt": ox.RdfFormat.N_TRIPLES,
            "jsonld": ox.RdfFormat.JSON_LD,
        }
        if fmt not in formats:
            raise StoreError(f"unknown export format {fmt!r}: use one of {sorted(formats)}")
        rdf_format = formats[fmt]
        prefixes = PREFIXES | {"data": self.base}
        if rdf_format.supports_datasets:
            return ox.serialize(quads, format=rdf_format, prefixes=prefixes)  # type: ignore[return-value]
        triples = {ox.Triple(q.subject, q.predicate, q.object) for q in quads}
        if fmt == "jsonld":
            return ox.serialize(sorted(triples, key=str), format=rdf_format)  # type: ignore[return-value]
        return ox.serialize(sorted(triples, key=str), format=rdf_format, prefixes=prefixes)  # type: ignore[return-value]

    def validate_store(self) -> ValidationReport:
        """Validate every batch in the store together (slower than a load's incremental check)."""
        data = Graph()
        where: dict[str, str] = {}
        for graph in self.record_graphs():
            for quad in self.backend.quads(graph):
                s = _to_rdflib(quad.subject)
                data.add((s, _to_rdflib(quad.predicate), _to_rdflib(quad.object)))
                where.setdefault(str(s), graph)
        paths = {g: self._source_path(g) for g in set(where.values())}

        def locate(focus: str) -> tuple[str | None, int | None, str | None]:
            graph = where.get(focus)
            return (paths.get(graph) if graph else None, None, self._describe(focus))

        return validate_graph(data, locate, describe=self._describe, engine=self.settings.shacl)


#: One N-Quads line and its subject (the text up to the first space).
_LINE = re.compile(rb"(\S+) [^\n]*\n")


class _Segment:
    """Staged N-Quads not yet on disk: a file, and an index from each subject to the byte
    ranges of its lines there (ranges of consecutive lines merged)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = path.open("w+b")
        self.size = 0
        self.quads = 0
        self.index: dict[bytes, list[int]] = {}

    def add(self, nquads: bytes) -> None:
        index, offset = self.index, self.size
        for line in _LINE.finditer(nquads):
            start, end = line.span()
            ranges = index.get(line[1])
            if ranges is None:
                index[line[1]] = [start + offset, end + offset]
            elif ranges[-1] == start + offset:  # the line after the subject's last one
                ranges[-1] = end + offset
            else:
                ranges += (start + offset, end + offset)
        self.file.write(nquads)
        self.size += len(nquads)
        self.quads += nquads.count(b"\n")

    def lines(self, subjects: Iterable[bytes]) -> list[bytes]:
        """The lines of ``subjects`` (N-Triples text of IRIs or blank nodes)."""
        self.file.flush()
        fd = self.file.fileno()
        found = []
        for subject in subjects:
            ranges = self.index.get(subject, ())
            for at in range(0, len(ranges), 2):
                found.append(os.pread(fd, ranges[at + 1] - ranges[at], ranges[at]))
        return found

    def close(self) -> None:
        self.file.close()
        self.path.unlink(missing_ok=True)


class _Pending:
    """The chunks a staged load has written but not yet put on disk, and their writing.

    Oxigraph's ``bulk_load`` writes each call as new sorted files that overlap every earlier
    one, and a look-up then checks each of them: after 40 chunk-sized loads a look-up took
    238 µs instead of 40, so reading a chunk's context grew with every chunk. Chunks
    therefore go to a file, a segment, indexed by subject in memory (:class:`_Segment`).
    Context reads take the lines of the subjects they ask about from the segments not yet
    on disk, through a small in-memory store, so they see the terms exactly as the disk
    store would give them (Oxigraph stores ``"1"^^xsd:positiveInteger`` as an
    ``xsd:integer``, for one).

    With ``limit`` 0 (the default) everything stays pending until the last chunk and is
    then bulk-loaded in one call: the store is never written while it is read, and the
    writing does not take CPU from the workers. Measured against a write every 2,000,000
    quads on a thread (the earlier default) on the same code: a 10,000-project load took
    112 s in all instead of 127, and its CPU time fell by 13%. A 100,000-project load then
    staged its chunks in 860 s (the earlier design, in the bench run before, had staged
    80,000 in 1,134 s), wrote them in 227 s, derived in 212 s and compacted in 187 s.
    A positive ``limit`` writes a segment every ``limit`` quads (on a thread, while the
    workers go on), which bounds the index's memory at the price of slower look-ups.

    The index costs a fifth of what an in-memory store of the same quads cost to fill
    (1.8 µs a quad against 9.4, measured on 2,000,000 quads of a 10,000-project load), and
    about a tenth of its memory.
    """

    def __init__(self, staging: EmbeddedBackend, limit: int) -> None:
        assert staging.directory is not None
        self.staging = staging
        self.limit = limit
        # Named like the staged store's directory, so an open after a kill removes it with it.
        self.stem = staging.directory.name + ".pending"
        self.segments = 0
        self.segment = self._segment()
        self.writing: tuple[Future[None], _Segment] | None = None
        self.pool = ThreadPoolExecutor(max_workers=1)

    def _segment(self) -> _Segment:
        assert self.staging.directory is not None
        self.segments += 1
        return _Segment(self.staging.directory.with_name(f"{self.stem}-{self.segments}.nq"))

    def store_of(self, iris: Iterable[str]) -> ox.Store | None:
        """The pending quads whose subject is one of ``iris``, in an in-memory store (None
        when there are none)."""
        subjects = [str(ox.NamedNode(iri)).encode() for iri in iris]
        segments = [self.segment] + ([self.writing[1]] if self.writing is not None else [])
        lines = [line for segment in segments for line in segment.lines(subjects)]
        if not lines:
            return None
        store = ox.Store()
        store.bulk_load(b"".join(lines), format=ox.RdfFormat.N_QUADS)
        return store

    def add(self, nquads: bytes) -> None:
        """Stage a chunk's N-Quads."""
        if not nquads:
            return
        self.segment.add(nquads)
        if self.limit and self.segment.quads >= self.limit:
            self.flush(wait=False)

    def flush(self, *, wait: bool = True) -> None:
        """Start writing what is pending to disk (after the previous write ends); with
        ``wait``, return once everything is on disk."""
        if self.segment.quads:
            self._wait()
            self.segment.file.flush()
            job = self.pool.submit(self._write, self.segment.path)
            self.writing = (job, self.segment)
            self.segment = self._segment()
        if wait:
            self._wait()

    def _write(self, path: Path) -> None:
        self.staging.store.bulk_load(path=str(path), format=ox.RdfFormat.N_QUADS)

    def _wait(self) -> None:
        if self.writing is not None:
            job, segment = self.writing
            try:
                job.result()
            except Exception as exc:
                raise StoreError(
                    f"{self.staging.directory}: writing staged chunks to disk failed ({exc}); "
                    "the store is unchanged"
                ) from exc
            finally:
                segment.close()
                self.writing = None

    def close(self) -> None:
        """Wait for any write, then remove the files. A load that succeeded has flushed
        already; one that failed throws the staged store away, so a failed write no longer
        matters there (and must not hide why the load failed)."""
        try:
            with contextlib.suppress(Exception):
                self._wait()
        finally:
            self.pool.shutdown()
            self.segment.close()


@dataclass
class _Staging:
    """What a staged load carries from chunk to chunk."""

    mapper: Mapper
    #: The record graphs the store held before the load (a batch there is replaced).
    existing: set[str]
    #: The batch graphs of every file of the load.
    ours: set[str]
    result: LoadResult
    #: Entity IRI -> the file of the load that defines it.
    owners: dict[str, str] = field(default_factory=dict)
    #: Who and when, as the load's provenance says.
    user: str = ""
    now: str = ""


def _readable(graph: str) -> bool:
    """Whether queries may read ``graph``: every graph of the store but the names graphs."""
    return not graph.endswith("/names")


def _summaries(
    mapped: Sequence[MappedFile], graphs: dict[str, str], existing: set[str]
) -> list[BatchSummary]:
    """What a load does with each mapped file; ``graphs``: path -> batch graph."""
    return [
        BatchSummary(
            str(m.source.path),
            graphs[str(m.source.path)],
            m.source.kind,
            len(m.source.records),
            len(m.graph) + len(m.names),
            graphs[str(m.source.path)] in existing,
        )
        for m in mapped
    ]


@dataclass(frozen=True)
class Entity:
    """An entity a mapped file defines (an instance of one of ``ENTITY_CLASSES``)."""

    iri: str
    path: str
    line: int | None
    label: str

    def problem(self, reason: str) -> RecordProblem:
        """A problem with the entity's id, placed at its record."""
        return RecordProblem(self.path, self.line, self.label, "id", reason)


def entities_of(mapped: Sequence[MappedFile]) -> list[Entity]:
    """The entities ``mapped`` define, file by file and class by class."""
    entities: list[Entity] = []
    for m in mapped:
        path = str(m.source.path)
        for cls in ENTITY_CLASSES:
            for s in m.graph.subjects(RDF.type, cls):
                line, label = m.records.get(str(s), (None, str(s)))
                entities.append(Entity(str(s), path, line, label))
    return entities


def parse_and_map(
    paths: Sequence[Path], mapper: Mapper
) -> tuple[list[MappedFile], list[RecordProblem]]:
    """Parse ``paths`` and map them in load order (reference tables first); the problems of
    the files that could not be parsed."""
    problems: list[RecordProblem] = []
    parsed: list[RecordFile] = []
    for path in paths:
        try:
            parsed.append(parse_file(path))
        except RecordError as exc:
            problems.extend(exc.problems)
    parsed.sort(key=lambda f: (LOAD_ORDER[f.kind], str(f.path)))
    return [mapper.map(f) for f in parsed], problems


def ntriples_terms() -> Callable[[Node], str]:
    """A writer of rdflib terms as N-Triples text that checks and writes each distinct term
    once, through pyoxigraph (so a term it would refuse fails here too)."""
    written: dict[Node, str] = {}

    def term(node: Node) -> str:
        text = written.get(node)
        if text is None:
            text = written[node] = str(_to_oxigraph(node))
        return text

    return term


def rdflib_terms() -> Callable[[Any], Node]:
    """A converter of pyoxigraph terms to rdflib's that converts each distinct term once
    (rdflib checks every IRI it is given, and data restates the same few terms)."""
    converted: dict[Any, Node] = {}

    def term(node: Any) -> Node:
        found = converted.get(node)
        if found is None:
            found = converted[node] = _to_rdflib(node)
        return found

    return term


def as_triples(triples: Iterable[ox.Triple]) -> list[Triple]:
    """pyoxigraph triples in rdflib terms (a context restates the same classes and professions)."""
    term = rdflib_terms()
    return [(term(t.subject), term(t.predicate), term(t.object)) for t in triples]


def subject_iris(mapped: Sequence[MappedFile], base: str) -> list[str]:
    """The IRIs under ``base`` that are subjects of ``mapped`` (of their record graphs), each once."""
    return sorted(
        {
            str(s)
            for m in mapped
            for s, _, _ in triples_of(m.graph)
            if isinstance(s, URIRef) and str(s).startswith(base)
        }
    )


def mentioned_iris(mapped: Sequence[MappedFile], base: str) -> set[str]:
    """The IRIs under ``base`` that ``mapped`` mention, as subject or object."""
    mentioned: set[str] = set()
    for m in mapped:
        for s, _, o in triples_of(m.graph):
            for node in (s, o):
                if isinstance(node, URIRef) and str(node).startswith(base):
                    mentioned.add(str(node))
    return mentioned


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def expand_paths(
    paths: Iterable[Path],
    problems: list[RecordProblem],
    suffixes: Sequence[str] | None = None,
) -> list[Path]:
    """Files named, and files with ``suffixes`` inside folders named (recursively), without repeats.

    ``suffixes`` defaults to those of record files (.yaml, .yml, .json, .csv).
    """
    wanted = tuple(suffixes) if suffixes else (*PROJECT_SUFFIXES, ".csv")
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inner = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in wanted)
            if not inner:
                problems.append(
                    RecordProblem(
                        str(path), None, "folder", "", f"holds no {', '.join(wanted)} file"
                    )
                )
            found.extend(inner)
        elif path.is_file():
            found.append(path)
        else:
            problems.append(RecordProblem(str(path), None, "file", "", "no such file or folder"))
    unique: dict[Path, Path] = {}
    for p in found:
        unique.setdefault(p.resolve(), p)
    return list(unique.values())
