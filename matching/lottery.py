"""The published lottery of program-rules.md: the one way a round breaks ties among equals.

Each round draws one number per applicant and one per vacancy, `sha256(utf8(seed + "\\t" + id))`
read as a big-endian integer, smaller first (single tie-breaking). The default seed is
`round_id + ":" + h`, `h` the chain over the inbound events the intake took before the request.
Imports numpy, hashlib and matching.problem only.
"""

import hashlib
from collections.abc import Sequence

import numpy as np

from matching.problem import IntArray

__all__ = ["chain_step", "draw_order", "draw_positions", "in_order", "lottery_number", "round_seed"]


def chain_step(h: str, source: str, event_id: str) -> str:
    """The chain after one more inbound event: `hex(sha256(utf8(h + source + "\\t" + id + "\\n")))`,
    starting from `h = ""`."""
    return hashlib.sha256(f"{h}{source}\t{event_id}\n".encode()).hexdigest()


def round_seed(round_id: str, h: str) -> str:
    """The default seed of a round: unknown before the request, equal on every replay."""
    return f"{round_id}:{h}"


def lottery_number(seed: str, item_id: str) -> int:
    """An applicant's or vacancy's number in the round's lottery; smaller is drawn first."""
    return int.from_bytes(hashlib.sha256(f"{seed}\t{item_id}".encode()).digest(), "big")


def draw_order(seed: str, ids: Sequence[str]) -> list[int]:
    """The indices of `ids` in lottery order (smaller numbers first): the numbers' 32 big-endian
    bytes compare as the numbers do, so they are compared unconverted.

    Two different ids share a number only if SHA-256 collides; such a tie would go by id.
    """
    digests = [hashlib.sha256(f"{seed}\t{i}".encode()).digest() for i in ids]
    return in_order(digests, ids)


def in_order(digests: Sequence[bytes], ids: Sequence[str]) -> list[int]:
    """The indices of the (32-byte digest, id) pairs, sorted: by one stable sort of the digests'
    first eight bytes where those differ between every two (a national round's million numbers
    in a fraction of the time a sort of tuples takes), else by the whole pairs."""
    if len(digests) > 1:
        heads = np.frombuffer(b"".join(digests), dtype=">u8").reshape(len(digests), 4)[:, 0]
        order = np.argsort(heads, kind="stable")
        ranked = heads[order]
        if not np.any(ranked[1:] == ranked[:-1]):
            drawn: list[int] = order.tolist()
            return drawn
    keys = list(zip(digests, ids, strict=True))
    return sorted(range(len(ids)), key=keys.__getitem__)


def draw_positions(seed: str, ids: Sequence[str]) -> IntArray:
    """Per item, its 0-based position in the lottery order (`draw_order`)."""
    order = draw_order(seed, ids)
    positions = np.empty(len(ids), dtype=np.int64)
    positions[order] = np.arange(len(ids), dtype=np.int64)
    return positions
