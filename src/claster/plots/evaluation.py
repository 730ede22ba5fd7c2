"""Evaluation figures (SPEC §5): the bin-wise density plot, profile plots with gene models, and a
bar chart comparing runs. Every function returns a :class:`matplotlib.figure.Figure`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrow, Rectangle

from claster.errors import InputError
from claster.plots import save_figure
from claster.units import TARGET_BIN_BP

__all__ = ["plot_density", "plot_profiles", "plot_run_comparison", "save_figure", "DEFAULT_METRIC_KEYS"]

DEFAULT_METRIC_KEYS: tuple[str, ...] = (
    "binwise_pearson",
    "binwise_spearman",
    "gene_pearson",
    "gene_spearman",
)


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def plot_density(
    pred: np.ndarray,
    true: np.ndarray,
    ax: Axes | None = None,
    *,
    bins: int = 200,
    value_range: tuple[float, float] = (0.0, 10.0),
    clip_min: float | None = 0.0,
    title: str | None = None,
) -> Figure:
    """The paper's bin-wise density plot: observed vs predicted ``log2(x + 1)``, all bins pooled.

    Parameters
    ----------
    pred, true
        Arrays of the same shape, e.g. ``(N, 401)`` float signal per 1 kbp bin.
    ax
        Axes to draw on; a new figure when None.
    bins, value_range
        A ``bins`` × ``bins`` 2-D histogram over ``value_range`` on both axes (200 × 200 on (0, 10)).
    clip_min
        Values below are clipped to it before the transform (None: no clipping).
    title
        Prefix of the title; the title always ends with Pearson r and the least-squares line.

    Returns
    -------
    Figure with a log-scaled count colour bar, the fitted line ``pred = a · true + b`` (fitted on
    all points) in red and the identity in grey.
    """
    p = np.asarray(pred, dtype=np.float64)
    t = np.asarray(true, dtype=np.float64)
    if p.shape != t.shape or p.size == 0:
        raise InputError(f"pred {p.shape} and true {t.shape} must be non-empty arrays of the same shape")
    if clip_min is not None:
        p, t = np.maximum(p, clip_min), np.maximum(t, clip_min)
    x = np.log2(t.ravel() + 1.0)
    y = np.log2(p.ravel() + 1.0)
    counts, xe, ye = np.histogram2d(x, y, bins=bins, range=[value_range, value_range])
    fig, ax = _new_axes(ax, (5.2, 4.4))
    masked = np.ma.masked_equal(counts.T, 0)
    vmax = max(1.0, float(counts.max()))
    mesh = ax.pcolormesh(xe, ye, masked, norm=LogNorm(vmin=1.0, vmax=vmax), cmap="viridis", rasterized=True)
    fig.colorbar(mesh, ax=ax, label="bins (count)")
    lo, hi = value_range
    ax.plot([lo, hi], [lo, hi], color="0.6", lw=0.8, ls="--")
    if x.size >= 2 and np.ptp(x) > 0 and np.ptp(y) > 0:
        a, b = np.polyfit(x, y, 1)
        r = float(np.corrcoef(x, y)[0, 1])
        ax.plot([lo, hi], [a * lo + b, a * hi + b], color="tab:red", lw=1.2)
        stats = f"r = {r:.4f}, fit y = {a:.3f}x + {b:.3f}"
    else:
        stats = "r undefined (constant input)"
    ax.set_xlim(value_range)
    ax.set_ylim(value_range)
    ax.set_xlabel("observed log2(EU-seq + 1)")
    ax.set_ylabel("predicted log2(EU-seq + 1)")
    ax.set_title(f"{title}\n{stats}" if title else stats, fontsize=10)
    return fig


def _assign_lanes(starts: np.ndarray, ends: np.ndarray, gap: float) -> np.ndarray:
    """Greedy interval packing: the lowest lane whose last interval ends before ``start - gap``."""
    order = np.argsort(starts, kind="stable")
    lane_end: list[float] = []
    lanes = np.zeros(starts.size, dtype=np.int64)
    for i in order:
        for k, e in enumerate(lane_end):
            if e + gap <= starts[i]:
                lanes[i] = k
                lane_end[k] = ends[i]
                break
        else:
            lanes[i] = len(lane_end)
            lane_end.append(ends[i])
    return lanes


def _draw_gene_models(ax: Axes, genes: pd.DataFrame, tss_bp: int, half_kbp: float) -> None:
    need = ["start_bp", "end_bp", "strand"]
    missing = [c for c in need if c not in genes.columns]
    if missing:
        raise InputError(
            f"gene_models lacks column(s) {', '.join(missing)}; it needs start_bp, end_bp, strand"
        )
    s = (genes["start_bp"].to_numpy(np.float64) - tss_bp) / 1_000
    e = (genes["end_bp"].to_numpy(np.float64) - tss_bp) / 1_000
    inside = (e > -half_kbp) & (s < half_kbp)
    g = genes.loc[inside].reset_index(drop=True)
    s, e = np.clip(s[inside], -half_kbp, half_kbp), np.clip(e[inside], -half_kbp, half_kbp)
    lanes = _assign_lanes(s, e, gap=half_kbp * 0.08) if len(g) else np.zeros(0, dtype=np.int64)
    n_lanes = int(lanes.max()) + 1 if lanes.size else 1
    names = g["gene_name"].astype(str).to_numpy() if "gene_name" in g.columns else np.array([""] * len(g))
    strands = g["strand"].astype(str).to_numpy()
    head = half_kbp * 0.02
    for i in range(len(g)):
        y = -float(lanes[i])
        ax.add_patch(Rectangle((s[i], y - 0.15), max(e[i] - s[i], 0.2), 0.3, color="tab:blue", lw=0))
        if strands[i] == "-":
            x0, dx = s[i], -head
        else:
            x0, dx = e[i], head
        ax.add_patch(
            FancyArrow(x0, y, dx, 0.0, width=0.05, head_width=0.45, head_length=head, color="tab:blue",
                       length_includes_head=False)
        )
        ax.text((s[i] + e[i]) / 2, y + 0.25, names[i], ha="center", va="bottom", fontsize=7, clip_on=True)
    ax.set_ylim(-n_lanes + 0.4, 0.9)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)


def plot_profiles(
    profiles: Mapping[str, np.ndarray],
    gene_models: pd.DataFrame | None = None,
    tss_bp: int = 0,
    *,
    bin_bp: int = TARGET_BIN_BP,
    title: str | None = None,
    chrom: str | None = None,
    axes: tuple[Axes, Axes] | None = None,
) -> Figure:
    """Profiles over TSS ±200 kbp (e.g. observed vs predicted EU-seq) with gene models underneath.

    Parameters
    ----------
    profiles
        Label → ``(n_bins,)`` float signal per bin (401 bins of 1 kbp; bin ``k`` centred on
        TSS + k·bin_bp).
        The label ``observed`` (or ``true``) is drawn as a grey filled area, the others as lines.
    gene_models
        Genes to draw: ``start_bp``, ``end_bp`` (0-based, half-open), ``strand`` and optionally
        ``gene_name``; genes outside the window are skipped. Drawn as boxes with an arrow head
        pointing in the direction of transcription.
    tss_bp
        Genomic position of the window centre (bp).
    bin_bp
        Profile bin size in bp (1,000).
    title, chrom
        Title; ``chrom`` labels the x axis (``kbp from chr4:1,234,567``).
    axes
        ``(profile_axes, gene_axes)`` to draw on; a new two-panel figure when None.
    """
    if not profiles:
        raise InputError("no profiles to plot; pass at least one label → (401,) array")
    arrays = {k: np.asarray(v, dtype=np.float64).ravel() for k, v in profiles.items()}
    sizes = {v.size for v in arrays.values()}
    if len(sizes) != 1:
        raise InputError(f"profiles have different lengths {sorted(sizes)}; pass arrays of one length")
    n = sizes.pop()
    x_kbp = (np.arange(n) - n // 2) * bin_bp / 1_000
    half_kbp = (n // 2) * bin_bp / 1_000 + bin_bp / 2_000
    if axes is None:
        fig = Figure(figsize=(9, 4.2), layout="constrained")
        ax, gax = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [4, 1.3]})
    else:
        ax, gax = axes
        fig = ax.figure  # type: ignore[assignment]
    for label, y in arrays.items():
        if label.lower() in ("observed", "true", "target"):
            ax.fill_between(x_kbp, 0, y, color="0.7", lw=0, label=label, step="mid")
        else:
            ax.plot(x_kbp, y, lw=1.2, label=label)
    ax.axvline(0, color="0.4", lw=0.6, ls=":")
    ax.set_ylabel("EU-seq (signal per kbp bin)")
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    ax.set_xlim(-half_kbp, half_kbp)
    if title:
        ax.set_title(title, fontsize=10)
    if gene_models is not None and len(gene_models):
        _draw_gene_models(gax, gene_models, int(tss_bp), half_kbp)
    else:
        gax.set_yticks([])
    where = f"{chrom}:{int(tss_bp):,}" if chrom else f"{int(tss_bp):,} bp"
    gax.set_xlabel(f"kbp from {where}")
    gax.set_xlim(-half_kbp, half_kbp)
    return fig


def plot_run_comparison(
    metrics: Mapping[str, Mapping[str, float]],
    keys: Sequence[str] = DEFAULT_METRIC_KEYS,
    ax: Axes | None = None,
    *,
    title: str | None = None,
) -> Figure:
    """Grouped bar chart of metrics per run.

    Parameters
    ----------
    metrics
        Run name → metrics dict (e.g. each run's ``metrics.json``).
    keys
        Metrics to draw, one bar group per key; a key a run lacks is left empty.
    """
    if not metrics:
        raise InputError("no runs to compare; pass run name → metrics")
    if not keys:
        raise InputError("no metric keys to plot")
    present = [k for k in keys if any(k in m for m in metrics.values())]
    if not present:
        raise InputError(f"none of the runs has any of the keys {', '.join(keys)}; check the metric names")
    runs = list(metrics)
    fig, ax = _new_axes(ax, (max(5.0, 1.4 * len(keys) + 0.5 * len(runs)), 3.8))
    width = 0.8 / len(runs)
    xs = np.arange(len(keys))
    for i, run in enumerate(runs):
        vals = np.array([float(metrics[run].get(k, np.nan)) for k in keys], dtype=np.float64)
        bars = ax.bar(xs - 0.4 + width * (i + 0.5), np.nan_to_num(vals), width, label=run)
        for bar, v in zip(bars, vals, strict=True):
            if np.isfinite(v):
                x_mid = bar.get_x() + bar.get_width() / 2
                ax.text(x_mid, v, f"{v:.3f}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(xs, [k.replace("_", " ") for k in keys])
    finite = [float(m.get(k)) for m in metrics.values() for k in keys if k in m and np.isfinite(m.get(k))]
    ax.set_ylim(min(0.0, min(finite, default=0.0)), max(1.0, max(finite, default=1.0)) * 1.08)
    ax.set_ylabel("value")
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    if title:
        ax.set_title(title, fontsize=10)
    return fig
