"""Evaluation figures: they return Figures whose drawn data equal independent computations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import QuadMesh
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrow, Rectangle
from scipy.stats import linregress, pearsonr

from claster.errors import InputError
from claster.plots import save_figure
from claster.plots.evaluation import plot_density, plot_profiles, plot_run_comparison

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_density_histogram_fit_and_title() -> None:
    rng = np.random.default_rng(0)
    true = rng.gamma(1.0, 30.0, size=(20, 401))
    pred = true * 0.7 + rng.gamma(1.0, 3.0, size=true.shape)
    fig = plot_density(pred, true, title="chr4")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    mesh = next(c for c in ax.collections if isinstance(c, QuadMesh))
    counts = np.ma.filled(mesh.get_array(), 0)
    x, y = np.log2(true.ravel() + 1), np.log2(pred.ravel() + 1)
    assert counts.size == 200 * 200
    assert counts.sum() == np.count_nonzero((x >= 0) & (x <= 10) & (y >= 0) & (y <= 10))
    assert mesh.norm.__class__.__name__ == "LogNorm"
    r = pearsonr(x, y)[0]
    fit = linregress(x, y)
    assert f"r = {r:.4f}" in ax.get_title()
    assert f"{fit.slope:.3f}x + {fit.intercept:.3f}" in ax.get_title()
    line = ax.lines[1]  # identity first, then the fit
    assert line.get_ydata()[1] == pytest.approx(fit.slope * 10 + fit.intercept)


def test_density_constant_input_and_errors() -> None:
    fig = plot_density(np.zeros((2, 5)), np.zeros((2, 5)))
    assert "undefined" in fig.axes[0].get_title()
    with pytest.raises(InputError, match="same shape"):
        plot_density(np.zeros((2, 5)), np.zeros((3, 5)))


def test_profiles_with_gene_models(tmp_path: Path) -> None:
    x = np.arange(401)
    observed = np.exp(-((x - 200) / 10.0) ** 2) * 50
    genes = pd.DataFrame(
        {
            "gene_name": ["Akirin2", "Orc3", "Far", "Overlap"],
            "start_bp": [1_000_000, 1_050_000, 3_000_000, 1_010_000],
            "end_bp": [1_030_000, 1_120_000, 3_010_000, 1_040_000],
            "strand": ["+", "-", "+", "+"],
        }
    )
    profiles = {"observed": observed, "predicted": observed * 0.9}
    fig = plot_profiles(profiles, genes, tss_bp=1_000_000, chrom="chr4")
    ax, gax = fig.axes
    assert ax.lines[0].get_xdata()[0] == -200 and ax.lines[0].get_xdata()[-1] == 200
    np.testing.assert_allclose(ax.lines[0].get_ydata(), observed * 0.9)
    boxes = [p for p in gax.patches if isinstance(p, Rectangle)]
    arrows = [p for p in gax.patches if isinstance(p, FancyArrow)]
    assert len(boxes) == 3 and len(arrows) == 3  # "Far" is outside the window
    starts = sorted(round(b.get_x()) for b in boxes)
    assert starts == [0, 10, 50]  # kbp from the TSS
    lanes = {round(b.get_x()): b.get_y() for b in boxes}
    assert lanes[0] != lanes[10]  # overlapping genes go on different lanes
    assert "kbp from chr4:1,000,000" in gax.get_xlabel()
    assert {t.get_text() for t in gax.texts} == {"Akirin2", "Orc3", "Overlap"}
    out = save_figure(fig, tmp_path / "sub" / "profile.png")
    assert out.read_bytes()[:8] == PNG_MAGIC
    assert [p.name for p in out.parent.iterdir()] == ["profile.png"]


def test_profiles_errors() -> None:
    with pytest.raises(InputError, match="different lengths"):
        plot_profiles({"a": np.zeros(401), "b": np.zeros(400)})
    with pytest.raises(InputError, match="strand"):
        plot_profiles({"a": np.zeros(401)}, pd.DataFrame({"start_bp": [0], "end_bp": [10]}))


def test_run_comparison_bars() -> None:
    metrics = {
        "landscape": {
            "binwise_pearson": 0.88,
            "binwise_spearman": 0.78,
            "gene_pearson": 0.89,
            "gene_spearman": 0.93,
        },
        "microc": {"binwise_pearson": 0.87, "binwise_spearman": 0.77},
    }
    fig = plot_run_comparison(metrics)
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    assert heights == pytest.approx([0.88, 0.78, 0.89, 0.93, 0.87, 0.77, 0.0, 0.0])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["landscape", "microc"]
    with pytest.raises(InputError, match="none of the runs"):
        plot_run_comparison(metrics, keys=("auprc",))
    with pytest.raises(InputError, match="no runs"):
        plot_run_comparison({})


def test_save_figure_leaves_no_partial_file(tmp_path: Path) -> None:
    class Broken:
        def savefig(self, fh, **kwargs):  # noqa: ANN001, ANN003
            fh.write(b"partial")
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        save_figure(Broken(), tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []
