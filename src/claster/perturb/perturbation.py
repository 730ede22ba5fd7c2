"""In-silico perturbations of landscape windows (SPEC §6): bins, operations, specs, active filter, batches.

Everything here is pure: arrays in, arrays out, no model and no store. Windows are raw landscape
windows ``(T, W)`` or ``(B, T, W)`` (numpy arrays or torch tensors) in the store's track units, i.e.
*before* the model's input normalisation; bin ``W // 2`` (5000 of 10,001) is the centre bin.

Coordinates: a window whose bin 0 starts at ``window_start_bp`` on the genome's 100 bp grid has its
centre at ``centre_bp = window_start_bp + (W // 2) * bin_bp`` (the start of the centre bin, which holds
the TSS). An interval [s, e) relative to the centre maps to bins by one of two rules:

* ``element`` (SPEC §6): ``floor(s/100) .. floor(e/100)`` inclusive, relative to the centre bin;
* ``overlap``: the bins overlapping [s, e), ``floor(s/100) .. ceil(e/100) - 1``; TSS ±10 kbp is
  exactly bins [4900, 5100) (SPEC §6 regulatory logic).

Both are clipped to the window.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from pydantic import ValidationError

from claster.config._base import load_config
from claster.config.perturb import (
    OP_NAMES,
    PRESETS,
    ActiveFilter,
    BedRegion,
    CopyOp,
    FlipOp,
    GeneRegion,
    OffsetRegion,
    Perturbation,
    PerturbSpec,
    ScaleOp,
    SilenceOp,
    primitive_ops,
)
from claster.errors import InputError
from claster.units import LANDSCAPE_BIN_BP, LANDSCAPE_BINS

__all__ = [
    "EFFECTS_COLUMNS",
    "EFFECTS_COLUMN_DOCS",
    "BASELINE",
    "element_bins",
    "region_bins",
    "resolve_region",
    "region_to_absolute",
    "check_tracks",
    "apply_operations",
    "apply_operations_",
    "load_perturb_spec",
    "spec_from_table",
    "is_active",
    "select_active_elements",
    "element_gene_geometry",
    "BatchKey",
    "WindowPerturbations",
    "iter_perturbation_batches",
    "PerturbationBatch",
]

#: Columns of the per (element, gene) effects table written by ``claster perturb`` (``effects.tsv``).
EFFECTS_COLUMN_DOCS: dict[str, str] = {
    "element_id": "element name (or chrom:start-end when the element file has no name)",
    "element_chrom": "chromosome of the element",
    "element_start_bp": "element start, 0-based, bp",
    "element_end_bp": "element end, exclusive, bp",
    "gene_id": "affected gene's id",
    "gene_name": "affected gene's name",
    "gene_chrom": "affected gene's chromosome",
    "gene_tss_bp": "affected gene's TSS, 0-based, bp",
    "gene_strand": "'+' or '-'",
    "distance_bp": "|gene_tss_bp - element midpoint|, midpoint = (start + end) // 2, bp",
    "baseline_area": "predicted gene-body area without the perturbation (SPEC §5, signal per kbp)",
    "perturbed_area": "predicted gene-body area with the perturbation (same unit)",
    "delta_area": "perturbed_area - baseline_area",
    "rel_change": "delta_area / baseline_area (NaN when baseline_area is 0)",
    "abs_delta": "|delta_area|",
    "window_id": "the reference gene (gene-centric) or element (enhancer-centric) the window is centred on",
    "mode": "'gene-centric' or 'enhancer-centric'",
    "proximity_rank": "1 = the gene whose TSS is closest to the element midpoint (ties share the lower rank)",
    "genes_between": "number of TSSs strictly between the element midpoint and this gene's TSS",
}
EFFECTS_COLUMNS: tuple[str, ...] = tuple(EFFECTS_COLUMN_DOCS)

#: Perturbation name of the unperturbed window in batch keys.
BASELINE = "baseline"

_TABLE_OPS = ("silence", "scale", "flip")


# ------------------------------------------------------------------------------------------------ bins


def _bin_range(start_rel_bp: int, end_rel_bp: int, rule: str, n_bins: int, bin_bp: int) -> tuple[int, int]:
    """Unclipped ``[lo, hi)`` window bin indices of a relative interval under ``rule``."""
    centre = n_bins // 2
    lo = centre + math.floor(start_rel_bp / bin_bp)
    if rule == "element":
        hi = centre + math.floor(end_rel_bp / bin_bp) + 1
    elif rule == "overlap":
        hi = centre + math.ceil(end_rel_bp / bin_bp)
    else:  # pragma: no cover - guarded by the config's Literal
        raise InputError(f"unknown bin rule {rule!r}; use 'element' or 'overlap'")
    return lo, hi


def _clip(lo: int, hi: int, n_bins: int) -> tuple[int, int]:
    lo, hi = max(lo, 0), min(hi, n_bins)
    return (lo, hi) if hi > lo else (lo, lo)


def element_bins(
    start_rel_bp: int, end_rel_bp: int, n_bins: int = LANDSCAPE_BINS, bin_bp: int = LANDSCAPE_BIN_BP
) -> np.ndarray:
    """Window bin indices of an element [start_rel_bp, end_rel_bp) relative to the centre (SPEC §6).

    Bins ``floor(s / bin_bp) .. floor(e / bin_bp)`` inclusive, offset by the centre bin ``n_bins // 2``
    and clipped to ``[0, n_bins)``. Example: [-250, 130) -> 4997, 4998, 4999, 5000, 5001.

    Returns
    -------
    (n,) int64 array of indices, empty when the element lies outside the window.
    """
    lo, hi = _clip(*_bin_range(start_rel_bp, end_rel_bp, "element", n_bins, bin_bp), n_bins)
    return np.arange(lo, hi, dtype=np.int64)


def region_bins(
    start_rel_bp: int, end_rel_bp: int, n_bins: int = LANDSCAPE_BINS, bin_bp: int = LANDSCAPE_BIN_BP
) -> np.ndarray:
    """Window bin indices overlapping [start_rel_bp, end_rel_bp) (the ``overlap`` rule), clipped.

    Example: [-10000, 10000) -> 4900 .. 5099 (200 bins).
    """
    lo, hi = _clip(*_bin_range(start_rel_bp, end_rel_bp, "overlap", n_bins, bin_bp), n_bins)
    return np.arange(lo, hi, dtype=np.int64)


# --------------------------------------------------------------------------------------------- regions


def _find_gene(genes: pd.DataFrame | None, gene: str) -> pd.Series:
    if genes is None:
        raise InputError(
            f"region names gene {gene!r} but no gene table was given; pass genes= (the store's genes.tsv) "
            "or give the region as a BED interval"
        )
    hits = genes[genes["gene_id"].astype(str) == gene]
    if hits.empty and "gene_name" in genes.columns:
        hits = genes[genes["gene_name"].astype(str) == gene]
    if hits.empty:
        raise InputError(
            f"gene {gene!r} is not in the gene table; give its gene_id, or the region as a BED interval"
        )
    if len(hits) > 1:
        ids = ", ".join(hits["gene_id"].astype(str).head(5))
        raise InputError(f"gene name {gene!r} matches {len(hits)} genes ({ids}); give the gene_id instead")
    return hits.iloc[0]


def region_to_absolute(
    region: BedRegion | GeneRegion, genes: pd.DataFrame | None = None, *, bin_bp: int = LANDSCAPE_BIN_BP
) -> tuple[str, int, int]:
    """``(chrom, start_bp, end_bp)`` of a BED or gene region (0-based, half-open).

    A gene's promoter is [bin_start(TSS) - flank_bp, bin_start(TSS) + flank_bp) with
    ``bin_start(TSS) = TSS - TSS % bin_bp``; its body is [start_bp, end_bp) from ``genes``
    (columns gene_id, gene_name, chrom, tss_bp, start_bp, end_bp).
    """
    if isinstance(region, BedRegion):
        return region.chrom, region.start_bp, region.end_bp
    if isinstance(region, GeneRegion):
        row = _find_gene(genes, region.gene)
        if region.part == "body":
            return str(row["chrom"]), int(row["start_bp"]), int(row["end_bp"])
        tss = int(row["tss_bp"])
        base = tss - tss % bin_bp
        return str(row["chrom"]), max(base - region.flank_bp, 0), base + region.flank_bp
    raise InputError(
        f"region {region} is relative to a window and has no absolute position; give a BED interval"
    )


def resolve_region(
    region: BedRegion | GeneRegion | OffsetRegion,
    *,
    window_start_bp: int,
    chrom: str | None = None,
    genes: pd.DataFrame | None = None,
    n_bins: int = LANDSCAPE_BINS,
    bin_bp: int = LANDSCAPE_BIN_BP,
) -> tuple[int, int]:
    """``(start_rel_bp, end_rel_bp)`` of a region relative to the window centre.

    The centre is ``window_start_bp + (n_bins // 2) * bin_bp``. Absolute regions must lie on ``chrom``.
    """
    if isinstance(region, OffsetRegion):
        return region.start_rel_bp, region.end_rel_bp
    c, s, e = region_to_absolute(region, genes, bin_bp=bin_bp)
    if chrom is None:
        raise InputError(f"region {region} is absolute; pass chrom= (the window's chromosome) to place it")
    if c != chrom:
        raise InputError(
            f"region {region} lies on {c} but the window is on {chrom}; use an offset region, "
            "or copy it with a copy/transplant operation"
        )
    centre_bp = window_start_bp + (n_bins // 2) * bin_bp
    return s - centre_bp, e - centre_bp


# ------------------------------------------------------------------------------------------- operations


def _ops_of(ops: Perturbation | Sequence[Any]) -> list[Any]:
    return primitive_ops(list(ops.operations if isinstance(ops, Perturbation) else ops))


def _track_index(track_names: Sequence[str], names: Iterable[str], where: str) -> list[int]:
    out = []
    for t in names:
        if t not in track_names:
            raise InputError(f"unknown track {t!r} in {where}; valid tracks: {', '.join(track_names)}")
        out.append(list(track_names).index(t))
    return out


def check_tracks(spec: PerturbSpec | Perturbation | Sequence[Any], track_names: Sequence[str]) -> None:
    """Raise :class:`InputError` when an operation names a track that is not in ``track_names``.

    Also checks the active filter's track. The message lists the valid track names.
    """
    perts = (
        spec.perturbations
        if isinstance(spec, PerturbSpec)
        else [spec]
        if isinstance(spec, Perturbation)
        else [Perturbation(name="operations", operations=list(spec))]
    )
    for p in perts:
        for i, op_name, t in p.tracks_used(track_names):
            _track_index(track_names, [t], f"perturbation {p.name!r}, operation {i + 1} ({op_name})")
    if isinstance(spec, PerturbSpec) and spec.active_filter is not None:
        _track_index(track_names, [spec.active_filter.track], "the active filter")


class _Action(NamedTuple):
    kind: str  # set | scale | flip | paste
    tracks: list[int]
    lo: int
    hi: int
    value: Any = None  # set: float; scale: list of factors; paste: block array or ("window", src_lo)


def _is_torch(x: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _get_source(source_tracks: Any, chrom: str) -> Any:
    if source_tracks is None:
        raise InputError(
            "copying from another locus needs the genome tracks; pass source_tracks= (a mapping chrom -> "
            "(T, n_bins) array in the window's track order, e.g. the store's tracks)"
        )
    if callable(source_tracks) and not isinstance(source_tracks, Mapping):
        return source_tracks(chrom)
    if chrom not in source_tracks:
        raise InputError(
            f"chromosome {chrom} is not in the genome tracks; valid: {', '.join(map(str, source_tracks))}"
        )
    return source_tracks[chrom]


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


# ---------------------------------------------------------------------------------------------- specs


def _read_table(path: Path) -> pd.DataFrame:
    """Read a BED or TSV region table; a first line starting with '#' or with a non-integer second
    field is a header; ``track``/``browser`` lines and blank lines are skipped."""
    import csv
    import gzip
    import io

    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt") as fh:  # type: ignore[operator]
            lines = [ln for ln in fh if ln.strip() and not ln.startswith(("track", "browser"))]
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read {path} as text ({e}); give a BED/TSV file, optionally gzipped") from e
    if not lines:
        raise InputError(
            f"{path} holds no regions; give one region per line (chrom, start, end[, name, ...])"
        )
    fields = lines[0].lstrip("#").rstrip("\n").split("\t")
    header = lines[0].startswith("#") or not (len(fields) > 1 and fields[1].strip().lstrip("-").isdigit())
    if header:
        lines = [lines[0].lstrip("#")] + [ln for ln in lines[1:] if not ln.startswith("#")]
    else:
        lines = [ln for ln in lines if not ln.startswith("#")]
    kw: dict[str, Any] = {"sep": "\t", "dtype": str, "keep_default_na": False, "quoting": csv.QUOTE_NONE}
    try:
        if header:
            df = pd.read_csv(io.StringIO("".join(lines)), **kw)
            df.columns = [str(c).strip() for c in df.columns]
        else:
            width = max(len(ln.split("\t")) for ln in lines)
            df = pd.read_csv(io.StringIO("".join(lines)), header=None, names=list(range(width)), **kw)
            names = ["chrom", "start", "end", "name"][: df.shape[1]]
            df = df.iloc[:, : len(names)]
            df.columns = names
    except pd.errors.ParserError as e:
        raise InputError(f"{path} is not a tab-separated region table ({e}); use one region per line") from e
    return df


def spec_from_table(
    table: pd.DataFrame,
    *,
    preset: str | None = None,
    op: str | None = None,
    active_filter: ActiveFilter | None = ActiveFilter(),  # noqa: B008 - frozen pydantic model
    source: str = "the table",
) -> PerturbSpec:
    """One perturbation per row of a region table (BED-like columns chrom, start, end[, name]).

    Optional columns: ``op`` (silence, scale, flip), ``preset`` (P1, P2), ``tracks`` (comma-separated),
    ``value`` (silence), ``factor`` (scale). A row without ``op`` uses ``op``, or ``silence`` when a
    preset is given. Each row's interval is also its ``element`` (tested by the active filter). Names
    come from the ``name`` column or ``chrom:start-end``; repeated names get ``_2``, ``_3``, ...
    """
    df = table.rename(columns={"start_bp": "start", "end_bp": "end", "chr": "chrom"})
    missing = [c for c in ("chrom", "start", "end") if c not in df.columns]
    if missing:
        raise InputError(
            f"{source} lacks column(s) {', '.join(missing)}; give BED columns chrom, start, end "
            f"(columns found: {', '.join(map(str, df.columns))})"
        )
    if preset is not None and preset not in PRESETS:
        raise InputError(f"unknown preset {preset!r}; valid presets: {', '.join(PRESETS)}")
    seen: dict[str, int] = {}
    perts = []
    for k, row in enumerate(df.to_dict("records")):
        where = f"row {k + 1} of {source}"
        row_op = str(row.get("op") or "").strip() or op
        row_preset = str(row.get("preset") or "").strip() or preset
        if row_op is None:
            if row_preset is None:
                raise InputError(
                    f"{where} has no op; add an 'op' column or give a preset (P1, P2) for all rows"
                )
            row_op = "silence"
        if row_op not in _TABLE_OPS:
            extra = [o for o in OP_NAMES if o not in _TABLE_OPS]
            raise InputError(
                f"{where}: unknown op {row_op!r}; valid ops in a table: {', '.join(_TABLE_OPS)} "
                f"({', '.join(extra)} need a YAML spec)"
            )
        try:
            start, end = int(str(row["start"]).replace(",", "")), int(str(row["end"]).replace(",", ""))
            region = BedRegion(chrom=str(row["chrom"]), start_bp=start, end_bp=end)
            d: dict[str, Any] = {"op": row_op, "region": region}
            tracks = [t.strip() for t in str(row.get("tracks") or "").split(",") if t.strip()]
            if row_op == "silence":
                if row_preset is not None and not tracks:
                    d["preset"] = row_preset
                if tracks:
                    d["tracks"] = tracks
                if str(row.get("value") or "").strip():
                    d["value"] = float(row["value"])
            elif row_op == "scale":
                d["factor"] = float(row["factor"]) if str(row.get("factor") or "").strip() else None
                if tracks:
                    d["tracks"] = tracks
            elif tracks:
                d["tracks"] = tracks
            name = str(row.get("name") or "").strip() or f"{region.chrom}:{start}-{end}"
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:
                name = f"{name}_{seen[name]}"
            perts.append(Perturbation(name=name, operations=[d], element=region))
        except (ValidationError, ValueError) as e:
            msg = (
                "; ".join(f"{'.'.join(map(str, er['loc']))}: {er['msg']}" for er in e.errors())
                if isinstance(e, ValidationError)
                else str(e)
            )
            raise InputError(f"{where} is invalid: {msg}") from e
    if not perts:
        raise InputError(f"{source} holds no regions; give one region per row")
    return PerturbSpec(perturbations=perts, active_filter=active_filter)


def load_perturb_spec(
    path: str | os.PathLike,
    *,
    preset: str | None = None,
    op: str | None = None,
    track_names: Sequence[str] | None = None,
    active_filter: ActiveFilter | None | str = "default",
) -> PerturbSpec:
    """Load a perturbation spec from YAML (``.yaml``/``.yml``) or a region table (TSV/BED, ``.gz`` ok).

    For tables, ``preset``/``op`` apply to rows without their own ``op`` column (see
    :func:`spec_from_table`). ``active_filter`` overrides the spec's filter (``None`` disables it; the
    default keeps the YAML's, or SPEC §6's H3K27ac > 10 for tables). When ``track_names`` is given,
    every track named is checked against it (:class:`InputError` listing the valid names).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"perturbation spec {path} does not exist; check the path")
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".yaml", ".yml"):
        spec = load_config(PerturbSpec, path)
        if preset is not None or op is not None:
            raise InputError(f"{path} is a YAML spec; preset/op apply to TSV/BED region tables only")
    else:
        spec = spec_from_table(_read_table(path), preset=preset, op=op, source=str(path))
    if active_filter != "default":
        spec = spec.model_copy(update={"active_filter": active_filter})
    if track_names is not None:
        check_tracks(spec, track_names)
    return spec


