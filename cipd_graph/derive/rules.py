"""Derivation rules: SPARQL CONSTRUCT queries in ``rules/``, one file a rule.

A rule reads the union (the default graph: records, ontology and what earlier rules
derived, each triple once) and derives facts about one kind of thing, its *focus*: every
triple of its template has the focus variable as subject, or a node *minted* from the focus.
That is what lets a write recompute a rule for the things it touched only
(:mod:`cipd_graph.derive.maintain`). The facts of each rule go to a graph of their own
(``<base>graph/inferred/<key>``), so the graph of a derived triple names the rule that
supports it.

A minted node is a derived thing with facts of its own (a strand link, a practice-to-learning
link), named from its focus so that the same records always give it the same IRI:
``BIND(IRI(CONCAT(STR(?focus), "/segment/", ...)) AS ?node)``. Its IRI starts with the focus
IRI and a ``/``, and the template ties it to the focus by a triple with a fixed predicate
(``?focus cipd:hasStrandLink ?node`` or ``?node cipd:fromPractice ?focus``), its *anchor*: when
a write recomputes a focus, the anchors find the nodes minted for it before, whose facts are
replaced with the rest.

Each rule file starts with ``#+ key: value`` header lines, which the docs page "How the graph
reasons" is made from: ``summary`` (one line), ``claim`` (what it asserts, in plain words),
``source`` (what supports it: a passage of the paper or a primary source, ``src:`` records of
``ontology/modules/sources.ttl``), ``needs`` (the record fields it reads),
``contradicted-by`` (how a recorder's statement stops it) and ``derives`` (the terms it
writes); optionally ``model`` and ``note``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from rdflib import RDF, URIRef, Variable
from rdflib import Literal as RdfLiteral
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.parserutils import CompValue

from cipd_graph._errors import OntologyError
from cipd_graph._resources import data_dir
from cipd_graph.derive.plan import RulePlan, plans, plans_from_json, plans_to_json

#: Header lines every rule must have.
REQUIRED_HEADERS = ("summary", "claim", "source", "needs", "contradicted-by", "derives")


@dataclass(frozen=True)
class Rule:
    """One derivation rule: a CONSTRUCT query with its header lines."""

    name: str
    headers: dict[str, str]
    path: Path
    prologue: str
    template: str
    where: str
    focus: str = field(default="")
    #: The anchors of the nodes the rule mints (see the module docstring): each a predicate
    #: IRI and whether the focus is the anchor triple's subject (``?focus p ?node``) or its
    #: object (``?node p ?focus``).
    anchors: tuple[tuple[str, bool], ...] = ()
    #: The algebra :func:`parse_rule` parsed already (a parse takes 35-50 ms a rule).
    parsed: Any = field(default=None, compare=False, repr=False)
    #: What ``rules/compiled.json`` keeps of the parse of this very file (its ``reads``,
    #: ``produces`` and ``plans``), so that a process need not parse it: see :func:`compile_rules`.
    compiled: Any = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> str:
        """The rule's name without its ordering number: ``20-caipe`` -> ``caipe``."""
        return re.sub(r"^\d+-", "", self.name)

    @property
    def summary(self) -> str:
        """What the rule derives, in one line."""
        return self.headers["summary"]

    @property
    def claim(self) -> str:
        """The claim the rule encodes, in plain words."""
        return self.headers["claim"]

    @property
    def model(self) -> str:
        """The part of the model the rule encodes (its claim)."""
        return self.headers.get("claim") or self.headers.get("model", "")

    @property
    def source(self) -> str:
        """What supports the rule."""
        return self.headers["source"]

    @property
    def needs(self) -> str:
        """What the rule needs in the records."""
        return self.headers["needs"]

    @property
    def contradicted_by(self) -> str:
        """How a recorder can contradict what the rule would derive."""
        return self.headers["contradicted-by"]

    @property
    def derives(self) -> str:
        """The terms the rule writes."""
        return self.headers["derives"]

    @property
    def branches(self) -> list[str]:
        """The alternatives of the rule's WHERE clause, each a group pattern that derives part
        of what the rule derives: ``{A}`` and ``{B}`` for ``WHERE { {A} UNION {B} }``; the
        whole clause when it is anything else (a FILTER or a join beside the union, say).

        A CONSTRUCT over a UNION builds its template from each branch's solutions, so
        the branches applied one by one derive the same triples. Oxigraph plans each
        branch on its own better than the union as a whole: at 10,000 projects the
        branches of the strands rule took 3.6 s in all against 7.1 s for the rule as one
        query.
        """
        inner = self.where.strip()[1:-1]
        found: list[str] = []
        at = 0
        while True:
            start = _GROUP.match(inner, at)
            if start is None:
                return [self.where]
            close = _matching_brace(inner, start.end() - 1)
            found.append(inner[start.end() - 1 : close + 1])
            union = _UNION.match(inner, close + 1)
            if union is None:
                break
            at = union.end()
        if inner[close + 1 :].strip() or len(found) < 2:
            return [self.where]
        return found

    @property
    def parts(self) -> list[str]:
        """The rule as CONSTRUCT queries, one for each of its :attr:`branches`."""
        return [
            f"{self.prologue}\nCONSTRUCT {{ {self.template} }}\nWHERE {branch}"
            for branch in self.branches
        ]

    def inserts(self, graph: str, union: str | None) -> list[str]:
        """The rule as SPARQL Update operations adding what it derives to ``graph`` and to
        the union (``union``: its graph, None for the default graph); one for each branch,
        or (a union graph) two: Virtuoso 7.2 fails an INSERT into two named graphs at once
        ("string_output_string needs a string output").

        Prefixes are written as full IRIs: an update request may declare prefixes only at its
        start (Oxigraph refuses them after ';').
        """
        templates = (
            [f"GRAPH <{graph}> {{ {self.template} }}", f"GRAPH <{union}> {{ {self.template} }}"]
            if union
            else [f"GRAPH <{graph}> {{ {self.template} }} {self.template}"]
        )
        return [
            self.expand(f"INSERT {{ {target} }}\nWHERE {branch}")
            for branch in self.branches
            for target in templates
        ]

    def expand(self, text: str) -> str:
        """``text`` with the rule's prefixed names written as full IRIs (outside strings and IRIs)."""
        names = self.prefixes

        def full(match: re.Match[str]) -> str:
            if match.group("skip"):
                return match.group(0)
            prefix, local = match.group("prefix"), match.group("local")
            if prefix not in names:
                return match.group(0)
            return f"<{names[prefix]}{local}>"

        return _PNAME.sub(full, text)

    def focused(self, foci: Sequence[str]) -> str:
        """The rule as one CONSTRUCT over ``foci`` (IRIs) only: its focus bound by VALUES."""
        values = " ".join(f"<{iri}>" for iri in foci)
        return (
            f"{self.prologue}\nCONSTRUCT {{ {self.template} }}\n"
            f"WHERE {{ VALUES ?{self.focus} {{ {values} }} {self.where} }}"
        )

    @property
    def prefixes(self) -> dict[str, str]:
        """The PREFIX declarations of the rule."""
        return dict(re.findall(r"PREFIX\s+([\w-]*):\s*<([^>]*)>", self.prologue, re.IGNORECASE))

    @property
    def construct(self) -> str:
        """The rule as written: a CONSTRUCT query."""
        return self.path.read_text(encoding="utf-8")

    @cached_property
    def algebra(self) -> Any:
        """The rule parsed by rdflib (its algebra), for planning and ordering."""
        return self.parsed if self.parsed is not None else parse_query(self.construct)

    @cached_property
    def reads(self) -> frozenset[str]:
        """The IRIs its WHERE clause names (what it reads; the template's terms are written)."""
        if self.compiled is not None:
            return frozenset(self.compiled["reads"])
        found: set[str] = set()
        _iris({k: v for k, v in self.algebra.items() if k != "template"}, found)
        return frozenset(found)

    @cached_property
    def produces(self) -> frozenset[str] | None:
        """The properties and classes it derives; None when its template could derive any."""
        if self.compiled is not None:
            made = self.compiled["produces"]
            return None if made is None else frozenset(made)
        made = _produces(self, self.algebra)
        return None if made is None else frozenset(made)

    @cached_property
    def plans(self) -> list[RulePlan]:
        """The plans of its incremental maintenance (:mod:`cipd_graph.derive.plan`)."""
        if self.compiled is not None:
            return plans_from_json(self.compiled["plans"])
        return plans(self.focus, self.algebra, name=str(self.path))


