"""Cutting sample windows from a store: landscape, target, square / rotated contacts, promoter capture.

Geometry (SPEC §2, store contract):

- landscape: centre bin ``center_bp // 100`` at index ``(n_bins - 1) // 2`` (5000 of 10,001);
- target: ``target[(tss_bp + bin_bp * k) // 20]`` for k = -(n-1)/2 .. (n-1)/2 (401 bins of 1 kbp);
- square contacts at resolution r: n = ceil(1e6 / r) + 1 bins from ``center_bp // r - (n - 1) // 2``;
  NaN and 0 -> 1e-14, then log10;
- rotated: :func:`claster.rotate.rotate_square` of the log10 square (cropped rows);
- promoter capture: the square at 5 kbp, (201, 201).

Windows are always in genomic orientation; :func:`reverse_window` gives the "rev" augmentation.
A window that runs off its chromosome raises :class:`InputError` unless ``pad=True`` (zeros for
tracks/target, NaN -> -14 for contacts, i.e. "missing").
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from claster.config._base import StrictModel
from claster.errors import InputError
from claster.store import Store, contact_window_bins, contact_window_start, log10_floor, square_from_band
from claster.units import LANDSCAPE_BINS, TARGET_BIN_BP, TARGET_BINS

__all__ = [
    "WindowSpec",
    "cut_landscape",
    "cut_pchic",
    "cut_rotated",
    "cut_square",
    "cut_target",
    "reverse_window",
]

WindowKind = Literal["landscape", "target", "square", "contacts", "pchic", "rotated"]


class WindowSpec(StrictModel):
    """Context and output length of the samples (SPEC §1, §5's 20 kbp ablation).

    Defaults are the paper's: 10,001 landscape bins of 100 bp (TSS +-500,050 bp) and 401 target bins
    of 1 kbp (TSS +-200 kbp). The 20 kbp ablation: ``context_bins=201, target_bins=19`` (19 bins
    over +-9 kbp).
    """

    context_bins: int = Field(
        default=LANDSCAPE_BINS, ge=1, description="Landscape window length in 100 bp bins, odd (SPEC §1: 10,001)."
    )
    target_bins: int = Field(
        default=TARGET_BINS, ge=1, description="Output bins of 1 kbp centred on the TSS, odd (SPEC §2: 401)."
    )
    target_bin_bp: int = Field(
        default=TARGET_BIN_BP, description="Spacing of the output bins in bp (1,000; a multiple of 20)."
    )

    @model_validator(mode="after")
    def _odd(self) -> WindowSpec:
        if self.context_bins % 2 == 0 or self.target_bins % 2 == 0:
            raise ValueError("context_bins and target_bins must be odd so the TSS sits in the central bin")
        if self.target_bin_bp % 20 != 0 or self.target_bin_bp <= 0:
            raise ValueError("target_bin_bp must be a positive multiple of 20 bp")
        return self

    @property
    def context_bp(self) -> int:
        """Landscape span in bp (10,001 x 100 = 1,000,100)."""
        return self.context_bins * 100

    @property
    def target_half_bp(self) -> int:
        """Distance of the outermost output bin centre from the TSS in bp (200,000)."""
        return (self.target_bins - 1) // 2 * self.target_bin_bp


def _off(chrom: str, center_bp: int, what: str, lo: int, hi: int, n: int) -> InputError:
    return InputError(
        f"the {what} window at {chrom}:{center_bp:,} runs off the chromosome (bins {lo}..{hi - 1} of {n}); "
        "choose a centre further from the chromosome end or pass pad=True"
    )


def _slice_padded(arr: np.ndarray, lo: int, hi: int, fill: float) -> np.ndarray:
    """Last-axis slice [lo, hi) of ``arr`` as float32, with ``fill`` outside [0, arr.shape[-1])."""
    n = arr.shape[-1]
    out = np.full(arr.shape[:-1] + (hi - lo,), fill, dtype=np.float32)
    a, b = max(lo, 0), min(hi, n)
    if b > a:
        out[..., a - lo : b - lo] = arr[..., a:b]
    return out


def cut_landscape(
    store: Store, chrom: str, center_bp: int, n_bins: int = LANDSCAPE_BINS, *, pad: bool = False
) -> np.ndarray:
    """Landscape window: (T, n_bins) float32, mean signal per 100 bp bin, raw units.

    Bin ``(n_bins - 1) // 2`` holds ``center_bp`` (bin 5000 of 10,001 for a TSS). Track order is
    ``store.track_names``.
    """
    tracks = store.tracks(chrom)
    lo = int(center_bp) // store.track_bin_bp - (n_bins - 1) // 2
    hi = lo + n_bins
    if lo >= 0 and hi <= tracks.shape[1]:
        return np.array(tracks[:, lo:hi], dtype=np.float32)
    if not pad:
        raise _off(chrom, int(center_bp), "landscape", lo, hi, tracks.shape[1])
    return _slice_padded(tracks, lo, hi, 0.0)


def cut_target(
    store: Store, chrom: str, tss_bp: int, n_bins: int = TARGET_BINS, bin_bp: int = TARGET_BIN_BP, *, pad: bool = False
) -> np.ndarray:
    """Target window: (n_bins,) float32, processed target (SPEC §2), bin k centred on TSS + k * bin_bp."""
    target = store.target(chrom)
    raw = store.target_raw_bin_bp
    k = np.arange(n_bins, dtype=np.int64) - (n_bins - 1) // 2
    idx = (int(tss_bp) + bin_bp * k) // raw
    if idx[0] >= 0 and idx[-1] < target.shape[0]:
        return np.asarray(target[idx], dtype=np.float32)
    if not pad:
        raise _off(chrom, int(tss_bp), "target", int(idx[0]), int(idx[-1]) + 1, target.shape[0])
    ok = (idx >= 0) & (idx < target.shape[0])
    out = np.zeros(n_bins, dtype=np.float32)
    out[ok] = target[idx[ok]]
    return out


def _square_raw(store: Store, chrom: str, center_bp: int, kind: str, pad: bool) -> np.ndarray:
    band = store.contact_band(chrom, kind)
    r = store.contact_bin_bp(kind)
    n = contact_window_bins(r)
    s = contact_window_start(int(center_bp), r, n)
    if s >= 0 and s + n <= band.shape[0]:
        return square_from_band(band, s, n)
    if not pad:
        raise _off(chrom, int(center_bp), f"{kind} contact", s, s + n, band.shape[0])
    big = np.full((n + 2 * n, band.shape[1]), np.nan, dtype=np.float32)
    a, b = max(s, 0), min(s + n, band.shape[0])
    if b > a:
        big[n + a - s : n + b - s] = band[a:b]
    return square_from_band(big, n, n)


def cut_square(
    store: Store, chrom: str, center_bp: int, kind: str = "contacts", *, log: bool = True, pad: bool = False
) -> np.ndarray:
    """Square contact window: (n, n) float32, n = ceil(1e6 / r) + 1 (626 at 1.6 kbp, 201 at 5 kbp).

    ``log=True`` (default): log10 of the balanced contacts with NaN and 0 set to 1e-14 (SPEC §2);
    ``log=False``: the balanced contacts, NaN where missing.
    """
    m = _square_raw(store, chrom, center_bp, kind, pad)
    return log10_floor(m) if log else m


def cut_pchic(store: Store, chrom: str, center_bp: int, *, pad: bool = False) -> np.ndarray:
    """Promoter-capture Hi-C window: (201, 201) float32 log10 at 5 kbp (SPEC §2)."""
    return cut_square(store, chrom, center_bp, kind="pchic", pad=pad)


def cut_rotated(store: Store, chrom: str, center_bp: int, *, use_cache: bool = True, pad: bool = False) -> np.ndarray:
    """Rotated contact window: (rows, n) float32 ((129, 626) at 1.6 kbp, (42, 201) at 5 kbp).

    Read from the store's rotated cache when ``center_bp`` is the TSS of a cached gene on ``chrom``,
    otherwise rotated on the fly from :func:`cut_square` with :func:`claster.rotate.rotate_square`.
    """
    if use_cache:
        cache = store.rotated_cache()
        if cache is not None:
            row = cache.row_of_locus.get((chrom, int(center_bp)))
            if row is not None:
                return np.array(cache.windows[row], dtype=np.float32)
    from claster.rotate import rotate_square

    return rotate_square(cut_square(store, chrom, center_bp, kind="contacts", pad=pad))


def reverse_window(kind: WindowKind, array: np.ndarray) -> np.ndarray:
    """The "rev" augmentation (SPEC §2) of a window or a batch of windows (leading axes kept).

    landscape (..., T, W) and target (..., W) and rotated (..., rows, W): reversed along the last
    axis (track order kept); square / contacts / pchic (..., n, n): flipped on both axes.
    Returns a contiguous copy.
    """
    a = np.asarray(array)
    if kind in ("landscape", "target", "rotated"):
        return np.ascontiguousarray(a[..., ::-1])
    if kind in ("square", "contacts", "pchic"):
        return np.ascontiguousarray(a[..., ::-1, ::-1])
    raise InputError(f"unknown window kind {kind!r}; use landscape, target, square, pchic or rotated")
