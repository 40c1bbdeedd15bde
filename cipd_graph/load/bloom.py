"""Which IRIs a staged load's store may hold as subjects, without asking the store.

A staged load reads, for every chunk, what the store says about each IRI the chunk mentions.
Most of those IRIs are the chunk's own new things (its cycles, stages, teams), which the store
does not hold yet, and each look-up of an absent IRI costs 16-88 µs on disk: about 0.8 s a
chunk at 10,000 projects, and growing with the store. A Bloom filter of every subject written
so far answers "certainly absent" for those in about a microsecond, in a few megabytes
(a Python set of the IRIs would take hundreds of megabytes at 100,000 projects).

It never answers "absent" for an IRI it was given; it may answer "maybe present" for one it was
not (about 1 in 150 at the sizes it is made for), which only costs that IRI its look-up.
"""

from __future__ import annotations

from collections.abc import Iterable

#: Bits per expected IRI and positions per IRI: a false "maybe present" about 0.7% of the time.
BITS_PER_ITEM = 12
POSITIONS = 4


class SubjectFilter:
    """A Bloom filter of IRIs, sized for ``expected`` of them (more still work, less sharply).

    >>> f = SubjectFilter(expected=1000)
    >>> f.update(["https://w3id.org/cipd/id/project/p1"])
    >>> "https://w3id.org/cipd/id/project/p1" in f
    True
    >>> "https://w3id.org/cipd/id/project/p2" in f
    False
    """

    def __init__(self, expected: int) -> None:
        self.size = max(1 << 16, expected * BITS_PER_ITEM)
        self.bits = bytearray(self.size // 8 + 1)
        self.count = 0

    def _positions(self, iri: str) -> list[int]:
        # Two halves of Python's (per-process) string hash, combined as Kirsch and Mitzenmacher
        # show is as good as independent hashes; strings cache their hash, so this is cheap.
        # The filter lives in one process: the loading one, which alone adds and asks.
        h = hash(iri) & 0xFFFFFFFFFFFFFFFF
        first, step = h & 0xFFFFFFFF, (h >> 32) | 1
        size = self.size
        return [(first + i * step) % size for i in range(POSITIONS)]

    def add(self, iri: str) -> None:
        """Remember ``iri``."""
        bits = self.bits
        for position in self._positions(iri):
            bits[position >> 3] |= 1 << (position & 7)
        self.count += 1

    def update(self, iris: Iterable[str]) -> None:
        """Remember every IRI of ``iris``."""
        for iri in iris:
            self.add(iri)

    def __contains__(self, iri: object) -> bool:
        if not isinstance(iri, str):
            return False
        bits = self.bits
        return all(bits[p >> 3] & (1 << (p & 7)) for p in self._positions(iri))