#: The thread rdflib parses queries on (see :func:`parse_query`).
_PARSER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cipd-sparql-parser")


def _new_parser() -> None:
    global _PARSER  # noqa: PLW0603 - a forked child has none of its parent's threads
    _PARSER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cipd-sparql-parser")


os.register_at_fork(after_in_child=_new_parser)


def parse_query(text: str) -> Any:
    """``text`` parsed by rdflib: its algebra. Raises what rdflib raises.

    The parse runs on a thread of its own: pyparsing keeps the frames of a parse alive,
    and with them every frame of the stack that called it, so a parse called during a load
    would keep that load's store open (and locked) after it is closed."""
    return _PARSER.submit(lambda: prepareQuery(text).algebra).result()


_GROUP = re.compile(r"\s*\{")
_UNION = re.compile(r"\s*UNION\b", re.IGNORECASE)


def _matching_brace(text: str, start: int) -> int:
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    raise ValueError("unbalanced braces")


_PNAME = re.compile(
    r"(?P<skip><[^<>\s]*>|\"(?:[^\"\\]|\\.)*\")"
    r"|(?<![\w?$:])(?P<prefix>[A-Za-z][\w-]*|):(?P<local>[\w](?:[\w.-]*[\w-])?)"
)


def _headers(text: str) -> dict[str, str]:
    """The ``#+ key: value`` lines of a rule; a value goes on over the lines after it that
    start with ``#+`` and two or more spaces."""
    found: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        start = re.match(r"^#\+ ([\w-]+):\s*(.*)$", line)
        more = re.match(r"^#\+\s{2,}(\S.*)$", line)
        if start:
            key = start.group(1)
            found[key] = start.group(2).strip()
        elif more and key is not None:
            found[key] = f"{found[key]} {more.group(1).strip()}".strip()
        else:
            key = None
    return found


