"""Pages of a listing: a page size and a cursor, in a stable order.

A listing query says how it is paged in two header lines (the named queries' other
headers are described in :mod:`cipd_graph._queries`):

- ``#+ order: ?a DESC(?b) ...``: the variables whose values order its rows on pages (the
  rest of the row breaks ties). Required to page a query.
- ``#+ keys: <graph pattern>``: optional; a pattern binding the first ``order`` variable
  (the *key*) to every value it can take in the answer, e.g. ``?project a
  cipd:ImprovementProject``. With it, pages *walk the keys* in the store's own order
  (the order of its index, which depends on the keys alone, not on what else the store
  holds): each page reads the next keys, then the query restricted to them by a ``VALUES``
  block placed in every group that can see the key (subqueries that project it
  included), so a page costs what its rows cost, not what the whole answer costs.
  Without it the whole answer is computed and sorted here (fine for answers of a few
  hundred rows: a query scoped by its parameters).

Sorting happens here, not in the query: Oxigraph reads a string longer than 16 bytes from
disk at every comparison of an ``ORDER BY`` (about 8 us each), and ordering the 2,866 fully
woven projects of a 1M-triple store by IRI took 380 ms against 45 ms to list them. A
walked listing is therefore in key order (not alphabetical, which would read every key's
string: 28,000 keys, about 250 ms at 10M triples); rows of one key follow the ``order``
header.

A cursor is an opaque token naming the query and its parameters, where the last row sat
(for a walk, the key's position and the key itself) and that row's values; the next page
starts after that row. Positions found again after other writes: a walk looks for its key
near where it was (:data:`RELOCATE` keys either side) and refuses with
:class:`StaleCursorError` (HTTP 409) when the key has gone. Values never become query text:
keys go into ``VALUES`` as terms pyoxigraph wrote, offsets and sizes as integers.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import pyoxigraph as ox

from cipd_graph._errors import CipdError

#: The page size when a cursor comes without one.
DEFAULT_PAGE = 50
#: The largest page a caller may ask for.
MAX_PAGE = 1000
#: Keys either side of a walk cursor's position searched for its key after other writes.
RELOCATE = 64
#: Keys per query of a walk, at most (a VALUES block of about 60 bytes a key).
MAX_BATCH = 1024
_XSD = "http://www.w3.org/2001/XMLSchema#"
_NUMERIC = {
    _XSD + t
    for t in [
        *("integer", "decimal", "double", "float", "int", "long", "short", "byte"),
        *("nonNegativeInteger", "positiveInteger", "nonPositiveInteger", "negativeInteger"),
        *("unsignedInt", "unsignedLong", "unsignedShort", "unsignedByte"),
    ]
}


class CursorError(CipdError):
    """A cursor that is malformed, or belongs to another query or other parameters (400)."""


class StaleCursorError(CursorError):
    """The store changed so much that a cursor's place is gone: start again (409)."""


# --------------------------------------------------------------------------- headers


@dataclass(frozen=True)
class Paging:
    """How a query is paged: ``order`` [(variable, descending)], and the ``keys`` pattern
    (empty: sort the whole answer)."""

    order: tuple[tuple[str, bool], ...]
    keys: str = ""

    @property
    def key(self) -> str:
        """The first order variable: the walked key."""
        return self.order[0][0]

    @classmethod
    def parse(cls, order: str, keys: str = "") -> Paging:
        """From the text of the ``#+ order:`` and ``#+ keys:`` headers.

        >>> Paging.parse("?project DESC(?n)").order
        (('project', False), ('n', True))
        """
        items: list[tuple[str, bool]] = []
        for item in order.split():
            match = re.fullmatch(r"(?:(ASC|DESC)\()?[?$]([A-Za-z_][A-Za-z0-9_]*)\)?", item, re.I)
            if match is None or (match.group(1) is None) != (not item.endswith(")")):
                raise ValueError(f"bad order item {item!r}: use ?name, ASC(?name) or DESC(?name)")
            items.append((match.group(2), (match.group(1) or "").upper() == "DESC"))
        if not items:
            raise ValueError("an order header names at least one variable")
        if keys and not re.search(rf"[?$]{items[0][0]}\b", keys):
            raise ValueError(f"the keys pattern must bind the first order variable ?{items[0][0]}")
        return cls(tuple(items), keys.strip())


# --------------------------------------------------------------------------- query text

