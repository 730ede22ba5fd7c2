"""The training-curve figure of the report: loss and validation Pearson against the optimiser step."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from claster.errors import InputError

__all__ = ["read_metrics_csv", "plot_training_curves"]

# Column names written by Lightning's CSVLogger for the metrics the TrainingPlan logs.
TRAIN_LOSS_COLUMNS = ("train/loss_step", "train/loss", "train/loss_epoch")
VAL_LOSS_COLUMNS = ("val/loss", "val/loss_epoch")
VAL_PEARSON_COLUMNS = ("val/pearson_binwise", "val/pearson_binwise_epoch")


def read_metrics_csv(path: Path) -> pd.DataFrame:
    """Read a CSVLogger ``metrics.csv``: one row per logging event, NaN where a metric was not logged.

    Returns the frame sorted by ``step`` (int64, optimiser steps). Raises :class:`InputError` when the
    file cannot be parsed or has no ``step`` column.
    """
    path = Path(path)
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise InputError(f"{path} is not a readable CSV ({e}); re-run training or delete the file") from e
    if "step" not in df.columns:
        raise InputError(f"{path} has no 'step' column (columns: {', '.join(map(str, df.columns))}); "
                         "expected Lightning CSVLogger output from `claster train`")
    df["step"] = pd.to_numeric(df["step"], errors="coerce")
    df = df.dropna(subset=["step"]).sort_values("step", kind="stable").reset_index(drop=True)
    return df


def _series(df: pd.DataFrame, candidates: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, str] | None:
    """The first candidate column with any finite value, as (step, value, column name)."""
    for col in candidates:
        if col in df.columns:
            values = pd.to_numeric(df[col], errors="coerce")
            ok = np.isfinite(values.to_numpy(dtype=float))
            if ok.any():
                return df["step"].to_numpy(dtype=float)[ok], values.to_numpy(dtype=float)[ok], col
    return None


def _smooth(y: np.ndarray, n: int) -> np.ndarray:
    """Centred running mean over ``n`` points (shrinking at the ends)."""
    if n <= 1 or len(y) < 3:
        return y
    n = min(n, len(y))
    kernel = np.ones(n)
    num = np.convolve(y, kernel, mode="same")
    den = np.convolve(np.ones_like(y), kernel, mode="same")
    return num / den


def plot_training_curves(curves: Mapping[str, pd.DataFrame]):
    """Two panels against the optimiser step, one colour per variant.

    Left: training loss (SmoothL1 on the standardised scale; raw per-step values faint, running
    mean solid) and validation loss (dashed, markers). Right: validation bin-wise Pearson r.
    ``curves`` maps a variant name to its :func:`read_metrics_csv` frame. Returns a
    :class:`matplotlib.figure.Figure` (10 x 3.8 in).
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.8), layout="constrained")
    ax_loss, ax_r = fig.subplots(1, 2)
    colours = [f"C{i % 10}" for i in range(len(curves))]
    any_loss = any_r = False
    for colour, (name, df) in zip(colours, curves.items(), strict=True):
        train = _series(df, TRAIN_LOSS_COLUMNS)
        if train is not None:
            x, y, _ = train
            if len(y) > 20:
                ax_loss.plot(x, y, color=colour, alpha=0.25, lw=0.8)
                ax_loss.plot(x, _smooth(y, max(3, len(y) // 25)), color=colour, lw=1.8, label=f"{name} train")
            else:
                ax_loss.plot(x, y, color=colour, lw=1.8, label=f"{name} train")
            any_loss = True
        val = _series(df, VAL_LOSS_COLUMNS)
        if val is not None:
            x, y, _ = val
            ax_loss.plot(x, y, color=colour, lw=1.4, ls="--", marker="o", ms=3.5, label=f"{name} validation")
            any_loss = True
        r = _series(df, VAL_PEARSON_COLUMNS)
        if r is not None:
            x, y, _ = r
            ax_r.plot(x, y, color=colour, lw=1.6, marker="o", ms=3.5, label=name)
            best = int(np.argmax(y))
            ax_r.plot([x[best]], [y[best]], marker="*", ms=12, color=colour, mec="black", mew=0.6, ls="none")
            any_r = True
    ax_loss.set_title("Loss (SmoothL1, standardised target)", fontsize=11)
    ax_loss.set_xlabel("optimiser step")
    ax_loss.set_ylabel("loss")
    ax_r.set_title("Validation bin-wise Pearson r (log2(x+1))", fontsize=11)
    ax_r.set_xlabel("optimiser step")
    ax_r.set_ylabel("Pearson r")
    for ax, has in ((ax_loss, any_loss), (ax_r, any_r)):
        ax.grid(alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
        if has:
            ax.legend(fontsize=8, frameon=False)
        else:
            ax.text(0.5, 0.5, "not logged", transform=ax.transAxes, ha="center", va="center", color="0.5")
    return fig
