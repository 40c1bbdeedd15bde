"""Jena SHACL as a second opinion: Debian's libapache-jena-java 4.5, one JVM per test module.

Debian's jars need two fixes to run: no wildcard classpath (SLF4J's provider lookup loops on
it), so the jars are named one by one; and the Xerces message bundles, which Debian's
jena-core ships under ``org/apache/jena/ext/xerces/`` while its Xerces classes moved to
``xerces/`` (without them every XSD datatype fails to initialise with "internal error"), are
copied out of jena-core.jar into a folder on the classpath. ``tests/java/ShaclBatch.java``
(run by Java's source launcher, so a JDK is needed) validates many data files in one JVM.

Results are compared as multisets of keys (see :func:`key`): focus node, result path, value,
source shape, severity and constraint component; messages are left out (Jena writes its own
when a shape has none). Blank-node shapes are given IRIs first (:func:`skolemised`), so
the source shapes of both engines can be matched; blank nodes of the data keep their labels.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import zipfile
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, XSD

from cipd_graph.validation import shacl as _shacl

SH = Namespace("http://www.w3.org/ns/shacl#")
JAVA_DIR = Path("/usr/share/java")
#: libapache-jena-java 4.5 and the libraries it depends on, by their unversioned names
JARS = (
    "jena-base",
    "jena-core",
    "jena-arq",
    "jena-iri",
    "jena-shacl",
    "commons-cli",
    "commons-codec",
    "commons-compress",
    "commons-csv",
    "commons-io",
    "commons-lang3",
    "dexx.collection",
    "gson",
    "guava",
    "httpclient",
    "httpcore",
    "jackson-annotations",
    "jackson-core",
    "jackson-databind",
    "jakarta.json-api",
    "jsonld-java",
    "protobuf",
    "slf4j-api",
    "slf4j-nop",
    "thrift",
    "titanium-json-ld",
)
DRIVER = Path(__file__).parent / "java" / "ShaclBatch.java"
#: seconds to wait for one answer (the first includes the JVM start and compiling the driver)
ANSWER_TIMEOUT = 120.0


def missing() -> list[str]:
    """What this machine lacks to run Jena SHACL (empty when nothing)."""
    lacking = [f"{JAVA_DIR / name}.jar" for name in JARS if not (JAVA_DIR / f"{name}.jar").exists()]
    if shutil.which("java") is None:
        lacking.append("java")
    if shutil.which("javac") is None:  # the source launcher needs the JDK's compiler
        lacking.append("javac (a JDK)")
    return lacking


def need_jena() -> None:
    """Skip the calling test when Jena cannot run here; fail instead under CI=1."""
    lacking = missing()
    if lacking:
        message = (
            "Jena SHACL cannot run: missing " + ", ".join(lacking) + " (apt-get install "
            "libapache-jena-java default-jdk-headless; .ci/run does it)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def classpath(workdir: Path) -> str:
    """The jars one by one, and a folder with the Xerces bundles where Debian's classes look."""
    bundles = workdir / "xerces-bundles"
    prefix = "org/apache/jena/ext/xerces/"
    with zipfile.ZipFile(JAVA_DIR / "jena-core.jar") as jar:
        for name in jar.namelist():
            if name.startswith(prefix) and name.endswith(".properties"):
                target = bundles / "xerces" / name[len(prefix) :]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(jar.read(name))
    return os.pathsep.join([str(bundles), *(f"{JAVA_DIR / name}.jar" for name in JARS)])


