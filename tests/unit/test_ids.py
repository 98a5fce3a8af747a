"""`matching.ids.IdTable`: positions of ids found in bulk are exactly a dict's, whatever the ids
(long, short, sharing prefixes, not ASCII, holding NULs) and whatever their keys collide on."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching import ids as ids_module
from matching.ids import IdTable

ID_CHARS = st.sampled_from("AB-._z09")
ANY_CHARS = st.one_of(ID_CHARS, st.sampled_from(["\x00", "é", "ー", " "]))


@st.composite
def tables_and_queries(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    chars = draw(st.sampled_from([ID_CHARS, ANY_CHARS]))
    table = draw(st.lists(st.text(chars, min_size=0, max_size=20), max_size=40, unique=True))
    near = [
        variant
        for t in table
        for variant in (t, t[:-1], t + "A", t + "\x00", "A" + t, t * 2)
    ]  # fmt: skip
    picked = st.sampled_from(near) if near else st.text(ID_CHARS, max_size=3)
    queries = draw(st.lists(st.one_of(picked, st.text(chars, max_size=24)), max_size=60))
    return table, queries


def _by_dict(table: list[str], queries: list[str]) -> list[int]:
    position = {x: n for n, x in enumerate(table)}
    return [position.get(q, -1) for q in queries]


@settings(max_examples=400, deadline=None)
@given(tables_and_queries())
def test_positions_are_a_dicts(case):
    table, queries = case
    assert IdTable(table).find(queries).tolist() == _by_dict(table, queries)


def _first_word(encoded: np.ndarray) -> np.ndarray:
    """A weak key: the first eight bytes, so ids sharing them collide."""
    words = encoded.view(np.uint64).reshape(encoded.shape[0], encoded.dtype.itemsize // 8)
    return words[:, 0].copy().view(np.int64)


@settings(max_examples=200, deadline=None)
@given(tables_and_queries())
def test_keys_that_collide_are_told_apart_by_their_bytes(case):
    """With every id keyed by its first eight bytes only, ids sharing them collide: in the table
    (the dict answers) or between a query and an id (the bytes decide)."""
    table, queries = case
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ids_module, "_keys", _first_word)
        assert IdTable(table).find(queries).tolist() == _by_dict(table, queries)


def test_a_query_sharing_an_ids_key_is_not_that_id(monkeypatch):
    monkeypatch.setattr(ids_module, "_keys", _first_word)
    table = IdTable(["ABCDEFGH-1", "XY"])
    assert table._fast is not None
    assert table.find(["ABCDEFGH-2", "ABCDEFGH-1", "ABCDEFGH"]).tolist() == [-1, 0, -1]


def test_a_rounds_ids_are_found_without_the_dict():
    rng = np.random.default_rng(3)
    table = [f"A-{n:07d}" for n in rng.permutation(200_000)]
    long_table = [f"applicant-{n}-of-the-national-scheme" for n in range(50_000)]
    queries = [f"A-{n:07d}" for n in rng.integers(0, 220_000, 300_000)]
    for ids, asked in ((table, queries), (long_table, [*long_table[::-7], "applicant-9", "x"])):
        found = IdTable(ids)
        assert found._fast is not None
        assert found.find(asked).tolist() == _by_dict(ids, asked)


def test_ids_sharing_a_key_in_the_table_are_both_found(monkeypatch):
    monkeypatch.setattr(ids_module, "_keys", _first_word)
    table = IdTable(["ABCDEFGH-1", "ABCDEFGH-2", "ABCDEFGH"])
    assert table.find(["ABCDEFGH-2", "ABCDEFGH-1", "ABCDEFGH", "ABCDEFGH-3"]).tolist() == [
        1,
        0,
        2,
        -1,
    ]


def test_an_id_longer_than_any_in_the_table_is_none_of_them():
    """Bytes are compared at the table's width: a longer id cut to it would meet its prefix."""
    table = IdTable(["ABCDEFGH", "ABCDEFGHIJKLMNOP"])
    assert table._fast is not None
    asked = ["ABCDEFGHI", "ABCDEFGHIJKLMNOPQ", "ABCDEFGHIJKLMNOP", "ABCDEFGH"]
    assert table.find(asked).tolist() == [-1, -1, 1, 0]


def test_a_very_long_id_is_found_by_the_dict_or_cut_at_the_tables_width():
    """Ids are held at the table's width: a 20,000-character query among round-sized ones costs
    no more memory than the others (cut, it meets nothing), and a table holding one is the
    dict's."""
    table = [f"A-{n:07d}" for n in range(100_000)]
    huge = "A-" + "0" * 19_998
    asked = [*table[::3], huge, table[0] + "0"]
    found = IdTable(table)
    assert found._fast is not None
    assert found.find(asked).tolist() == _by_dict(table, asked)
    with_huge = IdTable([*table[:10], huge])
    assert with_huge._fast is None
    assert with_huge.find([huge, table[3], "x"]).tolist() == [10, 3, -1]
