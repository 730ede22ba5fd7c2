"""Gene-body areas of predicted or observed profiles (SPEC §5): which target bins a gene body covers
and the Simpson integral over them.

Profiles are ``(N, n_bins)`` float arrays of nascent signal (mean signal per 1 kbp bin, 401 bins with
bin ``k`` (array index ``k + 200``) centred on TSS + k kbp), in genomic orientation unless stated
otherwise. Used by prediction (gene-body means), evaluation (gene-level metrics) and perturbation
(effects on every gene in a window).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from scipy.integrate import simpson

from claster.errors import InputError
from claster.units import TARGET_BIN_BP, TARGET_BINS

__all__ = ["round_half_away", "gene_body_bins", "body_simpson", "gene_body_mean", "gene_body_means"]

Orientation = Literal["genomic", "strand"]


def _as_float_array(x: object, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    n_bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
    if n_bad:
        raise InputError(
            f"{name} has {n_bad} non-finite values (NaN or inf); "
            "replace them (e.g. with 0) before computing metrics"
        )
    return arr


def round_half_away(x: np.ndarray | float) -> np.ndarray:
    """Round to the nearest integer, halves away from zero (so ``-0.5 -> -1``, ``0.5 -> 1``); int64."""
    x = np.asarray(x, dtype=np.float64)
    return (np.sign(x) * np.floor(np.abs(x) + 0.5)).astype(np.int64)


def gene_body_bins(
    genes: pd.DataFrame,
    *,
    center_bp: np.ndarray | int | None = None,
    bin_bp: int = TARGET_BIN_BP,
    n_bins: int = TARGET_BINS,
    orientation: Orientation = "genomic",
) -> tuple[np.ndarray, np.ndarray]:
    """First and last profile bin of each gene body, relative to the window centre.

    Parameters
    ----------
    genes
        One row per profile with ``start_bp``, ``end_bp`` (0-based, half-open gene bounds),
        ``tss_bp`` (the window centre when ``center_bp`` is None) and, for
        ``orientation="strand"``, ``strand`` (``+``/``-``).
    center_bp
        Window centre(s) in bp, scalar or ``(N,)``; default the ``tss_bp`` column (the central gene).
    bin_bp, n_bins
        Profile bin size (1,000 bp) and count (401; bin ``k`` centred on centre + k·bin_bp).
    orientation
        ``"genomic"``: profiles in genomic orientation, so a minus-strand gene's body lies at
        negative offsets. ``"strand"``: profiles of minus-strand genes are reversed, so their
        offsets are negated.

    Returns
    -------
    lo, hi
        ``(N,)`` int64 bin offsets (−200…200): the body ``[start_bp, end_bp - 1]`` relative to the
        centre, divided by ``bin_bp``, rounded half away from zero, ordered and clipped to the
        window. A body wholly outside the window has ``lo > hi``.
    """
    need = ["start_bp", "end_bp"] + (["tss_bp"] if center_bp is None else []) + (
        ["strand"] if orientation == "strand" else []
    )
    missing = [c for c in need if c not in genes.columns]
    if missing:
        raise InputError(
            f"the gene table lacks column(s) {', '.join(missing)}; it needs {', '.join(need)}"
        )
    if orientation not in ("genomic", "strand"):
        raise InputError(f"orientation must be 'genomic' or 'strand'; got {orientation!r}")
    start = genes["start_bp"].to_numpy(dtype=np.int64)
    end = genes["end_bp"].to_numpy(dtype=np.int64)
    bad = int(np.count_nonzero(end <= start))
    if bad:
        raise InputError(
            f"{bad} genes have end_bp <= start_bp; gene bounds must be 0-based half-open [start, end)"
        )
    centre = genes["tss_bp"].to_numpy(dtype=np.int64) if center_bp is None else np.broadcast_to(
        np.asarray(center_bp, dtype=np.int64), start.shape
    )
    a = round_half_away((start - centre) / bin_bp)
    b = round_half_away((end - 1 - centre) / bin_bp)
    if orientation == "strand":
        minus = genes["strand"].astype(str).to_numpy() == "-"
        a = np.where(minus, -a, a)
        b = np.where(minus, -b, b)
    half = n_bins // 2
    lo = np.maximum(np.minimum(a, b), -half)
    hi = np.minimum(np.maximum(a, b), half)
    return lo.astype(np.int64), hi.astype(np.int64)


def body_simpson(
    profiles: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    *,
    mean: bool = True,
    clip_min: float | None = 0.0,
) -> np.ndarray:
    """Simpson integral of each profile over bins ``lo..hi`` (inclusive, offsets from the centre).

    Parameters
    ----------
    profiles
        ``(N, n_bins)`` float signal per bin (bin ``k`` at index ``k + n_bins // 2``).
    lo, hi
        ``(N,)`` int bin offsets as from :func:`gene_body_bins`.
    mean
        Divide the integral by the width ``max(hi - lo, 1)`` in bins → mean signal per bin.
        False returns the area (signal × bins), as used for perturbation effects (SPEC §6).
    clip_min
        Clip profile values below at this value first (None: no clipping). Default 0.

    Returns
    -------
    ``(N,)`` float64. A single-bin body (``lo == hi``) gives that bin's value (area of one bin of
    width 1); an empty body (``lo > hi``) gives NaN. With an even number of points, scipy's
    Simpson rule corrects the last interval (scipy >= 1.11).
    """
    prof = _as_float_array(profiles, "profiles")
    if prof.ndim != 2:
        raise InputError(f"profiles must be 2-D (N, n_bins); got shape {prof.shape}")
    if clip_min is not None:
        prof = np.maximum(prof, clip_min)
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.asarray(hi, dtype=np.int64)
    if lo.shape != (prof.shape[0],) or hi.shape != (prof.shape[0],):
        raise InputError(f"lo and hi must have shape ({prof.shape[0]},); got {lo.shape} and {hi.shape}")
    half = prof.shape[1] // 2
    out = np.full(prof.shape[0], np.nan)
    pairs = np.stack([lo, hi], axis=1)
    uniq, inverse = np.unique(pairs, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    for g, (a, b) in enumerate(uniq):
        rows = np.flatnonzero(inverse == g)
        if a > b or a < -half or b > half:
            continue
        seg = prof[rows, a + half : b + half + 1]
        if a == b:
            area = seg[:, 0]
        else:
            area = simpson(seg, dx=1.0, axis=-1)
        out[rows] = area / max(int(b - a), 1) if mean else area
    return out


def gene_body_mean(
    profile: np.ndarray, start_rel_bins: float, end_rel_bins: float, *, clip_min: float | None = 0.0
) -> float:
    """Mean signal per bin over one gene body (SPEC §5).

    Parameters
    ----------
    profile
        ``(401,)`` float signal per 1 kbp bin, bin k at index k + 200.
    start_rel_bins, end_rel_bins
        Gene body ends in bins relative to the TSS (either order; rounded half away from zero and
        clipped to −200…200).
    clip_min
        Clip values below at this value first (None: no clipping). Default 0.

    Returns
    -------
    float
        Simpson integral over the body bins divided by the width ``max(|end - start|, 1)`` in
        bins; a single-bin body gives that bin's value; a body outside the window gives NaN.
    """
    prof = np.asarray(profile, dtype=np.float64)
    if prof.ndim != 1:
        raise InputError(f"profile must be 1-D (n_bins,); got shape {prof.shape}")
    half = prof.size // 2
    a, b = int(round_half_away(start_rel_bins)), int(round_half_away(end_rel_bins))
    lo, hi = max(min(a, b), -half), min(max(a, b), half)
    return float(body_simpson(prof[None, :], np.array([lo]), np.array([hi]), clip_min=clip_min)[0])


def gene_body_means(
    profiles: np.ndarray,
    genes: pd.DataFrame,
    *,
    bin_bp: int = TARGET_BIN_BP,
    orientation: Orientation = "genomic",
    clip_min: float | None = 0.0,
) -> np.ndarray:
    """Vectorised :func:`gene_body_mean` for the central gene of each window.

    Parameters
    ----------
    profiles
        ``(N, 401)`` float signal per 1 kbp bin.
    genes
        ``N`` rows, in the order of ``profiles``, with ``tss_bp``, ``start_bp``, ``end_bp``
        (0-based, half-open) and ``strand``.
    bin_bp, orientation, clip_min
        As in :func:`gene_body_bins` and :func:`body_simpson`.

    Returns
    -------
    ``(N,)`` float64 mean signal per bin over each gene body.
    """
    prof = np.asarray(profiles)
    if prof.ndim != 2 or prof.shape[0] != len(genes):
        raise InputError(
            f"profiles have shape {prof.shape} but the gene table has {len(genes)} rows; "
            "pass one row per profile"
        )
    lo, hi = gene_body_bins(genes, bin_bp=bin_bp, n_bins=prof.shape[1], orientation=orientation)
    return body_simpson(prof, lo, hi, mean=True, clip_min=clip_min)