# ----------------------------------------------------------------------------------------- activity


def _as_slice(bins: Any) -> Any:
    if isinstance(bins, slice):
        return bins
    arr = np.asarray(bins, dtype=np.int64)
    if arr.size == 0:
        return slice(0, 0)
    if np.all(np.diff(arr) == 1):
        return slice(int(arr[0]), int(arr[-1]) + 1)
    return arr


def is_active(
    landscape: Any,
    bins: Any,
    track_names: Sequence[str],
    threshold: float = 10.0,
    *,
    track: str = "H3K27ac",
) -> bool | np.ndarray:
    """Whether the mean of ``track`` over ``bins`` exceeds ``threshold`` (SPEC §6 active enhancer).

    ``landscape``: raw ``(T, W)`` or ``(B, T, W)`` window(s) in track units; ``bins``: window bin
    indices (e.g. from :func:`element_bins`) or a slice. No bins -> not active.

    Returns
    -------
    bool for one window, ``(B,)`` bool array for a batch.
    """
    t = _track_index(track_names, [track], "the active filter")[0]
    sl = _as_slice(bins)
    seg = landscape[..., t, sl]
    if seg.shape[-1] == 0:
        return False if landscape.ndim == 2 else np.zeros(landscape.shape[0], dtype=bool)
    mean = (
        seg.double().mean(-1).cpu().numpy() if _is_torch(seg) else np.asarray(seg, dtype=np.float64).mean(-1)
    )
    return bool(mean > threshold) if landscape.ndim == 2 else np.asarray(mean > threshold)