def parse_rule(path: Path, compiled: dict[str, Any] | None = None) -> Rule:
    """Read a rule file: header lines and PREFIXes, then ``CONSTRUCT { template } WHERE { ... }``.

    ``compiled``: this rule's entry of ``rules/compiled.json``, used (instead of parsing the
    query with rdflib) when it was compiled from the same text."""
    text = path.read_text(encoding="utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    match = re.search(r"\bCONSTRUCT\s*\{", body)
    if match is None:
        raise OntologyError(f"{path}: a rule must be a CONSTRUCT query")
    try:
        open_at = match.end() - 1
        close_at = _matching_brace(body, open_at)
        where_match = re.compile(r"\s*WHERE\s*\{", re.IGNORECASE).match(body, close_at + 1)
        if where_match is None:
            raise ValueError("CONSTRUCT { ... } must be followed by WHERE { ... }")
        where_open = where_match.end() - 1
        where_close = _matching_brace(body, where_open)
    except ValueError as exc:
        raise OntologyError(f"{path}: cannot read the rule: {exc}") from exc
    headers = _headers(text)
    missing = [key for key in REQUIRED_HEADERS if not headers.get(key)]
    if missing:
        raise OntologyError(
            f"{path}: a rule needs the header lines {', '.join(f'#+ {k}:' for k in missing)}"
        )
    if re.search(r"\bGRAPH\b", body[where_open:], re.IGNORECASE):
        raise OntologyError(
            f"{path}: a rule reads the union (the default graph) only; remove its GRAPH patterns"
        )
    if compiled is not None and compiled.get("sha256") == _sha256(text):
        algebra = None
        focus = compiled["focus"]
        anchors = tuple((str(p), bool(f)) for p, f in compiled["anchors"])
    else:
        compiled = None
        try:
            algebra = parse_query(text)
        except Exception as exc:  # pyparsing's errors
            raise OntologyError(f"{path}: not a valid SPARQL CONSTRUCT query: {exc}") from exc
        focus, anchors = _focus(path, algebra)
    return Rule(
        name=path.stem,
        headers=headers,
        path=path,
        prologue=body[: match.start()].strip(),
        template=body[open_at + 1 : close_at].strip(),
        where=body[where_open : where_close + 1],
        focus=focus,
        anchors=anchors,
        parsed=algebra,
        compiled=compiled,
    )


def _minted(node: object, found: dict[Variable, set[Variable]]) -> None:
    """The variables bound by ``BIND(IRI(CONCAT(STR(?focus), "/...", ...)) AS ?node)`` in a
    parsed query (rdflib's ``Extend``), each with the variables they are minted from."""
    if isinstance(node, CompValue):
        expr = node.get("expr") if node.name == "Extend" else None
        if isinstance(expr, CompValue) and expr.name == "Builtin_IRI":
            concat = expr.get("arg")
            parts = concat.get("arg") if isinstance(concat, CompValue) else None
            if (
                isinstance(concat, CompValue)
                and concat.name == "Builtin_CONCAT"
                and isinstance(parts, list)
                and len(parts) >= 2
                and isinstance(parts[0], CompValue)
                and parts[0].name == "Builtin_STR"
                and isinstance(parts[0].get("arg"), Variable)
                and isinstance(parts[1], RdfLiteral)
                and str(parts[1]).startswith("/")
            ):
                found.setdefault(node["var"], set()).add(parts[0]["arg"])
        for value in node.values():
            _minted(value, found)
    elif isinstance(node, list | tuple):
        for value in node:
            _minted(value, found)


def _focus(path: Path, algebra: Any) -> tuple[str, tuple[tuple[str, bool], ...]]:
    """The focus of a rule (the one subject of its template that is not minted) and the
    anchors of the nodes it mints; raises OntologyError for any other template."""
    template = list(algebra["template"])
    subjects = {s for s, _p, _o in template}
    minted: dict[Variable, set[Variable]] = {}
    _minted(algebra, minted)
    plain = {s for s in subjects if s not in minted}
    if not plain:  # only minted nodes: the focus is what they are minted from
        plain = set().union(*(minted[s] for s in subjects)) if subjects else set()
    if len(plain) != 1 or not isinstance(next(iter(plain)), Variable):
        raise OntologyError(
            f"{path}: every triple of a rule's template must have the same variable as subject "
            f"(the rule's focus), or a node minted from it by "
            f'BIND(IRI(CONCAT(STR(?focus), "/...", ...)) AS ?node); found '
            f"{sorted(map(str, subjects))}"
        )
    focus = next(iter(plain))
    anchors: set[tuple[str, bool]] = set()
    for node in sorted(subjects - plain):
        if minted[node] != {focus}:
            raise OntologyError(
                f"{path}: ?{node} is minted from {sorted(map(str, minted[node]))}, not from the "
                f"rule's focus ?{focus}"
            )
        tied = [
            (str(p), s == focus)
            for s, p, o in template
            if isinstance(p, URIRef) and {s, o} == {focus, node}
        ]
        if not tied:
            raise OntologyError(
                f"{path}: the template must tie the minted node ?{node} to the focus ?{focus} "
                f"with a fixed predicate (?{focus} p ?{node} or ?{node} p ?{focus})"
            )
        anchors.update(tied)
    return str(focus), tuple(sorted(anchors))


def rules(directory: Path | None = None) -> list[Rule]:
    """Every rule shipped in ``rules/``, in the order they are applied (read again only
    when a file changes).

    >>> [r.key for r in rules()][:2]
    ['involves-profession', 'involves-profession-family']
    """
    directory = directory or data_dir("rules")
    paths = sorted(directory.glob("*.rq"))
    stamp = _stamp(directory / COMPILED)
    return [_parsed(p, p.stat().st_mtime_ns, stamp) for p in paths]


def fingerprint(ontology: Path | None = None) -> str:
    """A digest of what the derived facts depend on besides the records: every rule file
    and every file of the ontology (``ontology``: its folder; None: the shipped one). A
    store keeps the digest its derived facts were computed with (:mod:`cipd_graph.store.meta`),
    and a write into a store that keeps another one derives them all again.

    >>> fingerprint() == fingerprint(data_dir("ontology")) and len(fingerprint()) == 32
    True
    """
    folders = {"rules": data_dir("rules"), "ontology": ontology or data_dir("ontology")}
    files = [
        (name, folder, path)
        for name, folder in folders.items()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and (name == "ontology" or path.suffix == ".rq")
    ]
    return _digest(
        tuple(
            (f"{name}/{path.relative_to(folder).as_posix()}", str(path), path.stat().st_mtime_ns)
            for name, folder, path in files
        )
    )


@lru_cache(maxsize=16)
def _digest(files: tuple[tuple[str, str, int], ...]) -> str:
    """The digest of the files (name, path, modification time: read again when one changes)."""
    digest = hashlib.sha256()
    for name, path, _mtime in files:
        content = Path(path).read_bytes()
        digest.update(f"{name}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()[:32]


@lru_cache(maxsize=256)
def _parsed(path: Path, mtime_ns: int, compiled_mtime_ns: int | None) -> Rule:
    """The rule at ``path`` (read again when it or ``compiled.json`` beside it changes)."""
    compiled = path.parent / COMPILED
    entries = {} if compiled_mtime_ns is None else _read_compiled(compiled, compiled_mtime_ns)
    return parse_rule(path, entries.get(path.stem))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


#: Beside the rules: what parsing each took from it (see :func:`compile_rules`).
COMPILED = "compiled.json"


def _stamp(path: Path) -> int | None:
    """The modification time of ``path`` (None: there is none)."""
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


@lru_cache(maxsize=8)
def _read_compiled(path: Path, mtime_ns: int) -> dict[str, dict[str, Any]]:
    """The entries of ``compiled.json`` by rule name (none when it is unreadable: every rule
    is then parsed)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["rules"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return entries if isinstance(entries, dict) else {}


def compile_rules(directory: Path | None = None) -> dict[str, Any]:
    """What parsing each rule in ``directory`` (default: the shipped ones) gives the
    derivation, as the content of ``rules/compiled.json``: per rule, the sha256 of its file,
    its focus, anchors, what it reads and derives, and its maintenance plans.

    rdflib takes 35-50 ms to parse a rule, so every process that writes would spend 0.6-0.7 s
    on the 18 rules before its first write (100 files into 10,000 projects: 0.68 s of 6.7 s).
    A rule whose file no longer matches its entry is parsed as before, and
    ``tests/test_rules.py`` fails until ``make rules`` writes the file again.
    """
    directory = directory or data_dir("rules")
    entries: dict[str, Any] = {}
    for path in sorted(directory.glob("*.rq")):
        rule = parse_rule(path)
        entries[rule.name] = {
            "sha256": _sha256(path.read_text(encoding="utf-8")),
            "focus": rule.focus,
            "anchors": [list(a) for a in rule.anchors],
            "reads": sorted(rule.reads),
            "produces": None if rule.produces is None else sorted(rule.produces),
            "plans": plans_to_json(rule.plans),
        }
    return {
        "note": "written by `make rules` from the .rq files beside it; do not edit",
        "rules": entries,
    }


def write_compiled(directory: Path | None = None) -> Path:
    """Write ``compiled.json`` for the rules in ``directory`` (default: the shipped ones)."""
    directory = directory or data_dir("rules")
    path = directory / COMPILED
    text = json.dumps(compile_rules(directory), indent=1, sort_keys=True) + "\n"
    path.write_text(text, encoding="utf-8")
    return path


def _iris(node: object, found: set[str]) -> None:
    """Every IRI in a parsed query's algebra (rdflib's nested ``CompValue`` dicts and lists)."""
    if isinstance(node, URIRef):
        found.add(str(node))
    elif isinstance(node, dict):
        for value in node.values():
            _iris(value, found)
    elif isinstance(node, list | tuple | set):
        for value in node:
            _iris(value, found)


def _produces(rule: Rule, algebra: Any) -> set[str] | None:
    """The properties and classes ``rule`` (parsed: ``algebra``) derives; None when its
    template could derive any (a variable property not fixed by a VALUES block, or a
    variable class)."""
    produced: set[str] = set()
    for _s, p, o in algebra["template"]:
        if isinstance(p, Variable):
            bound = re.search(rf"VALUES\s+\?{p}\s*\{{([^}}]*)\}}", rule.where)
            if bound is None:
                return None
            for word in bound.group(1).split():
                prefix, _, local = word.partition(":")
                if word.startswith("<") or prefix not in rule.prefixes:
                    return None
                produced.add(rule.prefixes[prefix] + local)
        elif p == RDF.type:
            if not isinstance(o, URIRef):
                return None
            produced.add(str(o))
        else:
            produced.add(str(p))
    return produced


def rule_levels(loaded: Sequence[Rule] | None = None) -> list[list[Rule]]:
    """The rules in levels: every rule comes after each earlier rule whose derived facts it
    reads (by name of property or class), so the rules of one level can run at the same time
    and give what applying them one by one in file order gives.

    >>> [[r.name[:2] for r in level] for level in rule_levels()]
    [['10', '41', '42', '50', '60'], ['11', '61'], ['20', '21', '22'], ['30', '31', '33'], ['32', '40'], ['34']]
    """
    loaded = list(rules() if loaded is None else loaded)
    level_of: dict[str, int] = {}
    for position, rule in enumerate(loaded):
        reads = rule.reads
        level = 0
        for earlier in loaded[:position]:
            makes = earlier.produces
            if makes is None or makes & reads:
                level = max(level, level_of[earlier.name] + 1)
        level_of[rule.name] = level
    levels: list[list[Rule]] = [[] for _ in range(max(level_of.values(), default=-1) + 1)]
    for rule in loaded:
        levels[level_of[rule.name]].append(rule)
    return levels
