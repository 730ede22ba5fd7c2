"""A fused enhancer–gene score the paper did not try: the model's ratio-to-max and a distance prior.

``fused_score = sigmoid(w0 + w1 * score + w2 * log10(distance_bp + 1 kbp))``, the weights fitted by
L2-regularised logistic regression on links of the *training* chromosomes against their truth (the
test chromosome never enters the fit). Links without a model score use 0 (no predicted effect).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from claster.errors import InputError

__all__ = ["FusedScore", "fit_fused_score", "link_features"]


def link_features(score: np.ndarray, distance_bp: np.ndarray) -> np.ndarray:
    """(N, 2) float64: the model score (NaN -> 0) and log10(distance + 1 kbp)."""
    s = np.nan_to_num(np.asarray(score, dtype=np.float64), nan=0.0)
    d = np.log10(np.abs(np.asarray(distance_bp, dtype=np.float64)) + 1_000.0)
    return np.column_stack([s, d])


class FusedScore:
    """Logistic model on :func:`link_features`, with feature standardisation stored."""

    def __init__(self, coef: np.ndarray, intercept: float, mean: np.ndarray, std: np.ndarray) -> None:
        self.coef, self.intercept, self.mean, self.std = coef, float(intercept), mean, std

    def __call__(self, score: np.ndarray, distance_bp: np.ndarray) -> np.ndarray:
        z = (link_features(score, distance_bp) - self.mean) / self.std
        return 1.0 / (1.0 + np.exp(-(z @ self.coef + self.intercept)))

    def apply(self, links: pd.DataFrame, *, score_col: str = "score", out_col: str = "fused_score") -> pd.DataFrame:
        """A copy of ``links`` with ``out_col`` added (needs ``score_col`` and ``distance``)."""
        missing = [c for c in (score_col, "distance") if c not in links.columns]
        if missing:
            raise InputError(f"the links lack column(s) {', '.join(missing)}; pass a `claster link` output")
        out = links.copy()
        out[out_col] = self(out[score_col].to_numpy(), out["distance"].to_numpy())
        return out

    def to_dict(self) -> dict:
        return {"coef": self.coef.tolist(), "intercept": self.intercept, "mean": self.mean.tolist(),
                "std": self.std.tolist(), "features": ["score", "log10(distance_bp + 1000)"]}


def fit_fused_score(score: np.ndarray, distance_bp: np.ndarray, label: np.ndarray, *, l2: float = 1e-2) -> FusedScore:
    """Fit the logistic fusion on labelled pairs (``label`` bool, e.g. from a simulator's truth)."""
    x = link_features(score, distance_bp)
    y = np.asarray(label, dtype=np.float64)
    if y.min() == y.max():
        raise InputError("the training pairs are all positive or all negative; the fusion needs both")
    mean, std = x.mean(0), x.std(0)
    std[std == 0] = 1.0
    z = (x - mean) / std

    def loss(w):
        t = z @ w[1:] + w[0]
        nll = np.mean(np.logaddexp(0.0, t) - y * t)
        p = 1.0 / (1.0 + np.exp(-t))
        grad = np.concatenate([[np.mean(p - y)], z.T @ (p - y) / len(y)])
        return nll + l2 * np.sum(w[1:] ** 2), grad + np.concatenate([[0.0], 2 * l2 * w[1:]])

    res = minimize(loss, np.zeros(3), jac=True, method="L-BFGS-B")
    return FusedScore(res.x[1:], res.x[0], mean, std)
