"""``top_per_group``, which prunes the network and the restricted models, against a plain per-group sort."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from optimizer.network import top_per_group

VALUES = st.one_of(st.integers(-5, 5), st.integers(-(2**62), 2**62 - 1))  # ties, and spans too wide for one key


@given(st.lists(st.tuples(st.integers(0, 6), VALUES), max_size=60), st.integers(0, 4), st.booleans())
def test_the_k_best_of_each_group_ties_by_position(rows: list[tuple[int, int]], k: int, floats: bool) -> None:
    group = np.array([g for g, _ in rows], dtype=np.int64)
    value = np.array([v for _, v in rows], dtype=np.float64 if floats else np.int64)
    expected = np.zeros(len(rows), dtype=bool)
    for g in set(group.tolist()):
        members = sorted(np.flatnonzero(group == g).tolist(), key=lambda i: (-value[i], i))
        expected[members[:k]] = True
    assert top_per_group(value, group, k).tolist() == expected.tolist()


def test_per_element_k() -> None:
    group = np.array([0, 0, 0, 1, 1], dtype=np.int64)
    value = np.array([3, 1, 2, 5, 5], dtype=np.int64)
    assert top_per_group(value, group, np.array([2, 2, 2, 1, 1])).tolist() == [True, False, True, True, False]
