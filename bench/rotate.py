"""Throughput of the rotated contact window (SPEC §2) on ONE core, against scipy.ndimage.rotate.

Approaches, each checked against ``scipy.ndimage.rotate(m, 45, reshape=False)[start:stop]`` on the same
realistic log10 maps (-14 blocks, a strong diagonal) and on a worst-case map (random -14 / 3 values):

- ``scipy_rotate``: the reference itself, one window at a time (the baseline of every ratio);
- ``prefilter+map_coordinates``: scipy's spline prefilter of the whole window (float64) then
  ``map_coordinates(prefilter=False)`` at the kept output points only;
- ``sparse_chain_scipy``: the precomputed operator of claster.rotate (gather, two truncated
  prefilter matrices, 16-tap stencil) as scipy CSR float32 products on a (points, batch) array;
- ``rotate_squares``: the library function (same operator, torch CSR products, batches of 32).

Usage::

    python bench/rotate.py [--n 626] [--windows 128] [--repeats 3] [--threads 1]

Timings are the best of ``--repeats`` runs (the machine is shared); windows/s = windows / seconds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.ndimage as ndi
import torch

from claster.rotate import _operator, crop_rows, rotate_squares


def realistic_maps(n_win: int, n: int, seed: int = 0) -> np.ndarray:
    """(n_win, n, n) float32 log10 maps: distance decay, noise, a strong diagonal, -14 holes and blocks."""
    rng = np.random.default_rng(seed)
    idx = np.arange(n)
    dist = np.abs(idx[:, None] - idx[None, :])
    out = np.empty((n_win, n, n), dtype=np.float32)
    for w in range(n_win):
        m = -1.2 * np.log10(dist + 1.0) - 1.5 + 0.3 * rng.normal(size=(n, n))
        m = (m + m.T) / 2
        m[dist == 0] = 2.5
        m[rng.random((n, n)) < 0.03] = -14.0
        a = int(rng.integers(0, n - n // 10))
        m[a : a + n // 12, :] = -14.0
        m[:, a : a + n // 12] = -14.0
        out[w] = m
    return out


def _best(fn, repeats: int) -> tuple[float, object]:
    best, res = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = fn()
        best = min(best, time.perf_counter() - t0)
    return best, res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=626, help="window size in bins (626 at 1.6 kbp, 201 at 5 kbp)")
    ap.add_argument("--windows", type=int, default=128, help="windows per timed run")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per approach (best is reported)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the target is one core)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    n, n_win = args.n, args.windows
    start, stop = crop_rows(n)

    maps = realistic_maps(n_win, n)
    rng = np.random.default_rng(1)
    worst = np.where(rng.random((8, n, n)) < 0.5, -14.0, 3.0).astype(np.float32)

    def scipy_rotate(batch: np.ndarray) -> np.ndarray:
        return np.stack([ndi.rotate(m, 45, reshape=False)[start:stop] for m in batch])

    t0 = time.perf_counter()
    op = _operator(n)
    build_s = time.perf_counter() - t0
    s_mat, py, px = op.scipy_mats
    x_idx = op.gather_idx

    from scipy import special

    c, s = special.cosdg(45.0), special.sindg(45.0)
    rot = np.array([[c, s], [-s, c]])
    centre = np.full(2, (n - 1) / 2.0)
    off = centre - rot @ centre
    r, q = np.meshgrid(np.arange(start, stop, dtype=float), np.arange(n, dtype=float), indexing="ij")
    coords = np.einsum("ij,jrc->irc", rot, np.stack([r, q])) + off[:, None, None]

    def prefilter_map(batch: np.ndarray) -> np.ndarray:
        return np.stack(
            [
                ndi.map_coordinates(
                    ndi.spline_filter(m, 3, output=np.float64, mode="constant"),
                    coords,
                    order=3,
                    mode="constant",
                    prefilter=False,
                    output=np.float32,
                )
                for m in batch
            ]
        )

    def sparse_scipy(batch: np.ndarray, chunk: int = 32) -> np.ndarray:
        out = np.empty((batch.shape[0], stop - start, n), dtype=np.float32)
        flat = batch.reshape(batch.shape[0], n * n)
        for lo in range(0, batch.shape[0], chunk):
            xg = np.ascontiguousarray(flat[lo : lo + chunk][:, x_idx].T)
            res = s_mat @ (py @ (px @ xg))
            out[lo : lo + chunk] = res.T.reshape(-1, stop - start, n)
        return out

    approaches = {
        "scipy_rotate": scipy_rotate,
        "prefilter+map_coordinates": prefilter_map,
        "sparse_chain_scipy": sparse_scipy,
        "rotate_squares": rotate_squares,
    }
    n_ref = min(n_win, 16)
    ref_real = scipy_rotate(maps[:n_ref])
    ref_worst = scipy_rotate(worst)

    print(f"n = {n} -> ({stop - start}, {n}); {n_win} windows; torch threads {torch.get_num_threads()}; "
          f"operator build {build_s:.2f} s (cached per n); nnz gather {x_idx.size}, "
          f"Px {px.nnz}, Py {py.nnz}, stencil {s_mat.nnz}")
    base = None
    for name, fn in approaches.items():
        n_timed = n_win if name not in ("scipy_rotate", "prefilter+map_coordinates") else min(n_win, 32)
        secs, _ = _best(lambda fn=fn, k=n_timed: fn(maps[:k]), args.repeats)
        rate = n_timed / secs
        if base is None:
            base = rate
        err_real = float(np.abs(fn(maps[:n_ref]) - ref_real).max())
        err_worst = float(np.abs(fn(worst) - ref_worst).max())
        print(f"{name:28s} {rate:9.1f} windows/s  x{rate / base:6.1f} vs scipy.ndimage.rotate  "
              f"max|err| realistic {err_real:.2e}  worst-case {err_worst:.2e}")


if __name__ == "__main__":
    main()
