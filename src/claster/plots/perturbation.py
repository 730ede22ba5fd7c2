"""Figures of perturbation effects (SPEC §6): distance–effect, profile overlay, proximity-rank histogram.

Each function draws from an effects table (``claster perturb``'s ``effects.tsv``) or from arrays, and
returns a :class:`matplotlib.figure.Figure` (no pyplot state), so the numbers behind a figure can be
recomputed from the TSV.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from claster.errors import InputError

__all__ = ["plot_distance_effect", "plot_profile_overlay", "plot_proximity_rank_hist", "most_affected_ranks"]


def _figure(ax: Axes | None, size: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


def plot_distance_effect(
    effects: pd.DataFrame,
    *,
    ax: Axes | None = None,
    min_abs_delta: float = 0.0,
    title: str | None = None,
) -> Figure:
    """Scatter of the signed relative change against the element–TSS distance (log axis).

    Uses ``distance_bp`` (x, in kbp, distances below 100 bp drawn at 0.1 kbp) and ``rel_change``
    (y, (perturbed − baseline) / baseline); rows with ``abs_delta`` < ``min_abs_delta`` and rows with a
    NaN relative change are left out. Each point is one (element, gene, window).
    """
    for c in ("distance_bp", "rel_change"):
        if c not in effects.columns:
            raise InputError(f"effects table lacks column {c!r}; give the effects.tsv of claster perturb")
    df = effects
    if min_abs_delta > 0 and "abs_delta" in df.columns:
        df = df[df["abs_delta"] >= min_abs_delta]
    df = df[np.isfinite(df["rel_change"].to_numpy(np.float64))]
    x_kbp = np.maximum(df["distance_bp"].to_numpy(np.float64), 100.0) / 1_000
    y = df["rel_change"].to_numpy(np.float64)
    fig, ax = _figure(ax, (5.0, 3.5))
    ax.scatter(x_kbp, y, s=6, alpha=0.5, linewidths=0, color="tab:blue")
    ax.axhline(0.0, color="0.5", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("distance element – TSS (kbp)")
    ax.set_ylabel("relative change of gene area")
    ax.set_title(title or f"perturbation effects (n = {len(df):,})")
    return fig


def plot_profile_overlay(
    baseline: np.ndarray,
    perturbed: np.ndarray,
    *,
    element_rel_bp: tuple[int, int] | None = None,
    bin_bp: int = 1_000,
    gene_body_rel_bp: tuple[int, int] | None = None,
    labels: Sequence[str] = ("baseline", "perturbed"),
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Baseline and perturbed predicted profiles over the window, the element shaded (paper Fig. 2h).

    Parameters
    ----------
    baseline, perturbed
        ``(N,)`` predicted signal, N odd (401 bins of 1 kbp, centre bin = TSS).
    element_rel_bp
        ``(start, end)`` of the perturbed element relative to the centre, bp (shaded).
    gene_body_rel_bp
        Optional ``(start, end)`` of the central gene's body relative to the TSS, bp (a bar under the axis).
    """
    b = np.asarray(baseline, dtype=np.float64).ravel()
    p = np.asarray(perturbed, dtype=np.float64).ravel()
    if b.shape != p.shape:
        raise InputError(
            f"baseline {b.shape} and perturbed {p.shape} profiles differ in length; give matching bins"
        )
    x_kbp = (np.arange(b.size) - b.size // 2) * bin_bp / 1_000
    fig, ax = _figure(ax, (7.0, 3.0))
    ax.plot(x_kbp, b, color="0.3", lw=1.2, label=labels[0])
    ax.plot(x_kbp, p, color="tab:red", lw=1.2, label=labels[1])
    if element_rel_bp is not None:
        ax.axvspan(
            element_rel_bp[0] / 1_000,
            element_rel_bp[1] / 1_000,
            color="tab:orange",
            alpha=0.3,
            lw=0,
            label="element",
        )
    if gene_body_rel_bp is not None:
        ax.hlines(
            0, gene_body_rel_bp[0] / 1_000, gene_body_rel_bp[1] / 1_000, color="k", lw=4, label="gene body"
        )
    ax.set_xlabel("position relative to TSS (kbp)")
    ax.set_ylabel("predicted nascent signal")
    ax.legend(frameon=False, fontsize="small")
    if title:
        ax.set_title(title)
    return fig


def most_affected_ranks(effects: pd.DataFrame) -> pd.Series:
    """Proximity rank of the most affected gene (max ``abs_delta``) of each (window, element).

    Groups with all ``abs_delta`` = 0 are left out. Returns an int64 Series indexed by
    (window_id, element_id) (element_id alone when there is no ``window_id``).
    """
    keys = ["window_id", "element_id"] if "window_id" in effects.columns else ["element_id"]
    df = effects[effects["abs_delta"].to_numpy(np.float64) > 0]
    if df.empty:
        return pd.Series(dtype=np.int64)
    idx = df.groupby(keys, sort=True)["abs_delta"].idxmax()
    out = df.loc[idx.to_numpy(), keys + ["proximity_rank"]].set_index(keys)["proximity_rank"]
    return out.astype(np.int64)


def plot_proximity_rank_hist(
    effects: pd.DataFrame | pd.Series,
    *,
    max_rank: int = 10,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Histogram of the proximity rank of each element's most affected gene (1 = the closest gene).

    ``effects``: an effects table (ranks from :func:`most_affected_ranks`) or a Series of ranks.
    Ranks above ``max_rank`` are pooled in the last bar; the title gives the fraction at rank 1
    (the paper: 67 % on chr19).
    """
    ranks = effects if isinstance(effects, pd.Series) else most_affected_ranks(effects)
    r = np.minimum(ranks.to_numpy(np.int64), max_rank)
    counts = np.bincount(r, minlength=max_rank + 1)[1:]
    fig, ax = _figure(ax, (4.5, 3.2))
    pos = np.arange(1, max_rank + 1)
    ax.bar(pos, counts, color="tab:blue", width=0.8)
    ax.set_xticks(pos, [str(i) for i in pos[:-1]] + [f"≥{max_rank}"])
    ax.set_xlabel("proximity rank of the most affected gene")
    ax.set_ylabel("elements")
    frac = float(np.mean(r == 1)) if r.size else float("nan")
    ax.set_title(title or f"most affected = closest: {frac:.0%} of {r.size:,}")
    return fig
