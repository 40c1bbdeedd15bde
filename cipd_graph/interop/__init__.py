"""Reading and writing the standards other health-education systems speak.

Each standard is a :class:`Format` in one module of this package, registered in
:data:`FORMATS`. A format may have a *reader* (import) and a *writer* (export):

- A reader turns a foreign file into a :class:`~cipd_graph.mapping.mapper.MappedFile` using the
  store's :class:`~cipd_graph.mapping.mapper.Mapper` (so IRIs and pseudonyms are the same as for
  native records). It raises :class:`~cipd_graph._errors.RecordError` with located problems
  when the file is malformed, and lists in ``MappedFile.warnings`` whatever it could not place.
  The import then takes the one write path every load takes
  (:meth:`~cipd_graph.GraphStore.load_mapped`): SHACL validation against the store, then
  one transaction, or nothing.
- A writer reads the store (through SPARQL, with parameters bound as RDF terms) and returns
  the bytes of the document, given options such as ``programme=<id>``.

The CLI (``cipd import``/``cipd export``) and the API (``/import/{format}``,
``/export/{format}``) are thin layers over :func:`import_files` and :func:`export_format`.

>>> sorted(FORMATS) == sorted(f.name for f in formats())
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from rdflib import URIRef
from rdflib.namespace import RDF

from cipd_graph._errors import CipdError, RecordError, RecordProblem
from cipd_graph.graph import GraphStore
from cipd_graph.load import LoadResult
from cipd_graph.mapping.mapper import MappedFile, Mapper
from cipd_graph.records import expand_paths

#: A reader: a foreign file and the store's mapper in, the mapped batch out.
Reader = Callable[[Path, Mapper], MappedFile]
#: A writer: the store and the export options in, the document's bytes out.
Writer = Callable[[GraphStore, Mapping[str, str]], bytes]


class FormatError(CipdError):
    """An unknown format, a format that cannot be read or written, or a bad export option."""


@dataclass(frozen=True)
class Option:
    """An option an export takes, such as ``programme`` (an id or IRI)."""

    name: str
    description: str
    required: bool = False


@dataclass(frozen=True)
class Format:
    """One standard: how to read it, how to write it, and what it cannot carry."""

    name: str  #: the name used by ``cipd import NAME`` / ``cipd export NAME``
    title: str  #: the standard's own name and version
    media_type: str  #: the media type of an export
    suffix: str  #: the usual file suffix of an export, with its dot
    reader: Reader | None = None
    writer: Writer | None = None
    #: the file suffixes a reader accepts when given a folder (e.g. ``(".json", ".jsonl")``)
    read_suffixes: tuple[str, ...] = ()
    options: tuple[Option, ...] = ()
    #: what the standard cannot carry, in a sentence or two (also in docs/reference/standards.md)
    limits: str = ""
    specification: str = ""  #: where the standard is published

    def check_options(self, options: Mapping[str, str]) -> None:
        """Refuse unknown and missing options with a message that lists the right ones."""
        known = {o.name for o in self.options}
        unknown = sorted(set(options) - known)
        if unknown:
            listed = ", ".join(sorted(known)) or "none"
            raise FormatError(
                f"export {self.name}: unknown option(s) {', '.join(unknown)}; it takes: {listed}"
            )
        missing = [o.name for o in self.options if o.required and not options.get(o.name)]
        if missing:
            raise FormatError(f"export {self.name}: option(s) {', '.join(missing)} required")


#: Every registered format by name; modules of this package add theirs with :func:`register`.
FORMATS: dict[str, Format] = {}


def register(fmt: Format) -> Format:
    """Add a format to :data:`FORMATS` (a name may be registered once)."""
    if fmt.name in FORMATS:
        raise ValueError(f"format {fmt.name!r} is registered twice")
    FORMATS[fmt.name] = fmt
    return fmt


def formats() -> list[Format]:
    """The registered formats, sorted by name."""
    _load_builtin()
    return sorted(FORMATS.values(), key=lambda f: f.name)


def get_format(name: str, *, reading: bool = False, writing: bool = False) -> Format:
    """The format called ``name``; a clear error when unknown or when it cannot do the job."""
    _load_builtin()
    fmt = FORMATS.get(name)
    if fmt is None:
        raise FormatError(f"unknown format {name!r}; known formats: {', '.join(sorted(FORMATS))}")
    if reading and fmt.reader is None:
        readable = sorted(f.name for f in FORMATS.values() if f.reader)
        raise FormatError(f"format {name!r} cannot be imported; importable: {', '.join(readable)}")
    if writing and fmt.writer is None:
        writable = sorted(f.name for f in FORMATS.values() if f.writer)
        raise FormatError(f"format {name!r} cannot be exported; exportable: {', '.join(writable)}")
    return fmt


def read_files(
    store: GraphStore, name: str, paths: Sequence[Path]
) -> tuple[list[MappedFile], list[RecordProblem]]:
    """Read foreign files with format ``name``'s reader; every problem of every file is kept."""
    fmt = get_format(name, reading=True)
    assert fmt.reader is not None
    problems: list[RecordProblem] = []
    files = expand_paths(paths, problems, suffixes=fmt.read_suffixes or None)
    mapper = store.new_mapper()
    mapped: list[MappedFile] = []
    for path in files:
        _view(store, mapper, path, mapped)
        try:
            mapped.append(fmt.reader(path, mapper))
        except RecordError as exc:
            problems.extend(exc.problems)
    return mapped, problems


