"""A fused enhancer–gene score the paper did not try: the model's effect with distance and ABC features.

Two fusions live here. :class:`LinkFusion` (``claster fuse``) is a logistic regression on every
feature of a candidate links table (``claster link --store``): model Δ, ratio-to-max, ABC score,
contact, activity and log-distance (:data:`FUSION_FEATURES`), fitted on the truth pairs of training
chromosomes and applied to others. The original two-feature fusion follows:

``fused_score = sigmoid(w0 + w1 * score + w2 * log10(distance_bp + 1 kbp))``, the weights fitted by
L2-regularised logistic regression on links of the *training* chromosomes against their truth (the
test chromosome never enters the fit). Links without a model score use 0 (no predicted effect).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from claster.errors import InputError

__all__ = [
    "FusedScore", "fit_fused_score", "link_features", "FUSION_FEATURES", "fusion_matrix", "LinkFusion",
    "match_truth_rows", "fit_link_fusion",
]


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
    coef, intercept = _fit_logistic((x - mean) / std, y, l2)
    return FusedScore(coef, intercept, mean, std)


# --------------------------------------------------------------------------------------------------
# the fused score on every feature of a candidate links table (issue 11)

#: Link columns the fusion can use, each with its transform (see :func:`fusion_matrix`).
FUSION_FEATURES: tuple[str, ...] = ("delta", "score", "ABC.Score", "contact", "activity", "distance")

_TRANSFORMS = {
    "delta": ("log10(delta + 1)", lambda v: np.log10(np.clip(v, 0, None) + 1.0), 0.0),
    "score": ("ratio-to-max", lambda v: v, 0.0),
    "ABC.Score": ("log10(ABC.Score + 1e-4)", lambda v: np.log10(np.clip(v, 0, None) + 1e-4), 0.0),
    "contact": ("log10(contact + 1e-12)", lambda v: np.log10(np.clip(v, 0, None) + 1e-12), 0.0),
    "activity": ("log10(activity + 1)", lambda v: np.log10(np.clip(v, 0, None) + 1.0), 0.0),
    "activity_x_contact": ("log10(activity_x_contact + 1e-12)",
                           lambda v: np.log10(np.clip(v, 0, None) + 1e-12), 0.0),
    "distance": ("log10(|distance| + 1000)", lambda v: np.log10(np.abs(v) + 1_000.0), None),
}


def fusion_matrix(links: pd.DataFrame, features: tuple[str, ...] | list[str]) -> np.ndarray:
    """(N, k) float64 transformed features of ``links`` (transforms in :data:`_TRANSFORMS`).

    A missing value of a model or ABC column (a pair without that feature) counts as 0 before the
    transform; a missing distance is an error.
    """
    missing = [f for f in features if f not in links.columns]
    if missing:
        raise InputError(
            f"the links lack feature column(s) {', '.join(missing)}; run `claster link --store ...` for the ABC "
            "columns, or choose --features among the columns present"
        )
    unknown = [f for f in features if f not in _TRANSFORMS]
    if unknown:
        raise InputError(f"unknown fusion feature(s) {', '.join(unknown)}; choose from {', '.join(_TRANSFORMS)}")
    cols = []
    for f in features:
        _, fn, fill = _TRANSFORMS[f]
        v = pd.to_numeric(links[f], errors="coerce").to_numpy(np.float64)
        if fill is None:
            if np.isnan(v).any():
                raise InputError(f"{int(np.isnan(v).sum())} links have no {f}; fix the links table")
        else:
            v = np.nan_to_num(v, nan=fill)
        cols.append(fn(v))
    return np.column_stack(cols) if cols else np.empty((len(links), 0))


def _fit_logistic(z: np.ndarray, y: np.ndarray, l2: float) -> tuple[np.ndarray, float]:
    def loss(w):
        t = z @ w[1:] + w[0]
        nll = np.mean(np.logaddexp(0.0, t) - y * t)
        p = 1.0 / (1.0 + np.exp(-t))
        grad = np.concatenate([[np.mean(p - y)], z.T @ (p - y) / len(y)])
        return nll + l2 * np.sum(w[1:] ** 2), grad + np.concatenate([[0.0], 2 * l2 * w[1:]])

    res = minimize(loss, np.zeros(z.shape[1] + 1), jac=True, method="L-BFGS-B")
    return res.x[1:], float(res.x[0])


class LinkFusion:
    """Logistic regression on standardised :func:`fusion_matrix` features.

    ``fused = sigmoid(intercept + sum_k coef_k * (x_k - mean_k) / std_k)``; :meth:`to_dict` writes the
    features, their transforms, the coefficients and the fit's counts.
    """

    def __init__(self, features, coef, intercept, mean, std, info: dict | None = None) -> None:
        self.features = tuple(features)
        self.coef, self.intercept = np.asarray(coef, float), float(intercept)
        self.mean, self.std = np.asarray(mean, float), np.asarray(std, float)
        self.info = dict(info or {})

    def __call__(self, links: pd.DataFrame) -> np.ndarray:
        z = (fusion_matrix(links, self.features) - self.mean) / self.std
        return 1.0 / (1.0 + np.exp(-(z @ self.coef + self.intercept)))

    def apply(self, links: pd.DataFrame, *, out_col: str = "fused_score") -> pd.DataFrame:
        """A copy of ``links`` with ``out_col`` (probability-like, in (0, 1)) added."""
        out = links.copy()
        out[out_col] = self(out)
        return out

    def to_dict(self) -> dict:
        return {
            "model": "logistic regression (L2) on standardised features",
            "features": list(self.features),
            "transforms": {f: _TRANSFORMS[f][0] for f in self.features},
            "coef": dict(zip(self.features, self.coef.tolist(), strict=True)),
            "intercept": self.intercept,
            "mean": dict(zip(self.features, self.mean.tolist(), strict=True)),
            "std": dict(zip(self.features, self.std.tolist(), strict=True)),
            **self.info,
        }


def match_truth_rows(truth: pd.DataFrame, links: pd.DataFrame, *, gene_col: str = "TargetGene") -> np.ndarray:
    """(n_truth,) int64: the row of ``links`` matching each truth pair, -1 when none.

    A match has the same chromosome and gene (``measuredGeneSymbol`` or ``measuredGeneEnsemblId``,
    whichever shares more genes with ``gene_col``) and an overlapping element; among several, the
    largest overlap, then the smallest ``distance``.
    """
    from claster.link.crispr import _pick_truth_gene_col

    tg = _pick_truth_gene_col(truth, links, gene_col)
    t = pd.DataFrame({"_c": truth["chrom"].astype(str).to_numpy(), "_g": truth[tg].astype(str).to_numpy(),
                      "_ts": truth["chromStart"].to_numpy(np.int64), "_te": truth["chromEnd"].to_numpy(np.int64),
                      "_t": np.arange(len(truth))})
    lk = pd.DataFrame({"_c": links["chr"].astype(str).to_numpy(), "_g": links[gene_col].astype(str).to_numpy(),
                       "_ls": links["start"].to_numpy(np.int64), "_le": links["end"].to_numpy(np.int64),
                       "_d": pd.to_numeric(links.get("distance", 0), errors="coerce"),
                       "_r": np.arange(len(links))})
    m = t.merge(lk, on=["_c", "_g"], how="inner")
    m["_ov"] = np.minimum(m["_te"], m["_le"]) - np.maximum(m["_ts"], m["_ls"])
    m = m[m["_ov"] > 0].sort_values(["_t", "_ov", "_d"], ascending=[True, False, True], kind="stable")
    m = m.drop_duplicates("_t")
    rows = np.full(len(truth), -1, dtype=np.int64)
    rows[m["_t"].to_numpy(np.int64)] = m["_r"].to_numpy(np.int64)
    return rows


def fit_link_fusion(
    links: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    features: tuple[str, ...] | list[str] | None = None,
    l2: float = 1e-2,
    gene_col: str = "TargetGene",
) -> LinkFusion:
    """Fit :class:`LinkFusion` on the truth pairs of ``truth`` that match a link (:func:`match_truth_rows`).

    ``features`` default: every :data:`FUSION_FEATURES` column present in ``links`` (at least one).
    Unmatched truth pairs are left out of the fit and counted in ``info["n_unmatched"]``.
    """
    if features is None:
        features = [f for f in FUSION_FEATURES if f in links.columns]
        if not features:
            raise InputError(f"the links have none of the fusion features {', '.join(FUSION_FEATURES)}")
    rows = match_truth_rows(truth, links, gene_col=gene_col)
    ok = rows >= 0
    if not ok.any():
        raise InputError("no truth pair matches a link (same gene, overlapping element); check the inputs")
    y = truth["Regulated"].to_numpy(bool)[ok].astype(np.float64)
    if y.min() == y.max():
        raise InputError("the matched training pairs are all positive or all negative; the fusion needs both")
    x = fusion_matrix(links.iloc[rows[ok]], features)
    mean, std = x.mean(0), x.std(0)
    std[std == 0] = 1.0
    coef, icpt = _fit_logistic((x - mean) / std, y, l2)
    info = {"n_truth_pairs": int(len(truth)), "n_matched": int(ok.sum()), "n_unmatched": int((~ok).sum()),
            "n_positive_matched": int(y.sum()), "l2": l2,
            "chroms": sorted(set(truth["chrom"].astype(str)))}
    return LinkFusion(features, coef, icpt, mean, std, info)
