"""claster.rotate against scipy.ndimage.rotate (the original recipe, SPEC §2)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi

from claster.rotate import crop_rows, rotate_square, rotate_squares
from claster.errors import InputError

TOL = 1e-4


def _reference(square: np.ndarray) -> np.ndarray:
    start, stop = crop_rows(square.shape[0])
    return ndi.rotate(square, 45, reshape=False)[start:stop]


def _realistic(n: int, seed: int) -> np.ndarray:
    """log10 map: distance decay, noise, a strong diagonal, scattered -14 and a -14 stripe block."""
    rng = np.random.default_rng(seed)
    idx = np.arange(n)
    dist = np.abs(idx[:, None] - idx[None, :])
    m = -1.2 * np.log10(dist + 1.0) - 1.5 + 0.3 * rng.normal(size=(n, n))
    m = (m + m.T) / 2
    m[dist == 0] = 3.0
    m[rng.random((n, n)) < 0.03] = -14.0
    a = n // 3
    m[a : a + max(2, n // 12), :] = -14.0
    m[:, a : a + max(2, n // 12)] = -14.0
    m[: n // 10, -(n // 10) :] = -14.0  # a missing corner far from the diagonal
    return m.astype(np.float32)


def test_crop_rule_numbers():
    assert crop_rows(626) == (184, 313)
    assert crop_rows(201) == (59, 101)
    start, stop = crop_rows(626)
    assert stop - start == 129
    assert crop_rows(201)[1] - crop_rows(201)[0] == 42
    assert crop_rows(9) == (3, 5)  # round(9 * 184 / 626) = round(2.65) = 3


@pytest.mark.parametrize("n", [626, 201, 9])
def test_matches_scipy_on_realistic_maps(n):
    sq = _realistic(n, seed=n)
    out = rotate_square(sq)
    ref = _reference(sq)
    assert out.dtype == np.float32
    assert out.shape == ref.shape == (crop_rows(n)[1] - crop_rows(n)[0], n)
    assert np.abs(out - ref).max() <= TOL
    # the out-of-bounds corners are exactly 0, as in scipy
    assert np.array_equal(out == 0, ref == 0)


@pytest.mark.parametrize("n", [626, 201, 9, 7])
def test_matches_scipy_on_random_maps(n):
    rng = np.random.default_rng(n + 1)
    sq = rng.normal(-4.0, 3.0, size=(n, n)).astype(np.float32)
    assert np.abs(rotate_square(sq) - _reference(sq)).max() <= TOL
    # worst case for the truncated prefilter: independent jumps between -14 and 3
    sq = np.where(rng.random((n, n)) < 0.5, -14.0, 3.0).astype(np.float32)
    assert np.abs(rotate_square(sq) - _reference(sq)).max() <= TOL


def test_batch_equals_single_and_float64_input():
    rng = np.random.default_rng(3)
    batch = np.stack([_realistic(201, seed=s) for s in range(3)] + [rng.normal(size=(201, 201)).astype(np.float32)])
    out = rotate_squares(batch)
    assert out.shape == (4, 42, 201) and out.dtype == np.float32
    for k in range(4):
        np.testing.assert_array_equal(out[k], rotate_square(batch[k]))
    out64 = rotate_squares(batch.astype(np.float64))
    assert out64.dtype == np.float32
    np.testing.assert_allclose(out64, out, atol=1e-6)


def test_batch_larger_than_one_chunk():
    rng = np.random.default_rng(4)
    batch = rng.normal(-3.0, 2.0, size=(70, 9, 9)).astype(np.float32)
    out = rotate_squares(batch)
    ref = np.stack([_reference(b) for b in batch])
    assert np.abs(out - ref).max() <= TOL


def test_constant_map_stays_constant_inside():
    sq = np.full((201, 201), -14.0, dtype=np.float32)
    out = rotate_square(sq)
    ref = _reference(sq)
    inside = ref != 0
    np.testing.assert_allclose(out[inside], -14.0, atol=1e-5)
    assert (out[~inside] == 0).all()


def test_bad_inputs():
    with pytest.raises(InputError, match="square maps"):
        rotate_squares(np.zeros((2, 5, 6), dtype=np.float32))
    with pytest.raises(InputError, match="one \\(n, n\\) map"):
        rotate_square(np.zeros((2, 5, 5), dtype=np.float32))
    with pytest.raises(InputError, match="at least 3 x 3"):
        crop_rows(2)
    with pytest.raises(InputError, match="floating point"):
        rotate_squares(np.zeros((1, 9, 9), dtype=np.int64))
    sq = np.zeros((9, 9), dtype=np.float32)
    sq[4, 4] = np.nan
    with pytest.raises(InputError, match="NaN or infinite"):
        rotate_square(sq)
