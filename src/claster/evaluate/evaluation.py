"""``claster evaluate``: the metrics of SPEC §5 on a split, a per-gene table and the figures.

Writes into ``out``:
- ``metrics.json``: binwise_pearson, binwise_spearman, gene_pearson, gene_spearman, n_samples,
  n_points, the split, the model summary and the paper's numbers for comparison;
- ``per_gene.tsv``: one row per gene (profile correlations, observed and predicted body means);
- ``predictions.npz``: ``pred`` and ``true`` (N, 401) float32 and the gene ids, to recompute anything;
- ``density.png`` (the paper's 2-D histogram), ``profiles.png`` (chosen genes with gene models).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from claster.errors import InputError

__all__ = ["evaluate", "evaluate_arrays", "PAPER_BINWISE", "compare_runs"]

# SPEC §5: bin-wise Pearson / Spearman on chr4 reported in the paper.
PAPER_BINWISE = {
    "landscape": (0.8852, 0.7814),
    "landscape_attention": (0.8808, 0.7815),
    "microc_rotated": (0.8690, 0.7717),
    "microc_square": (0.8025, 0.7066),
    "promchic": (0.8736, 0.7718),
}


def evaluate_arrays(pred: np.ndarray, true: np.ndarray, samples: pd.DataFrame) -> tuple[dict, pd.DataFrame]:
    """Metrics dict and per-gene table for (N, 401) predictions vs observations of ``samples``."""
    from claster.evaluate.metrics import evaluation_table, summarise

    table = evaluation_table(pred, true, samples)
    return dict(summarise(table, pred, true)), table


def _choose_genes(table: pd.DataFrame, n: int) -> list[int]:
    """Row indices of ``n`` informative genes: spread over observed expression, most expressed first."""
    order = table.sort_values("true_body_mean", ascending=False).index.to_numpy()
    if len(order) <= n:
        return list(order)
    picks = np.linspace(0, len(order) // 2, n).astype(int)
    return list(order[picks])


def evaluate(run, store_path, *, split: str = "test", out, device: str = "cpu", batch_size: int = 64,
             plot_genes: list[str] | None = None, n_plot_genes: int = 4, progress: bool = True,
             match_scale: str = "none") -> dict:
    """Evaluate a trained run on the usable forward samples of ``split``; returns the metrics dict.

    ``match_scale`` ("none", "promoter-median", "quantile") rescales the store's tracks onto the
    training distribution first; the metrics record it under ``input_check``.
    """
    from claster.predict import Predictor
    from claster.io.writers import write_tsv
    from claster.plots import save_figure
    from claster.plots.evaluation import plot_density
    import torch

    from claster.store import open_store

    store = open_store(store_path)
    predictor = Predictor(run, device=device, match_scale=match_scale)
    predictor.check_store(store)
    genes = store.genes
    if split not in set(genes["split"]):
        raise InputError(f"split {split!r} has no genes in {store.path}; choose one of {sorted(set(genes['split']))}")
    samples = genes[(genes["split"] == split) & genes["usable"].astype(bool)].reset_index(drop=True)
    if samples.empty:
        raise InputError(f"no usable {split} genes in {store.path}; see `claster store info` for the reasons")
    windows = predictor.windows(store, samples, with_target=True)
    pred = predictor.predict_samples(windows, batch_size=batch_size, progress=progress)
    true = np.concatenate([
        windows.target(torch.arange(lo, min(len(samples), lo + 4096), device=windows.device)).cpu().numpy()
        for lo in range(0, len(samples), 4096)
    ])
    metrics, table = evaluate_arrays(pred, true, samples)
    paper = PAPER_BINWISE.get(predictor.variant)
    metrics.update({
        "split": split,
        "variant": predictor.variant,
        "run": str(run),
        "paper_binwise_pearson": paper[0] if paper else None,
        "paper_binwise_spearman": paper[1] if paper else None,
        "input_check": predictor.input_check(store),
    })
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_tsv(table, out / "per_gene.tsv")
    np.savez_compressed(out / "predictions.npz", pred=pred, true=true, gene_id=samples["gene_id"].to_numpy(str))
    save_figure(plot_density(pred, true), out / "density.png")
    if plot_genes:
        rows = []
        for g in plot_genes:
            hit = samples.index[(samples["gene_id"] == g) | (samples["gene_name"] == g)]
            if len(hit) == 0:
                raise InputError(f"gene {g} is not among the usable {split} genes; pick another with --plot-genes")
            rows.append(int(hit[0]))
    else:
        rows = _choose_genes(table, n_plot_genes)
    fig = _profiles_figure(pred, true, samples, rows, store)
    save_figure(fig, out / "profiles.png")
    tmp = out / "metrics.json.tmp"
    tmp.write_text(json.dumps(metrics, indent=2))
    tmp.replace(out / "metrics.json")
    return metrics


def _profiles_figure(pred, true, samples, rows, store):
    """One two-panel block per chosen gene: observed vs predicted profile over the gene models."""
    from matplotlib.figure import Figure

    from claster.plots.evaluation import plot_profiles

    n = len(rows)
    fig = Figure(figsize=(10, 3.2 * n), layout="constrained")
    grid = fig.add_gridspec(2 * n, 1, height_ratios=[3, 1] * n)
    half_bp = (pred.shape[1] // 2 + 1) * 1000
    genes = store.genes
    for j, r in enumerate(rows):
        s = samples.iloc[r]
        near = genes[(genes["chrom"] == s.chrom) & (genes["end_bp"] > s.tss_bp - half_bp)
                     & (genes["start_bp"] < s.tss_bp + half_bp)]
        ax_p = fig.add_subplot(grid[2 * j])
        ax_g = fig.add_subplot(grid[2 * j + 1], sharex=ax_p)
        plot_profiles({"observed": true[r], "predicted": pred[r]}, near, int(s.tss_bp),
                      title=f"{s.gene_name} ({s.strand} strand)", chrom=str(s.chrom), axes=(ax_p, ax_g))
    return fig


def compare_runs(metric_files: list[Path], out: Path) -> None:
    """Bar chart comparing several ``metrics.json`` files (one bar group per run)."""
    from claster.plots import save_figure
    from claster.plots.evaluation import plot_run_comparison

    metrics = {}
    for f in metric_files:
        f = Path(f)
        if f.is_dir():
            f = f / "metrics.json"
        if not f.is_file():
            raise InputError(f"{f} does not exist; pass evaluation directories or their metrics.json")
        m = json.loads(f.read_text())
        metrics[m.get("variant", f.parent.name) + f" ({f.parent.name})"] = m
    save_figure(plot_run_comparison(metrics), out)
