"""CRISPRi benchmark: hand-worked AP/AUROC, overlap rules, real-data distance baseline, the CLI."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import mannwhitneyu
from sklearn.metrics import average_precision_score

from claster.link import (
    average_precision,
    benchmark_links,
    best_f1,
    check_links,
    precision_at_recall,
    precision_recall_curve,
    read_crispr_truth,
    read_links,
    roc_auc,
    roc_curve,
    score_truth_pairs,
    truth_from_simulation,
)
from claster.errors import ClasterWarning, InputError

TRAINING_K562 = "crispr/EPCrisprBenchmark_combined_data.training_K562.GRCh38.tsv.gz"


def _table(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), sep=r"\s+")


# A tiny truth and link pair whose metrics are worked out by hand (see test_tiny_benchmark_by_hand).
TRUTH = _table(
    """
chrom chromStart chromEnd measuredGeneSymbol Regulated distanceToTSS startTSS
chr1  100  200  A  True   1000  1150
chr1  300  400  A  False   500  850
chr1  500  600  B  True   2000  2550
chr1  700  800  B  False  3000  3750
chr1  900 1000  A  False  4000  4950
"""
)
LINKS = _table(
    """
chr start end name TargetGene TargetGeneTSS distance score
chr1 150 250 l1 A 1150 1000 0.9
chr1 120 180 l2 A 1150 1000 0.2
chr1 300 400 l3 A 850 500 0.5
chr1 400 450 l4 A 850 500 0.99
chr1 550 560 l5 B 2550 2000 0.4
chr1 700 800 l6 A 850 0 0.95
chr1 700 800 l7 B 3750 3000 0.1
"""
)


# --------------------------------------------------------------------------------------------------
# AP and AUROC by hand


def test_average_precision_hand_worked() -> None:
    # thresholds 0.9 (P 1, R .5), 0.8 (P .5, R .5), 0.7 (P 2/3, R 1), 0.1 (P .5, R 1)
    # AP = .5 * 1 + 0 * .5 + .5 * 2/3 + 0 = 5/6
    y = [1, 0, 1, 0]
    s = [0.9, 0.8, 0.7, 0.1]
    assert average_precision(y, s) == pytest.approx(5 / 6)
    assert roc_auc(y, s) == pytest.approx(3 / 4)  # positive beats negative in 3 of 4 pairs
    # scikit-learn's documented example: AP 0.8333..., AUROC 0.75
    assert average_precision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.8333333333)
    assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)


def test_ties_enter_together() -> None:
    # one threshold at 0.5 holds 2 positives and 1 negative: P 2/3, R 1 -> AP 2/3 (not 1)
    y = [1, 0, 1, 0]
    s = [0.5, 0.5, 0.5, 0.1]
    assert average_precision(y, s) == pytest.approx(2 / 3)
    precision, recall, thr = precision_recall_curve(y, s)
    assert precision.tolist() == pytest.approx([2 / 3, 0.5])
    assert recall.tolist() == [1.0, 1.0]
    assert thr.tolist() == [0.5, 0.1]
    # a tie between a positive and a negative counts one half: (0.5 + 1 + 0.5 + 1) / 4
    assert roc_auc(y, s) == pytest.approx(0.75)
    fpr, tpr, thr = roc_curve(y, s)
    assert fpr.tolist() == [0.0, 0.5, 1.0]
    assert tpr.tolist() == [0.0, 1.0, 1.0]
    assert np.isinf(thr[0])
    # permuting tied pairs changes nothing
    assert average_precision([0, 1, 1, 0], [0.5, 0.5, 0.5, 0.1]) == pytest.approx(2 / 3)


def _ap_bruteforce(y: np.ndarray, s: np.ndarray) -> float:
    ap, prev_r = 0.0, 0.0
    for t in np.sort(np.unique(s))[::-1]:
        pos = s >= t
        tp = float((pos & y).sum())
        r = tp / y.sum()
        ap += (r - prev_r) * tp / pos.sum()
        prev_r = r
    return ap


def test_random_scores_against_independent_references() -> None:
    rng = np.random.default_rng(3)
    y = rng.random(300) < 0.2
    s = rng.integers(0, 25, 300).astype(float)  # many ties
    assert average_precision(y, s) == pytest.approx(_ap_bruteforce(y, s), abs=1e-12)
    u = mannwhitneyu(s[y], s[~y]).statistic
    assert roc_auc(y, s) == pytest.approx(u / (y.sum() * (~y).sum()), abs=1e-12)


def test_precision_at_recall_and_best_f1_hand_worked() -> None:
    y = [1, 0, 1, 0, 0]
    s = [0.9, 0.5, 0.4, 0.1, -1.0]
    par = precision_at_recall(y, s, 0.7)
    assert par == {"precision": pytest.approx(2 / 3), "recall": 1.0, "threshold": 0.4}
    assert precision_at_recall(y, s, 0.5)["precision"] == 1.0
    f1 = best_f1(y, s)
    assert f1 == {
        "f1": pytest.approx(0.8),
        "threshold": 0.4,
        "precision": pytest.approx(2 / 3),
        "recall": 1.0,
        "tp": 2,
        "fp": 1,
        "fn": 0,
        "tn": 2,
    }


def test_metrics_without_positives_are_nan() -> None:
    assert np.isnan(average_precision([0, 0, 0], [0.1, 0.2, 0.3]))
    assert np.isnan(roc_auc([1, 1], [0.1, 0.2]))
    with pytest.raises(InputError, match="1 scores are NaN"):
        average_precision([0, 1], [np.nan, 0.2])


# --------------------------------------------------------------------------------------------------
# overlap and the benchmark


def test_overlap_takes_max_of_same_gene_half_open() -> None:
    scores, n_links, col = score_truth_pairs(TRUTH, check_links(LINKS))
    assert col == "measuredGeneSymbol"
    # e1: l1 0.9 and l2 0.2 -> 0.9; e2: l3 (l4 starts at its end: no overlap); e3: l5;
    # e4: l7 (l6 names gene A); e5: nothing
    np.testing.assert_array_equal(scores[:4], [0.9, 0.5, 0.4, 0.1])
    assert np.isnan(scores[4])
    assert n_links.tolist() == [2, 1, 1, 1, 0]


def test_tiny_benchmark_by_hand() -> None:
    res = benchmark_links(LINKS, TRUTH, seed=0)
    # links: e1 .9 T, e2 .5 F, e3 .4 T, e4 .1 F, e5 unmatched -> fill 0.1 - 1 = -0.9, F
    assert res["n_pairs"] == 5 and res["n_positive"] == 2 and res["n_unmatched"] == 1
    assert res["n_unmatched_positive"] == 0
    assert res["unmatched_fill_score"] == pytest.approx(-0.9)
    assert res["auprc"] == pytest.approx(1 * 0.5 + 2 / 3 * 0.5)
    assert res["auroc"] == pytest.approx(5 / 6)
    assert res["precision_at_70_recall"] == pytest.approx(2 / 3)
    assert res["best_f1"]["f1"] == pytest.approx(0.8)
    f1 = res["best_f1"]
    assert (f1["tp"], f1["fp"], f1["fn"], f1["tn"]) == (2, 1, 0, 2)
    # distance (distanceToTSS): 500 F, 1000 T, 2000 T, 3000 F, 4000 F
    # thresholds: P 0 R 0; P 1/2 R 1/2; P 2/3 R 1 -> AP = .5 * .5 + .5 * 2/3
    dist = res["baselines"]["distance"]
    assert res["distance_source"] == "distanceToTSS"
    assert dist["auprc"] == pytest.approx(0.25 + 1 / 3)
    assert dist["auroc"] == pytest.approx(4 / 6)
    rnd = np.random.default_rng(0).random(5)  # the documented random scores; AP from scikit-learn
    assert res["baselines"]["random"]["auprc"] == pytest.approx(average_precision_score(TRUTH["Regulated"], rnd))
    scored = res["scored_pairs"]
    np.testing.assert_array_equal(scored["score_links"], [0.9, 0.5, 0.4, 0.1, -0.9])
    np.testing.assert_array_equal(scored["score_distance"], [-1000, -500, -2000, -3000, -4000])


def test_midpoint_distance_and_baselines_only() -> None:
    res = benchmark_links(None, TRUTH, distance="midpoint")
    # midpoints 150, 350, 550, 750, 950 vs TSS 1150, 850, 2550, 3750, 4950 -> 1000, 500, 2000, 3000, 4000
    np.testing.assert_array_equal(res["scored_pairs"]["distance_bp"], [1000, 500, 2000, 3000, 4000])
    assert res["distance_source"] == "midpoint"
    assert "auprc" not in res and res["n_unmatched"] is None
    no_col = TRUTH.drop(columns="distanceToTSS")
    assert benchmark_links(None, no_col)["distance_source"] == "midpoint"
    with pytest.raises(InputError, match="distanceToTSS"):
        benchmark_links(None, no_col, distance="column")


def test_gene_id_matching_auto() -> None:
    truth = TRUTH.assign(measuredGeneEnsemblId=TRUTH["measuredGeneSymbol"].map({"A": "ENSG1", "B": "ENSG2"}))
    links = LINKS.assign(TargetGene=LINKS["TargetGene"].map({"A": "ENSG1", "B": "ENSG2"}))
    res = benchmark_links(links, truth)
    assert res["truth_gene_col"] == "measuredGeneEnsemblId"
    assert res["auprc"] == pytest.approx(benchmark_links(LINKS, TRUTH)["auprc"])


def test_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"lacks required column\(s\) measuredGeneSymbol, Regulated"):
        benchmark_links(None, TRUTH.drop(columns=["measuredGeneSymbol", "Regulated"]))
    with pytest.raises(InputError, match="distanceToTSS or startTSS"):
        benchmark_links(None, TRUTH.drop(columns=["distanceToTSS", "startTSS"]))
    with pytest.raises(InputError, match="no score column 'ratio_to_max'.*TargetGeneTSS, distance, score"):
        benchmark_links(LINKS, TRUTH, score_col="ratio_to_max")
    with pytest.raises(InputError, match="TargetGene"):
        benchmark_links(LINKS.drop(columns="TargetGene"), TRUTH)
    with pytest.raises(InputError, match="share no chromosome"):
        benchmark_links(LINKS.assign(chr="1"), TRUTH)
    p = tmp_path / "truth.tsv"
    TRUTH.drop(columns="chromEnd").to_csv(p, sep="\t", index=False)
    with pytest.raises(InputError, match=r"truth file .*truth.tsv lacks required column\(s\) chromEnd"):
        read_crispr_truth(p)
    with pytest.raises(InputError, match="does not exist"):
        read_links(tmp_path / "nope.tsv")


def test_unlabelled_rows_are_dropped_with_a_warning() -> None:
    truth = TRUTH.astype({"Regulated": object})
    truth.loc[1, "Regulated"] = "NA"
    with pytest.warns(ClasterWarning, match="dropped 1 pairs"):
        res = benchmark_links(None, truth)
    assert res["n_pairs"] == 4 and res["n_dropped_unlabelled"] == 1


def test_degenerate_rows_are_widened_or_dropped_not_fatal() -> None:
    truth = TRUTH.astype({"chromStart": object})
    truth.loc[1, ["chromStart", "chromEnd"]] = [300, 300]  # zero length: the 1 bp at 300
    truth.loc[3, ["chromStart", "chromEnd"]] = [800, 700]  # reversed: cannot be interpreted
    truth.loc[4, "chromStart"] = "n/a"  # not a number
    with pytest.warns(ClasterWarning) as record:
        res = benchmark_links(LINKS, truth, seed=0)
    assert len(record) == 1  # one warning line naming every change
    msg = str(record[0].message)
    assert "dropped 2 pairs whose chromStart/chromEnd" in msg and "read 1 zero-length element" in msg
    assert res["truth_rows_changed"] == {"unlabelled": 0, "bad_coordinates": 2, "no_tss_or_distance": 0,
                                         "zero_length_widened": 1}
    scored = res["scored_pairs"]
    assert scored[["chromStart", "chromEnd"]].to_numpy().tolist() == [[100, 200], [300, 301], [500, 600]]
    # pairs e1 (T, link .9), e2 [300, 301) (F, l3 covers it: .5), e3 (T, .4): AP by hand = (1 + 2/3) / 2
    assert res["n_pairs"] == 3 and res["auprc"] == pytest.approx((1 + 2 / 3) / 2)
    bad = TRUTH.assign(chromEnd=TRUTH["chromStart"] - 1)
    with pytest.warns(ClasterWarning), pytest.raises(InputError, match="no usable labelled pairs.*dropped 5 pairs"):
        benchmark_links(None, bad)


def test_rows_without_tss_or_distance_are_dropped() -> None:
    truth = TRUTH.astype({"distanceToTSS": float, "startTSS": float})
    truth.loc[0, ["distanceToTSS", "startTSS"]] = np.nan  # cannot be placed: dropped
    truth.loc[1, "distanceToTSS"] = np.nan  # startTSS 850 still places it: kept
    with pytest.warns(ClasterWarning, match="dropped 1 pairs with neither distanceToTSS nor startTSS"):
        res = benchmark_links(None, truth, distance="midpoint")
    assert res["n_pairs"] == 4 and res["truth_rows_changed"]["no_tss_or_distance"] == 1
    # midpoints 350, 550, 750, 950 vs TSS 850, 2550, 3750, 4950
    np.testing.assert_array_equal(res["scored_pairs"]["distance_bp"], [500, 2000, 3000, 4000])


@pytest.mark.realdata
def test_real_ensemble_file_runs(real_dir: Path, tmp_path: Path, cli) -> None:
    """The ensemble file (10,412 pairs) has one unlabelled pair and 81 without a TSS (and no
    distanceToTSS column): those are dropped and counted, the rest is scored."""
    path = real_dir / "crispr" / "EPCrisprBenchmark_ensemble_data_GRCh38.tsv.gz"
    raw = pd.read_csv(path, sep="\t")
    n_no_tss = int((raw["Regulated"].notna() & raw["startTSS"].isna()).sum())
    code, _, err = cli(["benchmark", "crispr", "--truth", path, "--out", tmp_path / "o"])
    assert code == 0, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("warning: truth file"), err
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert m["truth_rows_changed"]["no_tss_or_distance"] == n_no_tss > 0
    assert m["truth_rows_changed"]["unlabelled"] == int(raw["Regulated"].isna().sum()) == 1
    assert m["n_pairs"] == len(raw) - n_no_tss - 1 and m["distance_source"] == "midpoint"


@pytest.mark.realdata
def test_real_file_with_a_zero_length_element(real_dir: Path, tmp_path: Path, cli) -> None:
    """The published held-out file has one MPRA element with chromStart == chromEnd; the files here have
    none, so one row of the K562 training file is made degenerate: only that row changes, the run goes on."""
    raw = pd.read_csv(real_dir / TRAINING_K562, sep="\t")
    assert raw["Regulated"].notna().all() and (raw["chromEnd"] > raw["chromStart"]).all()
    i = int(np.flatnonzero(raw["Regulated"].notna().to_numpy())[10])
    raw.loc[i, "chromEnd"] = raw.loc[i, "chromStart"]
    path = tmp_path / "truth.tsv.gz"
    raw.to_csv(path, sep="\t", index=False)
    code, stdout, err = cli(["benchmark", "crispr", "--truth", path, "--out", tmp_path / "o"])
    assert code == 0, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: truth file"), err
    assert "read 1 zero-length elements" in lines[0] and "dropped" not in lines[0]
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert m["truth_rows_changed"] == {"unlabelled": 0, "bad_coordinates": 0, "no_tss_or_distance": 0,
                                       "zero_length_widened": 1}
    assert m["n_pairs"] == len(raw) == 10_356
    scored = pd.read_csv(tmp_path / "o" / "scored_pairs.tsv", sep="\t")
    start = int(raw.loc[i, "chromStart"])
    assert scored.loc[i, ["chromStart", "chromEnd"]].tolist() == [start, start + 1]
    others = np.arange(len(raw)) != i
    assert (scored["chromEnd"].to_numpy()[others] == raw["chromEnd"].to_numpy()[others]).all()


def test_truth_from_simulation(tmp_path: Path) -> None:
    (tmp_path / "truth").mkdir()
    pairs = _table(
        """
