"""The CRISPRi enhancer–gene benchmark of SPEC §7, for any link file.

A *truth* table lists tested (element, gene) pairs in the EPCrisprBenchmark format (Gschwind et al.
2023; GRCh38): element ``chrom``/``chromStart``/``chromEnd`` (0-based, half-open), target gene
``measuredGeneSymbol``, label ``Regulated`` (bool), and the gene's TSS ``startTSS`` and/or the
pair's ``distanceToTSS`` (bp). :func:`read_crispr_truth` reads such a file;
:func:`truth_from_simulation` turns a simulated genome's ``truth/pairs.tsv`` into the same schema.

A *link* table is ABC/ENCODE-rE2G style: ``chr``, ``start``, ``end``, ``TargetGene`` and a score
column (``score`` by default: the model's ratio-to-max), one row per (element, gene).

:func:`benchmark_links` scores every truth pair with the maximum score over the links of the same
gene whose element overlaps the truth element (``link.start < truth.end`` and
``link.end > truth.start``, same chromosome). Pairs no link overlaps are *unmatched*: they get a
score strictly below every link score (they rank last, tied), and are counted. It then reports
AUPRC (average precision), AUROC, precision at 70 % recall and the best-F1 confusion matrix for the
links and for two baselines computed on the same pairs:

- **distance**: score ``-distance_bp``. ``distance_bp`` is the truth file's ``|distanceToTSS|``
  when that column is present (the benchmark's own element-centre-to-TSS distance), else
  ``|floor((chromStart + chromEnd) / 2) - startTSS|``. On the K562 training file the column gives
  AUPRC 0.4377 and the recomputed midpoint distance 0.4150 (about 14 % of pairs have a
  ``distanceToTSS`` that disagrees with the GRCh38 coordinates by more than 1 kbp).
- **random**: uniform scores from ``numpy.random.default_rng(seed)``; its AUPRC is near the base rate.

The metrics follow scikit-learn's definitions exactly (without depending on it): thresholds are the
distinct scores, tied scores enter together; ``AP = sum_n (R_n - R_{n-1}) P_n`` over thresholds in
decreasing order with ``R_0 = 0``; AUROC is the trapezoidal area under the ROC step points (ties
count one half).
"""

from __future__ import annotations

import warnings
from os import PathLike
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from claster.errors import ClasterWarning, InputError

__all__ = [
    "TRUTH_REQUIRED",
    "LINK_REQUIRED",
    "read_crispr_truth",
    "check_truth",
    "truth_from_simulation",
    "read_links",
    "check_links",
    "precision_recall_curve",
    "roc_curve",
    "average_precision",
    "roc_auc",
    "precision_at_recall",
    "best_f1",
    "classification_metrics",
    "score_truth_pairs",
    "benchmark_links",
    "metrics_json",
    "restrict_truth",
    "write_benchmark",
]

TRUTH_REQUIRED: tuple[str, ...] = ("chrom", "chromStart", "chromEnd", "measuredGeneSymbol", "Regulated")
"""Columns every truth table needs (plus one of ``distanceToTSS`` or ``startTSS``)."""
LINK_REQUIRED: tuple[str, ...] = ("chr", "start", "end")
"""Columns every link table needs (plus the gene and score columns: ``TargetGene``, ``score`` by default)."""

SIM_TRUTH_COLUMNS: tuple[str, ...] = (
    "enhancer_id",
    "chrom",
    "start_bp",
    "end_bp",
    "gene_id",
    "gene_name",
    "tss_bp",
    "distance_bp",
    "regulated",
)

DistanceSource = Literal["auto", "column", "midpoint"]

_TRUE = {"true", "t", "1", "yes", "y", "1.0"}
_FALSE = {"false", "f", "0", "no", "n", "0.0"}


# --------------------------------------------------------------------------------------------------
# reading and checking tables


