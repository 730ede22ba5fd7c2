"""The fused score on candidate-link features, its CLI, and the side-by-side CRISPR benchmark."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from claster.link import (
    benchmark_links,
    check_truth,
    fit_link_fusion,
    fusion_matrix,
    match_truth_rows,
    write_links_tsv,
)


def _world(n: int = 600, seed: int = 0, chrom: str = "chr1"):
    """Links of n elements x 1 gene each; the label depends on ABC and distance, not on the model score."""
    rng = np.random.default_rng(seed)
    start = np.arange(n) * 10_000 + 1_000
    dist = 10 ** rng.uniform(3, 5.2, n)
    abc = rng.uniform(0, 0.3, n)
    logit = 12 * abc - 2.5 * (np.log10(dist + 1000) - 4) - 1.5
    y = rng.uniform(size=n) < 1 / (1 + np.exp(-logit))
    genes = [f"G{i}" for i in range(n)]
    links = pd.DataFrame({
        "chr": chrom, "start": start, "end": start + 500, "name": [f"E{i}" for i in range(n)], "class": "distal",
        "TargetGene": genes, "TargetGeneTSS": start + 250 + dist.astype(np.int64),
        "TargetGeneEnsemblID": genes, "distance": dist.astype(np.int64), "score": rng.uniform(0, 1, n),
        "delta": rng.uniform(0, 3, n), "ABC.Score": abc, "contact": rng.uniform(0.01, 1, n),
        "activity": rng.uniform(0, 100, n),
    })
    truth = pd.DataFrame({
        "chrom": chrom, "chromStart": start, "chromEnd": start + 500, "measuredGeneSymbol": genes,
        "Regulated": y, "distanceToTSS": dist.astype(np.int64),
    })
    return links, check_truth(truth)


def test_fusion_matches_scikit_learn_logistic_regression():
    sklearn_lm = pytest.importorskip("sklearn.linear_model")
    links, truth = _world()
    l2 = 1e-2
    model = fit_link_fusion(links, truth, l2=l2)
    x = fusion_matrix(links, model.features)
    z = (x - x.mean(0)) / x.std(0)
    # ours: mean NLL + l2 * |w|^2; scikit-learn: C * sum NLL + |w|^2 / 2  ->  C = 1 / (2 * l2 * n)
    ref = sklearn_lm.LogisticRegression(C=1 / (2 * l2 * len(z)), tol=1e-10, max_iter=10_000).fit(
        z, truth["Regulated"].to_numpy())
    np.testing.assert_allclose(model.coef, ref.coef_[0], atol=2e-4)
    assert model.intercept == pytest.approx(ref.intercept_[0], abs=2e-4)
    # the generating law: ABC up, distance down
    coef = model.to_dict()["coef"]
    assert coef["ABC.Score"] > 0 and coef["distance"] < 0


def test_match_truth_rows_by_hand():
    links = pd.DataFrame({"chr": ["chr1"] * 3, "start": [100, 150, 1_000], "end": [200, 400, 1_100],
                          "TargetGene": ["A", "A", "B"], "distance": [10, 20, 30]})
    truth = pd.DataFrame({"chrom": ["chr1"] * 3, "chromStart": [120, 900, 5_000], "chromEnd": [380, 1_050, 5_100],
                          "measuredGeneSymbol": ["A", "B", "B"], "Regulated": [True, False, False],
                          "distanceToTSS": [1, 2, 3]})
    # pair 0 overlaps link 0 by 80 bp and link 1 by 230 bp -> link 1; pair 1 -> link 2; pair 2 -> none
    np.testing.assert_array_equal(match_truth_rows(check_truth(truth), links), [1, 2, -1])


def test_fuse_cli_writes_coefficients(tmp_path, cli):
    train, truth_train = _world(seed=1, chrom="chr1")
    test, truth_test = _world(seed=2, chrom="chr2")
    for df in (train, test):
        for c in ("zscore", "is_primary", "is_closest", "proximity_rank", "rel_change", "baseline_area",
                  "perturbed_area", "window_id"):
            df[c] = 0
        df["element_name"] = df["name"] if "name" in df.columns else "."
        df["area"] = "body"
    write_links_tsv(train, tmp_path / "train.tsv")
    write_links_tsv(test, tmp_path / "test.tsv")
    truth = pd.concat([truth_train, truth_test], ignore_index=True)
    truth.to_csv(tmp_path / "truth.tsv", sep="\t", index=False)
    code, out, err = cli(["fuse", "--train-links", tmp_path / "train.tsv", "--links", tmp_path / "test.tsv",
                          "--truth", tmp_path / "truth.tsv", "--out", tmp_path / "fused.tsv"])
    assert code == 0, err
    info = json.loads((tmp_path / "fused.fusion.json").read_text())
    assert set(info["coef"]) == {"delta", "score", "ABC.Score", "contact", "activity", "distance"}
    assert info["chroms"] == ["chr1"] and info["n_unmatched"] == 0
    fused = pd.read_csv(tmp_path / "fused.tsv", sep="\t")
    assert fused["fused_score"].between(0, 1).all() and len(fused) == len(test)
    # fitted on chr1 only, the fusion ranks chr2's pairs better than chance
    code, out, err = cli(["benchmark", "crispr", tmp_path / "fused.tsv", "--score-col", "fused_score",
                          "--truth", tmp_path / "truth.tsv", "--chroms", "chr2", "--out", tmp_path / "bench"])
    assert code == 0, err
    m = json.loads((tmp_path / "bench" / "metrics.json").read_text())
    assert m["auprc"] > m["base_rate"] + 0.1
    assert {"fused_score", "ABC.Score", "delta", "distance"} <= set(m["side_by_side"])


def test_benchmark_side_by_side_columns_and_unmatched():
    """Three truth pairs, two links: ABC ranks the positive first, the model score last; one pair unmatched."""
    links = pd.DataFrame({"chr": ["chr1", "chr1"], "start": [100, 1_000], "end": [200, 1_100],
                          "TargetGene": ["A", "B"], "score": [0.1, 0.9], "ABC.Score": [0.8, 0.2]})
    truth = check_truth(pd.DataFrame({
        "chrom": ["chr1"] * 3, "chromStart": [150, 1_050, 7_000], "chromEnd": [160, 1_060, 7_100],
        "measuredGeneSymbol": ["A", "B", "C"], "Regulated": [True, False, False],
        "distanceToTSS": [500, 100, 50_000],
    }))
    res = benchmark_links(links, truth, compare=["ABC.Score"])
    side = res["side_by_side"]
    assert side["ABC.Score"]["auprc"] == pytest.approx(1.0)  # the positive ranks first
    assert side["score"]["auprc"] == pytest.approx(0.5)  # second of three: precision 1/2 at recall 1
    assert side["score"]["n_unmatched"] == 1 and side["ABC.Score"]["n_unmatched"] == 1
    assert side["distance"]["auprc"] == pytest.approx(0.5)  # distances 500 (pos), 100, 50,000
    assert side["ABC.Score"]["precision_at_70_recall"] == pytest.approx(1.0)
    assert list(res["scored_pairs"]["score_ABC.Score"][:2]) == [0.8, 0.2]
