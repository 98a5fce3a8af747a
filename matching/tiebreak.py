"""The one place a round breaks ties among equals: the `max_options` cut and the derived orders.

Today ties go by id in byte order (UTF-8 byte order is code point order, which `sorted` uses);
the lottery of program-rules.md replaces this function, and every caller follows. Imports numpy
and matching.problem only.
"""

from collections.abc import Sequence

import numpy as np

from matching.problem import IntArray


def tie_ranks(ids: Sequence[str]) -> IntArray:
    """Per item, its 0-based position in the tie-break order (smaller wins a tie)."""
    order = sorted(range(len(ids)), key=ids.__getitem__)
    ranks = np.empty(len(ids), dtype=np.int64)
    ranks[order] = np.arange(len(ids), dtype=np.int64)
    return ranks
