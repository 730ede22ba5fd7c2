"""Baselines evaluated exactly like a trained run (SPEC §5 metrics on the same test windows).

- ``linear``: ridge regression from promoter marks to the 401-bin profile. Features: the mean of each
  input track over TSS ±1 kbp and ±5 kbp (log1p), fitted per output bin on log1p(target) of the
  training genes (both orientations: the reversed window has the same promoter features and the
  reversed profile), predictions back-transformed with expm1 and clipped at 0.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from claster.errors import InputError
from claster.units import LANDSCAPE_BIN_BP

__all__ = ["promoter_features", "fit_ridge", "linear_baseline"]

FLANKS_BP = (1_000, 5_000)


def promoter_features(store, samples: pd.DataFrame, flanks_bp: tuple[int, ...] = FLANKS_BP) -> np.ndarray:
    """(N, T * len(flanks_bp)) float64: log1p of each track's mean over TSS ± flank, per flank."""
    cols = []
    for r in samples.itertuples():
        tracks = store.tracks(r.chrom)
        b = int(r.tss_bp) // LANDSCAPE_BIN_BP
        feats = []
        for f in flanks_bp:
            k = f // LANDSCAPE_BIN_BP
            feats.append(np.asarray(tracks[:, max(b - k, 0) : b + k + 1], dtype=np.float64).mean(axis=1))
        cols.append(np.concatenate(feats))
    return np.log1p(np.maximum(np.asarray(cols), 0))


def fit_ridge(x: np.ndarray, y: np.ndarray, alpha: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Ridge regression with an unpenalised intercept: returns (coef (F, K), intercept (K,))."""
    mx, my = x.mean(0), y.mean(0)
    xc, yc = x - mx, y - my
    coef = np.linalg.solve(xc.T @ xc + alpha * np.eye(x.shape[1]), xc.T @ yc)
    return coef, my - mx @ coef


def linear_baseline(store_path, *, out, split: str = "test", output_bins: int = 401, alpha: float = 1.0) -> dict:
    """Fit on the training genes, evaluate on ``split``; writes ``out/metrics.json`` like ``evaluate``."""
    from claster.evaluate.evaluation import evaluate_arrays
    from claster.data.windows import cut_target
    from claster.io.writers import write_tsv
    from claster.store import open_store

    store = open_store(store_path)
    genes = store.genes[store.genes["usable"].astype(bool)]
    train, test = genes[genes["split"] == "train"], genes[genes["split"] == split]
    if train.empty or test.empty:
        raise InputError(f"need usable train and {split} genes in {store.path}")

    def targets(df):
        return np.stack([cut_target(store, r.chrom, int(r.tss_bp), n_bins=output_bins) for r in df.itertuples()])

    x_tr, y_tr = promoter_features(store, train), targets(train)
    x_fit = np.concatenate([x_tr, x_tr])
    y_fit = np.log1p(np.concatenate([y_tr, y_tr[:, ::-1]]))
    coef, icpt = fit_ridge(x_fit, y_fit, alpha)
    test = test.reset_index(drop=True)
    pred = np.maximum(np.expm1(promoter_features(store, test) @ coef + icpt), 0).astype(np.float32)
    true = targets(test).astype(np.float32)
    metrics, table = evaluate_arrays(pred, true, test)
    metrics.update({"variant": "linear_promoter_baseline", "split": split, "alpha": alpha,
                    "features": f"log1p mean of each track over TSS +-{FLANKS_BP} bp"})
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_tsv(table, out / "per_gene.tsv")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return metrics
