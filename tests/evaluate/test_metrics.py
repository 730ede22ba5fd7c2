"""Metrics of SPEC §5 against scipy references and hand-worked examples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import simpson
from scipy.stats import pearsonr, spearmanr

from claster.data.body import body_simpson, gene_body_bins, gene_body_mean, gene_body_means, round_half_away
from claster.evaluate import (
    StreamingPearson,
    binwise_correlations,
    evaluation_table,
    gene_level_correlations,
    summarise,
)
from claster.errors import InputError


@pytest.fixture
def pair() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    true = rng.poisson(3.0, size=(12, 401)).astype(np.float64) * rng.random((12, 1)) * 20
    pred = true * 0.8 + rng.normal(0, 2.0, size=true.shape)
    return pred, true


# --------------------------------------------------------------------------------------------------
# bin-wise


def test_binwise_matches_scipy_on_log2p1(pair: tuple[np.ndarray, np.ndarray]) -> None:
    pred, true = pair
    out = binwise_correlations(pred, true)
    lp = np.log2(np.maximum(pred, 0).ravel() + 1)
    lt = np.log2(true.ravel() + 1)
    assert out["pearson"] == pytest.approx(pearsonr(lp, lt)[0], abs=1e-12)
    assert out["spearman"] == pytest.approx(spearmanr(lp, lt)[0], abs=1e-12)
    assert out["n_points"] == 12 * 401


def test_binwise_spearman_average_ranks_with_ties() -> None:
    pred = np.array([[0.0, 0.0, 1.0, 3.0, 3.0, 7.0]])
    true = np.array([[0.0, 1.0, 1.0, 1.0, 3.0, 3.0]])
    out = binwise_correlations(pred, true)
    assert out["spearman"] == pytest.approx(spearmanr(pred.ravel(), true.ravel())[0], abs=1e-12)


def test_binwise_clips_negative_predictions() -> None:
    pred = np.array([[-5.0, 1.0, 3.0, 7.0]])
    true = np.array([[0.0, 1.0, 3.0, 7.0]])
    # clipped to 0: identical after the transform
    assert binwise_correlations(pred, true)["pearson"] == pytest.approx(1.0)
    with np.errstate(invalid="ignore"):
        r = binwise_correlations(pred, true, clip_min=None)["pearson"]
    assert np.isnan(r)  # log2(-4) is NaN without clipping


def test_streaming_pearson_equals_pooled(pair: tuple[np.ndarray, np.ndarray]) -> None:
    pred, true = pair
    acc = StreamingPearson()
    for i in range(0, 12, 5):
        acc.update(pred[i : i + 5], true[i : i + 5])
    assert acc.n == 12 * 401
    assert acc.compute() == pytest.approx(binwise_correlations(pred, true)["pearson"], abs=1e-12)
    a, b = StreamingPearson(), StreamingPearson()
    a.update(pred[:3], true[:3])
    b.update(pred[3:], true[3:])
    assert a.merge(b).compute() == pytest.approx(acc.compute(), abs=1e-12)


def test_streaming_pearson_raw_values() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    y = np.array([2.0, 1.0, 4.0, 3.0, 8.0])
    acc = StreamingPearson(log_transform=False, clip_min=None)
    acc.update(x[:2], y[:2]).update(x[2:], y[2:])
    assert acc.compute() == pytest.approx(pearsonr(x, y)[0], abs=1e-12)
    assert np.isnan(StreamingPearson().update(np.ones(3), x[:3]).compute())


def test_binwise_errors() -> None:
    with pytest.raises(InputError, match="same shape"):
        binwise_correlations(np.zeros((2, 401)), np.zeros((3, 401)))
    bad = np.zeros((2, 401))
    bad[0, 3] = np.nan
    with pytest.raises(InputError, match="1 non-finite"):
        binwise_correlations(bad, np.zeros((2, 401)))


# --------------------------------------------------------------------------------------------------
# gene-body means


def _profile(values: dict[int, float]) -> np.ndarray:
    p = np.zeros(401)
    for k, v in values.items():
        p[k + 200] = v
    return p


def test_gene_body_mean_hand_worked() -> None:
    # bins 0..4 hold 1..5: Simpson = (1 + 4*2 + 2*3 + 4*4 + 5) / 3 = 12; width 4 -> 3
    p = _profile({0: 1, 1: 2, 2: 3, 3: 4, 4: 5})
    assert gene_body_mean(p, 0, 4) == pytest.approx(3.0)
    assert gene_body_mean(p, 4, 0) == pytest.approx(3.0)  # order does not matter
    # Simpson is exact for a quadratic: int_0^4 k^2 dk = 64/3, / 4 = 16/3
    q = _profile({k: k * k for k in range(5)})
    assert gene_body_mean(q, 0, 4) == pytest.approx(16 / 3)
    # minus-strand body at negative offsets: bins -4..0 hold 5..1
    m = _profile({-4: 5, -3: 4, -2: 3, -1: 2, 0: 1})
    assert gene_body_mean(m, -4, 0) == pytest.approx(3.0)


def test_gene_body_mean_single_bin_two_bins_and_clipping() -> None:
    p = _profile({0: 7.0, 1: 3.0, 200: 2.0, 199: 4.0})
    assert gene_body_mean(p, 0, 0) == pytest.approx(7.0)  # single bin: its value
    assert gene_body_mean(p, 0, 1) == pytest.approx(5.0)  # two points: trapezoid (7+3)/2 / 1
    # clipped to the window: 199..350 -> 199..200, trapezoid (4+2)/2 / 1
    assert gene_body_mean(p, 199, 350) == pytest.approx(3.0)
    assert gene_body_mean(p, 0.4, 0.6) == pytest.approx(5.0)  # 0.4 -> 0, 0.6 -> 1
    neg = _profile({0: -3.0, 1: 3.0})
    assert gene_body_mean(neg, 0, 1) == pytest.approx(1.5)  # negative clipped to 0
    assert gene_body_mean(neg, 0, 1, clip_min=None) == pytest.approx(0.0)


def test_body_simpson_even_points_matches_scipy() -> None:
    rng = np.random.default_rng(0)
    prof = rng.random((3, 401)) * 5
    lo = np.array([0, -7, 10])
    hi = np.array([5, 0, 23])  # 6, 8 and 14 points: scipy's even-count correction
    out = body_simpson(prof, lo, hi)
    for i in range(3):
        ref = simpson(prof[i, lo[i] + 200 : hi[i] + 201], dx=1.0) / (hi[i] - lo[i])
        assert out[i] == pytest.approx(ref, rel=1e-12)
    area = body_simpson(prof, lo, hi, mean=False)
    assert area == pytest.approx(out * (hi - lo))
    assert np.isnan(body_simpson(prof[:1], np.array([5]), np.array([4]))[0])  # empty body


def test_round_half_away() -> None:
    got = round_half_away(np.array([-1.5, -0.5, -0.4, 0.4, 0.5, 1.5, 2.5]))
    assert got.tolist() == [-2, -1, 0, 0, 1, 2, 3]


def test_gene_body_bins_and_means_by_strand() -> None:
    genes = pd.DataFrame(
        {
            # + strand: TSS = start; body [100_000, 104_001) -> last base 104_000 -> bins 0..4
            # - strand: TSS = end - 1 = 200_000; body starts 195_600 -> -4.4 -> -4, end -> 0
            # long gene clipped: 250 kbp -> bins 0..200
            "tss_bp": [100_000, 200_000, 300_000, 400_000],
            "start_bp": [100_000, 195_600, 300_000, 398_500],
            "end_bp": [104_001, 200_001, 550_000, 400_001],
            "strand": ["+", "-", "+", "-"],
        }
    )
    lo, hi = gene_body_bins(genes)
    assert lo.tolist() == [0, -4, 0, -2]  # -1.5 kbp rounds away from zero to -2
    assert hi.tolist() == [4, 0, 200, 0]
    lo_s, hi_s = gene_body_bins(genes, orientation="strand")
    assert lo_s.tolist() == [0, 0, 0, 0]
    assert hi_s.tolist() == [4, 4, 200, 2]
    profiles = np.stack(
        [
            _profile({0: 1, 1: 2, 2: 3, 3: 4, 4: 5}),
            _profile({-4: 5, -3: 4, -2: 3, -1: 2, 0: 1}),
            np.ones(401),
            _profile({-2: 2.0, -1: 2.0, 0: 2.0}),
        ]
    )
    assert gene_body_means(profiles, genes) == pytest.approx([3.0, 3.0, 1.0, 2.0])
    # relative to another centre (a gene that is not the window's central gene)
    lo_c, hi_c = gene_body_bins(genes.iloc[:1], center_bp=90_000)
    assert (lo_c[0], hi_c[0]) == (10, 14)


def test_gene_body_errors() -> None:
    genes = pd.DataFrame({"tss_bp": [0], "start_bp": [0]})
    with pytest.raises(InputError, match="end_bp"):
        gene_body_bins(genes)
    bad = pd.DataFrame({"tss_bp": [10], "start_bp": [10], "end_bp": [10], "strand": ["+"]})
    with pytest.raises(InputError, match="1 genes have end_bp <= start_bp"):
        gene_body_bins(bad)
    with pytest.raises(InputError, match="2 rows"):
        gene_body_means(np.zeros((3, 401)), pd.concat([bad, bad]))


# --------------------------------------------------------------------------------------------------
# gene level and the table


def test_gene_level_correlations_scipy_and_nan() -> None:
    p = np.array([1.0, 2.0, 2.0, 5.0, np.nan, 9.0])
    t = np.array([1.5, 1.0, 3.0, 4.0, 7.0, 8.0])
    out = gene_level_correlations(p, t)
    ok = ~np.isnan(p)
    assert out["n_genes"] == 5
    assert out["pearson"] == pytest.approx(pearsonr(p[ok], t[ok])[0], abs=1e-12)
    assert out["spearman"] == pytest.approx(spearmanr(p[ok], t[ok])[0], abs=1e-12)


def test_evaluation_table(pair: tuple[np.ndarray, np.ndarray]) -> None:
    pred, true = pair
    n = pred.shape[0]
    genes = pd.DataFrame(
        {
            "gene_id": [f"G{i}" for i in range(n)],
            "gene_name": [f"g{i}" for i in range(n)],
            "chrom": "chr4",
            "strand": ["+", "-"] * (n // 2),
            "tss_bp": 1_000_000 + np.arange(n) * 10_000,
        }
    )
    genes["start_bp"] = np.where(genes["strand"] == "+", genes["tss_bp"], genes["tss_bp"] - 20_000)
    genes["end_bp"] = np.where(genes["strand"] == "+", genes["tss_bp"] + 30_001, genes["tss_bp"] + 1)
    table = evaluation_table(pred, true, genes)
    assert list(table.columns[:5]) == ["gene_id", "gene_name", "chrom", "strand", "tss_bp"]
    i = 3  # minus strand: body bins -20..0
    lp, lt = np.log2(np.maximum(pred[i], 0) + 1), np.log2(true[i] + 1)
    assert table.loc[i, "pearson_profile"] == pytest.approx(pearsonr(lp, lt)[0], abs=1e-12)
    assert table.loc[i, "spearman_profile"] == pytest.approx(spearmanr(lp, lt)[0], abs=1e-12)
    assert table.loc[i, "true_body_mean"] == pytest.approx(simpson(true[i, 180:201]) / 20)
    assert (table.loc[i, "body_lo_bin"], table.loc[i, "body_hi_bin"]) == (-20, 0)
    assert table.loc[0, "pred_body_mean"] == pytest.approx(simpson(np.maximum(pred[0, 200:231], 0)) / 30)
    s = summarise(table, pred, true)
    # independent expectations: body means by Simpson's rule over bins 0..30 (+) / -20..0 (-) of the
    # 401-bin profile (TSS at bin 200), then scipy's correlations across genes and over all log2 bins
    lo = np.where(genes["strand"] == "+", 200, 180)
    hi = np.where(genes["strand"] == "+", 230, 200)
    pm = np.array([simpson(np.maximum(pred[g, lo[g] : hi[g] + 1], 0)) / (hi[g] - lo[g]) for g in range(n)])
    tm = np.array([simpson(true[g, lo[g] : hi[g] + 1]) / (hi[g] - lo[g]) for g in range(n)])
    assert s["gene_pearson"] == pytest.approx(pearsonr(pm, tm)[0], abs=1e-12)
    assert s["gene_spearman"] == pytest.approx(spearmanr(pm, tm)[0], abs=1e-12)
    lp, lt = np.log2(np.maximum(pred, 0).ravel() + 1), np.log2(true.ravel() + 1)
    assert s["binwise_pearson"] == pytest.approx(pearsonr(lp, lt)[0], abs=1e-12)
    assert s["binwise_spearman"] == pytest.approx(spearmanr(lp, lt)[0], abs=1e-12)
    assert s["n_samples"] == n and s["n_points"] == n * 401