class Jena:
    """One JVM running ``ShaclBatch``; :meth:`validate` sends it many data files at once."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.log = workdir / "jena.log"  # a file: a full pipe would stop the JVM
        with self.log.open("w") as log:
            self.process = self._start(log)
        self._count = 0

    def _start(self, log: Any) -> subprocess.Popen[str]:
        return subprocess.Popen(
            ["java", "-cp", classpath(self.workdir), str(DRIVER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )

    def validate(self, shapes: Path, data: Sequence[Path]) -> list[list[ox.Triple]]:
        """Jena's report graph for each data file (as pyoxigraph triples), in order."""
        assert self.process.stdin is not None and self.process.stdout is not None
        reports: list[Path] = []
        for path in data:
            self._count += 1
            report = self.workdir / f"report-{self._count}.nt"
            reports.append(report)
            self.process.stdin.write(f"{shapes}\t{path}\t{report}\n")
        self.process.stdin.flush()
        graphs = []
        for path, report in zip(data, reports, strict=True):
            answer = self._answer()
            if answer != "ok":
                raise AssertionError(f"Jena could not validate {path}: {answer}")
            graphs.append(list(ox.parse(path=report, format=ox.RdfFormat.N_TRIPLES)))
        return graphs

    def _answer(self) -> str:
        stdout = self.process.stdout
        assert stdout is not None
        ready, _, _ = select.select([stdout], [], [], ANSWER_TIMEOUT)
        line = stdout.readline() if ready else ""
        if not line:
            self.close()
            raise AssertionError(f"Jena gave no answer: {self.log.read_text()[-2000:]}")
        return line.rstrip("\n")

    def close(self) -> None:
        """End the JVM (it stops when its input closes; killed if it does not)."""
        if self.process.stdin and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# ---------------------------------------------------------------------------------------
#    Shapes with named shapes, and the comparison key
# ---------------------------------------------------------------------------------------

_SHAPE_VALUED = (SH.property, SH.qualifiedValueShape, SH.node, SH["not"])
_SHAPE_LISTS = (SH["or"], SH["and"], SH.xone)


def skolemised(shapes: Graph) -> Graph:
    """``shapes`` with every blank-node shape given an IRI named after the shape holding it
    (``...#ProjectShape-p3`` for its third property shape in sorted order); paths, lists and
    targets stay blank nodes."""
    names: dict[Any, URIRef] = {}
    todo = sorted((s for s in set(shapes.subjects()) if isinstance(s, URIRef)), key=str)
    while todo:
        parent = todo.pop(0)
        children: list[Any] = []
        for p in _SHAPE_VALUED:
            children.extend(o for o in shapes.objects(parent, p) if isinstance(o, BNode))
        for p in _SHAPE_LISTS:
            for head in shapes.objects(parent, p):
                children.extend(m for m in Collection(shapes, head) if isinstance(m, BNode))
        children.sort(key=lambda n: sorted(f"{p} {o}" for p, o in shapes.predicate_objects(n)))
        for i, child in enumerate(children, start=1):
            if child not in names:
                base = str(names.get(parent, parent))
                names[child] = URIRef(f"{base}-s{i}" if "#" in base else f"{base}#s{i}")
                todo.append(child)
    out = Graph()
    for s, p, o in shapes:
        out.add((names.get(s, s), p, names.get(o, o)))
    for prefix, namespace in shapes.namespace_manager.namespaces():
        out.namespace_manager.bind(prefix, namespace)
    return out


_XSD_STRING = str(XSD.string)
_JENA_ESCAPE = re.compile(r"X([0-9A-F]{2})")


def _literal(lexical: str, datatype: str | None, language: str | None) -> str:
    text = lexical.encode("unicode_escape").decode("ascii").replace('"', '\\"')
    if language:  # tags compare without regard to case
        return f'"{text}"@{language.lower()}'
    if datatype is None or datatype == _XSD_STRING:
        return f'"{text}"'
    return f'"{text}"^^<{datatype}>'


def term_of_rdflib(term: Any) -> str:
    """An rdflib term as the comparison writes it."""
    if term is None:
        return "-"
    if isinstance(term, URIRef):
        return f"<{term}>"
    if isinstance(term, BNode):
        return f"_:{term}"
    assert isinstance(term, Literal)
    return _literal(str(term), None if term.datatype is None else str(term.datatype), term.language)


