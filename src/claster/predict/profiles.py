"""``claster predict``: profiles for genes, a chromosome, BED loci or a genome-wide tiling.

Windows are centred on a gene's TSS (genes, chromosome) or on a locus midpoint (BED, tiling).
Outputs: a wide profile table (one row per window, columns ``bin_-200 ... bin_200``, track units
per 1 kbp bin), per-gene body means (SPEC §5), and a bigWig of the predicted signal.

Overlapping windows in the bigWig: every 100 bp genome bin takes the prediction of the window
whose centre is nearest (the model is most accurate near the centre of its window), read from the
1 kbp output bin that contains it; bins no window covers are left empty.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from claster.errors import ClasterWarning, InputError
from claster.units import LANDSCAPE_BIN_BP, TARGET_BIN_BP

__all__ = ["select_windows", "padded_fraction", "predict_profiles", "profiles_frame", "write_prediction_bigwig",
           "predict"]


def _read_regions(path: Path) -> pd.DataFrame:
    if not Path(path).is_file():
        raise InputError(f"regions file {path} does not exist; pass a BED file (chrom, start, end[, name])")
    try:
        df = pd.read_csv(path, sep="\t", header=None, comment="#", dtype={0: str})
    except pd.errors.EmptyDataError as e:
        raise InputError(f"regions file {path} is empty; give at least one BED interval") from e
    if df.shape[1] < 3:
        raise InputError(f"regions file {path} has {df.shape[1]} columns; BED needs chrom, start, end")
    df = df.rename(columns={0: "chrom", 1: "start_bp", 2: "end_bp", 3: "name"})
    if "name" not in df:
        df["name"] = [f"{c}:{s}-{e}" for c, s, e in zip(df.chrom, df.start_bp, df.end_bp, strict=True)]
    return df


def select_windows(
    store,
    *,
    genes: list[str] | None = None,
    chrom: str | None = None,
    regions: str | Path | None = None,
    tile_bp: int | None = None,
    all_genes: bool = False,
) -> pd.DataFrame:
    """The windows to predict, one row each: sample_id, gene_id, gene_name, chrom, tss_bp, strand, start_bp, end_bp.

    Exactly one selection: ``genes`` (ids or names), ``chrom`` (every gene of it, or a tiling when
    ``tile_bp`` is given), ``regions`` (BED, centred on each interval's midpoint) or ``tile_bp`` alone
    (genome-wide tiling, centres every ``tile_bp``) or ``all_genes`` (every gene of the store).
    """
    chosen = sum(x is not None for x in (genes, regions)) + (chrom is not None or tile_bp is not None) + bool(all_genes)
    if chosen != 1:
        raise InputError(
            "choose exactly one of --genes, --chrom (optionally with --tile-bp), --regions, --tile-bp, --all-genes"
        )
    idx = store.genes
    if all_genes:
        out = idx.reset_index(drop=True)
    elif genes is not None:
        wanted = [g.strip() for g in genes if g.strip()]
        by_id = idx.set_index("gene_id", drop=False)
        by_name = idx.drop_duplicates("gene_name").set_index("gene_name", drop=False)
        rows, unknown = [], []
        for g in wanted:
            if g in by_id.index:
                rows.append(by_id.loc[g])
            elif g in by_name.index:
                rows.append(by_name.loc[g])
            else:
                unknown.append(g)
        if unknown:
            raise InputError(
                f"{len(unknown)} gene(s) not in the store {store.path}: {', '.join(unknown[:5])}; "
                "use gene ids or names from its genes.tsv (`claster store info`)"
            )
        out = pd.DataFrame(rows).reset_index(drop=True)
    elif regions is not None:
        reg = _read_regions(Path(regions))
        bad = sorted(set(reg.chrom) - set(store.chrom_sizes))
        if bad:
            raise InputError(f"regions on chromosomes not in the store: {bad}; use {sorted(store.chrom_sizes)}")
        mid = ((reg.start_bp + reg.end_bp) // 2).astype(np.int64)
        out = pd.DataFrame({"gene_id": reg["name"].astype(str), "gene_name": reg["name"].astype(str),
                            "chrom": reg.chrom, "tss_bp": mid, "strand": "+",
                            "start_bp": reg.start_bp, "end_bp": reg.end_bp})
    elif tile_bp is not None:
        if tile_bp < TARGET_BIN_BP:
            raise InputError(f"--tile-bp {tile_bp} is below the output resolution; use >= {TARGET_BIN_BP}")
        chroms = [chrom] if chrom is not None else list(store.chrom_sizes)
        rows = []
        for c in chroms:
            if c not in store.chrom_sizes:
                raise InputError(f"chromosome {c} is not in the store; choose one of {sorted(store.chrom_sizes)}")
            for centre in range(tile_bp // 2, store.chrom_sizes[c], tile_bp):
                name = f"{c}:{centre}"
                rows.append((name, name, c, centre, "+", centre, centre + 1))
        out = pd.DataFrame(rows, columns=["gene_id", "gene_name", "chrom", "tss_bp", "strand", "start_bp", "end_bp"])
    else:
        if chrom not in store.chrom_sizes:
            raise InputError(f"chromosome {chrom} is not in the store; choose one of {sorted(store.chrom_sizes)}")
        out = idx[idx["chrom"] == chrom].reset_index(drop=True)
        if out.empty:
            raise InputError(f"the store has no gene on {chrom}; use --tile-bp to tile it instead")
    out = out[["gene_id", "gene_name", "chrom", "tss_bp", "strand", "start_bp", "end_bp"]].copy()
    out["tss_bp"] = out["tss_bp"].astype(np.int64)
    out.insert(0, "sample_id", np.arange(len(out)))
    return out.reset_index(drop=True)


def padded_fraction(store, samples: pd.DataFrame, context_bins: int) -> np.ndarray:
    """``(N,)`` fraction of each window's ``context_bins`` landscape bins (100 bp) that lie off its
    chromosome and are read as zeros; ``samples`` has ``chrom`` and ``tss_bp`` (the window centre, bp)."""
    half = context_bins // 2
    first = samples["tss_bp"].to_numpy(np.int64) // LANDSCAPE_BIN_BP - half
    n_chrom = np.array([-(-int(store.chrom_sizes[c]) // LANDSCAPE_BIN_BP) for c in samples["chrom"]], dtype=np.int64)
    inside = np.clip(np.minimum(first + context_bins, n_chrom) - np.maximum(first, 0), 0, context_bins)
    return ((context_bins - inside) / context_bins).astype(np.float64)


def off_chromosome_windows(store, samples: pd.DataFrame, context_bins: int, policy: str = "pad", *,
                           id_column: str = "gene_id", what: str = "") -> tuple[np.ndarray, np.ndarray, dict]:
    """Apply the off-chromosome policy to windows: ``(padded fraction, keep mask, summary entries)``.

    ``pad`` keeps every window (zeros beyond the chromosome end) and warns; ``skip`` drops the windows
    that run off and warns. The summary entries record the policy and the counts.
    """
    if policy not in ("pad", "skip"):
        raise InputError(f"off_chromosome must be 'pad' or 'skip', got {policy!r}")
    frac = padded_fraction(store, samples, context_bins) if len(samples) else np.zeros(0)
    off = frac > 0
    keep = ~off if policy == "skip" else np.ones(len(frac), dtype=bool)
    n = int(off.sum())
    if n:
        ids = ", ".join(map(str, samples.loc[off, id_column].head(3)))
        act = ("skipped (--off-chromosome skip)" if policy == "skip" else
               "zero-filled beyond the chromosome end (column padded_fraction; --off-chromosome skip drops them)")
        warnings.warn(f"{n} {what + ' ' if what else ''}window(s) run off their chromosome "
                      f"({ids}{', ...' if n > 3 else ''}): {act}", ClasterWarning, stacklevel=3)
    return frac, keep, {"off_chromosome": policy, "n_windows_off_chromosome": n,
                        "n_windows_skipped_off_chromosome": n if policy == "skip" else 0}


def predict_profiles(predictor, store, samples: pd.DataFrame, *, batch_size: int = 64,
                     progress: bool = True) -> np.ndarray:
    """(N, output_bins) float32 predicted signal per 1 kbp bin for each window of ``samples``.

    The windows are cut one chromosome at a time, so memory holds one chromosome's tracks (and
    contact windows), not the genome's.
    """
    predictor.check_store(store)
    samples = samples.reset_index(drop=True)
    out = np.empty((len(samples), predictor.output_bins), dtype=np.float32)
    for _, grp in samples.groupby("chrom", sort=False):
        windows = predictor.windows(store, grp, with_target=False)
        out[grp.index.to_numpy()] = predictor.predict_samples(windows, batch_size=batch_size, progress=progress)
        del windows
    return out


def profiles_frame(samples: pd.DataFrame, profiles: np.ndarray) -> pd.DataFrame:
    """Wide table: the sample columns then ``bin_{k}`` for k = -half..half (kbp from the centre)."""
    half = profiles.shape[1] // 2
    cols = [f"bin_{k}" for k in range(-half, half + 1)]
    return pd.concat([samples.reset_index(drop=True), pd.DataFrame(profiles, columns=cols)], axis=1)


def write_prediction_bigwig(path: str | Path, samples: pd.DataFrame, profiles: np.ndarray,
                            chrom_sizes: dict[str, int], *, bin_bp: int = 100) -> None:
    """Write the predicted signal as a bigWig at ``bin_bp`` resolution (nearest-centre rule, see module doc)."""
    from claster.io.writers import write_bigwig

    half = profiles.shape[1] // 2
    values_by_chrom = {}
    for chrom, grp in samples.groupby("chrom", sort=False):
        n = -(-chrom_sizes[chrom] // bin_bp)
        best_dist = np.full(n, np.inf)
        values = np.full(n, np.nan, dtype=np.float32)
        centres = (np.arange(n) * bin_bp + bin_bp // 2).astype(np.int64)
        for i, centre in zip(grp.index, grp["tss_bp"].to_numpy(), strict=True):
            lo = max(0, (centre - (half * TARGET_BIN_BP + TARGET_BIN_BP // 2)) // bin_bp)
            hi = min(n, (centre + half * TARGET_BIN_BP + TARGET_BIN_BP // 2) // bin_bp + 1)
            pos = centres[lo:hi]
            k = np.rint((pos - centre) / TARGET_BIN_BP).astype(np.int64)
            ok = np.abs(k) <= half
            d = np.abs(pos - centre).astype(float)
            better = ok & (d < best_dist[lo:hi])
            sel = np.nonzero(better)[0]
            values[lo + sel] = profiles[i, k[sel] + half]
            best_dist[lo + sel] = d[sel]
        values_by_chrom[chrom] = (values, bin_bp)
    write_bigwig(Path(path), {c: chrom_sizes[c] for c in values_by_chrom}, values_by_chrom)


def predict(run, store_path, *, genes=None, chrom=None, regions=None, tile_bp=None, all_genes: bool = False, out,
            device: str = "cpu", batch_size: int = 64, bigwig: bool = True, progress: bool = True,
            match_scale: str = "none", off_chromosome: str = "pad") -> dict:
    """Predict and write ``out/profiles.tsv``, ``out/gene_body_means.tsv``, ``out/predicted.bw`` and
    ``out/summary.json``.

    ``match_scale``: rescale the store's tracks onto the training distribution first ("none",
    "promoter-median", "quantile"; :func:`claster.qc.match_scale`).
    ``off_chromosome``: windows whose landscape runs off a chromosome end are predicted from zeros
    beyond the end (``pad``; a warning, and the ``padded_fraction`` column of both tables says how much)
    or left out (``skip``; a warning). Returns the summary dict (counts, paths, the model and its input
    check, including what scale matching was applied, and the off-chromosome policy).
    """
    from claster.data.body import gene_body_means
    from claster.io.writers import atomic_path, write_tsv
    from claster.predict.predictor import Predictor
    from claster.store import open_store

    store = open_store(store_path)
    predictor = Predictor(run, device=device, match_scale=match_scale)
    samples = select_windows(store, genes=genes, chrom=chrom, regions=regions, tile_bp=tile_bp, all_genes=all_genes)
    frac, keep, off_summary = off_chromosome_windows(store, samples, predictor.context_bins, off_chromosome)
    samples = samples.assign(padded_fraction=frac)[keep].reset_index(drop=True)
    if samples.empty:
        raise InputError("every selected window runs off its chromosome; use --off-chromosome pad")
    profiles = predict_profiles(predictor, store, samples, batch_size=batch_size, progress=progress)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_tsv(profiles_frame(samples, profiles), out / "profiles.tsv")
    means = samples.copy()
    means["pred_body_mean"] = gene_body_means(profiles, samples)
    write_tsv(means, out / "gene_body_means.tsv")
    if bigwig:
        write_prediction_bigwig(out / "predicted.bw", samples, profiles, store.chrom_sizes)
    summary = {"n_windows": len(samples), "out": str(out), "model": predictor.summary(),
               "input_check": predictor.input_check(store), **off_summary}
    with atomic_path(out / "summary.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2, default=str))
    return summary