def select_active_elements(
    elements: pd.DataFrame,
    tracks: Mapping[str, Any] | np.ndarray,
    track_names: Sequence[str],
    *,
    offset_bp: int = 0,
    threshold: float = 10.0,
    track: str = "H3K27ac",
    bin_rule: str = "element",
    bin_bp: int = LANDSCAPE_BIN_BP,
    keep_inactive: bool = False,
) -> pd.DataFrame:
    """Elements whose mean ``track`` over their bins exceeds ``threshold`` (SPEC §6).

    Parameters
    ----------
    elements
        Columns ``chrom``, ``start_bp``, ``end_bp`` (or ``start``, ``end``), 0-based half-open.
    tracks
        ``chrom -> (T, n_bins)`` raw tracks on the 100 bp grid (e.g. the store's), or one ``(T, n)``
        array whose bin 0 starts at ``offset_bp`` (e.g. a window; then all elements share its chromosome).
    bin_rule
        ``element`` (SPEC §6: bins s//100 .. e//100 inclusive) or ``overlap``; clipped to the array.

    Returns
    -------
    A copy with ``active_signal`` (float64, mean of ``track`` in track units; NaN when no bin is
    covered) and ``is_active`` (bool) columns; only active rows unless ``keep_inactive``.
    """
    df = elements.rename(columns={"start": "start_bp", "end": "end_bp"}).copy()
    missing = [c for c in ("chrom", "start_bp", "end_bp") if c not in df.columns]
    if missing:
        raise InputError(f"elements lack column(s) {', '.join(missing)}; give chrom, start_bp, end_bp")
    t = _track_index(track_names, [track], "the active filter")[0]
    signal = np.full(len(df), np.nan)
    for c, idx in df.groupby("chrom", sort=False).indices.items():
        arr = tracks if not isinstance(tracks, Mapping) else _get_source(tracks, str(c))
        row = np.asarray(arr[t], dtype=np.float64)
        cs = np.concatenate([[0.0], np.cumsum(row)])
        s = df["start_bp"].to_numpy(np.int64)[idx] - offset_bp
        e = df["end_bp"].to_numpy(np.int64)[idx] - offset_bp
        lo = np.floor_divide(s, bin_bp)
        hi = np.floor_divide(e, bin_bp) + 1 if bin_rule == "element" else -np.floor_divide(-e, bin_bp)
        lo, hi = np.clip(lo, 0, row.size), np.clip(hi, 0, row.size)
        n = hi - lo
        with np.errstate(invalid="ignore", divide="ignore"):
            signal[idx] = np.where(n > 0, (cs[hi] - cs[lo]) / np.maximum(n, 1), np.nan)
    df["active_signal"] = signal
    df["is_active"] = np.nan_to_num(signal, nan=-np.inf) > threshold
    return df if keep_inactive else df[df["is_active"]].copy()