def term_of_jena(term: Any) -> str:
    """A pyoxigraph term read from Jena's report, as the comparison writes it (Jena writes the
    label of blank node ``b1`` as ``Bb1``, with characters other than letters and digits as
    ``X`` and their hex code)."""
    if term is None:
        return "-"
    if isinstance(term, ox.NamedNode):
        return f"<{term.value}>"
    if isinstance(term, ox.BlankNode):
        label = term.value.removeprefix("B")
        return "_:" + _JENA_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), label)
    assert isinstance(term, ox.Literal)
    return _literal(term.value, term.datatype.value, term.language)


def _path(node: str, triples: dict[str, list[tuple[str, str]]]) -> str:
    """A result path as text: ``<p>``, ``^<p>``, ``(<p> / ^<q>)``."""
    if not node.startswith("_:"):
        return node
    about = dict(triples.get(node, ()))
    if f"<{SH.inversePath}>" in about:
        return "^" + _path(about[f"<{SH.inversePath}>"], triples)
    if f"<{RDF.first}>" in about:
        steps = []
        while node != f"<{RDF.nil}>":
            about = dict(triples[node])
            steps.append(_path(about[f"<{RDF.first}>"], triples))
            node = about[f"<{RDF.rest}>"]
        return "(" + " / ".join(steps) + ")"
    return "?" + node


Key = tuple[str, str, str, str, str, str]


def jena_keys(report: Iterable[ox.Triple]) -> Counter[Key]:
    """One key per sh:ValidationResult of a Jena report graph."""
    triples: dict[str, list[tuple[str, str]]] = {}
    for t in report:
        triples.setdefault(term_of_jena(t.subject), []).append(
            (term_of_jena(t.predicate), term_of_jena(t.object))
        )
    keys: Counter[Key] = Counter()
    kind = (f"<{RDF.type}>", f"<{SH.ValidationResult}>")
    for about in triples.values():
        if kind not in about:
            continue
        values = dict(about)
        keys[
            (
                values.get(f"<{SH.focusNode}>", "-"),
                _path(values[f"<{SH.resultPath}>"], triples)
                if f"<{SH.resultPath}>" in values
                else "-",
                values.get(f"<{SH.value}>", "-"),
                values.get(f"<{SH.sourceShape}>", "-"),
                values.get(f"<{SH.resultSeverity}>", "-"),
                values.get(f"<{SH.sourceConstraintComponent}>", "-"),
            )
        ] += 1
    return keys


def native_keys(shapes: Graph, results: Iterable[_shacl.Result]) -> Counter[Key]:
    """One key per result of the native engine; paths read from the shapes graph."""
    triples: dict[str, list[tuple[str, str]]] = {}
    for s, p, o in shapes:
        triples.setdefault(term_of_rdflib(s), []).append((term_of_rdflib(p), term_of_rdflib(o)))
    return Counter(
        (
            term_of_rdflib(r.focus),
            "-" if r.path is None else _path(term_of_rdflib(r.path), triples),
            term_of_rdflib(r.value),
            term_of_rdflib(r.source_shape),
            term_of_rdflib(r.severity),
            term_of_rdflib(r.component),
        )
        for r in results
    )


def difference(name: str, ours: Counter[Key], jena: Counter[Key]) -> str:
    """A readable account of what one engine reported and the other did not ('' if none)."""
    only_ours, only_jena = ours - jena, jena - ours
    if not only_ours and not only_jena:
        return ""
    lines = [f"{name}: {sum(only_ours.values())} only native, {sum(only_jena.values())} only Jena"]
    for label, keys in (("native only", only_ours), ("Jena only", only_jena)):
        for k, n in sorted(keys.items()):
            focus, path, value, shape, severity, component = k
            lines.append(
                f"  {label}{f' x{n}' if n > 1 else ''}: focus {focus} path {path} value {value}"
                f" shape {_local(shape)} {_local(severity)} {_local(component)}"
            )
    return "\n".join(lines)


def _local(iri: str) -> str:
    return iri.strip("<>").rsplit("#", 1)[-1]
