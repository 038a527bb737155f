"""Array helpers of the engine: np.repeat without the GIL, hashes of Arrow strings."""

import numpy as np
import pyarrow as pa
import pytest

from pipeline.engine.arrays import segment_of, string_hashes


@pytest.mark.parametrize("counts", [[], [0], [0, 0, 3], [2, 0, 0, 1, 0], [1] * 5, [4, 0, 7, 0, 0]])
def test_segment_of_is_repeat_of_the_segment_numbers(counts):
    want = np.repeat(np.arange(len(counts)), np.asarray(counts, dtype="int64"))
    got = segment_of(counts)
    assert got.dtype == np.int64 and got.tolist() == want.tolist()


def test_string_hashes_are_equal_for_equal_strings_and_differ_otherwise():
    ids = [f"PE-{i:06d}" for i in range(200_000)] + [str(i) for i in range(100_000)] + ["ñandú", "x" * 700]
    arr = pa.array(ids)
    h = string_hashes(arr)
    assert h.dtype == np.uint64 and len(np.unique(h)) == len(ids)  # no collision among these
    again = string_hashes(pa.chunked_array([arr.slice(0, 5), arr.slice(5)]))  # chunked, sliced: the same
    assert (again == h).all()
    mixed = string_hashes(pa.array(["a", "", None, "a", "b", "", None, "ab", "ba", "x" * 700]))
    assert mixed[0] == mixed[3] and mixed[1] == mixed[5] and mixed[2] == mixed[6] and mixed[9] == h[-1]
    assert len({mixed[0], mixed[1], mixed[2], mixed[4], mixed[7], mixed[8]}) == 6
    assert string_hashes(pa.array([], pa.string())).shape == (0,)