def element_gene_geometry(
    element_start_bp: int, element_end_bp: int, gene_tss_bp: Sequence[int] | np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distance, proximity rank and genes in between for one element and a set of genes.

    ``distance_bp = |tss - mid|`` with ``mid = (start + end) // 2``; ``proximity_rank`` = 1 + the number
    of genes strictly closer (ties share the lower rank); ``genes_between`` = the number of the given
    TSSs strictly between ``mid`` and this gene's TSS.

    Returns
    -------
    Three ``(G,)`` int64 arrays in the order of ``gene_tss_bp``.
    """
    tss = np.asarray(gene_tss_bp, dtype=np.int64)
    mid = (int(element_start_bp) + int(element_end_bp)) // 2
    dist = np.abs(tss - mid)
    sd = np.sort(dist)
    rank = np.searchsorted(sd, dist, side="left") + 1
    st = np.sort(tss)
    lo, hi = np.minimum(tss, mid), np.maximum(tss, mid)
    between = np.maximum(np.searchsorted(st, hi, side="left") - np.searchsorted(st, lo, side="right"), 0)
    return dist.astype(np.int64), rank.astype(np.int64), between.astype(np.int64)


# -------------------------------------------------------------------------------------------- batches


class BatchKey(NamedTuple):
    """Which window and which perturbation a batch row holds (``BASELINE`` for the unperturbed window)."""

    window_id: str
    perturbation: str
    is_baseline: bool


class WindowPerturbations(NamedTuple):
    """One baseline window and the perturbations to apply to it.

    ``baseline``: raw ``(T, W)`` window (numpy or torch); ``window_start_bp``: genome position of bin 0.
    """

    window_id: str
    baseline: Any
    perturbations: Sequence[Perturbation]
    window_start_bp: int
    chrom: str | None = None


def _only_fills(acts: list[_Action]) -> bool:
    """True when every action is a fill and no track is filled twice (so fills commute)."""
    seen: set[int] = set()
    for a in acts:
        if a.kind != "set" or seen.intersection(a.tracks):
            return False
        seen.update(a.tracks)
    return True


def _execute_fills_(buf: Any, fills: list[tuple[int, list[_Action]]], n_bins: int) -> None:
    """Apply fill-only rows of a batch at once: gather (row, track) rows, mask, scatter back."""
    rows, tracks, los, his, vals = [], [], [], [], []
    for r, acts in fills:
        for a in acts:
            for t in a.tracks:
                rows.append(r)
                tracks.append(t)
                los.append(a.lo)
                his.append(a.hi)
                vals.append(float(a.value))
    if _is_torch(buf):
        torch = sys.modules["torch"]

        def as_t(v: list, dtype: Any) -> Any:
            return torch.as_tensor(v, dtype=dtype).to(buf.device, non_blocking=True)

        r_i, t_i = as_t(rows, torch.long), as_t(tracks, torch.long)
        lo, hi, val = as_t(los, torch.long), as_t(his, torch.long), as_t(vals, buf.dtype)
        pos = torch.arange(n_bins, device=buf.device)
        inside = (pos[None, :] >= lo[:, None]) & (pos[None, :] < hi[:, None])
        buf[r_i, t_i] = torch.where(inside, val[:, None], buf[r_i, t_i])
    else:
        r_i, t_i = np.asarray(rows), np.asarray(tracks)
        lo, hi = np.asarray(los)[:, None], np.asarray(his)[:, None]
        pos = np.arange(n_bins)[None, :]
        inside = (pos >= lo) & (pos < hi)
        buf[r_i, t_i] = np.where(inside, np.asarray(vals, dtype=buf.dtype)[:, None], buf[r_i, t_i])


def iter_perturbation_batches(
    windows: Iterable[WindowPerturbations],
    track_names: Sequence[str],
    *,
    batch_size: int = 64,
    include_baseline: bool = True,
    active_filter: ActiveFilter | None = None,
    genes: pd.DataFrame | None = None,
    source_tracks: Mapping[str, Any] | Callable[[str], Any] | None = None,
    bin_bp: int = LANDSCAPE_BIN_BP,
    skipped: list[BatchKey] | None = None,
    vectorise: bool | None = None,
) -> Iterator[tuple[Any, list[BatchKey]]]:
    """Stream ``(batch, keys)``: each window's baseline once, then its perturbed variants.

    Rows of different windows share batches, so every batch but the last has ``batch_size`` rows.
    Perturbations with an ``element`` that fails ``active_filter`` (tested on the baseline) are left
    out and appended to ``skipped``. ``batch`` is ``(b, T, W)`` of the baselines' type, dtype and
    device; a new array is allocated for every batch (safe to keep).

    ``vectorise`` applies the rows whose operations are all ``silence`` (the P1/P2 scans) with a few
    batched kernels instead of a few per row; ``None`` turns it on for tensors on an accelerator.
    The result is the same either way.
    """
    if batch_size < 1:
        raise InputError(f"batch_size must be >= 1, got {batch_size}")
    buf: Any = None
    vec = vectorise
    keys: list[BatchKey] = []

    def new_buffer(like: Any) -> Any:
        if _is_torch(like):
            return sys.modules["torch"].empty((batch_size, *like.shape), dtype=like.dtype, device=like.device)
        return np.empty((batch_size, *like.shape), dtype=like.dtype)

    for w in windows:
        base = w.baseline
        if vectorise is None:
            vec = _is_torch(base) and base.device.type != "cpu"
        if base.ndim != 2:
            raise InputError(f"window {w.window_id}: baseline must be (T, W), got shape {tuple(base.shape)}")
        n_bins = int(base.shape[-1])
        if base.shape[0] != len(track_names):
            raise InputError(
                f"window {w.window_id}: baseline has {base.shape[0]} tracks but {len(track_names)} "
                f"track names were given ({', '.join(track_names)})"
            )
        base_cpu = base.detach().cpu().numpy() if _is_torch(base) and active_filter is not None else base
        rows: list[tuple[BatchKey, Perturbation | None]] = []
        if include_baseline:
            rows.append((BatchKey(str(w.window_id), BASELINE, True), None))
        for p in w.perturbations:
            key = BatchKey(str(w.window_id), p.name, False)
            if active_filter is not None and p.element is not None:
                s, e = resolve_region(
                    p.element,
                    window_start_bp=w.window_start_bp,
                    chrom=w.chrom,
                    genes=genes,
                    n_bins=n_bins,
                    bin_bp=bin_bp,
                )
                lo, hi = _clip(*_bin_range(s, e, active_filter.bin_rule, n_bins, bin_bp), n_bins)
                if not is_active(
                    base_cpu, slice(lo, hi), track_names, active_filter.threshold, track=active_filter.track
                ):
                    if skipped is not None:
                        skipped.append(key)
                    continue
            rows.append((key, p))
        pos = 0
        while pos < len(rows):
            if buf is None:
                buf, keys = new_buffer(base), []
            i = len(keys)
            chunk = rows[pos : pos + batch_size - i]
            buf[i : i + len(chunk)] = base  # one broadcast copy per window and batch
            fills: list[tuple[int, list[_Action]]] = []
            for j, (key, p) in enumerate(chunk):
                if p is not None:
                    acts = _resolve_actions(
                        _ops_of(p),
                        track_names,
                        w.window_start_bp,
                        w.chrom,
                        genes,
                        source_tracks,
                        n_bins,
                        bin_bp,
                    )
                    if vec and _only_fills(acts):
                        fills.append((i + j, acts))
                    else:
                        _execute_(buf[i + j], acts, n_bins)
                keys.append(key)
            if fills:
                _execute_fills_(buf, fills, n_bins)
            pos += len(chunk)
            if len(keys) == batch_size:
                yield buf, keys
                buf, keys = None, []
    if buf is not None and keys:
        yield buf[: len(keys)], keys


class PerturbationBatch:
    """Builder of batched perturbed windows, each baseline computed once.

    Example::

        pb = PerturbationBatch(track_names, batch_size=256, active_filter=spec.active_filter)
        pb.add("Akirin2", window, spec.perturbations, window_start_bp=start, chrom="chr4")
        for batch, keys in pb:      # batch (b, T, W); keys[i].perturbation == "baseline" once per window
            preds = model(normalise(batch))

    Windows are kept by reference and perturbed lazily during iteration; ``skipped`` lists the
    perturbations the active filter left out (filled during iteration).
    """

    def __init__(
        self,
        track_names: Sequence[str],
        *,
        batch_size: int = 64,
        include_baseline: bool = True,
        active_filter: ActiveFilter | None = None,
        genes: pd.DataFrame | None = None,
        source_tracks: Mapping[str, Any] | Callable[[str], Any] | None = None,
        bin_bp: int = LANDSCAPE_BIN_BP,
        vectorise: bool | None = None,
    ) -> None:
        self.track_names = tuple(track_names)
        self.vectorise = vectorise
        self.batch_size = batch_size
        self.include_baseline = include_baseline
        self.active_filter = active_filter
        self.genes = genes
        self.source_tracks = source_tracks
        self.bin_bp = bin_bp
        self.windows: list[WindowPerturbations] = []
        self.skipped: list[BatchKey] = []

    def add(
        self,
        window_id: str,
        baseline: Any,
        perturbations: Sequence[Perturbation],
        *,
        window_start_bp: int,
        chrom: str | None = None,
    ) -> None:
        """Queue one raw ``(T, W)`` baseline window and its perturbations."""
        if tuple(baseline.shape[:-1]) != (len(self.track_names),):
            raise InputError(
                f"window {window_id}: baseline must be ({len(self.track_names)}, W) for tracks "
                f"{', '.join(self.track_names)}, got shape {tuple(baseline.shape)}"
            )
        self.windows.append(
            WindowPerturbations(str(window_id), baseline, list(perturbations), window_start_bp, chrom)
        )

    def __len__(self) -> int:
        """Upper bound on the number of rows (before the active filter)."""
        return sum(len(w.perturbations) + int(self.include_baseline) for w in self.windows)

    def __iter__(self) -> Iterator[tuple[Any, list[BatchKey]]]:
        self.skipped.clear()
        return iter_perturbation_batches(
            self.windows,
            self.track_names,
            batch_size=self.batch_size,
            include_baseline=self.include_baseline,
            active_filter=self.active_filter,
            genes=self.genes,
            source_tracks=self.source_tracks,
            bin_bp=self.bin_bp,
            skipped=self.skipped,
            vectorise=self.vectorise,
        )
