"""Perturbation operations on raw landscape windows (SPEC §6): resolve a spec's operations to bin
actions and run them on one window or a batch (numpy or torch, any device).

:func:`apply_operations` is the pure array form; the batched scan engine
(:mod:`claster.perturb.engine`) runs the same resolved actions on device batches.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from claster.config.perturb import (
    OP_NAMES,
    CopyOp,
    FlipOp,
    OffsetRegion,
    Perturbation,
    ScaleOp,
    SilenceOp,
    primitive_ops,
)
from claster.errors import InputError
from claster.perturb.regions import (
    _bin_range,
    _clip,
    _get_source,
    _is_torch,
    _track_index,
    region_to_absolute,
    resolve_region,
)
from claster.units import LANDSCAPE_BIN_BP

__all__ = ["apply_operations", "apply_operations_"]


def _ops_of(ops: Perturbation | Sequence[Any]) -> list[Any]:
    return primitive_ops(list(ops.operations if isinstance(ops, Perturbation) else ops))


class _Action(NamedTuple):
    kind: str  # set | scale | flip | paste
    tracks: list[int]
    lo: int
    hi: int
    value: Any = None  # set: float; scale: list of factors; paste: block array or ("window", src_lo)


def _resolve_actions(
    ops: list[Any],
    track_names: Sequence[str],
    window_start_bp: int,
    chrom: str | None,
    genes: pd.DataFrame | None,
    source_tracks: Any,
    n_bins: int,
    bin_bp: int,
) -> list[_Action]:
    all_idx = list(range(len(track_names)))
    centre = n_bins // 2
    centre_bp = window_start_bp + centre * bin_bp
    actions: list[_Action] = []
    for i, op in enumerate(ops):
        where = f"operation {i + 1} ({op.op})"
        if isinstance(op, SilenceOp | ScaleOp | FlipOp):
            s, e = resolve_region(
                op.region,
                window_start_bp=window_start_bp,
                chrom=chrom,
                genes=genes,
                n_bins=n_bins,
                bin_bp=bin_bp,
            )
            lo, hi = _clip(*_bin_range(s, e, op.bin_rule, n_bins, bin_bp), n_bins)
            if isinstance(op, SilenceOp):
                actions.append(
                    _Action("set", _track_index(track_names, op.track_list(), where), lo, hi, op.value)
                )
            elif isinstance(op, ScaleOp):
                pairs = (
                    op.factors
                    if op.factors is not None
                    else {t: op.factor for t in (op.tracks or track_names)}
                )
                idx = _track_index(track_names, pairs, where)
                actions.append(_Action("scale", idx, lo, hi, [float(f) for f in pairs.values()]))
            else:
                idx = _track_index(track_names, op.tracks, where) if op.tracks else all_idx
                actions.append(_Action("flip", idx, lo, hi))
        elif isinstance(op, CopyOp):
            idx = _track_index(track_names, op.tracks, where) if op.tracks else all_idx
            read_from = op.read_from
            if read_from == "auto":
                read_from = "window" if isinstance(op.source, OffsetRegion) else "genome"
            if read_from == "window":
                s, e = resolve_region(
                    op.source,
                    window_start_bp=window_start_bp,
                    chrom=chrom,
                    genes=genes,
                    n_bins=n_bins,
                    bin_bp=bin_bp,
                )
                src_lo, src_hi = _bin_range(s, e, op.bin_rule, n_bins, bin_bp)
                if src_lo < 0 or src_hi > n_bins:
                    raise InputError(
                        f"{where}: source {op.source} reaches outside the window "
                        f"(bins {src_lo}..{src_hi - 1} of {n_bins}); give it as a BED interval to read it "
                        "from the genome tracks"
                    )
                n, payload = src_hi - src_lo, ("window", src_lo)
            else:
                c, s, e = region_to_absolute(op.source, genes, bin_bp=bin_bp)
                g_lo = s // bin_bp
                g_hi = e // bin_bp + 1 if op.bin_rule == "element" else -(-e // bin_bp)
                arr = _get_source(source_tracks, c)
                if g_hi > arr.shape[-1]:
                    raise InputError(
                        f"{where}: source {c}:{s}-{e} runs past the end of {c} "
                        f"({arr.shape[-1] * bin_bp} bp in the tracks); shorten the interval"
                    )
                n, payload = g_hi - g_lo, np.asarray(arr[idx, g_lo:g_hi])
            if (pos := op.position()) is not None:
                pc, pbp = pos
                if chrom is not None and pc != chrom:
                    raise InputError(
                        f"{where}: to_position {op.to_position} is not on the window's chromosome {chrom}"
                    )
                p_rel = pbp - centre_bp
            else:
                p_rel = int(op.to_offset_bp)  # type: ignore[arg-type]
            p_bin = centre + math.floor(p_rel / bin_bp)
            dst_lo = p_bin if op.anchor == "start" else p_bin - n // 2
            actions.append(_Action("paste", idx, dst_lo, dst_lo + n, payload))
        else:  # pragma: no cover - the config's discriminated union admits nothing else
            raise InputError(f"{where}: unknown operation; valid operations: {', '.join(OP_NAMES)}")
    return actions


def _execute_(x: Any, actions: list[_Action], n_bins: int) -> None:
    """Run resolved actions on ``x`` (..., T, W) in place."""
    torch_mode = _is_torch(x)
    for a in actions:
        if a.kind == "paste":
            lo, hi = _clip(a.lo, a.hi, n_bins)
            if hi <= lo:
                continue
            off = lo - a.lo
            if isinstance(a.value, tuple):  # from the window's current state
                src_lo = a.value[1] + off
                block = x[..., a.tracks, src_lo : src_lo + (hi - lo)]
            else:
                block = a.value[:, off : off + (hi - lo)]
                if torch_mode:
                    block = sys.modules["torch"].as_tensor(block, dtype=x.dtype, device=x.device)
                else:
                    block = block.astype(x.dtype, copy=False)
            x[..., a.tracks, lo:hi] = block
            continue
        if a.hi <= a.lo:
            continue
        if a.kind == "set":
            for t in a.tracks:  # basic slicing: a plain fill, no index_put
                x[..., t, a.lo : a.hi] = a.value
        elif a.kind == "scale":
            for t, f in zip(a.tracks, a.value, strict=True):
                x[..., t, a.lo : a.hi] *= f
        elif a.kind == "flip":
            seg = x[..., a.tracks, a.lo : a.hi]  # advanced indexing: a copy
            x[..., a.tracks, a.lo : a.hi] = (
                sys.modules["torch"].flip(seg, dims=(-1,)) if torch_mode else seg[..., ::-1]
            )


def apply_operations_(
    landscape: Any,
    ops: Perturbation | Sequence[Any],
    track_names: Sequence[str],
    window_start_bp: int | Sequence[int],
    *,
    chrom: str | Sequence[str] | None = None,
    genes: pd.DataFrame | None = None,
    source_tracks: Mapping[str, Any] | Callable[[str], Any] | None = None,
    bin_bp: int = LANDSCAPE_BIN_BP,
) -> Any:
    """In-place form of :func:`apply_operations`; returns ``landscape``."""
    if landscape.ndim not in (2, 3):
        raise InputError(f"landscape must be (T, W) or (B, T, W), got shape {tuple(landscape.shape)}")
    if landscape.shape[-2] != len(track_names):
        raise InputError(
            f"landscape has {landscape.shape[-2]} tracks but {len(track_names)} track names were given "
            f"({', '.join(track_names)}); pass the store's track order"
        )
    n_bins = int(landscape.shape[-1])
    op_list = _ops_of(ops)
    per_row = not isinstance(window_start_bp, int | np.integer) or (
        chrom is not None and not isinstance(chrom, str)
    )
    if per_row:
        if landscape.ndim != 3:
            raise InputError("per-window starts or chromosomes need a (B, T, W) batch")
        n = landscape.shape[0]
        starts = (
            [int(window_start_bp)] * n
            if isinstance(window_start_bp, int | np.integer)
            else list(window_start_bp)
        )
        chroms = [chrom] * n if chrom is None or isinstance(chrom, str) else list(chrom)
        if len(starts) != n or len(chroms) != n:
            raise InputError(
                f"give one window_start_bp and chrom per window: {n} windows, {len(starts)} starts"
            )
        for b in range(n):
            acts = _resolve_actions(
                op_list, track_names, starts[b], chroms[b], genes, source_tracks, n_bins, bin_bp
            )
            _execute_(landscape[b], acts, n_bins)
        return landscape
    acts = _resolve_actions(
        op_list, track_names, int(window_start_bp), chrom, genes, source_tracks, n_bins, bin_bp
    )
    _execute_(landscape, acts, n_bins)
    return landscape


def apply_operations(
    landscape: Any,
    ops: Perturbation | Sequence[Any],
    track_names: Sequence[str],
    window_start_bp: int | Sequence[int],
    *,
    chrom: str | Sequence[str] | None = None,
    genes: pd.DataFrame | None = None,
    source_tracks: Mapping[str, Any] | Callable[[str], Any] | None = None,
    bin_bp: int = LANDSCAPE_BIN_BP,
) -> Any:
    """Return a perturbed copy of a raw landscape window (or batch); the input is never changed.

    Parameters
    ----------
    landscape
        ``(T, W)`` or ``(B, T, W)`` numpy array or torch tensor, raw mean signal per 100 bp bin
        (store units, before normalisation), rows in ``track_names`` order.
    ops
        A :class:`Perturbation` or a list of operations (convenience ones are expanded), applied in
        order, each to the result of the previous one.
    track_names
        Row names of ``landscape``, e.g. ``("ATAC", "H3K4me3", "H3K27ac", "H3K27me3")``.
    window_start_bp
        Genome position of the start of bin 0 (int), or one per window of a batch.
    chrom
        The window's chromosome (or one per window); needed for BED and gene regions.
    genes
        Gene table (the store's genes.tsv) for gene regions.
    source_tracks
        ``chrom -> (T, n_bins_chrom)`` arrays (same track order, 100 bp grid) for copies from other
        loci (the store's tracks); a callable ``chrom -> array`` works too.

    Returns
    -------
    Same type, shape and dtype as ``landscape``.
    """
    out = landscape.clone() if _is_torch(landscape) else np.array(landscape, copy=True)
    return apply_operations_(
        out,
        ops,
        track_names,
        window_start_bp,
        chrom=chrom,
        genes=genes,
        source_tracks=source_tracks,
        bin_bp=bin_bp,
    )
