"""The rotated contact window of SPEC §2: a fast, exact-to-1e-5 replacement for ``scipy.ndimage.rotate``.

The original recipe rotates a log10 (n, n) contact map by 45° with ``scipy.ndimage.rotate(m, 45,
reshape=False)`` (cubic spline, spline prefilter on, mode 'constant', cval 0) and keeps rows
``[round(n * 184 / 626), (n + 1) // 2)``: (129, 626) at 1.6 kbp, (42, 201) at 5 kbp.

That map is one fixed linear operator of the input, so it is precomputed once per n and applied to batches:

1. gather the needed band of the input (mirror-extended, the boundary rule scipy's prefilter uses),
2. prefilter along columns, then along rows: the cubic B-spline prefilter of scipy is the symmetric
   filter ``p[k] = -6 z / (1 - z^2) * z^|k|`` (z = sqrt(3) - 2) on the mirror-extended signal; it is
   truncated to ``|k| <= 12`` taps and renormalised to sum 1 (worst case error about 5e-6 on maps with
   values in [-14, 3], far below the 1e-4 contract),
3. evaluate the 4 x 4 cubic B-spline stencil at the kept output points only; points whose source
   coordinate falls outside the input are 0, exactly as scipy decides (the in-bounds mask is taken from
   scipy itself once per n).

Each step is a sparse matrix (rows ordered along the map's diagonals so that memory access is
sequential) applied with scipy CSR matrix products to a (points, batch) array. Measured figures are in
``bench/rotate.py``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import scipy.ndimage as ndi
import scipy.sparse as sp
from scipy import special

from claster.errors import InputError

__all__ = ["crop_rows", "rotate_square", "rotate_squares", "PREFILTER_HALF_WIDTH"]

#: taps kept on each side of the B-spline prefilter (|z|^13 = 3.9e-8)
PREFILTER_HALF_WIDTH = 12
#: windows per batched product; 32 was the fastest on one core (bench/rotate.py)
_CHUNK = 32
_Z = float(np.sqrt(3.0) - 2.0)


def crop_rows(n: int) -> tuple[int, int]:
    """Rows ``[start, stop)`` kept after rotating an (n, n) map by 45°.

    ``start = round(n * 184 / 626)``, ``stop = (n + 1) // 2``: (184, 313) for n = 626 (129 rows),
    (59, 101) for n = 201 (42 rows). Row ``stop - 1`` lies on the diagonal of the map.
    """
    n = int(n)
    if n < 3:
        raise InputError(f"a contact window must be at least 3 x 3 bins to rotate, got n = {n}; use a larger window")
    return round(n * 184 / 626), (n + 1) // 2


def _mirror(idx: np.ndarray, n: int) -> np.ndarray:
    """Whole-sample mirror of integer indices into [0, n): -1 -> 1, n -> n - 2 (period 2n - 2)."""
    period = 2 * (n - 1)
    idx = np.abs(idx) % period
    return np.where(idx > n - 1, period - idx, idx)


def _bspline_weights(t: np.ndarray) -> np.ndarray:
    """(N,) fractional offsets in [0, 1) -> (N, 4) cubic B-spline weights of taps floor-1 .. floor+2."""
    t2, t3 = t * t, t * t * t
    return np.stack(
        [(1 - t) ** 3 / 6, (4 - 6 * t2 + 3 * t3) / 6, (1 + 3 * t + 3 * t2 - 3 * t3) / 6, t3 / 6], axis=-1
    )


def _diagonal_order(flat: np.ndarray, n: int) -> np.ndarray:
    """Permutation sorting flat (i, j) indices by diagonal j - i, then i (sequential access per output row)."""
    i, j = np.divmod(flat, n)
    return np.argsort((j - i) * (4 * n) + i, kind="stable")


@dataclass(frozen=True)
class _Operator:
    """Precomputed rotation of an (n, n) map: out = S @ Py @ Px @ x[gather]."""

    n: int
    rows: tuple[int, int]
    gather_idx: np.ndarray  # (n_x,) int64: flat input indices (mirror-extended band)
    scipy_mats: tuple  # (S, Py, Px) scipy CSR float32: stencil at kept outputs, row and column prefilters


def _sparse_chain(n: int, half_width: int) -> tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix, np.ndarray]:
    """Build S (outputs x F points), Py (F x H points), Px (H x X points) and the X point flat indices."""
    start, stop = crop_rows(n)
    c, s = special.cosdg(45.0), special.sindg(45.0)
    rot = np.array([[c, s], [-s, c]])
    centre = np.full(2, (n - 1) / 2.0)
    offset = centre - rot @ centre
    r, q = np.meshgrid(np.arange(start, stop, dtype=np.float64), np.arange(n, dtype=np.float64), indexing="ij")
    y = (rot[0, 0] * r + rot[0, 1] * q + offset[0]).ravel()
    x = (rot[1, 0] * r + rot[1, 1] * q + offset[1]).ravel()
    # in-bounds mask exactly as scipy decides it (constant mode: no interpolation outside [0, n-1])
    ones = ndi.rotate(np.ones((n, n), dtype=np.float64), 45, reshape=False)[start:stop]
    inside = (ones > 0.5).ravel()
    n_out = y.size

    fy, fx = np.floor(y), np.floor(x)
    wy, wx = _bspline_weights(y - fy), _bspline_weights(x - fx)
    taps = np.arange(-1, 3)
    iy = _mirror(fy.astype(np.int64)[:, None] + taps, n)
    ix = _mirror(fx.astype(np.int64)[:, None] + taps, n)
    f_flat = (iy[:, :, None] * n + ix[:, None, :]).reshape(n_out, 16)
    w = (wy[:, :, None] * wx[:, None, :]).reshape(n_out, 16)
    keep = np.repeat(inside, 16)
    rows_idx = np.repeat(np.arange(n_out), 16)[keep]
    s_mat = sp.csr_matrix((w.ravel()[keep], (rows_idx, f_flat.ravel()[keep])), shape=(n_out, n * n))
    s_mat.sum_duplicates()

    k = np.arange(-half_width, half_width + 1)
    p = -6.0 * _Z / (1.0 - _Z * _Z) * _Z ** np.abs(k)
    p /= p.sum()

    f_pts = np.unique(s_mat.indices)
    f_pts = f_pts[_diagonal_order(f_pts, n)]
    fi, fj = np.divmod(f_pts, n)
    # F[i, j] = sum_k p_k H[mirror(i + k), j]
    h_cols = _mirror(fi[:, None] + k, n) * n + fj[:, None]
    py = sp.csr_matrix(
        (np.tile(p, f_pts.size), (np.repeat(np.arange(f_pts.size), k.size), h_cols.ravel())),
        shape=(f_pts.size, n * n),
    )
    py.sum_duplicates()
    h_pts = np.unique(py.indices)
    h_pts = h_pts[_diagonal_order(h_pts, n)]
    hi, hj = np.divmod(h_pts, n)
    # H[i, j] = sum_k p_k X[i, mirror(j + k)]
    x_cols = hi[:, None] * n + _mirror(hj[:, None] + k, n)
    px = sp.csr_matrix(
        (np.tile(p, h_pts.size), (np.repeat(np.arange(h_pts.size), k.size), x_cols.ravel())),
        shape=(h_pts.size, n * n),
    )
    px.sum_duplicates()
    x_pts = np.unique(px.indices)
    x_pts = x_pts[_diagonal_order(x_pts, n)]

    s_mat = s_mat[:, f_pts].tocsr()
    py = py[:, h_pts].tocsr()
    px = px[:, x_pts].tocsr()
    for m in (s_mat, py, px):
        m.sort_indices()
    return s_mat, py, px, x_pts


@functools.lru_cache(maxsize=4)
def _operator(n: int, half_width: int = PREFILTER_HALF_WIDTH) -> _Operator:
    """The precomputed rotation for an (n, n) map (about 1 s and 70 MB for n = 626; cached)."""
    s_mat, py, px, x_pts = _sparse_chain(n, half_width)
    mats32 = tuple(m.astype(np.float32) for m in (s_mat, py, px))
    return _Operator(n=n, rows=crop_rows(n), gather_idx=x_pts.astype(np.int64), scipy_mats=mats32)


def _check_batch(batch: np.ndarray) -> np.ndarray:
    arr = np.asarray(batch)
    if arr.ndim != 3 or arr.shape[1] != arr.shape[2]:
        raise InputError(
            f"rotate_squares expects a (B, n, n) batch of square maps, got shape {arr.shape}; "
            "pass log10 contact windows stacked on axis 0"
        )
    if not np.issubdtype(arr.dtype, np.floating):
        raise InputError(f"contact windows must be floating point log10 values, got dtype {arr.dtype}")
    crop_rows(arr.shape[1])
    return np.ascontiguousarray(arr, dtype=np.float32)


def rotate_squares(batch: np.ndarray) -> np.ndarray:
    """Rotate a batch of log10 contact maps by 45° and keep the band above the diagonal (SPEC §2).

    Parameters
    ----------
    batch : (B, n, n) float array, log10 balanced contacts (-14 where missing).

    Returns
    -------
    (B, rows, n) float32, ``rows = stop - start`` from :func:`crop_rows` (129 for n = 626), equal to
    ``scipy.ndimage.rotate(m, 45, reshape=False)[start:stop]`` for every map ``m`` of the batch to within
    about 1e-5 (prefilter truncation plus float32 rounding).

    The sparse products are scipy's, which sum each output column in the same order whatever the
    number of columns, so a window's rotation does not depend on the batch it is rotated in (torch's
    CSR product rounded batches of 4, 8, ... windows differently, by up to 1e-5).
    """
    arr = _check_batch(batch)
    n_win, n = arr.shape[0], arr.shape[1]
    op = _operator(n)
    start, stop = op.rows
    s_mat, py, px = op.scipy_mats
    out = np.empty((n_win, stop - start, n), dtype=np.float32)
    flat = arr.reshape(n_win, n * n)
    for lo in range(0, n_win, _CHUNK):
        chunk = flat[lo : lo + _CHUNK]
        x_pts = np.ascontiguousarray(chunk[:, op.gather_idx].T)  # (n_x, b)
        res = s_mat @ (py @ (px @ x_pts))  # (rows * n, b)
        out[lo : lo + chunk.shape[0]] = res.T.reshape(-1, stop - start, n)
    if not np.isfinite(out).all():
        raise InputError(
            "a contact window contains NaN or infinite values; replace missing contacts by 1e-14 "
            "before log10 (SPEC §2) so that every value is finite"
        )
    return out


def rotate_square(square: np.ndarray) -> np.ndarray:
    """Rotate one (n, n) log10 contact map: (n, n) float -> (rows, n) float32 (see :func:`rotate_squares`)."""
    arr = np.asarray(square)
    if arr.ndim != 2:
        raise InputError(f"rotate_square expects one (n, n) map, got shape {arr.shape}; use rotate_squares")
    return rotate_squares(arr[None])[0]
