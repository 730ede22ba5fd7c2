"""Batched window cutting on torch tensors, on any device.

Training, prediction, perturbation and attribution all need many windows of the same few
chromosomes. Instead of materialising one array per sample (the original layout, SPEC §10), the
genome-wide 100 bp tracks, the processed 20 bp target and the contact bands of the chromosomes
in use are held as a few tensors; a batch of windows is then one gather on whatever device the
model runs on (so a GPU is never starved by a CPU data loader).

Layout: each chromosome's arrays are concatenated with ``pad`` zero bins on both sides, so a
window that runs off a chromosome end reads explicit zeros (the sample index marks such genes
unusable for training; prediction at arbitrary loci reports the fill).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from claster.errors import InputError, StoreError
from claster.units import (
    CONTACT_LOG_FLOOR,
    LANDSCAPE_BIN_BP,
    TARGET_BIN_BP,
    TARGET_RAW_BIN_BP,
)

__all__ = ["GenomeWindows"]


@dataclass
class _Concat:
    """Chromosome arrays concatenated along the last axis, with a zero pad around each."""

    data: torch.Tensor
    offsets: dict[str, int]  # index of each chromosome's first bin in ``data``
    pad: int


def _concat(arrays: dict[str, np.ndarray], pad: int, dtype: torch.dtype) -> _Concat:
    parts, offsets, pos = [], {}, 0
    for chrom, arr in arrays.items():
        arr = np.asarray(arr, dtype=np.float32)
        lead = arr.shape[:-1]
        zeros = np.zeros((*lead, pad), dtype=np.float32)
        parts.extend([zeros, arr])
        offsets[chrom] = pos + pad
        pos += pad + arr.shape[-1]
    if not parts:
        raise InputError("no chromosome selected for window cutting; check the sample list")
    parts.append(np.zeros((*parts[0].shape[:-1], pad), dtype=np.float32))
    return _Concat(torch.from_numpy(np.concatenate(parts, axis=-1)).to(dtype), offsets, pad)


class GenomeWindows:
    """Cut batches of model inputs and targets for a fixed table of window centres.

    Parameters
    ----------
    store
        An open :class:`claster.store.Store`.
    samples
        One row per window, with columns ``chrom`` and ``tss_bp`` (the window centre, 0-based bp);
        ``gene_id`` is used to find cached rotated contact windows.
    context_bins
        Landscape length in 100 bp bins (odd; 10,001 in the paper).
    output_bins
        Target length in 1 kbp bins (odd; 401 in the paper).
    structure
        ``None``, ``"rotated"``, ``"square"`` (Micro-C) or ``"pchic"`` (promoter capture, 5 kbp).
    with_target
        Whether the target track is loaded (not needed for prediction).
    max_shift_bp
        Largest centre shift (bp) that :meth:`landscape` and :meth:`target` will be asked for (shift
        augmentation); the zero padding around each chromosome grows by it so a shifted window never
        reads a neighbouring chromosome.
    """

    def __init__(
        self,
        store,
        samples: pd.DataFrame,
        *,
        context_bins: int,
        output_bins: int,
        structure: str | None = None,
        with_target: bool = True,
        max_shift_bp: int = 0,
    ) -> None:
        if context_bins % 2 != 1 or output_bins % 2 != 1:
            raise InputError(
                f"context_bins ({context_bins}) and output_bins ({output_bins}) must be odd so the TSS "
                "sits in the central bin; pick e.g. 10001 and 401"
            )
        missing = sorted(set(samples["chrom"]) - set(store.chrom_sizes))
        if missing:
            raise InputError(f"chromosomes {missing} are not in the store; use chromosomes of {store.path}")
        self.store = store
        self.samples = samples.reset_index(drop=True)
        self.context_bins = context_bins
        self.output_bins = output_bins
        self.structure_kind = structure
        chroms = list(dict.fromkeys(self.samples["chrom"]))
        tss = self.samples["tss_bp"].to_numpy(np.int64)
        chrom_of = self.samples["chrom"].to_numpy()

        if max_shift_bp < 0:
            raise InputError(f"max_shift_bp must be >= 0, got {max_shift_bp}")
        self.max_shift_bp = int(max_shift_bp)
        self.tss = torch.from_numpy(tss.copy())  # (N,) int64 window centres, bp
        half = context_bins // 2
        shift_pad = -(-self.max_shift_bp // LANDSCAPE_BIN_BP) + 1 if self.max_shift_bp else 0
        self._tracks = _concat({c: np.asarray(store.tracks(c)) for c in chroms}, pad=half + 1 + shift_pad,
                               dtype=torch.float32)
        base = np.array([self._tracks.offsets[c] for c in chrom_of], dtype=np.int64) - half
        self._landscape_base = torch.from_numpy(base)  # first bin of a window centred on bp 0
        self.landscape_start = torch.from_numpy(base + tss // LANDSCAPE_BIN_BP)

        self._target = None
        if with_target:
            out_half = output_bins // 2
            pad = out_half * (TARGET_BIN_BP // TARGET_RAW_BIN_BP) + 1
            pad += -(-self.max_shift_bp // TARGET_RAW_BIN_BP) + 1 if self.max_shift_bp else 0
            self._target = _concat({c: np.asarray(store.target(c)) for c in chroms}, pad=pad, dtype=torch.float32)
            ks = np.arange(-out_half, out_half + 1, dtype=np.int64) * TARGET_BIN_BP
            offs = np.array([self._target.offsets[c] for c in chrom_of], dtype=np.int64)
            self.target_index = torch.from_numpy(offs[:, None] + (tss[:, None] + ks[None, :]) // TARGET_RAW_BIN_BP)
            # for shifted cuts: chromosome offset and centre of each sample's target (permuted together
            # with target_index by permute_targets)
            self._target_offset = torch.from_numpy(offs)
            self._target_tss = torch.from_numpy(tss.copy())
            self._target_ks = torch.from_numpy(ks)

        self._structure = None
        self._band = None
        if structure == "rotated":
            self._structure = torch.from_numpy(self._rotated_windows(store))
        elif structure in ("square", "pchic"):
            kind = "contacts" if structure == "square" else "pchic"
            self._init_band(store, chroms, kind, tss, chrom_of)
        elif structure is not None:
            raise InputError(f"unknown structure modality {structure!r}; choose rotated, square or pchic")

    # ------------------------------------------------------------------ contacts
    def _init_band(self, store, chroms, kind, tss, chrom_of) -> None:
        if not store.has(kind):
            raise StoreError(
                f"the store {store.path} has no {kind} data; rerun `claster prepare` with "
                f"--{'contacts' if kind == 'contacts' else 'pchic'}"
            )
        bin_bp = store.contact_bin_bp(kind)
        n = store.contact_window_bins(kind)
        # concatenate the bands' rows (bins) of every chromosome, n rows of NaN around each
        parts, offsets, pos = [], {}, 0
        for c in chroms:
            band = np.asarray(store.contact_band(c, kind=kind))[:, :n].astype(np.float32)
            parts.extend([np.full((n, n), np.nan, np.float32), band])
            offsets[c] = pos + n
            pos += n + band.shape[0]
        parts.append(np.full((n, n), np.nan, np.float32))
        self._band = torch.from_numpy(np.concatenate(parts, axis=0).reshape(-1))
        a = np.arange(n)  # M[a, b] = band[start + min(a, b), |a - b|] (as store.square_from_band)
        self._band_pattern = torch.from_numpy(np.minimum.outer(a, a) * n + np.abs(np.subtract.outer(a, a)))
        first = np.array([offsets[c] for c in chrom_of], dtype=np.int64) + tss // bin_bp - (n - 1) // 2
        self._band_start = torch.from_numpy(first * n)
        self.structure_bins = n

    def _rotated_windows(self, store) -> np.ndarray:
        from claster.data.windows import cut_rotated

        if self.samples.empty:
            raise InputError("no samples to cut rotated contact windows for")
        # filled in place: a list of windows plus np.stack would hold every window twice
        out = None
        for i, r in enumerate(self.samples.itertuples()):
            w = cut_rotated(store, r.chrom, int(r.tss_bp))
            if out is None:
                out = np.empty((len(self.samples), *w.shape), dtype=np.float32)
            out[i] = w
        return out

    # ------------------------------------------------------------------ device
    def to(self, device: torch.device | str) -> GenomeWindows:
        """Move every tensor to ``device`` (in place) and return self."""
        for name, value in list(vars(self).items()):
            if isinstance(value, torch.Tensor):
                setattr(self, name, value.to(device))
            elif isinstance(value, _Concat):
                setattr(self, name, _Concat(value.data.to(device), value.offsets, value.pad))
        return self

    @property
    def structure_shape(self) -> tuple[int, int] | None:
        """(H, W) of the structure windows, or None without a contact modality."""
        if self.structure_kind is None:
            return None
        if self.structure_kind == "rotated":
            return tuple(self._structure.shape[1:])
        return (self.structure_bins, self.structure_bins)

    @property
    def device(self) -> torch.device:
        return self.landscape_start.device

    def __len__(self) -> int:
        return len(self.samples)

    # ------------------------------------------------------------------ cutting
    def _check_shift(self, shift_bp: torch.Tensor) -> None:
        if shift_bp.numel() and int(shift_bp.abs().max()) > self.max_shift_bp:
            raise InputError(
                f"a window shift of {int(shift_bp.abs().max())} bp exceeds max_shift_bp={self.max_shift_bp}; "
                "build the GenomeWindows with a larger max_shift_bp"
            )

    def permute_targets(self, perm: torch.Tensor) -> None:
        """Give sample i the target of sample ``perm[i]`` (the shuffled-target control), shifted or not."""
        if self._target is None:
            raise InputError("these windows were built without the target track")
        self.target_index = self.target_index[perm]
        self._target_offset = self._target_offset[perm]
        self._target_tss = self._target_tss[perm]

    def landscape(
        self, idx: torch.Tensor, rev: torch.Tensor | None = None, shift_bp: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(B, T, context_bins) float32, mean signal per 100 bp bin, raw units (not standardised).

        ``shift_bp`` (B,) int64: cut each window centred on ``tss + shift_bp`` instead of the TSS
        (bin ``context_bins // 2`` holds that centre), as :func:`claster.data.windows.cut_landscape`
        would; reads zeros beyond the chromosome ends.
        """
        if shift_bp is None:
            starts = self.landscape_start[idx]
        else:
            self._check_shift(shift_bp)
            centre = self.tss[idx] + shift_bp.to(self.tss.device, torch.int64)
            starts = self._landscape_base[idx] + torch.div(centre, LANDSCAPE_BIN_BP, rounding_mode="floor")
        cols = starts[:, None] + torch.arange(self.context_bins, device=starts.device)[None, :]
        data = self._tracks.data  # (T, N)
        x = data[:, cols].permute(1, 0, 2)  # (B, T, W)
        return _flip_where(x, rev, dims=(-1,))

    def target(
        self, idx: torch.Tensor, rev: torch.Tensor | None = None, shift_bp: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(B, output_bins) float32, processed EU-seq (SPEC §2), bin k centred on TSS + k kbp.

        ``shift_bp`` (B,) int64: bin k centred on ``tss + shift_bp + k kbp`` instead (the same shifted
        centre as :meth:`landscape`); zeros beyond the chromosome ends.
        """
        if self._target is None:
            raise InputError("these windows were built without the target track")
        if shift_bp is None:
            y = self._target.data[self.target_index[idx]]
        else:
            self._check_shift(shift_bp)
            centre = self._target_tss[idx] + shift_bp.to(self._target_tss.device, torch.int64)
            pos = centre[:, None] + self._target_ks[None, :]
            y = self._target.data[self._target_offset[idx][:, None]
                                  + torch.div(pos, TARGET_RAW_BIN_BP, rounding_mode="floor")]
        return _flip_where(y, rev, dims=(-1,))

    def structure(self, idx: torch.Tensor, rev: torch.Tensor | None = None) -> torch.Tensor | None:
        """(B, H, W) float32 log10 contacts (rotated: (B, 129, 626); square: (B, 626, 626)), or None."""
        if self.structure_kind is None:
            return None
        if self.structure_kind == "rotated":
            return _flip_where(self._structure[idx], rev, dims=(-1,))
        flat = self._band[self._band_start[idx][:, None, None] + self._band_pattern[None]]
        flat = torch.nan_to_num(flat, nan=0.0)
        m = torch.log10(torch.where(flat > 0, flat, torch.full_like(flat, CONTACT_LOG_FLOOR)))
        return _flip_where(m, rev, dims=(-2, -1))


def _flip_where(x: torch.Tensor, rev: torch.Tensor | None, dims: tuple[int, ...]) -> torch.Tensor:
    """Flip the samples of ``x`` whose ``rev`` flag is set along ``dims``."""
    if rev is None:
        return x
    rev = rev.to(torch.bool)
    if not bool(rev.any()):
        return x
    shape = (-1,) + (1,) * (x.dim() - 1)
    return torch.where(rev.view(shape), torch.flip(x, dims=dims), x)