enhancer_id chrom start_bp end_bp gene_id gene_name tss_bp distance_bp contact effect regulated
enh1 chr4 1000 1500 G1 g1 5000 -3750 0.5 -0.3 True
enh2 chr4 8000 8400 G1 g1 5000 3200 0.1 0.0 False
enh2 chr4 8000 8400 G2 g2 20000 -11800 0.05 0.0 False
"""
    )
    pairs.to_csv(tmp_path / "truth" / "pairs.tsv", sep="\t", index=False)
    truth = truth_from_simulation(tmp_path)
    assert truth["measuredGeneSymbol"].tolist() == ["g1", "g1", "g2"]
    assert truth["measuredGeneEnsemblId"].tolist() == ["G1", "G1", "G2"]
    assert truth["distanceToTSS"].tolist() == [3750, 3200, 11800]
    assert truth["Regulated"].tolist() == [True, False, False]
    assert truth[["chromStart", "chromEnd", "startTSS"]].iloc[0].tolist() == [1000, 1500, 5000]
    links = pd.DataFrame(
        {
            "chr": "chr4",
            "start": [1100, 8000],
            "end": [1200, 8400],
            "TargetGene": ["G1", "G2"],
            "score": [1.0, 0.3],
        }
    )
    res = benchmark_links(links, truth)
    assert res["truth_gene_col"] == "measuredGeneEnsemblId"
    assert res["n_unmatched"] == 1 and res["auprc"] == pytest.approx(1.0)
    with pytest.raises(InputError, match="truth/pairs.tsv"):
        truth_from_simulation(tmp_path / "elsewhere")


# --------------------------------------------------------------------------------------------------
# real data


@pytest.mark.realdata
def test_real_distance_baseline_reproduces_0438(real_dir: Path) -> None:
    truth = read_crispr_truth(real_dir / TRAINING_K562)
    assert len(truth) == 10_356 and int(truth["Regulated"].sum()) == 471
    res = benchmark_links(None, truth)
    assert res["distance_source"] == "distanceToTSS"
    assert res["baselines"]["distance"]["auprc"] == pytest.approx(0.438, abs=0.005)
    # recomputing the distance from the GRCh38 coordinates gives a lower AUPRC
    mid = benchmark_links(None, truth, distance="midpoint")["baselines"]["distance"]["auprc"]
    assert mid == pytest.approx(0.415, abs=0.002)
    # a link file whose elements are the truth elements, scored DHS.RPM / (distance + 5 kb): README 0.473
    links = pd.DataFrame(
        {
            "chr": truth["chrom"],
            "start": truth["chromStart"],
            "end": truth["chromEnd"],
            "TargetGene": truth["measuredGeneSymbol"],
            "score": truth["DHS.RPM"] / (truth["distanceToTSS"] + 5_000),
        }
    )
    res = benchmark_links(links, truth)
    assert res["n_unmatched"] == 0
    assert res["auprc"] == pytest.approx(0.473, abs=0.0015)


# --------------------------------------------------------------------------------------------------
# the CLI


def test_cli_end_to_end(tmp_path: Path, cli) -> None:
    truth_p, links_p, out = tmp_path / "truth.tsv", tmp_path / "links.tsv", tmp_path / "out"
    TRUTH.to_csv(truth_p, sep="\t", index=False)
    LINKS.to_csv(links_p, sep="\t", index=False)
    code, stdout, err = cli(["benchmark", "crispr", links_p, "--truth", truth_p, "--out", out, "--seed", "0"])
    assert code == 0, err
    assert "5 pairs, 2 positive" in stdout
    m = json.loads((out / "metrics.json").read_text())
    assert m["auprc"] == pytest.approx(5 / 6)
    assert m["auroc"] == pytest.approx(5 / 6)
    assert m["precision_at_70_recall"] == pytest.approx(2 / 3)
    assert m["best_f1"]["f1"] == pytest.approx(0.8) and m["best_f1"]["tn"] == 2
    assert m["baselines"]["distance"]["auprc"] == pytest.approx(0.25 + 1 / 3)
    assert m["baselines"]["distance"]["auroc"] == pytest.approx(4 / 6)
    assert (m["n_pairs"], m["n_positive"], m["n_unmatched"]) == (5, 2, 1)
    rnd = np.random.default_rng(0).random(5)
    assert m["baselines"]["random"]["auprc"] == pytest.approx(average_precision_score(TRUTH["Regulated"], rnd))
    for name in ("pr_curve.png", "roc_curve.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    scored = pd.read_csv(out / "scored_pairs.tsv", sep="\t")
    assert scored["score_links"].tolist() == pytest.approx([0.9, 0.5, 0.4, 0.1, -0.9])
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]

    # --force is needed to overwrite; --seed changes the random baseline
    code, _, err = cli(["benchmark", "crispr", links_p, "--truth", truth_p, "--out", out, "--seed", "5"])
    assert code == 1 and "already exists; pass --force" in err
    code, _, err = cli(["benchmark", "crispr", "--truth", truth_p, "--out", out, "--seed", "5", "--force"])
    assert code == 0, err
    m5 = json.loads((out / "metrics.json").read_text())
    rnd5 = np.random.default_rng(5).random(5)
    assert m5["baselines"]["random"]["auprc"] == pytest.approx(average_precision_score(TRUTH["Regulated"], rnd5))
    assert m5["n_unmatched"] is None and "auprc" not in m5

    # --score-col picks another column; --distance midpoint is recorded
    code, _, err = cli(
        ["benchmark", "crispr", links_p, "--truth", truth_p, "--out", tmp_path / "o2"]
        + ["--score-col", "distance", "--distance", "midpoint"]
    )
    assert code == 0, err
    m2 = json.loads((tmp_path / "o2" / "metrics.json").read_text())
    assert m2["score_col"] == "distance" and m2["distance_source"] == "midpoint"
    assert m2["auprc"] != m["auprc"]


def test_cli_truth_from_simulation(tmp_path: Path, cli) -> None:
    (tmp_path / "sim" / "truth").mkdir(parents=True)
    pd.DataFrame(
        {
            "enhancer_id": ["e1", "e2"], "chrom": "chr4", "start_bp": [100, 900], "end_bp": [200, 1000],
            "gene_id": "G1", "gene_name": "g1", "tss_bp": 5000, "distance_bp": [-4850, -4050],
            "contact": 0.1, "effect": [-0.5, 0.0], "regulated": [True, False],
        }
    ).to_csv(tmp_path / "sim" / "truth" / "pairs.tsv", sep="\t", index=False)
    args = ["benchmark", "crispr", "--truth-from-simulation", tmp_path / "sim", "--out", tmp_path / "o"]
    code, _, err = cli(args)
    assert code == 0, err
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert m["n_pairs"] == 2 and m["baselines"]["distance"]["auprc"] == pytest.approx(0.5)


def test_cli_errors(tmp_path: Path, cli) -> None:
    truth_p, links_p = tmp_path / "truth.tsv", tmp_path / "links.tsv"
    TRUTH.drop(columns=["Regulated"]).to_csv(truth_p, sep="\t", index=False)
    LINKS.drop(columns=["score"]).to_csv(links_p, sep="\t", index=False)
    code, _, err = cli(["benchmark", "crispr", "--truth", truth_p, "--out", tmp_path / "o"])
    assert code == 1
    assert err.startswith("error: truth file") and "lacks required column(s) Regulated" in err
    assert len(err.strip().splitlines()) == 1
    TRUTH.to_csv(truth_p, sep="\t", index=False)
    code, _, err = cli(["benchmark", "crispr", links_p, "--truth", truth_p, "--out", tmp_path / "o"])
    assert code == 1 and "has no score column 'score'; pick one with --score-col" in err
    code, _, err = cli(["benchmark", "crispr", links_p, "--out", tmp_path / "o"])
    assert code == 2 and "exactly one of --truth" in err
    code, _, err = cli(
        ["benchmark", "crispr", "--truth", truth_p, "--truth-from-simulation", tmp_path]
        + ["--out", tmp_path / "o"]
    )
    assert code == 2 and "exactly one of --truth" in err
