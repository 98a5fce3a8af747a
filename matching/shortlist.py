"""The `max_options` best-fitting vacancies of an applicant abroad, without scoring every vacancy.

An applicant abroad (online and visiting courses) who states no list may fit every vacancy
without a list that offers one of its courses and whose language minimums it meets: a set that
grows with the market. There its fit score (`admissible.fit_score`) has two parts, the skills
shared and the language margin (distance counts for commuting only). So the index holds one
bitset of vacancies per course, per language signature and per skill, bit p standing for the
vacancy at tie-break position p (matching.tiebreak). For an applicant, adding its skills'
bitsets in a bit-sliced counter gives every vacancy's count of shared skills at once; each
(shared skills, margin) level is one fit-score evaluation; the levels are read best first and
each lowest bit first until `max_options` vacancies are taken. The work per applicant is a few
big-integer operations per skill, signature and level (each over M/64 machine words, in C) and
one C step per vacancy taken; never a Python step per vacancy of the market.

Imports numpy and the standard library only.
"""

from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Sequence
from itertools import repeat

import numpy as np

from matching.problem import IntArray

Score = Callable[[int, int], int]
"""(shared skills, language margin) -> fit score."""


class Shortlist:
    """Vacancies without a list on the online and visiting courses, by course, signature, skill."""

    def __init__(
        self,
        courses_of: Sequence[Sequence[str]],
        sig: Sequence[int],
        skills: Sequence[frozenset[str]],
        tie: IntArray,
    ) -> None:
        """`courses_of[j]`: the online and visiting courses vacancy j offers without a list."""
        self.size = len(courses_of)
        self.at: IntArray = np.argsort(tie, kind="stable")  # vacancy index per tie position
        self.position: list[int] = tie.tolist()  # tie position (its bit) per vacancy index
        by_course, by_sig = defaultdict(list), defaultdict(list)
        by_skill: dict[str, list[int]] = defaultdict(list)
        for j, courses in enumerate(courses_of):
            if not courses:
                continue
            p = int(tie[j])
            for c in courses:
                by_course[c].append(p)
            by_sig[sig[j]].append(p)
            for s in skills[j]:
                by_skill[s].append(p)
        self.by_course = {c: _bits(ps, self.size) for c, ps in by_course.items()}
        self.by_sig = {g: _bits(ps, self.size) for g, ps in by_sig.items()}
        # a skill's bitset costs M/8 bytes: kept for skills in at least M/64 vacancies, so the
        # bitsets never take more than the postings would; rarer ones are built when asked for
        dense = {s for s, ps in by_skill.items() if 64 * len(ps) >= self.size}
        self.skill_bits = {s: _bits(by_skill[s], self.size) for s in dense}
        self.skill_positions = {s: ps for s, ps in by_skill.items() if s not in dense}
        self.evaluations = 0

    def best(
        self,
        courses: Sequence[str],
        language: Sequence[tuple[bool, int]],
        skills: frozenset[str],
        k: int,
        score: Score,
        exclude: Collection[int] = (),
    ) -> list[tuple[int, int]]:
        """Up to `k` (vacancy, fit score), best first, ties in tie-break order, never one of
        the vacancies `exclude` names (by index)."""
        reach = 0
        for c in courses:
            reach |= self.by_course.get(c, 0)
        for j in exclude:
            reach &= ~(1 << self.position[j])
        by_margin: dict[int, int] = {}
        for g, bits in self.by_sig.items():
            meets, margin = language[g]
            if meets and (bits := bits & reach):
                by_margin[margin] = by_margin.get(margin, 0) | bits
        admissible = 0
        for bits in by_margin.values():
            admissible |= bits
        if not admissible:
            return []
        postings = [b for s in sorted(skills) if (b := self._skill(s) & admissible)]
        buckets: dict[int, int] = {}
        for shared, level in _levels(admissible, postings):
            for margin, bits in by_margin.items():
                if both := level & bits:
                    self.evaluations += 1
                    value = score(shared, margin)
                    buckets[value] = buckets.get(value, 0) | both
        return self._take(buckets, k)

    def _skill(self, skill: str) -> int:
        bits = self.skill_bits.get(skill)
        if bits is not None:
            return bits
        positions = self.skill_positions.get(skill)
        return 0 if positions is None else _bits(positions, self.size)

    def _take(self, buckets: dict[int, int], k: int) -> list[tuple[int, int]]:
        """Best bucket first, each lowest bit (first in tie-break order) first, up to `k`."""
        chosen: list[tuple[int, int]] = []
        width = (self.size + 7) // 8
        for value in sorted(buckets, reverse=True):
            raw = np.frombuffer(buckets[value].to_bytes(width, "little"), dtype=np.uint8)
            positions = np.flatnonzero(np.unpackbits(raw, bitorder="little"))
            taken = self.at[positions[: k - len(chosen)]].tolist()
            chosen.extend(zip(taken, repeat(value), strict=False))
            if len(chosen) >= k:
                break
        return chosen


def _bits(positions: Sequence[int], size: int) -> int:
    """A Python int with the given bits set, built in O(size / 8) bytes of C work."""
    flags = np.zeros(size, dtype=bool)
    flags[np.asarray(positions, dtype=np.int64)] = True
    return int.from_bytes(np.packbits(flags, bitorder="little").tobytes(), "little")


def _levels(universe: int, postings: Sequence[int]) -> Iterator[tuple[int, int]]:
    """(count, the bits of `universe` set in exactly `count` postings), highest count first."""
    slices: list[int] = []  # slice i holds bit i of every position's count
    for carry in postings:
        for i, bits in enumerate(slices):
            slices[i], carry = bits ^ carry, bits & carry
            if not carry:
                break
        if carry:
            slices.append(carry)
    left = universe
    for count in range(min(len(postings), (1 << len(slices)) - 1), -1, -1):
        level = left
        for i, bits in enumerate(slices):
            level &= bits if count >> i & 1 else ~bits
        if level:
            yield count, level
            left ^= level
            if not left:
                return
