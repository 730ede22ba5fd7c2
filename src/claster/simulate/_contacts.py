"""Simulated Micro-C contacts: a banded matrix per chromosome, written as a balanced ``.mcool``.

Expected count of bins ``i <= j`` (separation ``d = j - i`` bins at resolution ``r``)::

    depth * (r / 1600) ** 2 * b_i * b_j * contact(d * r, same_domain(i, j)) * (2 if d == 0 else 1)

with per-bin visibilities ``b`` (lognormal) and :func:`~claster.simulate._genome.contact_frequency`
(plus, for each enhancer-promoter loop, ``strength`` times the bin-averaged Gaussian footprint around
its two anchors);
observed counts are Gamma-distributed around it (float counts). Only separations up to
``contact_max_separation_bp`` are stored; bins whose centre lies in a no-data gap have no pixels.

Balancing uses :func:`cooler.balance_cooler` (default filters, weights stored as ``weight``). Its
iterative correction converges slowly on a 1/s-decaying banded matrix, so it is started from weights
computed here with the Knight-Ruiz algorithm under the same bin filters; cooler's first iteration then
meets its tolerance.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.special import ndtr

from claster.errors import InputError
from claster.io.writers import atomic_path
from claster.simulate._genome import _domain_of, contact_frequency
from claster.simulate._params import SimParams

__all__ = ["simulate_bands", "write_mcool"]

_IGNORE_DIAGS = 2  # cooler.balance_cooler defaults
_MIN_NNZ = 10
_MAD_MAX = 5


def simulate_bands(
    params: SimParams,
    rng: np.random.Generator,
    domains: pd.DataFrame,
    gaps: pd.DataFrame,
    resolution_bp: int,
    loops: pd.DataFrame | None = None,
) -> dict[str, np.ndarray]:
    """Observed counts per chromosome as bands: ``{chrom: (n_bins, n_diags) float32}``.

    ``band[i, d]`` is the count of bins ``i`` and ``i + d``; NaN beyond the chromosome end and for
    bins in gaps. ``n_diags = contact_max_separation_bp // resolution_bp + 1``. ``loops``: the
    layout's loop table (``chrom, anchor1_bp, anchor2_bp, strength``), or None for none.
    """
    n_diags = params.contact_max_separation_bp // resolution_bp + 1
    depth = params.contact_depth * (resolution_bp / 1_600) ** 2
    bands = {}
    for chrom, length_bp in params.chrom_sizes.items():
        n = -(-length_bp // resolution_bp)
        centres = np.minimum((np.arange(n) + 0.5) * resolution_bp, length_bp - 1)
        dom = _domain_of(domains, chrom, centres)
        vis = rng.lognormal(0.0, params.contact_bin_bias_sigma, size=n)
        in_gap = np.zeros(n, dtype=bool)
        for gap in gaps[gaps["chrom"] == chrom].itertuples(index=False):
            in_gap |= (centres >= gap.start_bp) & (centres < gap.end_bp)
        i = np.arange(n)[:, None]
        d = np.arange(n_diags)[None, :]
        j = np.minimum(i + d, n - 1)
        freq = contact_frequency(d * resolution_bp, dom[:, None] == dom[j], params)
        expected = depth * vis[:, None] * vis[j] * freq
        if loops is not None and len(loops):
            _add_loops(expected, loops[loops["chrom"] == chrom], depth, vis, resolution_bp, params)
        expected[:, 0] *= 2.0
        shape = params.contact_noise_shape
        band = (expected * rng.gamma(shape, 1.0 / shape, size=expected.shape)).astype(np.float32)
        band[(i + d >= n) | in_gap[:, None] | in_gap[j]] = np.nan
        bands[chrom] = band
    return bands


def _bin_footprint(
    anchor_bp: float, resolution_bp: int, width_bp: float, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Bins within 4 sd of ``anchor_bp`` and the mean of ``exp(-(x - anchor)**2 / (2 sd**2))`` over each."""
    lo = max(int((anchor_bp - 4 * width_bp) // resolution_bp), 0)
    hi = min(int((anchor_bp + 4 * width_bp) // resolution_bp) + 1, n)
    idx = np.arange(lo, hi)
    left, right = idx * resolution_bp, (idx + 1) * resolution_bp
    mass = ndtr((right - anchor_bp) / width_bp) - ndtr((left - anchor_bp) / width_bp)
    return idx, mass * np.sqrt(2 * np.pi) * width_bp / resolution_bp


def _add_loops(expected: np.ndarray, loops: pd.DataFrame, depth: float, vis: np.ndarray, resolution_bp: int,
               params: SimParams) -> None:
    """Add each loop's expected counts into ``expected`` (n_bins, n_diags), in place."""
    n, n_diags = expected.shape
    for a1, a2, strength in zip(loops["anchor1_bp"], loops["anchor2_bp"], loops["strength"], strict=True):
        lo_a, hi_a = sorted((float(a1), float(a2)))
        ii, ki = _bin_footprint(lo_a, resolution_bp, params.loop_width_bp, n)
        jj, kj = _bin_footprint(hi_a, resolution_bp, params.loop_width_bp, n)
        i, j = np.meshgrid(ii, jj, indexing="ij")
        val = strength * np.outer(ki, kj)
        d = j - i
        ok = (d >= 0) & (d < n_diags)
        i, d, val = i[ok], d[ok], val[ok]
        np.add.at(expected, (i, d), depth * vis[i] * vis[i + d] * val)


def _pixels(band: np.ndarray, offset: int) -> pd.DataFrame:
    i, d = np.nonzero(np.isfinite(band))  # row-major: sorted by bin1 then bin2
    return pd.DataFrame({"bin1_id": i + offset, "bin2_id": i + d + offset, "count": band[i, d]})


def _marginals(band: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-bin (sum, nonzero count) over pixels with separation >= 2 bins, as cooler computes them."""
    n, n_diags = band.shape
    sub = band[:, _IGNORE_DIAGS:]
    ok = np.isfinite(sub) & (sub != 0)
    vals = np.where(ok, sub, 0.0).astype(np.float64)
    cols = np.arange(n)[:, None] + np.arange(_IGNORE_DIAGS, n_diags)[None, :]
    cols = np.minimum(cols, n - 1)
    marg = vals.sum(axis=1) + np.bincount(cols.ravel(), weights=vals.ravel(), minlength=n)
    nnz = ok.sum(axis=1) + np.bincount(cols.ravel(), weights=ok.ravel().astype(np.float64), minlength=n)
    return marg, nnz


def _kr_balance(
    A: sp.csr_matrix, tol: float = 1e-7, delta: float = 0.1, big_delta: float = 3.0
) -> np.ndarray:
    """Knight-Ruiz (2013, BNEWT) symmetric matrix balancing: ``x * (A @ x) == 1``.

    ``A``: symmetric, non-negative, with total support. Returns ``x`` (float64).
    """
    n = A.shape[0]
    e = np.ones(n)
    g, etamax = 0.9, 0.1
    eta = etamax
    stop_tol = tol * 0.5
    x = e.copy()
    rt = tol**2
    v = x * (A @ x)
    rk = 1 - v
    rho_km1 = rk @ rk
    rout = rold = rho_km1
    rho_km2 = rho_km1
    p = z = rk
    for _outer in range(500):
        if rout <= rt:
            break
        k = 0
        y = e.copy()
        innertol = max(eta**2 * rout, rt)
        while rho_km1 > innertol:
            k += 1
            if k == 1:
                z = rk / v
                p = z.copy()
                rho_km1 = rk @ z
            else:
                p = z + (rho_km1 / rho_km2) * p
            w = x * (A @ (x * p)) + v * p
            alpha = rho_km1 / (p @ w)
            ap = alpha * p
            ynew = y + ap
            if ynew.min() <= delta:
                ind = ap < 0
                y = y + ((delta - y[ind]) / ap[ind]).min() * ap
                break
            if ynew.max() >= big_delta:
                ind = ynew > big_delta
                y = y + ((big_delta - y[ind]) / ap[ind]).min() * ap
                break
            y = ynew
            rk = rk - alpha * w
            rho_km2 = rho_km1
            z = rk / v
            rho_km1 = rk @ z
        x = x * y
        v = x * (A @ x)
        rk = 1 - v
        rho_km1 = rk @ rk
        rout = rho_km1
        rat = rout / rold
        rold = rout
        eta_o = eta
        eta = g * rat
        if g * eta_o**2 > 0.1:
            eta = max(eta, g * eta_o**2)
        eta = max(min(eta, etamax), stop_tol / np.sqrt(rout))
    return x


def _initial_weights(bands: dict[str, np.ndarray]) -> np.ndarray:
    """Weights that balance the matrix under cooler's default bin filters (NaN for filtered bins)."""
    margs, nnzs = zip(*(_marginals(b) for b in bands.values()), strict=True)
    keep = np.concatenate(nnzs) >= _MIN_NNZ
    marg = np.concatenate(margs)
    offsets = np.cumsum([0] + [b.shape[0] for b in bands.values()])
    norm = marg.copy()
    for lo, hi in zip(offsets[:-1], offsets[1:], strict=True):
        c = norm[lo:hi]
        norm[lo:hi] = c / np.median(c[c > 0])
    log_nz = np.log(norm[norm > 0])
    med = np.median(log_nz)
    cutoff = np.exp(med - _MAD_MAX * np.median(np.abs(log_nz - med)))
    keep &= norm >= cutoff
    weights = np.full(offsets[-1], np.nan)
    for (lo, hi), band in zip(zip(offsets[:-1], offsets[1:], strict=True), bands.values(), strict=True):
        n, n_diags = band.shape
        k = keep[lo:hi]
        i, d = np.nonzero(np.isfinite(band[:, _IGNORE_DIAGS:]))
        d = d + _IGNORE_DIAGS
        j = i + d
        m = k[i] & k[j]
        i, j, vals = i[m], j[m], band[i[m], d[m]].astype(np.float64)
        rows, cols = np.concatenate([i, j]), np.concatenate([j, i])
        A = sp.csr_matrix((np.concatenate([vals, vals]), (rows, cols)), shape=(n, n))
        idx = np.flatnonzero(k)
        if idx.size == 0:
            continue
        A = A[idx][:, idx]
        scale = A.sum() / idx.size
        weights[lo + idx] = _kr_balance(A / scale) / np.sqrt(scale)
    return weights


def write_mcool(
    path: str | os.PathLike,
    chrom_sizes: dict[str, int],
    bands_by_resolution: dict[int, dict[str, np.ndarray]],
    *,
    assembly: str = "sim",
    metadata: dict | None = None,
) -> Path:
    """Write a multi-resolution ``.mcool`` (``::/resolutions/{r}``) from bands, balanced, atomically.

    ``bands_by_resolution``: ``{resolution_bp: {chrom: (n_bins, n_diags) float32}}`` as returned by
    :func:`simulate_bands`. Each resolution is balanced with :func:`cooler.balance_cooler` and its
    weights stored in ``bins/weight``.
    """
    import cooler
    import h5py

    path = Path(path)
    with atomic_path(path, suffix=".mcool") as tmp:
        for k, (res, bands) in enumerate(sorted(bands_by_resolution.items())):
            bins = cooler.binnify(pd.Series(chrom_sizes), res)
            offsets = np.cumsum([0] + [bands[c].shape[0] for c in chrom_sizes])
            chunks = (_pixels(bands[c], int(off)) for c, off in zip(chrom_sizes, offsets[:-1], strict=True))
            uri = f"{tmp}::/resolutions/{res}"
            cooler.create_cooler(
                uri,
                bins,
                chunks,
                dtypes={"count": np.float32},
                ordered=True,
                assembly=assembly,
                metadata=metadata or {},
                mode="w" if k == 0 else "a",
                h5opts={"compression": "gzip", "compression_opts": 1, "shuffle": True},
            )
            x0 = _initial_weights({c: bands[c] for c in chrom_sizes})
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                _, stats = cooler.balance_cooler(cooler.Cooler(uri), x0=x0, store=True)
            if not stats["converged"]:
                raise InputError(f"balancing {path.name} at {res} bp did not converge; report this as a bug")
        with h5py.File(tmp, "r+") as f:
            f.attrs["format"] = "HDF5::MCOOL"
            f.attrs["format-version"] = 2
    return path