def _read_tsv(path: str | PathLike[str], what: str) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{what} file {p} does not exist; check the path")
    try:
        return pd.read_csv(p, sep="\t", comment=None, low_memory=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as e:
        raise InputError(f"cannot read {what} file {p} as a tab-separated table with a header: {e}") from e


def _parse_bool(values: pd.Series, where: str) -> pd.Series:
    """Bool/0-1/"TRUE"/"FALSE" → boolean Series with <NA> for anything else."""
    if values.dtype == bool:
        return values.astype("boolean")
    if pd.api.types.is_numeric_dtype(values):
        out = pd.Series(pd.NA, index=values.index, dtype="boolean")
        out[values == 1] = True
        out[values == 0] = False
        return out
    s = values.astype("string").str.strip().str.lower()
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[s.isin(_TRUE).fillna(False).astype(bool)] = True
    out[s.isin(_FALSE).fillna(False).astype(bool)] = False
    return out


def check_truth(truth: pd.DataFrame, *, source: str = "truth table") -> pd.DataFrame:
    """Validate and normalise a truth table; returns a copy.

    Raises :class:`InputError` naming the missing columns, or when no labelled pair is left.
    Real benchmark files are messy, so single rows never stop the run; each change is counted:

    - ``Regulated`` becomes bool; rows whose label is missing or not a boolean are dropped
      (``unlabelled``);
    - rows whose ``chromStart``/``chromEnd`` are missing, not integers, negative, or with
      ``chromEnd < chromStart`` cannot be interpreted and are dropped (``bad_coordinates``);
    - rows with neither a ``distanceToTSS`` nor a ``startTSS`` value cannot be placed relative to
      their gene and are dropped (``no_tss_or_distance``);
    - a zero-length element (``chromEnd == chromStart``, e.g. an MPRA-derived position) is read as
      the 1 bp at ``chromStart``: ``chromEnd = chromStart + 1`` (``zero_length_widened``).

    The counts are in ``df.attrs["truth_rows"]`` (``{"unlabelled", "bad_coordinates",
    "no_tss_or_distance", "zero_length_widened"}``; ``df.attrs["n_dropped_unlabelled"]`` keeps the first) and, when any is
    non-zero, in one :class:`ClasterWarning`. Coordinates become int64 (0-based half-open, bp).
    """
    missing = [c for c in TRUTH_REQUIRED if c not in truth.columns]
    if not ("distanceToTSS" in truth.columns or "startTSS" in truth.columns):
        missing.append("distanceToTSS or startTSS")
    if missing:
        raise InputError(
            f"{source} lacks required column(s) {', '.join(missing)}; an EPCrisprBenchmark-format file has "
            f"{', '.join(TRUTH_REQUIRED)} and distanceToTSS/startTSS (see README_CRISPR_comparison.md)"
        )
    df = truth.copy()
    label = _parse_bool(df["Regulated"], source)
    unlabelled = label.isna().to_numpy()
    start = pd.to_numeric(df["chromStart"], errors="coerce").to_numpy(np.float64)
    end = pd.to_numeric(df["chromEnd"], errors="coerce").to_numpy(np.float64)
    with np.errstate(invalid="ignore"):
        bad = (~np.isfinite(start) | ~np.isfinite(end) | (start != np.round(start)) | (end != np.round(end))
               | (start < 0) | (end < start))
    bad &= ~unlabelled  # counted once, as unlabelled
    has_tss = np.zeros(len(df), dtype=bool)
    for c in ("distanceToTSS", "startTSS"):
        if c in df.columns:
            has_tss |= np.isfinite(pd.to_numeric(df[c], errors="coerce").to_numpy(np.float64))
    no_tss = ~has_tss & ~unlabelled & ~bad
    zero = ~bad & ~unlabelled & ~no_tss & (end == start)
    counts = {"unlabelled": int(unlabelled.sum()), "bad_coordinates": int(bad.sum()),
              "no_tss_or_distance": int(no_tss.sum()), "zero_length_widened": int(zero.sum())}
    keep = ~(unlabelled | bad | no_tss)
    df["chromEnd"] = np.where(zero, start + 1, end)  # the 1 bp at chromStart
    df["chromStart"] = start
    df = df.loc[keep].reset_index(drop=True)
    df["Regulated"] = label[keep].astype(bool).to_numpy()
    for c in ("chromStart", "chromEnd"):
        df[c] = df[c].astype(np.int64)
    notes = []
    if counts["unlabelled"]:
        notes.append(f"dropped {counts['unlabelled']} pairs whose Regulated label is missing or not TRUE/FALSE")
    if counts["bad_coordinates"]:
        notes.append(f"dropped {counts['bad_coordinates']} pairs whose chromStart/chromEnd are missing, "
                     "not integers, negative or reversed")
    if counts["no_tss_or_distance"]:
        notes.append(f"dropped {counts['no_tss_or_distance']} pairs with neither distanceToTSS nor startTSS")
    if counts["zero_length_widened"]:
        notes.append(f"read {counts['zero_length_widened']} zero-length elements (chromEnd == chromStart) "
                     "as the 1 bp at chromStart")
    if notes:
        warnings.warn(f"{source}: " + "; ".join(notes), ClasterWarning, stacklevel=2)
    df["chrom"] = df["chrom"].astype(str)
    df["measuredGeneSymbol"] = df["measuredGeneSymbol"].astype(str)
    if len(df) == 0:
        raise InputError(f"{source} has no usable labelled pairs ({'; '.join(notes)}); check the file")
    df.attrs["n_dropped_unlabelled"] = counts["unlabelled"]
    df.attrs["truth_rows"] = counts
    df.attrs["source"] = source
    return df


def read_crispr_truth(path: str | PathLike[str]) -> pd.DataFrame:
    """Read an EPCrisprBenchmark-format truth file (TSV, optionally gzipped).

    Parameters
    ----------
    path
        E.g. ``EPCrisprBenchmark_combined_data.training_K562.GRCh38.tsv.gz``.

    Returns
    -------
    DataFrame with at least ``chrom``, ``chromStart``, ``chromEnd`` (int64, 0-based half-open, bp),
    ``measuredGeneSymbol`` (str), ``Regulated`` (bool), and ``distanceToTSS`` and/or ``startTSS``
    (bp); every other column of the file is kept. See :func:`check_truth`.
    """
    return check_truth(_read_tsv(path, "truth"), source=f"truth file {Path(path)}")


def truth_from_simulation(simdir: str | PathLike[str]) -> pd.DataFrame:
    """The simulator's enhancer–gene truth (``SIMDIR/truth/pairs.tsv``) in the truth schema.

    ``pairs.tsv`` has ``enhancer_id, chrom, start_bp, end_bp, gene_id, gene_name, tss_bp,
    distance_bp, contact, effect, regulated``. Mapping: ``start_bp/end_bp → chromStart/chromEnd``,
    ``gene_name → measuredGeneSymbol``, ``gene_id → measuredGeneEnsemblId``, ``tss_bp → startTSS``
    (``endTSS = tss_bp + 1``), ``|distance_bp| → distanceToTSS``, ``regulated → Regulated``,
    ``enhancer_id|gene_name → name``; ``contact`` and ``effect`` are kept when present.
    """
    path = Path(simdir) / "truth" / "pairs.tsv"
    if not path.is_file():
        raise InputError(
            f"{path} does not exist; pass the folder written by `claster simulate` (it holds truth/pairs.tsv)"
        )
    raw = _read_tsv(path, "simulated truth")
    missing = [c for c in SIM_TRUTH_COLUMNS if c not in raw.columns]
    if missing:
        raise InputError(
            f"simulated truth {path} lacks column(s) {', '.join(missing)}; re-run `claster simulate`"
        )
    df = pd.DataFrame(
        {
            "chrom": raw["chrom"].astype(str),
            "chromStart": raw["start_bp"],
            "chromEnd": raw["end_bp"],
            "name": raw["gene_name"].astype(str) + "|" + raw["enhancer_id"].astype(str),
            "measuredGeneSymbol": raw["gene_name"].astype(str),
            "measuredGeneEnsemblId": raw["gene_id"].astype(str),
            "chrTSS": raw["chrom"].astype(str),
            "startTSS": raw["tss_bp"].astype(np.int64),
            "endTSS": raw["tss_bp"].astype(np.int64) + 1,
            "distanceToTSS": raw["distance_bp"].abs(),
            "Regulated": raw["regulated"],
            "enhancer_id": raw["enhancer_id"].astype(str),
        }
    )
    for extra in ("contact", "effect"):
        if extra in raw.columns:
            df[extra] = raw[extra]
    return check_truth(df, source=f"simulated truth {path}")


def check_links(
    links: pd.DataFrame, *, score_col: str = "score", gene_col: str = "TargetGene", source: str = "link table"
) -> pd.DataFrame:
    """Validate a link table; returns a copy with int64 ``start``/``end`` and float64 ``score_col``.

    Raises :class:`InputError` naming missing columns (listing the numeric columns that could serve
    as a score when ``score_col`` is absent). Links whose score is NaN are dropped, counted in
    ``df.attrs["n_nan_score"]``.
    """
    need = [*LINK_REQUIRED, gene_col]
    missing = [c for c in need if c not in links.columns]
    if missing:
        raise InputError(
            f"{source} lacks column(s) {', '.join(missing)}; an ABC/ENCODE-rE2G-style link file has "
            f"{', '.join(need)} and a score column"
        )
    if score_col not in links.columns:
        numeric = [
            c for c in links.columns if pd.api.types.is_numeric_dtype(links[c]) and c not in ("start", "end")
        ]
        raise InputError(
            f"{source} has no score column {score_col!r}; pick one with --score-col "
            f"(numeric columns present: {', '.join(map(str, numeric)) or 'none'})"
        )
    df = links.copy()
    score = pd.to_numeric(df[score_col], errors="coerce")
    n_nan = int(score.isna().sum())
    df[score_col] = score.astype(np.float64)
    df = df.loc[score.notna().to_numpy()].reset_index(drop=True)
    for c in ("start", "end"):
        col = pd.to_numeric(df[c], errors="coerce")
        if col.isna().any():
            n = int(col.isna().sum())
            raise InputError(f"{source}: column {c} has {n} non-integer values; fix the file")
        df[c] = col.astype(np.int64)
    df["chr"] = df["chr"].astype(str)
    df[gene_col] = df[gene_col].astype(str)
    df.attrs["n_nan_score"] = n_nan
    return df


def read_links(
    path: str | PathLike[str], *, score_col: str = "score", gene_col: str = "TargetGene"
) -> pd.DataFrame:
    """Read an ABC/ENCODE-rE2G-style link TSV (``chr, start, end, name, TargetGene, ..., score``)."""
    return check_links(
        _read_tsv(path, "links"), score_col=score_col, gene_col=gene_col, source=f"links file {Path(path)}"
    )


# --------------------------------------------------------------------------------------------------
# curves and metrics (scikit-learn's definitions)


def _check_scores(y_true: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true).astype(bool).ravel()
    s = np.asarray(score, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise InputError(f"labels have {y.size} values but scores have {s.size}; pass one score per pair")
    if y.size == 0:
        raise InputError("no pairs to score")
    if np.isnan(s).any():
        n_nan = int(np.isnan(s).sum())
        raise InputError(f"{n_nan} scores are NaN; fill or drop them before computing metrics")
    return y, s


def _binary_clf_curve(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative TP and FP counts at each distinct score, in decreasing score order."""
    order = np.argsort(s, kind="mergesort")[::-1]
    s, y = s[order], y[order]
    distinct = np.flatnonzero(s[1:] != s[:-1])
    idx = np.r_[distinct, y.size - 1]
    tps = np.cumsum(y, dtype=np.int64)[idx]
    fps = idx + 1 - tps
    return fps, tps, s[idx]


def precision_recall_curve(
    y_true: np.ndarray, score: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision and recall at each distinct score threshold (``score >= t`` predicted positive).

    Returns ``precision, recall, thresholds`` ordered by *decreasing* threshold, each ``(T,)``
    float64, starting from the highest score (no ``(recall 0, precision 1)`` point is added).
    Recall is NaN when there is no positive.
    """
    y, s = _check_scores(y_true, score)
    fps, tps, thr = _binary_clf_curve(y, s)
    precision = tps / (tps + fps)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = tps / tps[-1] if tps[-1] > 0 else np.full(tps.shape, np.nan)
    return precision.astype(np.float64), np.asarray(recall, dtype=np.float64), thr


def roc_curve(y_true: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False and true positive rates at each distinct threshold, with the ``(0, 0)`` start point.

    Returns ``fpr, tpr, thresholds`` (``(T + 1,)``, the first threshold ``+inf``), NaN rates when a
    class is absent.
    """
    y, s = _check_scores(y_true, score)
    fps, tps, thr = _binary_clf_curve(y, s)
    fps, tps = np.r_[0, fps], np.r_[0, tps]
    fpr = fps / fps[-1] if fps[-1] > 0 else np.full(fps.shape, np.nan)
    tpr = tps / tps[-1] if tps[-1] > 0 else np.full(tps.shape, np.nan)
    return fpr.astype(np.float64), tpr.astype(np.float64), np.r_[np.inf, thr]


def average_precision(y_true: np.ndarray, score: np.ndarray) -> float:
    """Average precision ``sum_n (R_n - R_{n-1}) P_n`` (step-wise, scikit-learn's); NaN without positives."""
    precision, recall, _ = precision_recall_curve(y_true, score)
    if np.isnan(recall).any():
        return float("nan")
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def roc_auc(y_true: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (trapezoids: a positive–negative tie counts 1/2); NaN with one class."""
    fpr, tpr, _ = roc_curve(y_true, score)
    if np.isnan(fpr).any() or np.isnan(tpr).any():
        return float("nan")
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))


def precision_at_recall(y_true: np.ndarray, score: np.ndarray, min_recall: float = 0.7) -> dict[str, float]:
    """Precision at the highest threshold whose recall reaches ``min_recall``.

    Returns ``precision``, ``recall`` (the recall actually reached) and ``threshold``; NaNs without
    positives.
    """
    precision, recall, thr = precision_recall_curve(y_true, score)
    reached = recall >= min_recall - 1e-12
    if np.isnan(recall).any() or not reached.any():
        return {"precision": float("nan"), "recall": float("nan"), "threshold": float("nan")}
    i = int(np.argmax(reached))
    return {"precision": float(precision[i]), "recall": float(recall[i]), "threshold": float(thr[i])}


def best_f1(y_true: np.ndarray, score: np.ndarray) -> dict[str, float | int]:
    """The threshold with the highest F1 (``score >= threshold`` predicted positive) and its confusion matrix.

    Ties go to the highest threshold. Returns ``f1``, ``threshold``, ``precision``, ``recall``,
    ``tp``, ``fp``, ``fn``, ``tn``.
    """
    y, s = _check_scores(y_true, score)
    fps, tps, thr = _binary_clf_curve(y, s)
    n_pos = int(y.sum())
    n_neg = int(y.size - n_pos)
    denom = tps + fps + n_pos  # 2TP + FP + FN = TP + FP + P
    f1 = np.where(denom > 0, 2.0 * tps / np.maximum(denom, 1), 0.0)
    i = int(np.argmax(f1))
    tp, fp = int(tps[i]), int(fps[i])
    return {
        "f1": float(f1[i]),
        "threshold": float(thr[i]),
        "precision": float(tp / (tp + fp)) if tp + fp else float("nan"),
        "recall": float(tp / n_pos) if n_pos else float("nan"),
        "tp": tp,
        "fp": fp,
        "fn": n_pos - tp,
        "tn": n_neg - fp,
    }


def classification_metrics(
    y_true: np.ndarray, score: np.ndarray, *, min_recall: float = 0.7
) -> dict[str, Any]:
    """``auprc``, ``auroc``, ``precision_at_70_recall`` (for ``min_recall=0.7``; the key follows
    ``min_recall`` in percent), ``threshold_at_70_recall`` and ``best_f1`` (a dict, see :func:`best_f1`)."""
    pct = round(min_recall * 100)
    par = precision_at_recall(y_true, score, min_recall)
    return {
        "auprc": average_precision(y_true, score),
        "auroc": roc_auc(y_true, score),
        f"precision_at_{pct}_recall": par["precision"],
        f"threshold_at_{pct}_recall": par["threshold"],
        "best_f1": best_f1(y_true, score),
    }


# --------------------------------------------------------------------------------------------------
# overlap and the benchmark


def _pick_truth_gene_col(truth: pd.DataFrame, links: pd.DataFrame, gene_col: str) -> str:
    candidates = [c for c in ("measuredGeneSymbol", "measuredGeneEnsemblId") if c in truth.columns]
    link_genes = set(links[gene_col].astype(str))
    hits = {c: len(set(truth[c].astype(str)) & link_genes) for c in candidates}
    best = max(candidates, key=lambda c: hits[c])  # ties keep measuredGeneSymbol (first)
    return best


def score_truth_pairs(
    truth: pd.DataFrame,
    links: pd.DataFrame,
    *,
    score_col: str = "score",
    gene_col: str = "TargetGene",
    truth_gene_col: str = "auto",
) -> tuple[np.ndarray, np.ndarray, str]:
    """Max link score over the links of the same gene overlapping each truth element.

    Parameters
    ----------
    truth
        A checked truth table (:func:`check_truth`).
    links
        A checked link table (:func:`check_links`).
    score_col, gene_col
        Link score and gene columns.
    truth_gene_col
        Truth column matched against ``gene_col``; ``"auto"`` picks ``measuredGeneSymbol`` or
        ``measuredGeneEnsemblId``, whichever shares more gene names with the links.

    Returns
    -------
    scores, n_links, truth_gene_col
        ``(n_pairs,)`` float64 max overlapping score (NaN: unmatched), ``(n_pairs,)`` int64 number
        of overlapping links, and the truth gene column used.
    """
    if truth_gene_col == "auto":
        truth_gene_col = _pick_truth_gene_col(truth, links, gene_col)
    elif truth_gene_col not in truth.columns:
        raise InputError(f"the truth table has no gene column {truth_gene_col!r}; use measuredGeneSymbol")
    truth_chroms = set(truth["chrom"].astype(str))
    link_chroms = set(links["chr"].astype(str))
    if links.shape[0] and not (truth_chroms & link_chroms):
        raise InputError(
            f"the links share no chromosome with the truth (links: {', '.join(sorted(link_chroms)[:3])}, "
            f"...; truth: {', '.join(sorted(truth_chroms)[:3])}, ...); "
            "check the assembly and the 'chr' prefix"
        )
    t = pd.DataFrame(
        {
            "_chrom": truth["chrom"].astype(str).to_numpy(),
            "_gene": truth[truth_gene_col].astype(str).to_numpy(),
            "_ts": truth["chromStart"].to_numpy(np.int64),
            "_te": truth["chromEnd"].to_numpy(np.int64),
            "_tidx": np.arange(len(truth)),
        }
    )
    wanted = links[gene_col].astype(str).isin(set(t["_gene"]))
    lk = links.loc[wanted, ["chr", gene_col, "start", "end", score_col]]
    lk = pd.DataFrame(
        {
            "_chrom": lk["chr"].astype(str).to_numpy(),
            "_gene": lk[gene_col].astype(str).to_numpy(),
            "_ls": lk["start"].to_numpy(np.int64),
            "_le": lk["end"].to_numpy(np.int64),
            "_score": lk[score_col].to_numpy(np.float64),
        }
    )
    m = t.merge(lk, on=["_chrom", "_gene"], how="inner")
    m = m.loc[(m["_ls"] < m["_te"]) & (m["_le"] > m["_ts"])]
    agg = m.groupby("_tidx")["_score"].agg(["max", "size"])
    scores = np.full(len(truth), np.nan)
    n_links = np.zeros(len(truth), dtype=np.int64)
    idx = agg.index.to_numpy(dtype=np.int64)
    scores[idx] = agg["max"].to_numpy(np.float64)
    n_links[idx] = agg["size"].to_numpy(np.int64)
    return scores, n_links, truth_gene_col


def _distance(truth: pd.DataFrame, source: DistanceSource) -> tuple[np.ndarray, str]:
    has_col = (
        "distanceToTSS" in truth.columns
        and pd.to_numeric(truth["distanceToTSS"], errors="coerce").notna().all()
    )
    if source == "auto":
        source = "column" if has_col else "midpoint"
    if source == "column":
        if not has_col:
            raise InputError("the truth table has no complete distanceToTSS column; use distance='midpoint'")
        return np.abs(pd.to_numeric(truth["distanceToTSS"]).to_numpy(np.float64)), "distanceToTSS"
    if source != "midpoint":
        raise InputError(f"distance must be 'auto', 'column' or 'midpoint'; got {source!r}")
    if "startTSS" not in truth.columns or pd.to_numeric(truth["startTSS"], errors="coerce").isna().any():
        raise InputError(
            "the truth table has no complete startTSS column for the midpoint distance; use distance='column'"
        )
    mid = (truth["chromStart"].to_numpy(np.int64) + truth["chromEnd"].to_numpy(np.int64)) // 2
    tss = pd.to_numeric(truth["startTSS"]).to_numpy(np.float64)
    return np.abs(mid - tss), "midpoint"


def benchmark_links(
    links: pd.DataFrame | None,
    truth: pd.DataFrame,
    *,
    score_col: str = "score",
    gene_col: str = "TargetGene",
    truth_gene_col: str = "auto",
    distance: DistanceSource = "auto",
    seed: int = 0,
    min_recall: float = 0.7,
    compare: tuple[str, ...] | list[str] = (),
) -> dict[str, Any]:
    """Score a link table against CRISPRi truth, with the distance and random baselines.

    Parameters
    ----------
    links
        ABC/ENCODE-rE2G-style link table (``chr, start, end, TargetGene, score``), or None to
        compute the baselines only.
    truth
        EPCrisprBenchmark-format truth (:func:`read_crispr_truth`, :func:`truth_from_simulation`).
    score_col, gene_col, truth_gene_col
        See :func:`score_truth_pairs`.
    distance
        Distance used by the distance baseline: ``"column"`` (``|distanceToTSS|``), ``"midpoint"``
        (``|floor((chromStart + chromEnd) / 2) - startTSS|``), or ``"auto"`` (the column when
        present and complete, else the midpoint). Default ``"auto"``.
    seed
        Seed of the random baseline (``numpy.random.default_rng(seed).random(n_pairs)``).
    min_recall
        Recall for the ``precision_at_<pct>_recall`` metric. Default 0.7.
    compare
        Further link columns scored the same way as ``score_col`` (e.g. ``ABC.Score``, ``fused_score``,
        ``activity_x_contact``), each over the links where it is not NaN, unmatched pairs last. Their
        metrics and unmatched counts go to ``side_by_side`` (which also holds ``score_col`` and the
        distance baseline), their curves to ``curves``, their scores to ``scored_pairs`` (``score_<col>``).

    Returns
    -------
    dict
        JSON-ready keys: ``n_pairs``, ``n_positive``, ``base_rate``, ``n_unmatched`` and
        ``n_unmatched_positive`` (None without links), ``n_links``, ``score_col``, ``seed``,
        ``distance_source``, ``truth_gene_col``, ``truth_rows_changed`` (rows of the truth dropped or
        widened, see :func:`check_truth`); the link metrics ``auprc``, ``auroc``,
        ``precision_at_70_recall``, ``threshold_at_70_recall``, ``best_f1`` (when links are given);
        ``baselines`` → ``distance`` / ``random`` → the same metrics. Two more keys are not JSON:
        ``scored_pairs`` (the truth with ``distance_bp``, ``n_overlapping_links``, ``link_score``
        (NaN: unmatched), ``score_links`` (unmatched filled below every link score),
        ``score_distance``, ``score_random``) and ``curves`` (label → ``precision``, ``recall``,
        ``fpr``, ``tpr`` arrays and ``auprc``, ``auroc``). :func:`metrics_json` drops those two.
    """
    truth = check_truth(truth) if "n_dropped_unlabelled" not in truth.attrs else truth
    y = truth["Regulated"].to_numpy(bool)
    n = int(y.size)
    dist, dist_source = _distance(truth, distance)
    rng = np.random.default_rng(seed)
    random_scores = rng.random(n)

    scored = truth.copy()
    scored["distance_bp"] = dist
    result: dict[str, Any] = {
        "n_pairs": n,
        "n_positive": int(y.sum()),
        "base_rate": float(y.mean()),
        "n_unmatched": None,
        "n_unmatched_positive": None,
        "n_links": None,
        "score_col": score_col if links is not None else None,
        "seed": int(seed),
        "distance_source": dist_source,
        "truth_gene_col": None,
        "n_dropped_unlabelled": int(truth.attrs.get("n_dropped_unlabelled", 0)),
        "truth_rows_changed": dict(truth.attrs.get("truth_rows", {})),
    }
    columns: dict[str, np.ndarray] = {}
    if links is not None:
        if "n_nan_score" not in links.attrs:
            links = check_links(links, score_col=score_col, gene_col=gene_col)
        link_scores, n_overlap, tgc = score_truth_pairs(
            truth, links, score_col=score_col, gene_col=gene_col, truth_gene_col=truth_gene_col
        )
        unmatched = np.isnan(link_scores)
        all_scores = links[score_col].to_numpy(np.float64)
        lowest = float(np.min(all_scores)) if all_scores.size else 0.0
        fill = lowest - max(1.0, abs(lowest))
        filled = np.where(unmatched, fill, link_scores)
        scored["n_overlapping_links"] = n_overlap
        scored["link_score"] = link_scores
        scored["score_links"] = filled
        columns["links"] = filled
        result.update(
            n_unmatched=int(unmatched.sum()),
            n_unmatched_positive=int((unmatched & y).sum()),
            n_links=int(len(links)),
            n_links_nan_score=int(links.attrs.get("n_nan_score", 0)),
            truth_gene_col=tgc,
            unmatched_fill_score=fill,
        )
    unmatched_by: dict[str, tuple[int, int]] = {}
    if links is not None:
        unmatched_by[score_col] = (result["n_unmatched"], result["n_unmatched_positive"])
        for col in compare:
            if col == score_col:
                continue
            if col not in links.columns:
                raise InputError(f"the links have no column {col!r} to compare; drop it or add it to the links")
            sub = links[pd.to_numeric(links[col], errors="coerce").notna()]
            sub = sub.assign(**{col: pd.to_numeric(sub[col]).astype(np.float64)})
            sc, _, _ = score_truth_pairs(truth, sub, score_col=col, gene_col=gene_col,
                                         truth_gene_col=result["truth_gene_col"] or truth_gene_col)
            miss = np.isnan(sc)
            low = float(sub[col].min()) if len(sub) else 0.0
            filled_c = np.where(miss, low - max(1.0, abs(low)), sc)
            columns[col] = filled_c
            scored[f"score_{col}"] = filled_c
            unmatched_by[col] = (int(miss.sum()), int((miss & y).sum()))
    columns["distance"] = -dist
    columns["random"] = random_scores
    scored["score_distance"] = -dist
    scored["score_random"] = random_scores

    pct = round(min_recall * 100)
    curves: dict[str, dict[str, Any]] = {}
    baselines: dict[str, Any] = {}
    side: dict[str, Any] = {}
    for label, s in columns.items():
        m = classification_metrics(y, s, min_recall=min_recall)
        precision, recall, _ = precision_recall_curve(y, s)
        fpr, tpr, _ = roc_curve(y, s)
        curves[label] = {
            "precision": precision,
            "recall": recall,
            "fpr": fpr,
            "tpr": tpr,
            "auprc": m["auprc"],
            "auroc": m["auroc"],
            f"precision_at_{pct}_recall": m[f"precision_at_{pct}_recall"],
        }
        if label == "links":
            result.update(m)
        elif label in ("distance", "random"):
            baselines[label] = m
        else:
            side[label] = m
    result["baselines"] = baselines
    if links is not None and compare:
        table = {score_col: {k: result[k] for k in ("auprc", "auroc", f"precision_at_{pct}_recall")}}
        table.update({c: {k: side[c][k] for k in ("auprc", "auroc", f"precision_at_{pct}_recall")}
                      for c in side})
        for c, (n_un, n_un_pos) in unmatched_by.items():
            table[c].update(n_unmatched=n_un, n_unmatched_positive=n_un_pos)
        d = baselines["distance"]
        table["distance"] = {k: d[k] for k in ("auprc", "auroc", f"precision_at_{pct}_recall")}
        table["distance"].update(n_unmatched=0, n_unmatched_positive=0)
        result["side_by_side"] = table
    result["scored_pairs"] = scored
    result["curves"] = curves
    return result


def metrics_json(result: dict[str, Any]) -> dict[str, Any]:
    """The JSON part of a :func:`benchmark_links` result: no ``scored_pairs`` or ``curves``; NaN → None."""

    def clean(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, (float, np.floating)):
            return None if not np.isfinite(v) else float(v)
        if isinstance(v, np.integer):
            return int(v)
        return v

    return {k: clean(v) for k, v in result.items() if k not in ("scored_pairs", "curves")}


def restrict_truth(truth: pd.DataFrame, chroms: list[str] | None) -> pd.DataFrame:
    """The truth pairs on ``chroms`` (all of them when None); :class:`InputError` when none is left."""
    if chroms is None:
        return truth
    out = truth[truth["chrom"].astype(str).isin(chroms)].reset_index(drop=True)
    if out.empty:
        raise InputError(f"no truth pair on {', '.join(chroms)}; check --chroms against the truth file")
    return out


def write_benchmark(result: dict[str, Any], out: str | PathLike[str], *, title: str | None = None,
                    extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write a :func:`benchmark_links` result into ``out``, each file atomically.

    ``metrics.json`` (:func:`metrics_json` plus ``extra``), ``scored_pairs.tsv``, ``pr_curve.png`` and
    ``roc_curve.png``. Returns the metrics dict as written.
    """
    import json

    from claster.io.writers import atomic_path, write_tsv
    from claster.plots import save_figure
    from claster.plots.crispr import plot_pr_curves, plot_roc_curves

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary = {**metrics_json(result), **(extra or {})}
    save_figure(plot_pr_curves(result["curves"], base_rate=result["base_rate"], title=title), out / "pr_curve.png")
    save_figure(plot_roc_curves(result["curves"], title=title), out / "roc_curve.png")
    write_tsv(result["scored_pairs"], out / "scored_pairs.tsv")
    with atomic_path(out / "metrics.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2) + "\n")
    return summary
