"""The lottery of program-rules.md recomputed from its text, independently of matching.lottery:
`sha256(utf8(seed + "\\t" + id))` read as a big-endian integer, smaller drawn first."""

import hashlib
from collections.abc import Iterable


def number(seed: str, item_id: str) -> int:
    digest = hashlib.sha256((seed + "\t" + item_id).encode("utf-8")).hexdigest()
    return int(digest, 16)


def drawn(seed: str, ids: Iterable[str]) -> list[str]:
    """The ids in the order the lottery draws them."""
    return sorted(ids, key=lambda i: number(seed, i))


def chain(events: Iterable[tuple[str, str]]) -> str:
    """`h` over (source, id) pairs: h = hex(sha256(utf8(h + source + "\\t" + id + "\\n")))."""
    h = ""
    for source, event_id in events:
        h = hashlib.sha256((h + source + "\t" + event_id + "\n").encode("utf-8")).hexdigest()
    return h