_TOKEN = re.compile(
    r"""(?P<comment>\#[^\n]*)
      | (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*'''
                  |"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
      | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
      | (?P<var>[?$][A-Za-z0-9_]+)
      | (?P<word>[A-Za-z_][A-Za-z0-9_\-]*(?::[A-Za-z0-9_.\-]*)?|:[A-Za-z0-9_.\-]*)
      | (?P<open>\{) | (?P<close>\}) | (?P<other>\S)""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    start: int
    end: int

    @property
    def upper(self) -> str:
        return self.text.upper()


def _tokens(text: str) -> list[_Token]:
    return [
        _Token(m.lastgroup or "", m.group(), m.start(), m.end())
        for m in _TOKEN.finditer(text)
        if m.lastgroup != "comment"
    ]


def _braces(tokens: Sequence[_Token]) -> dict[int, int]:
    match: dict[int, int] = {}
    stack: list[int] = []
    for i, token in enumerate(tokens):
        if token.kind == "open":
            stack.append(i)
        elif token.kind == "close":
            if not stack:
                raise ValueError("unbalanced braces in the query")
            match[stack.pop()] = i
    if stack:
        raise ValueError("unbalanced braces in the query")
    return match


def prologue(text: str) -> str:
    """The query's PREFIX and BASE declarations (everything before its form)."""
    for token in _tokens(text):
        if token.upper in ("SELECT", "CONSTRUCT", "ASK", "DESCRIBE"):
            return text[: token.start]
    return text


def is_construct(text: str) -> bool:
    """Whether the query is a CONSTRUCT."""
    for token in _tokens(text):
        if token.upper in ("SELECT", "CONSTRUCT", "ASK", "DESCRIBE"):
            return token.upper == "CONSTRUCT"
    return False


def without_order(text: str) -> str:
    """``text`` without its outermost ORDER BY (the rows are sorted here)."""
    tokens = _tokens(text)
    depth = 0
    for i, token in enumerate(tokens):
        depth += token.kind == "open"
        depth -= token.kind == "close"
        if depth == 0 and token.upper == "ORDER" and i + 1 < len(tokens):
            if tokens[i + 1].upper != "BY":
                continue
            end = len(text)
            for later in tokens[i + 2 :]:
                if later.upper in ("LIMIT", "OFFSET", "VALUES"):
                    end = later.start
                    break
            return text[: token.start] + text[end:]
    return text


def restricted(text: str, variable: str, values: str) -> str:
    """``text`` with the ``values`` block (a VALUES of ``?variable``) at the start of every
    group that can see ``?variable``: the query's WHERE, and inside it each OPTIONAL,
    UNION branch, GRAPH or plain group mentioning it, and each subquery that projects it.
    Not inside FILTER EXISTS, MINUS or SERVICE, nor in a group that assigns the variable.

    Joining the same values into a group the outer pattern already restricts to them
    changes no answer; it only lets Oxigraph, which joins by hashing whole sides, read
    the rows of those keys instead of every row of the group.

    >>> restricted("SELECT * WHERE { ?a <p> ?b OPTIONAL { ?b <q> ?c } }", "b", "VALUES ?b { <x> }")
    'SELECT * WHERE { VALUES ?b { <x> } ?a <p> ?b OPTIONAL { VALUES ?b { <x> } ?b <q> ?c } }'
    """
    tokens = _tokens(text)
    match = _braces(tokens)
    inserts: list[int] = []

    def mentions(first: int, last: int) -> bool:
        return any(t.kind == "var" and t.text[1:] == variable for t in tokens[first:last])

    def assigns(first: int, last: int) -> bool:
        return any(
            tokens[j].upper == "AS" and tokens[j + 1].text[1:] == variable
            for j in range(first, last - 1)
        )

    def data_block(i: int) -> bool:
        before = tokens[i - 1] if i else None
        if before is None:
            return False
        if before.upper in ("VALUES", "DATA"):
            return True
        if before.kind == "var" and i > 1 and tokens[i - 2].upper == "VALUES":
            return True
        if before.text == ")":  # VALUES (?a ?b) { ... }
            j = i - 1
            while j >= 0 and tokens[j].text != "(":
                j -= 1
            return j > 0 and tokens[j - 1].upper == "VALUES"
        return False

    def walk(first: int, last: int, visible: bool) -> None:
        i = first
        while i < last:
            token = tokens[i]
            if token.kind != "open":
                i += 1
                continue
            end = match[i]
            before = tokens[i - 1].upper if i else ""
            before2 = tokens[i - 2].upper if i > 1 else ""
            if (
                data_block(i)
                or before in ("EXISTS", "MINUS", "SERVICE", "CONSTRUCT", "DELETE", "INSERT")
                or before2 == "SERVICE"
            ):
                i = end + 1
                continue
            if i + 1 < end and tokens[i + 1].upper == "SELECT":  # a subquery
                where = i + 2
                while tokens[where].kind != "open":
                    where += 1
                clause = tokens[i + 2 : where]
                projects = any(t.text == "*" for t in clause) or any(
                    t.kind == "var"
                    and t.text[1:] == variable
                    and (j == 0 or clause[j - 1].upper != "AS")
                    for j, t in enumerate(clause)
                )
                walk(where, end, visible and projects)
                i = end + 1
                continue
            here = visible and mentions(i, end) and not assigns(i, end)
            if here:
                inserts.append(token.end)
            walk(i + 1, end, here)
            i = end + 1

    walk(0, len(tokens), True)
    out = text
    for at in sorted(inserts, reverse=True):
        out = out[:at] + " " + values + out[at:]
    return out


# --------------------------------------------------------------------------- ordering


@functools.total_ordering
class _Descending:
    __slots__ = ("key",)

    def __init__(self, key: Any) -> None:
        self.key = key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and self.key == other.key

    def __lt__(self, other: _Descending) -> bool:
        return bool(other.key < self.key)

    def __hash__(self) -> int:
        return hash(self.key)


def term_key(term: Any) -> tuple[Any, ...]:
    """A sort key for an RDF term (or None): unbound, blank nodes, IRIs, numbers by value,
    then other literals by their text.

    >>> sorted(["10", "9"], key=lambda v: term_key(ox.Literal(v, datatype=ox.NamedNode(_XSD + "integer"))))
    ['9', '10']
    """
    if term is None:
        return (0,)
    if isinstance(term, ox.BlankNode):
        return (1, term.value)
    if isinstance(term, ox.NamedNode):
        return (2, term.value)
    if isinstance(term, ox.Literal):
        if term.datatype.value in _NUMERIC:
            try:
                number = Decimal(term.value)
            except InvalidOperation:
                number = None
            if number is not None and number.is_finite():
                return (3, number, term.value)
        return (4, term.value, term.language or "", term.datatype.value)
    return (5, str(term))


def encode_term(term: Any) -> Any:
    """A term as JSON for a cursor."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return ["i", term.value]
    if isinstance(term, ox.BlankNode):
        return ["b", term.value]
    if isinstance(term, ox.Literal):
        return ["l", term.value, term.datatype.value, term.language or ""]
    raise CursorError(f"cannot keep {term!r} in a cursor")


def decode_term(data: Any) -> ox.NamedNode | ox.BlankNode | ox.Literal | None:
    """A term from a cursor (pyoxigraph checks it)."""
    if data is None:
        return None
    try:
        kind = data[0]
        if kind == "i" and len(data) == 2:
            return ox.NamedNode(data[1])
        if kind == "b" and len(data) == 2:
            return ox.BlankNode(data[1])
        if kind == "l" and len(data) == 4:
            if data[3]:
                return ox.Literal(data[1], language=data[3])
            return ox.Literal(data[1], datatype=ox.NamedNode(data[2]))
    except (TypeError, ValueError, IndexError) as exc:
        raise CursorError(f"the cursor holds a bad term ({exc})") from exc
    raise CursorError("the cursor holds a bad term")


# --------------------------------------------------------------------------- cursors


@dataclass(frozen=True)
class Cursor:
    """Where the last page ended: the query and parameters it belongs to (``ident``), the
    last row's values, how many rows equal to it were served, and in a walk the position
    of its key and the key."""

    ident: str
    last: tuple[Any, ...]
    same: int = 1
    position: int | None = None
    key: Any = None

    def encode(self) -> str:
        """The cursor as an opaque URL-safe token."""
        data: dict[str, Any] = {
            "v": 1,
            "q": self.ident,
            "r": [encode_term(t) for t in self.last],
            "n": self.same,
        }
        if self.position is not None:
            data["p"] = self.position
            data["k"] = encode_term(self.key)
        raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, ident: str) -> Cursor:
        """The cursor ``token`` says, checked to belong to ``ident``."""
        if not token or len(token) > 65536 or not re.fullmatch(r"[A-Za-z0-9_-]+", token):
            raise CursorError("not a cursor this server gave (expected a URL-safe token)")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            data = json.loads(raw)
        except (binascii.Error, ValueError) as exc:
            raise CursorError("not a cursor this server gave (it does not decode)") from exc
        if not isinstance(data, dict) or data.get("v") != 1:
            raise CursorError("not a cursor this server gave (unknown form)")
        if data.get("q") != ident:
            raise CursorError(
                "this cursor belongs to another query or other parameters: "
                "ask again with the parameters of the page that gave it"
            )
        last, same, position = data.get("r"), data.get("n"), data.get("p")
        if not isinstance(last, list) or not isinstance(same, int) or same < 1:
            raise CursorError("not a cursor this server gave (bad fields)")
        if position is not None and (not isinstance(position, int) or position < 0):
            raise CursorError("not a cursor this server gave (bad position)")
        terms = tuple(decode_term(t) for t in last)
        key = decode_term(data.get("k")) if position is not None else None
        return cls(ident, terms, same, position, key)


def ident(name: str, values: Mapping[str, str]) -> str:
    """What a cursor is checked against: the listing and its parameters."""
    text = json.dumps([name, sorted(values.items())], ensure_ascii=False)
    return name + ":" + hashlib.sha256(text.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- pages


@dataclass
class Page:
    """One page: its rows (terms), the answer's variables, the cursor of the next page
    (None on the last), and the total number of rows when it was cheap to know."""

    variables: list[str]
    rows: list[dict[str, Any]]
    next_cursor: str | None = None
    total: int | None = None
    #: The keys of a walk the rows belong to, one a row (for callers grouping by key).
    keys: list[Any] = field(default_factory=list)


Query = Callable[[str], Any]


def check_size(size: int) -> int:
    """A page size, checked."""
    if not 1 <= size <= MAX_PAGE:
        raise CursorError(f"a page holds 1 to {MAX_PAGE} rows, not {size}")
    return size


def _solutions(answer: Any) -> tuple[list[str], list[dict[str, Any]]]:
    if isinstance(answer, ox.QuerySolutions):
        variables = [v.value for v in answer.variables]
        return variables, [{v: row[v] for v in variables} for row in answer]
    if isinstance(answer, list):  # CONSTRUCT: the triples as rows
        variables = ["subject", "predicate", "object"]
        rows = [
            {"subject": t.subject, "predicate": t.predicate, "object": t.object} for t in answer
        ]
        return variables, rows
    raise CursorError("only SELECT and CONSTRUCT answers are paged")


class _Sorter:
    """The order of rows: the ``order`` variables, then every other variable."""

    def __init__(self, order: Sequence[tuple[str, bool]], variables: Sequence[str]) -> None:
        for name, _desc in order:
            if name not in variables:
                raise CursorError(f"the order variable ?{name} is not in the answer")
        named = [name for name, _ in order]
        self.order = [*order, *((v, False) for v in variables if v not in named)]
        self.variables = list(variables)

    def key(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(
            _Descending(term_key(row.get(name))) if desc else term_key(row.get(name))
            for name, desc in self.order
        )

    def last(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(row.get(v) for v in self.variables)

    def key_of_last(self, last: Sequence[Any]) -> tuple[Any, ...]:
        if len(last) != len(self.variables):
            raise CursorError("the cursor does not fit this query's answer")
        return self.key(dict(zip(self.variables, last, strict=True)))


def _after(
    rows: list[dict[str, Any]], sorter: _Sorter, cursor: Cursor | None
) -> list[dict[str, Any]]:
    """``rows`` (sorted) after the cursor's row."""
    if cursor is None:
        return rows
    mark = sorter.key_of_last(cursor.last)
    out = []
    same = 0
    for row in rows:
        key = sorter.key(row)
        if key < mark:
            continue
        if key == mark and same < cursor.same:
            same += 1
            continue
        out.append(row)
    return out


def _next(served: list[dict[str, Any]], sorter: _Sorter, ident_: str, **where: Any) -> str:
    last = served[-1]
    mark = sorter.key(last)
    same = 0
    for row in reversed(served):
        if sorter.key(row) != mark:
            break
        same += 1
    return Cursor(ident_, sorter.last(last), same, **where).encode()


def sorted_page(
    query: Query,
    text: str,
    paging: Paging,
    *,
    size: int,
    cursor: Cursor | None,
    ident_: str,
) -> Page:
    """A page of the whole answer of ``text``, sorted here (no keys pattern)."""
    variables, rows = _solutions(query(without_order(text)))
    sorter = _Sorter(paging.order, variables)
    rows.sort(key=sorter.key)
    rest = _after(rows, sorter, cursor)
    served = rest[:size]
    token = _next(served, sorter, ident_) if len(rest) > size else None
    return Page(variables, served, token, total=len(rows))


class _Walk:
    """The rows a walk has gathered for a page, each with its key and the key's position."""

    def __init__(self, size: int, whole_keys: bool) -> None:
        self.size = size
        self.whole_keys = whole_keys
        self.rows: list[dict[str, Any]] = []
        self.owners: list[tuple[int, Any]] = []
        self.distinct = 0  # keys with rows gathered

    def add(self, position: int, key: Any, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.distinct += 1
        self.rows += rows
        self.owners += [(position, key)] * len(rows)

    @property
    def gathered(self) -> int:
        """Items gathered: keys (``whole_keys``) or rows."""
        return self.distinct if self.whole_keys else len(self.rows)

    @property
    def full(self) -> bool:
        """More than a page gathered (so there is a next page)."""
        return self.gathered > self.size

    def page(self, variables: list[str], sorter: _Sorter | None, ident_: str) -> Page:
        if self.whole_keys:
            chosen = set(list(dict.fromkeys(k for _, k in self.owners))[: self.size])
            cut = sum(1 for _, k in self.owners if k in chosen)
        else:
            cut = min(self.size, len(self.rows))
        rows, owners = self.rows[:cut], self.owners[:cut]
        token = None
        if self.full and rows and sorter is not None:
            at, owner = owners[-1]
            same_key = [r for r, (_, k) in zip(rows, owners, strict=True) if k == owner]
            token = _next(same_key, sorter, ident_, position=at, key=owner)
        return Page(variables, rows, token, keys=[k for _, k in owners])


def walked_page(
    query: Query,
    text: str,
    paging: Paging,
    *,
    size: int,
    cursor: Cursor | None,
    ident_: str,
    bind: str = "",
    whole_keys: bool = False,
) -> Page:
    """A page of ``text``'s answer walking the keys (see the module's docstring).

    ``bind``: a VALUES block of the query's parameters, for the keys query too.
    ``whole_keys``: the page holds ``size`` keys with all their rows (a REST listing, one
    item a key) instead of ``size`` rows.
    """
    key = paging.key
    head = prologue(text)
    body = without_order(text)

    def keys_at(offset: int, limit: int) -> list[Any]:
        answer = query(
            f"{head}SELECT DISTINCT ?{key} WHERE {{ {bind} {paging.keys} }} "
            f"OFFSET {int(offset)} LIMIT {int(limit)}"
        )
        return [row[0] for row in answer]

    position = 0
    if cursor is not None:
        if cursor.position is None:
            raise CursorError("this cursor belongs to a listing paged another way")
        position = _relocate(keys_at, cursor.position, cursor.key)
    walk = _Walk(size, whole_keys)
    variables: list[str] = []
    sorter: _Sorter | None = None
    batch = size + 1
    while not walk.full:
        keys = keys_at(position, batch)
        if not keys:
            break
        values = f"VALUES ?{key} {{ {' '.join(str(k) for k in keys)} }}"
        variables, rows = _solutions(query(restricted(body, key, values)))
        sorter = sorter or _Sorter(paging.order[1:], variables)
        by_key: dict[Any, list[dict[str, Any]]] = {}
        for row in rows:
            by_key.setdefault(row.get(key), []).append(row)
        for offset, found in enumerate(keys):
            mine = sorted(by_key.get(found, []), key=sorter.key)
            if cursor is not None and found == cursor.key:  # where the last page ended
                mine = _after(mine, sorter, cursor)
            walk.add(position + offset, found, mine)
            if walk.full:
                break
        if len(keys) < batch:
            break
        position += len(keys)
        # as many keys as the rows still wanted take, at the rate rows came so far
        rate = max(len(rows), 1) / len(keys)
        batch = min(MAX_BATCH, max(8, math.ceil((size + 1 - walk.gathered) / rate) + 1))
    return walk.page(variables, sorter, ident_)


def _relocate(keys_at: Callable[[int, int], list[Any]], position: int, key: Any) -> int:
    """Where ``key`` sits now: at ``position`` unless writes moved it (searched
    :data:`RELOCATE` keys either side)."""
    if key is None:
        raise CursorError("the cursor holds no key")
    start = max(0, position - RELOCATE)
    near = keys_at(start, position - start + RELOCATE + 1)
    if position - start < len(near) and near[position - start] == key:
        return position
    for offset, found in enumerate(near):
        if found == key:
            return start + offset
    raise StaleCursorError(
        "the store changed since this cursor was given and its place is gone: "
        "start again from the first page"
    )


def count_keys(query: Query, text: str, paging: Paging, bind: str = "") -> int:
    """How many keys the listing walks (Oxigraph counts them without reading their text)."""
    answer = query(
        f"{prologue(text)}SELECT (COUNT(DISTINCT ?{paging.key}) AS ?n) "
        f"WHERE {{ {bind} {paging.keys} }}"
    )
    return int(next(iter(answer))[0].value)
