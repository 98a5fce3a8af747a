"""Ids to dense positions in bulk: the one place a round looks string ids up by the million.

A dict lookup per id costs 0.3–0.6 µs at national scale (a scattered table and a fresh string
object per stated id), and a round of 100,000 applicants looks up two million stated ids, both
sides' lists. Here the ids become fixed-width bytes in one numpy call, each id one 64-bit key
(its bytes themselves when they fit in eight, else a hash of its words, checked byte for byte),
found in an open-addressing table probed for all the ids at once. The answer is exactly the
dict's: where bytes cannot tell two ids apart (an id that is not ASCII or holds a NUL, or two
ids of the table with one key), the dict answers instead.

Imports numpy and the standard library only.
"""

from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from matching.problem import IntArray

__all__ = ["IdTable"]

_CHUNK = 100_000
"""Ids converted per numpy call: each call holds the GIL throughout, so a service's event loop
sharing the process waits at most one chunk (as matching.admissible's lookups did)."""

_WIDEST = 256
"""Longest id given bytes of its own (contract ids have at most 64 characters): past it the dict
answers, since every id of a chunk is held at the table's width."""

_MIX = np.uint64(0x9E3779B97F4A7C15)


class IdTable:
    """Unique ids and their positions; `find` gives the positions of many ids at once."""

    def __init__(self, ids: Sequence[str]) -> None:
        self.ids = ids
        self._dict: dict[str, int] | None = None
        self._fast = _Probe.of(ids)

    def find(self, queries: Sequence[str]) -> IntArray:
        """Per query, its position in the table's ids; -1 where it is not one of them."""
        parts = [self._find_chunk(chunk) for chunk in _chunked(queries)]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def find_lists(self, lists: Iterable[Sequence[str]]) -> IntArray:
        """`find` of the lists' ids laid end to end, about `_CHUNK` ids at a time."""
        parts = [self._find_chunk(chunk) for chunk in _joined(lists)]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def _find_chunk(self, chunk: Sequence[str]) -> IntArray:
        encoded = None if self._fast is None else _encoded(chunk, self._fast.width)
        if encoded is None or self._fast is None:
            return self._by_dict(chunk)
        return self._fast.find(encoded)

    def _by_dict(self, chunk: Sequence[str]) -> IntArray:
        if self._dict is None:
            self._dict = {x: n for n, x in enumerate(self.ids)}
        get = self._dict.get
        return np.fromiter((get(q, -1) for q in chunk), dtype=np.int64, count=len(chunk))


class _Probe:
    """Linear probing over a power-of-two table at most half full, every lookup advanced one
    slot per numpy pass until it meets its key or an empty slot."""

    def __init__(self, encoded: np.ndarray, keys: IntArray, slots: IntArray) -> None:
        self.encoded, self.keys, self.slots = encoded, keys, slots
        self.bits = int(slots.shape[0]).bit_length() - 1
        self.width = encoded.dtype.itemsize

    @classmethod
    def of(cls, ids: Sequence[str]) -> "_Probe | None":
        """The table of the ids; None when bytes cannot stand for them (see `_encoded`), when
        one is longer than `_WIDEST`, or when two of them share a key."""
        longest = max(map(len, ids), default=0)
        if longest > _WIDEST:
            return None
        encoded = _encoded(ids, longest + 1)  # a NUL after each: a longer query never meets one
        if encoded is None:
            return None
        keys = _keys(encoded)
        n = keys.shape[0]
        ranked = np.sort(keys)
        if n > 1 and bool(np.any(ranked[1:] == ranked[:-1])):
            return None
        slots = np.full(1 << max(4, (2 * n).bit_length()), -1, dtype=np.int64)
        probe = cls(encoded, keys, slots)
        mask = slots.shape[0] - 1
        waiting = np.arange(n, dtype=np.int64)
        at = probe._home(keys)
        while waiting.shape[0]:
            free = np.flatnonzero(slots[at] < 0)
            slots[at[free]] = waiting[free]  # of ids after one free slot, one is written last
            took = np.zeros(waiting.shape[0], dtype=bool)
            took[free] = slots[at[free]] == waiting[free]  # and holds it
            waiting, at = waiting[~took], (at[~took] + 1) & mask
        return probe

    def _home(self, keys: IntArray) -> IntArray:
        mixed = keys.view(np.uint64) * _MIX
        return (mixed >> np.uint64(64 - self.bits)).astype(np.int64)

    def find(self, encoded: np.ndarray) -> IntArray:
        """Positions of ids encoded at this table's width (cut there: an id longer than any of
        the table's keeps a byte where each of theirs has a NUL, so it meets none of them)."""
        keys = _keys(encoded)
        found = np.full(keys.shape[0], -1, dtype=np.int64)
        mask = self.slots.shape[0] - 1
        waiting = np.arange(keys.shape[0], dtype=np.int64)
        at = self._home(keys)
        while waiting.shape[0]:
            held = self.slots[at]
            hit = held >= 0
            hit[hit] = self.keys[held[hit]] == keys[waiting[hit]]
            found[waiting[hit]] = held[hit]
            going = (held >= 0) & ~hit
            waiting, at = waiting[going], (at[going] + 1) & mask
        known = np.flatnonzero(found >= 0)  # a hash's key can be shared: compare the bytes
        wrong = known[self.encoded[found[known]] != encoded[known]]
        found[wrong] = -1
        return found


def _joined(lists: Iterable[Sequence[str]]) -> Iterator[list[str]]:
    """The lists' ids in order, about `_CHUNK` at a time (whole lists)."""
    chunk: list[str] = []
    for ids in lists:
        chunk.extend(ids)
        if len(chunk) >= _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _chunked(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _encoded(ids: Sequence[str], width: int) -> np.ndarray | None:
    """The ids as ASCII bytes, cut or padded to `width` rounded up to whole 64-bit words; None
    if an id is not ASCII or holds a NUL (numpy's bytes drop trailing NULs, so "a" and "a\\0"
    would meet)."""
    if "\x00" in "".join(ids):
        return None
    try:
        return np.array(ids, dtype=f"S{8 * -(-max(width, 1) // 8)}")
    except UnicodeEncodeError:
        return None


def _keys(encoded: np.ndarray) -> IntArray:
    """One 64-bit key per id: its bytes when they fit one word, else a hash of its words."""
    words = encoded.view(np.uint64).reshape(encoded.shape[0], encoded.dtype.itemsize // 8)
    key = words[:, 0].copy()
    for n in range(1, words.shape[1]):
        key *= _MIX
        key ^= words[:, n]
        key ^= key >> np.uint64(29)
    return key.view(np.int64)
