"""Figures of the CRISPRi benchmark (SPEC §7): precision–recall and ROC curves with the baselines.

``curves`` is the ``curves`` entry of :func:`claster.link.crispr.benchmark_links`: label →
dict with ``precision`` and ``recall`` (in decreasing-threshold order, as from
``precision_recall_curve``), ``fpr`` and ``tpr`` (from ``roc_curve``), ``auprc`` and ``auroc``.
Labels ``distance`` and ``random`` are drawn as dashed baselines.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from claster.errors import InputError

__all__ = ["plot_pr_curves", "plot_roc_curves"]

_BASELINE_STYLE = {
    "distance": {"color": "tab:orange", "ls": "--"},
    "random": {"color": "0.5", "ls": ":"},
}


def _new_axes(ax: Axes | None) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]
    fig = Figure(figsize=(5.0, 4.6), layout="constrained")
    return fig, fig.add_subplot()


def _check(curves: Mapping[str, Mapping[str, Any]], keys: tuple[str, ...]) -> None:
    if not curves:
        raise InputError("no curves to plot; pass label → curve arrays")
    for label, c in curves.items():
        missing = [k for k in keys if k not in c]
        if missing:
            raise InputError(f"curve {label!r} lacks {', '.join(missing)}")


def plot_pr_curves(
    curves: Mapping[str, Mapping[str, Any]],
    *,
    base_rate: float | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Precision–recall curves, drawn as the steps whose area is the average precision.

    Parameters
    ----------
    curves
        Label → ``precision``, ``recall`` (decreasing threshold), ``auprc``.
    base_rate
        Fraction of positive pairs, drawn as a horizontal line (a random ranking's precision).
    ax, title
        Axes to draw on (a new figure when None) and a title.
    """
    _check(curves, ("precision", "recall", "auprc"))
    fig, ax = _new_axes(ax)
    for label, c in curves.items():
        p = np.asarray(c["precision"], dtype=np.float64)
        r = np.asarray(c["recall"], dtype=np.float64)
        if p.size == 0 or np.isnan(r).any():
            continue
        style = _BASELINE_STYLE.get(label, {})
        ax.plot(
            np.r_[0.0, r],
            np.r_[p[0], p],
            drawstyle="steps-pre",
            lw=1.4 if not style else 1.1,
            label=f"{label} (AUPRC {float(c['auprc']):.3f})",
            **style,
        )
    if base_rate is not None and np.isfinite(base_rate):
        ax.axhline(base_rate, color="0.3", lw=0.7, ls="-.", label=f"base rate {base_rate:.3f}")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.legend(fontsize=8, frameon=False, loc="upper right")
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def plot_roc_curves(
    curves: Mapping[str, Mapping[str, Any]],
    *,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """ROC curves (straight segments between the threshold points) with the diagonal.

    Parameters
    ----------
    curves
        Label → ``fpr``, ``tpr`` (starting at (0, 0)), ``auroc``.
    ax, title
        Axes to draw on (a new figure when None) and a title.
    """
    _check(curves, ("fpr", "tpr", "auroc"))
    fig, ax = _new_axes(ax)
    for label, c in curves.items():
        f = np.asarray(c["fpr"], dtype=np.float64)
        t = np.asarray(c["tpr"], dtype=np.float64)
        if f.size == 0 or np.isnan(f).any() or np.isnan(t).any():
            continue
        style = _BASELINE_STYLE.get(label, {})
        ax.plot(f, t, lw=1.4 if not style else 1.1, label=f"{label} (AUROC {float(c['auroc']):.3f})", **style)
    ax.plot([0, 1], [0, 1], color="0.3", lw=0.7, ls="-.", label="chance")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    if title:
        ax.set_title(title, fontsize=10)
    return fig
