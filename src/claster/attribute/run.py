"""``claster attribute``: integrated gradients of a trained run over a split (SPEC §8), end to end.

Writes into ``out``: ``locality.tsv`` (per track: distances holding 50/80/95 % of the attribution
mass and the 20 %-of-peak distance, in bp), ``landscape_map.npz`` (the rolled maps), the locality
figures (absolute and signed), the structure or square map figures for contact variants,
``summary.json``, and per-gene attribution bigWigs (``bigwig/<gene>/<track>.bw``) when asked.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from claster.errors import InputError

__all__ = ["attribute"]


def _standardised_batches(predictor, windows, idx: np.ndarray, batch_size: int):
    """Yield {landscape, structure} standardised input batches for the window rows ``idx``, each window in
    the orientation the model was trained in (minus-strand genes reversed for a strand-oriented model)."""
    flags = torch.from_numpy(np.array(predictor.orientation_flags(windows.samples), dtype=bool)).to(windows.device)
    for lo in range(0, len(idx), batch_size):
        rows = torch.from_numpy(idx[lo : lo + batch_size]).to(windows.device)
        x = predictor.norm_landscape.transform(windows.landscape(rows, flags[rows]))
        s = windows.structure(rows, flags[rows])
        if s is not None and predictor.norm_structure is not None:
            s = predictor.norm_structure.transform(s)
        yield {"landscape": x, "structure": s}


def attribute(run, store_path, config, *, out, device: str = "cpu", progress: bool = True,
              match_scale: str = "none") -> dict:
    """Run SPEC §8 attribution for ``config`` (an :class:`AttributionConfig`); returns the summary.

    ``match_scale`` ("none", "promoter-median", "quantile") rescales the store's tracks onto the
    training distribution first; the summary records it under ``input_check``.
    """
    from claster.attribute.ig import integrated_gradients, mean_attributions
    from claster.attribute.maps import (
        attribution_to_bigwig,
        landscape_locality_map,
        locality_stats,
        square_map,
        structure_map,
    )
    from claster.io.writers import write_tsv
    from claster.predict import Predictor
    from claster.plots import save_figure
    from claster.plots.attribution import plot_locality_profile, plot_square_map, plot_structure_map
    from claster.store import open_store

    started = time.perf_counter()
    store = open_store(store_path)
    predictor = Predictor(run, device=device, match_scale=match_scale)
    predictor.check_store(store)
    genes = store.genes[store.genes["usable"].astype(bool)]
    rng = np.random.default_rng(config.seed)

    train = genes[genes["split"] == "train"].reset_index(drop=True)
    if train.empty:
        raise InputError(f"no usable training genes in {store.path} to build the IG baseline from")
    pick = np.sort(rng.choice(len(train), size=min(config.n_baseline, len(train)), replace=False))
    base_w = predictor.windows(store, train.iloc[pick].reset_index(drop=True))
    sums, n = {}, 0
    for batch in _standardised_batches(predictor, base_w, np.arange(len(pick)), 64):
        for k, v in batch.items():
            if v is not None:
                s = v.double().sum(0)
                sums[k] = s if k not in sums else sums[k] + s
        n += len(batch["landscape"])
    baselines = {k: (v / n).float() for k, v in sums.items()}

    if config.genes:
        samples = genes[genes["gene_id"].isin(config.genes) | genes["gene_name"].isin(config.genes)]
        if samples.empty:
            raise InputError(f"none of {config.genes} is a usable gene of the store; check the names")
    else:
        samples = genes[genes["split"] == config.split]
        if samples.empty:
            raise InputError(f"no usable {config.split} genes in {store.path}")
    samples = samples.reset_index(drop=True)
    if config.max_samples is not None and len(samples) > config.max_samples:
        keep = np.sort(rng.choice(len(samples), size=config.max_samples, replace=False))
        samples = samples.iloc[keep].reset_index(drop=True)
    windows = predictor.windows(store, samples)
    bins = config.resolve_output_bins(predictor.output_bins)
    ig = dict(n_steps=config.n_steps, batch_size=config.batch_size, method=config.method,
              engine=config.engine, grad_chunk=config.grad_chunk, progress=progress)
    model = predictor.model
    mean_attr, n_samples = mean_attributions(
        model, _standardised_batches(predictor, windows, np.arange(len(samples)), 1), baselines, bins, **ig)

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names = list(predictor.track_names)
    centre = predictor.output_bins // 2
    land = mean_attr["landscape"]  # (n_bins_selected, T, W)
    jitter_rng = None if config.jitter == "average" else config.seed
    jitter_bins = 0 if config.jitter == "none" else config.jitter_bins
    abs_map = landscape_locality_map(land, bins, jitter_bins=jitter_bins, rng=jitter_rng, wrap=config.wrap,
                                     centre_bin=centre)
    signed_map = landscape_locality_map(land, bins, jitter_bins=jitter_bins, rng=jitter_rng, signed=True,
                                        wrap=config.wrap, centre_bin=centre)
    stats = locality_stats(abs_map, track_names=names)
    write_tsv(stats, out / "locality.tsv")
    np.savez_compressed(out / "landscape_map.npz", abs_map=abs_map, signed_map=signed_map,
                        output_bins=np.asarray(bins), track_names=np.asarray(names))
    save_figure(plot_locality_profile(abs_map, names), out / "locality.png")
    save_figure(plot_locality_profile(signed_map, names, signed=True), out / "locality_signed.png")

    if "structure" in mean_attr:
        st = mean_attr["structure"]
        if predictor.structure == "rotated":
            m = structure_map(st, bins, sigma=config.structure_sigma, crop=config.structure_crop, centre_bin=centre)
            save_figure(plot_structure_map(m.abs_map, m.row_kbp, m.col_kbp), out / "structure_map.png")
            save_figure(plot_structure_map(m.signed_map, m.row_kbp, m.col_kbp, signed=True),
                        out / "structure_map_signed.png")
        else:
            bin_bp = store.contact_bin_bp("pchic" if predictor.structure == "pchic" else "contacts")
            m = square_map(st, bins, bin_bp=bin_bp, sigma=config.square_sigma, centre_bin=centre)
            save_figure(plot_square_map(m.abs_map, m.col_kbp), out / "square_map.png")
            save_figure(plot_square_map(m.signed_map, m.col_kbp, signed=True), out / "square_map_signed.png")
        np.savez_compressed(out / "structure_map.npz", abs_map=m.abs_map, signed_map=m.signed_map,
                            row_kbp=m.row_kbp, col_kbp=m.col_kbp)

    bigwigs = []
    for g in config.bigwig_genes or []:
        hit = samples.index[(samples["gene_id"] == g) | (samples["gene_name"] == g)]
        if len(hit) == 0:
            raise InputError(f"--bigwig-genes {g} is not among the attributed genes; add it to --genes")
        r = int(hit[0])
        one = next(_standardised_batches(predictor, windows, np.array([r]), 1))
        attr = integrated_gradients(model, {k: v for k, v in one.items() if v is not None}, baselines, bins,
                                    **{**ig, "progress": False})
        row = samples.iloc[r]
        paths = attribution_to_bigwig(attr["landscape"][0], out / "bigwig" / str(row.gene_name), chrom=row.chrom,
                                      tss_bp=int(row.tss_bp), chrom_sizes=store.chrom_sizes, track_names=names,
                                      reduce=config.bigwig_reduce,
                                      reverse=bool(predictor.orientation_flags(samples.iloc[[r]])[0]))
        bigwigs.extend(str(p) for p in paths)

    summary = {
        "n_samples": n_samples, "n_output_bins": len(bins), "n_steps": config.n_steps, "split": config.split,
        "variant": predictor.variant, "wall_seconds": round(time.perf_counter() - started, 2),
        "windows_per_second": round(n_samples / (time.perf_counter() - started), 4),
        "locality": stats.to_dict(orient="records"), "bigwigs": bigwigs,
        "input_check": predictor.input_check(store),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary
