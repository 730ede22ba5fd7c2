"""CRISPR benchmark figures: the drawn PR steps enclose the AUPRC; baselines, base rate, legends."""

from __future__ import annotations

import numpy as np
import pytest

from claster.link import precision_recall_curve, roc_curve
from claster.errors import InputError
from claster.plots.crispr import plot_pr_curves, plot_roc_curves


@pytest.fixture
def curves() -> dict[str, dict[str, object]]:
    rng = np.random.default_rng(2)
    y = rng.random(200) < 0.15
    out = {}
    for label, s in {
        "links": y * 1.0 + rng.normal(0, 0.6, 200),
        "distance": y * 0.5 + rng.normal(0, 0.6, 200),
        "random": rng.random(200),
    }.items():
        p, r, _ = precision_recall_curve(y, s)
        f, t, _ = roc_curve(y, s)
        ap = float(np.sum(np.diff(np.r_[0, r]) * p))
        auc = float(np.trapezoid(t, f))
        out[label] = {"precision": p, "recall": r, "fpr": f, "tpr": t, "auprc": ap, "auroc": auc}
    return out


def _step_area(x: np.ndarray, y: np.ndarray) -> float:
    """Area under a 'steps-pre' line: y[i] holds on (x[i-1], x[i]]."""
    return float(np.sum(np.diff(x) * y[1:]))


def test_pr_curves(curves: dict[str, dict[str, object]]) -> None:
    fig = plot_pr_curves(curves, base_rate=0.15, title="sim")
    ax = fig.axes[0]
    lines = {ln.get_label(): ln for ln in ax.lines}
    for label, c in curves.items():
        key = f"{label} (AUPRC {c['auprc']:.3f})"
        assert key in lines
        ln = lines[key]
        assert ln.get_drawstyle() == "steps-pre"
        assert _step_area(np.asarray(ln.get_xdata()), np.asarray(ln.get_ydata())) == pytest.approx(c["auprc"])
    assert lines["distance (AUPRC " + f"{curves['distance']['auprc']:.3f})"].get_linestyle() == "--"
    assert "base rate 0.150" in lines
    assert lines["base rate 0.150"].get_ydata()[0] == pytest.approx(0.15)


def test_roc_curves(curves: dict[str, dict[str, object]]) -> None:
    fig = plot_roc_curves(curves)
    ax = fig.axes[0]
    labels = [ln.get_label() for ln in ax.lines]
    assert labels[-1] == "chance"
    ln = ax.lines[0]
    assert ln.get_label() == f"links (AUROC {curves['links']['auroc']:.3f})"
    assert np.trapezoid(ln.get_ydata(), ln.get_xdata()) == pytest.approx(curves["links"]["auroc"])


def test_errors() -> None:
    with pytest.raises(InputError, match="no curves"):
        plot_pr_curves({})
    with pytest.raises(InputError, match="lacks fpr, tpr"):
        plot_roc_curves({"x": {"auroc": 0.5}})