def _view(store: GraphStore, mapper: Mapper, path: Path, earlier: Sequence[MappedFile]) -> None:
    """Show the reader of ``path`` the store as this import will leave it: without the batch
    the file replaces (an earlier import of the same file), with the files read before it.

    A reader asks the store whether an institution, a programme or an activity is loaded, to
    refer to it rather than define it again. Seeing its own earlier import there, a second
    import of a file only referred to what the first defined, and the replacement then
    removed the definitions (a re-import of a Curriculum Inventory report kept 17 of 68
    triples, alternating with each import).
    """
    own = (store.batch_graph(path),)

    def types(iri: str) -> frozenset[str]:
        found = set(store.stored_types(iri, ignore=own))
        node = URIRef(iri)
        for m in earlier:
            found.update(str(c) for c in m.graph.objects(node, RDF.type))
        return frozenset(found)

    def facts(iri: str) -> list[tuple[str, str, str]]:
        found = store.stored_facts(iri, ignore=own)
        node = URIRef(iri)
        for m in earlier:
            for graph in (m.graph, m.provenance):
                found.extend(
                    (str(p), str(o), str(m.source.path)) for p, o in graph.predicate_objects(node)
                )
        return found

    mapper.stored_types = types
    mapper.stored_facts = facts


def import_files(
    store: GraphStore,
    name: str,
    paths: Sequence[Path],
    *,
    write: bool = True,
    user: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> LoadResult:
    """Import foreign files into the store, all or nothing (``write=False``: a dry run).

    Each file becomes its own batch, like a record file: importing it again replaces the
    earlier import, and ``cipd drop PATH`` removes it.
    """
    mapped, problems = read_files(store, name, paths)
    if write:
        return store.load_mapped(mapped, problems, user=user, progress=progress)
    return store.check_mapped(mapped, problems)


def export_format(store: GraphStore, name: str, options: Mapping[str, str] | None = None) -> bytes:
    """The document of format ``name`` written from the store with ``options``."""
    fmt = get_format(name, writing=True)
    assert fmt.writer is not None
    options = dict(options or {})
    fmt.check_options(options)
    return fmt.writer(store, options)


#: Modules that register formats, imported on first use (see _load_builtin).
_BUILTIN: tuple[str, ...] = (
    "jsonld",
    "skos",
    "case",
    "badges",
    "xapi",
    "curriculum_inventory",
    "ctdl_asn",
)
_loaded = False


def _load_builtin() -> None:
    global _loaded  # noqa: PLW0603 - a one-time lazy registration
    if _loaded:
        return
    _loaded = True
    import importlib

    for module in _BUILTIN:
        importlib.import_module(f"{__name__}.{module}")


__all__ = [
    "FORMATS",
    "Format",
    "FormatError",
    "Option",
    "Reader",
    "Writer",
    "export_format",
    "formats",
    "get_format",
    "import_files",
    "read_files",
    "register",
]
