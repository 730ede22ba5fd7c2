"""Input-QC figures: track quantile curves against training, contact decay curves against training."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["plot_decay_curves", "plot_track_quantiles"]


def plot_track_quantiles(levels: Sequence[float], curves: Mapping[str, Mapping[str, Sequence[float | None]]]):
    """One panel per track: signal quantile (log scale, track units) against the quantile level.

    ``levels``: (Q,) quantile levels in [0, 1]; ``curves[track][label]``: (Q,) quantiles (None = NaN),
    e.g. labels "store" and "training". The x axis shows ``-log10(1 - level)`` (50 % -> 0.3,
    99.9 % -> 3) so the upper tail is readable.
    """
    from matplotlib.figure import Figure

    names = list(curves)
    n = max(1, len(names))
    cols = min(4, n)
    rows = -(-n // cols)
    fig = Figure(figsize=(3.2 * cols, 2.7 * rows), layout="constrained")
    lv = np.asarray(levels, dtype=np.float64)
    keep = lv < 1.0
    x = -np.log10(1.0 - lv[keep])
    for i, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, i + 1)
        for j, (label, q) in enumerate(curves[name].items()):
            y = np.asarray([np.nan if v is None else v for v in q], dtype=np.float64)[keep]
            y = np.where(y > 0, y, np.nan)
            ax.plot(
                x,
                y,
                color=f"C{j}",
                lw=1.6 if label == "training" else 1.2,
                ls="--" if label == "training" else "-",
                label=label,
            )
        ax.set_yscale("log")
        ax.set_title(name, fontsize=9)
        ax.set_xticks([0.3, 1, 2, 3])
        ax.set_xticklabels(["50%", "90%", "99%", "99.9%"], fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_xlabel("quantile level", fontsize=8)
        if i % cols == 0:
            ax.set_ylabel("signal (track units)", fontsize=8)
        ax.legend(fontsize=7, frameon=False)
    return fig


def plot_decay_curves(separation_bp: Sequence[int], curves: Mapping[str, Sequence[float | None]]):
    """Mean log10 contact against separation (kbp, log axis), one line per curve label.

    ``separation_bp``: (D,) separations in bp (0 = the diagonal, not drawn); ``curves[label]``: (D,)
    mean log10 contact per separation. A label starting with "training" is drawn dashed in black.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 3.4), layout="constrained")
    ax = fig.add_subplot()
    sep = np.asarray(separation_bp, dtype=np.float64)
    sel = sep > 0
    for j, (label, y) in enumerate(curves.items()):
        v = np.asarray([np.nan if t is None else t for t in y], dtype=np.float64)
        if label.startswith("training"):
            ax.plot(sep[sel] / 1000, v[sel], color="k", ls="--", lw=1.8, label=label)
        else:
            ax.plot(sep[sel] / 1000, v[sel], color=f"C{j % 10}", lw=1.0, alpha=0.8, label=label)
    ax.set_xscale("log")
    ax.set_xlabel("separation (kbp)")
    ax.set_ylabel("mean log10 contact")
    if len(curves) <= 12:
        ax.legend(fontsize=7, frameon=False)
    return fig
