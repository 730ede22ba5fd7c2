"""Aggregated attribution maps (SPEC §8): the landscape locality map and its statistics, the rotated
and square contact maps, and per-gene attribution bigWigs.

They take the per-output-bin attributions of :mod:`claster.attribute.ig` (``(n_out, T, W)`` signed
means over samples) and return arrays or tables; figures are drawn by :mod:`claster.plots.attribution`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from claster.errors import InputError
from claster.units import LANDSCAPE_BIN_BP, MICROC_BIN_BP, TARGET_BIN_BP, TARGET_BINS

__all__ = [
    "ROTATED_LAMBDA",
    "ContactAttributionMap",
    "landscape_locality_map",
    "distance_axis_bp",
    "locality_stats",
    "structure_map",
    "square_map",
    "reduce_output_bins",
    "attribution_to_bigwig",
]

#: Columns of the rotated contact map per kbp along the diagonal (SPEC §2: 626 / 707.107).
ROTATED_LAMBDA = 626 / 707.107
#: Mass fractions and peak fraction reported by :func:`locality_stats`.
MASS_FRACTIONS: tuple[float, ...] = (0.5, 0.8, 0.95)
PEAK_FRACTION = 0.2

# ---------------------------------------------------------------------------------------------------
# Landscape locality map and statistics
# ---------------------------------------------------------------------------------------------------
def _resolve_bins(n_rows: int, output_bins: Sequence[int] | None, centre_bin: int) -> np.ndarray:
    if output_bins is None:
        if n_rows != 2 * centre_bin + 1:
            raise InputError(
                f"attributions hold {n_rows} output bins but centre_bin={centre_bin} implies "
                f"{2 * centre_bin + 1}; pass output_bins (the model output indices of the rows)"
            )
        return np.arange(n_rows)
    bins = np.asarray(list(output_bins), dtype=np.int64)
    if bins.shape != (n_rows,):
        raise InputError(
            f"{len(bins)} output bins given for attributions with {n_rows} rows; give one index per row"
        )
    return bins


def _shift(a: np.ndarray, shift: int, axis: int, wrap: bool) -> np.ndarray:
    """``np.roll`` along ``axis``, or a shift that fills NaN instead of wrapping."""
    if wrap:
        return np.roll(a, shift, axis=axis)
    out = np.full(a.shape, np.nan, dtype=np.float64)
    n = a.shape[axis]
    if abs(shift) >= n:
        return out
    src = [slice(None)] * a.ndim
    dst = [slice(None)] * a.ndim
    if shift >= 0:
        src[axis], dst[axis] = slice(0, n - shift), slice(shift, n)
    else:
        src[axis], dst[axis] = slice(-shift, n), slice(0, n + shift)
    out[tuple(dst)] = a[tuple(src)]
    return out


def landscape_locality_map(
    attr: np.ndarray,
    output_bins: Sequence[int] | None = None,
    *,
    jitter_bins: int = 10,
    rng: np.random.Generator | int | None = None,
    signed: bool = False,
    wrap: bool = True,
    scale: bool = True,
    centre_bin: int = TARGET_BINS // 2,
    output_bin_bp: int = TARGET_BIN_BP,
    bin_bp: int = LANDSCAPE_BIN_BP,
) -> np.ndarray:
    """Attribution centred on the predicted locus, averaged over output bins (SPEC §8, Fig. 3b).

    For output bin index ``j`` (offset ``i = j - centre_bin`` output bins, i.e. ``i`` kbp from the TSS)
    the ``(T, W)`` attribution is rolled by ``-i * output_bin_bp / bin_bp`` bins (−10·i) plus a jitter
    ``e_j``, so that the predicted locus sits in the centre bin; the absolute (or, with ``signed``, the
    signed) rolled maps are averaged over the output bins and divided by the maximum absolute value.

    Jitter: with ``rng`` a Generator or an int seed, ``e_j`` is drawn uniformly from the integers
    ``-jitter_bins..jitter_bins`` (the paper; the same seed gives the same map). With ``rng=None`` the
    map is the exact average over all ``2*jitter_bins + 1`` jitters for every bin instead — a
    deterministic smoothing equal to the expectation of the seeded map, i.e. the unjittered map
    convolved with a ``2*jitter_bins + 1``-bin box (circularly when ``wrap``). ``jitter_bins=0``
    disables the jitter.

    Parameters
    ----------
    attr
        ``(n_out, T, W)`` attributions (e.g. the signed mean over samples), one row per output bin.
    output_bins
        Model output index of each row (default ``0..n_out-1`` with ``n_out == 2*centre_bin + 1``).
    wrap
        ``True``: circular roll (the paper's ``np.roll``); ``False``: positions rolled in from outside
        the window are missing and each distance is averaged over the bins that cover it.
    scale
        Divide by the maximum of ``|map|`` over all tracks (SPEC §8); all-zero maps stay zero.

    Returns
    -------
    ``(T, W)`` float64; column ``W // 2`` is the predicted locus, column ``c`` lies
    ``(c - W // 2) * bin_bp`` bp from it (see :func:`distance_axis_bp`).
    """
    attr = np.asarray(attr)
    if attr.ndim != 3:
        raise InputError(f"landscape attributions must be (n_out, T, W), got shape {attr.shape}")
    bins = _resolve_bins(attr.shape[0], output_bins, centre_bin)
    ratio = output_bin_bp / bin_bp
    if ratio != int(ratio):
        raise InputError(f"output_bin_bp {output_bin_bp} is not a multiple of bin_bp {bin_bp}")
    if jitter_bins < 0:
        raise InputError(f"jitter_bins must be >= 0, got {jitter_bins}")
    shifts = -(bins - centre_bin) * int(ratio)
    if jitter_bins and rng is not None:
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        shifts = shifts + gen.integers(-jitter_bins, jitter_bins + 1, size=len(bins))
        jitters = [0]
    else:
        jitters = list(range(-jitter_bins, jitter_bins + 1))
    vals = np.abs(attr) if not signed else attr
    total = np.zeros(attr.shape[1:], dtype=np.float64)
    count = np.zeros(attr.shape[1:], dtype=np.float64)
    for row, s in zip(vals, shifts):
        for e in jitters:
            r = _shift(row.astype(np.float64), int(s + e), axis=-1, wrap=wrap)
            ok = np.isfinite(r)
            total += np.where(ok, r, 0.0)
            count += ok
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    if scale:
        peak = np.nanmax(np.abs(m)) if np.isfinite(m).any() else 0.0
        if peak > 0:
            m = m / peak
    return m


def distance_axis_bp(n_bins: int, bin_bp: int = LANDSCAPE_BIN_BP) -> np.ndarray:
    """``(n_bins,)`` int64 distance in bp of each column of a centred map from its centre column ``n_bins // 2``."""
    return (np.arange(n_bins, dtype=np.int64) - n_bins // 2) * int(bin_bp)


def _symmetric_profiles(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-distance mass (both sides summed) and mean (both sides averaged) of ``(T, W)`` maps."""
    t, w = a.shape
    c = w // 2
    n_d = max(c, w - 1 - c) + 1
    left = np.full((t, n_d), np.nan)
    right = np.full((t, n_d), np.nan)
    right[:, : w - c] = a[:, c:]
    left[:, : c + 1] = a[:, c::-1]
    mass = np.nansum(np.stack([left, right]), axis=0)
    mass[:, 0] = a[:, c]
    mean = np.nanmean(np.stack([left, right]), axis=0)
    return mass, mean


def locality_stats(
    locality_map: np.ndarray,
    bin_bp: int = LANDSCAPE_BIN_BP,
    *,
    track_names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Distances from the predicted locus that hold the attribution, per track (SPEC §8).

    With ``a = |map|`` (NaN counted as 0) and the centre column ``c = W // 2``, the mass at distance
    ``k`` bins is ``m(k) = a[c-k] + a[c+k]`` (``m(0) = a[c]``).

    * ``massXX_bp``: the smallest ``k * bin_bp`` with ``sum_{k' <= k} m(k') >= XX % * sum_k m(k)``;
    * ``below20_bp``: with the symmetrised profile ``p(k) = (a[c-k] + a[c+k]) / 2`` and its peak
      ``P = max_k p(k)``, the largest ``k * bin_bp`` with ``p(k) >= 0.2 P`` — the smallest distance
      beyond which the profile stays below 20 % of its peak.

    Parameters
    ----------
    locality_map
        ``(T, W)`` map centred on the predicted locus (:func:`landscape_locality_map`); signed maps
        are taken in absolute value.
    bin_bp
        Width of one column in bp.
    track_names
        Names of the T rows (default ``track0``, ``track1``, ...).

    Returns
    -------
    DataFrame with columns ``track, mass50_bp, mass80_bp, mass95_bp, below20_bp, peak_bp`` (int bp;
    ``peak_bp`` is the distance of ``P``); all-zero tracks get missing values.
    """
    a = np.asarray(locality_map, dtype=np.float64)
    if a.ndim != 2:
        raise InputError(f"a locality map must be (T, W), got shape {a.shape}")
    a = np.nan_to_num(np.abs(a), nan=0.0)
    names = list(track_names) if track_names is not None else [f"track{i}" for i in range(a.shape[0])]
    if len(names) != a.shape[0]:
        raise InputError(f"{len(names)} track names for a map with {a.shape[0]} tracks; give one per row")
    mass, mean = _symmetric_profiles(a)
    mean = np.nan_to_num(mean, nan=0.0)
    rows = []
    for t, name in enumerate(names):
        row: dict[str, Any] = {"track": name}
        tot = mass[t].sum()
        if tot <= 0:
            row.update({f"mass{round(f * 100)}_bp": pd.NA for f in MASS_FRACTIONS})
            row.update(below20_bp=pd.NA, peak_bp=pd.NA)
            rows.append(row)
            continue
        cum = np.cumsum(mass[t])
        for f in MASS_FRACTIONS:
            k = int(np.searchsorted(cum, f * tot * (1 - 1e-12), side="left"))
            row[f"mass{round(f * 100)}_bp"] = min(k, len(cum) - 1) * int(bin_bp)
        peak = mean[t].max()
        above = np.flatnonzero(mean[t] >= PEAK_FRACTION * peak)
        row["below20_bp"] = int(above[-1]) * int(bin_bp)
        row["peak_bp"] = int(np.argmax(mean[t])) * int(bin_bp)
        rows.append(row)
    df = pd.DataFrame(rows)
    for col in df.columns[1:]:
        df[col] = df[col].astype("Int64")
    return df


# ---------------------------------------------------------------------------------------------------
# Contact maps
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ContactAttributionMap:
    """Aggregated attribution of a contact-map branch.

    Attributes
    ----------
    abs_map, signed_map
        ``(rows, cols)`` float64: mean |attribution| and mean signed attribution over output bins,
        after rolling, filtering and cropping (not scaled).
    row_kbp
        ``(rows,)``: separation in kbp (rotated maps, row 0 = the diagonal) or position in kbp
        relative to the predicted locus (square maps).
    col_kbp
        ``(cols,)``: position in kbp along the genome relative to the predicted locus.
    """

    abs_map: np.ndarray
    signed_map: np.ndarray
    row_kbp: np.ndarray
    col_kbp: np.ndarray

    def to_dict(self) -> dict[str, np.ndarray]:
        """Arrays by name, e.g. for ``np.savez``."""
        return {"abs_map": self.abs_map, "signed_map": self.signed_map, "row_kbp": self.row_kbp,
                "col_kbp": self.col_kbp}


def _gauss(a: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0:
        return a
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(a, sigma=sigma)


def structure_map(
    attr: np.ndarray,
    output_bins: Sequence[int] | None = None,
    *,
    lam: float = ROTATED_LAMBDA,
    sigma: float = 3.0,
    crop: int = 177,
    centre_bin: int = TARGET_BINS // 2,
) -> ContactAttributionMap:
    """Attribution of the rotated contact branch centred on the predicted locus (SPEC §8).

    For output bin index ``j`` (``i = j - centre_bin`` kbp from the TSS) the ``(H, W2)`` attribution
    is rolled by ``-int(i * lam)`` columns (``int`` truncates toward zero, as in the paper; circular);
    absolute and signed rolled maps are averaged over output bins, Gaussian-filtered with ``sigma``
    pixels (``scipy.ndimage.gaussian_filter``, mode 'reflect'), cropped by ``crop`` columns at each
    side and flipped upside down so that the diagonal (the last row of the rotated band) is row 0.

    Geometry (SPEC §2): a point ``y`` rows from the diagonal links loci ``2 * y / lam`` kbp apart, so
    after the flip row ``r`` has separation ``2 * r / lam`` kbp (≈ 2.26 kbp per row; 289 kbp at row
    128); column ``c`` of the cropped map lies ``(c - (cols - 1) / 2) / lam`` kbp from the predicted
    locus (``lam`` = 626 / 707.107 columns per kbp).

    Parameters
    ----------
    attr
        ``(n_out, H, W2)`` attributions of the rotated map (e.g. ``(401, 129, 626)``).

    Returns
    -------
    :class:`ContactAttributionMap` with ``(H, W2 - 2 * crop)`` maps (``(129, 272)`` by default).
    """
    attr = np.asarray(attr)
    if attr.ndim != 3:
        raise InputError(f"structure attributions must be (n_out, H, W2), got shape {attr.shape}")
    h, w = attr.shape[1:]
    if 2 * crop >= w:
        raise InputError(f"cropping {crop} columns at each side leaves nothing of {w} columns; lower crop")
    bins = _resolve_bins(attr.shape[0], output_bins, centre_bin)
    abs_sum = np.zeros((h, w))
    sgn_sum = np.zeros((h, w))
    for row, j in zip(attr, bins):
        s = -int((int(j) - centre_bin) * lam)
        r = np.roll(row.astype(np.float64), s, axis=-1)
        abs_sum += np.abs(r)
        sgn_sum += r
    n = len(bins)
    maps = []
    for m in (abs_sum / n, sgn_sum / n):
        m = _gauss(m, sigma)
        m = m[:, crop : w - crop] if crop else m
        maps.append(m[::-1].copy())
    cols = maps[0].shape[1]
    return ContactAttributionMap(
        abs_map=maps[0],
        signed_map=maps[1],
        row_kbp=2.0 * np.arange(h) / lam,
        col_kbp=(np.arange(cols) - (cols - 1) / 2) / lam,
    )


def square_map(
    attr: np.ndarray,
    output_bins: Sequence[int] | None = None,
    *,
    bin_bp: int = MICROC_BIN_BP,
    sigma: float = 0.0,
    crop: int = 0,
    centre_bin: int = TARGET_BINS // 2,
    output_bin_bp: int = TARGET_BIN_BP,
) -> ContactAttributionMap:
    """Attribution of a square contact or promoter-capture branch centred on the predicted locus.

    For output bin index ``j`` (``i = j - centre_bin`` output bins from the TSS) the ``(n, n)``
    attribution is rolled along both axes by ``-round(i * output_bin_bp / bin_bp)`` bins (circular),
    which moves the locus's point on the diagonal to the centre ``((n - 1) // 2, (n - 1) // 2)``
    (the TSS bin of the window, store contract); absolute and signed maps are averaged over output
    bins, Gaussian-filtered with ``sigma`` pixels (0 = none) and cropped by ``crop`` bins on every side.

    Parameters
    ----------
    attr
        ``(n_out, n, n)`` attributions (626 at 1.6 kbp Micro-C, 201 at 5 kbp promoter capture).
    bin_bp
        Contact bin size in bp (1,600 or 5,000).

    Returns
    -------
    :class:`ContactAttributionMap`; ``row_kbp`` and ``col_kbp`` are positions in kbp of the bins
    relative to the predicted locus, ``(k - (n - 1) // 2) * bin_bp / 1000`` before cropping.
    """
    attr = np.asarray(attr)
    if attr.ndim != 3 or attr.shape[1] != attr.shape[2]:
        raise InputError(f"square-map attributions must be (n_out, n, n), got shape {attr.shape}")
    n_px = attr.shape[1]
    if 2 * crop >= n_px:
        raise InputError(f"cropping {crop} bins at each side leaves nothing of {n_px}; lower crop")
    bins = _resolve_bins(attr.shape[0], output_bins, centre_bin)
    abs_sum = np.zeros((n_px, n_px))
    sgn_sum = np.zeros((n_px, n_px))
    for row, j in zip(attr, bins):
        s = -int(round((int(j) - centre_bin) * output_bin_bp / bin_bp))
        r = np.roll(row.astype(np.float64), (s, s), axis=(0, 1))
        abs_sum += np.abs(r)
        sgn_sum += r
    pos = (np.arange(n_px) - (n_px - 1) // 2) * bin_bp / 1000.0
    sl = slice(crop, n_px - crop)
    maps = [_gauss(m / len(bins), sigma)[sl, sl].copy() for m in (abs_sum, sgn_sum)]
    return ContactAttributionMap(abs_map=maps[0], signed_map=maps[1], row_kbp=pos[sl].copy(),
                                 col_kbp=pos[sl].copy())


# ---------------------------------------------------------------------------------------------------
# Genome-browser tracks
# ---------------------------------------------------------------------------------------------------
def reduce_output_bins(attr: np.ndarray, reduce: Literal["sum", "mean_abs"] = "sum") -> np.ndarray:
    """Collapse ``(n_out, T, W)`` per-output-bin attributions of one gene to ``(T, W)`` float64.

    ``"sum"``: signed sum over output bins — by linearity of IG, the attribution of the summed
    predicted profile; ``"mean_abs"``: mean of ``|attribution|`` over output bins.
    """
    attr = np.asarray(attr, dtype=np.float64)
    if attr.ndim != 3:
        raise InputError(f"per-gene attributions must be (n_out, T, W), got shape {attr.shape}")
    if reduce == "sum":
        return attr.sum(axis=0)
    if reduce == "mean_abs":
        return np.abs(attr).mean(axis=0)
    raise InputError(f"reduce must be 'sum' or 'mean_abs'; got {reduce!r}")


def attribution_to_bigwig(
    attr: np.ndarray,
    out_dir: str | os.PathLike,
    *,
    chrom: str,
    tss_bp: int,
    chrom_sizes: Mapping[str, int],
    track_names: Sequence[str],
    prefix: str = "",
    reduce: Literal["sum", "mean_abs"] = "sum",
    reverse: bool = False,
    bin_bp: int = LANDSCAPE_BIN_BP,
) -> list[Path]:
    """Write one gene's landscape attribution as one bigWig per input track.

    The window's column ``b`` covers genome bin ``tss_bp // bin_bp - W // 2 + b``, i.e.
    ``[(tss_bp // bin_bp - W // 2 + b) * bin_bp, ... + bin_bp)`` (store contract: TSS in the centre
    bin); columns off the chromosome are dropped and the rest of the chromosome holds no data.

    Parameters
    ----------
    attr
        ``(T, W)`` attribution of one gene, or ``(n_out, T, W)`` per output bin, collapsed with
        :func:`reduce_output_bins` (``reduce``).
    out_dir
        Existing directory; files are ``{out_dir}/{prefix}{track}.bw``, written atomically.
    chrom, tss_bp
        Chromosome and 0-based TSS of the gene (the window centre).
    chrom_sizes
        ``{chrom: length_bp}`` of the assembly (e.g. the store manifest's ``chrom_sizes``).
    track_names
        The T input track names (model row order).
    reverse
        The attribution comes from a reversed ("rev") window: flip it back to genomic order first.

    Returns
    -------
    The written paths, in track order.
    """
    from claster.io.writers import write_bigwig

    a = np.asarray(attr, dtype=np.float64)
    if a.ndim == 3:
        a = reduce_output_bins(a, reduce)
    if a.ndim != 2:
        raise InputError(f"attributions must be (T, W) or (n_out, T, W), got shape {np.shape(attr)}")
    if len(track_names) != a.shape[0]:
        raise InputError(f"{len(track_names)} track names for {a.shape[0]} attribution rows; give one per row")
    if chrom not in chrom_sizes:
        raise InputError(f"chromosome {chrom} is not in chrom_sizes; use the store's chromosome names")
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise InputError(f"output directory {out_dir} does not exist; create it first")
    if reverse:
        a = a[:, ::-1]
    w = a.shape[1]
    length_bp = int(chrom_sizes[chrom])
    n_chrom_bins = math.ceil(length_bp / bin_bp)
    first = int(tss_bp) // bin_bp - w // 2
    lo, hi = max(0, first), min(n_chrom_bins, first + w)
    if hi <= lo:
        raise InputError(f"the window of TSS {chrom}:{tss_bp} lies off the chromosome; check tss_bp")
    paths = []
    for t, name in enumerate(track_names):
        values = np.full(n_chrom_bins, np.nan, dtype=np.float32)
        values[lo:hi] = a[t, lo - first : hi - first]
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(name))
        paths.append(
            write_bigwig(out_dir / f"{prefix}{safe}.bw", {chrom: length_bp}, {chrom: (values, bin_bp)})
        )
    return paths
