"""End to end on the simulated store with a tiny model: train -> predict -> evaluate -> perturb -> link
-> benchmark -> attribute, each checked against an independent computation where one exists."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyBigWig
import pytest
import torch
from scipy.stats import pearsonr, spearmanr


@pytest.fixture(scope="module")
def tiny_run(sim_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from claster.config.train import TrainConfig
    from claster.train import fit

    out = tmp_path_factory.mktemp("pipeline") / "run"
    cfg = TrainConfig(store=str(sim_store), out=str(out), context_bins=201, output_bins=19, batch_size=16,
                      max_steps=8, max_train_samples=64, warmup_steps=2, val_check_steps=4, lr=1e-3, seed=1,
                      threads=1)
    fit(cfg, progress=False)
    return out


def test_predict_writes_profiles_and_a_matching_bigwig(cli, tiny_run, sim_store, tmp_path):
    from claster.store import open_store

    store = open_store(sim_store)
    genes = store.genes[store.genes["usable"].astype(bool)].head(2)
    out = tmp_path / "pred"
    code, _, err = cli(["predict", "--run", tiny_run, "--store", sim_store, "--genes",
                        ",".join(genes["gene_name"]), "--out", out, "--quiet"])
    assert code == 0, err
    prof = pd.read_csv(out / "profiles.tsv", sep="\t")
    assert len(prof) == 2 and [c for c in prof.columns if c.startswith("bin_")] == [f"bin_{k}" for k in range(-9, 10)]
    bw = pyBigWig.open(str(out / "predicted.bw"))
    row = prof.iloc[0]
    tss = int(row.tss_bp)
    # the 100 bp bin holding the TSS takes the centre output bin of its own window (nearest-centre rule)
    got = bw.values(row.chrom, (tss // 100) * 100, (tss // 100) * 100 + 1)[0]
    assert got == pytest.approx(row["bin_0"], rel=1e-5)
    bw.close()
    means = pd.read_csv(out / "gene_body_means.tsv", sep="\t")
    assert np.isfinite(means["pred_body_mean"]).all()


def test_evaluate_metrics_match_scipy(cli, tiny_run, sim_store, tmp_path):
    out = tmp_path / "eval"
    code, stdout, err = cli(["evaluate", "--run", tiny_run, "--store", sim_store, "--out", out, "--quiet"])
    assert code == 0, err
    m = json.loads((out / "metrics.json").read_text())
    for key in ("binwise_pearson", "binwise_spearman", "gene_pearson", "gene_spearman", "n_samples"):
        assert key in m
    arr = np.load(out / "predictions.npz")
    pred, true = arr["pred"].astype(np.float64), arr["true"].astype(np.float64)
    p, t = np.log2(np.maximum(pred, 0) + 1).ravel(), np.log2(true + 1).ravel()
    assert m["binwise_pearson"] == pytest.approx(pearsonr(p, t)[0], abs=1e-9)
    assert m["binwise_spearman"] == pytest.approx(spearmanr(p, t)[0], abs=1e-9)
    assert m["n_samples"] == len(arr["pred"]) > 10
    assert (out / "density.png").stat().st_size > 1000 and (out / "profiles.png").stat().st_size > 1000


def test_perturb_effects_equal_a_hand_perturbed_prediction(cli, tiny_run, sim_store, sim_dir, tmp_path):
    """The P2 effect of one element equals the model run on a window zeroed by hand (SPEC §6 bins)."""
    from claster.data.body import body_simpson, gene_body_bins
    from claster.predict import Predictor
    from claster.data.windows import cut_landscape
    from claster.store import open_store

    out = tmp_path / "pert"
    code, _, err = cli(["perturb", "--run", tiny_run, "--store", sim_store, "--elements", sim_dir / "enhancers.bed",
                        "--preset", "P2", "--mode", "gene-centric", "--chrom", "chr4", "--out", out, "--quiet"])
    assert code == 0, err
    eff = pd.read_csv(out / "effects.tsv", sep="\t")
    assert len(eff) > 0
    row = eff[eff["gene_id"] == eff["window_id"]].iloc[0]  # an effect on the window's own gene
    store = open_store(sim_store)
    pred = Predictor(tiny_run)
    tss = int(row.gene_tss_bp)
    x = cut_landscape(store, "chr4", tss, n_bins=201).astype(np.float32)
    start_bin = tss // 100 - 100
    lo, hi = int(row.element_start_bp) // 100 - start_bin, int(row.element_end_bp) // 100 - start_bin
    xp = x.copy()
    names = list(store.track_names)
    for t in ("ATAC", "H3K4me3", "H3K27ac"):
        xp[names.index(t), max(lo, 0) : hi + 1] = 0
    both = pred.predict_raw(torch.from_numpy(np.stack([x, xp]))).numpy()
    gene = store.genes[store.genes["gene_id"] == row.gene_id]
    blo, bhi = gene_body_bins(pd.concat([gene, gene]), center_bp=np.array([tss, tss]), n_bins=19)
    areas = body_simpson(both, blo, bhi, mean=False)
    assert row.baseline_area == pytest.approx(areas[0], rel=1e-4, abs=1e-6)
    assert row.perturbed_area == pytest.approx(areas[1], rel=1e-4, abs=1e-6)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_active_elements"] > 0 and 0 <= summary["fraction_most_affected_is_closest"] <= 1

    links = tmp_path / "links.tsv"
    code, _, err = cli(["link", "--effects", out / "effects.tsv", "--out", links])
    assert code == 0, err
    bench = tmp_path / "bench"
    code, _, err = cli(["benchmark", "crispr", links, "--truth-from-simulation", sim_dir, "--out", bench])
    assert code == 0, err
    m = json.loads((bench / "metrics.json").read_text())
    assert 0 <= m["auprc"] <= 1 and 0 <= m["baselines"]["distance"]["auprc"] <= 1


def test_attribute_writes_locality(cli, tiny_run, sim_store, tmp_path):
    out = tmp_path / "attr"
    code, _, err = cli(["attribute", "--run", tiny_run, "--store", sim_store, "--split", "test", "--max-samples", "2",
                        "--output-bins", "8:11", "--n-steps", "8", "--n-baseline", "16", "--out", out, "--quiet"])
    assert code == 0, err
    loc = pd.read_csv(out / "locality.tsv", sep="\t")
    assert list(loc["track"]) == ["ATAC", "H3K4me3", "H3K27ac", "H3K27me3"]
    assert (loc[["mass50_bp", "mass80_bp", "mass95_bp"]].diff(axis=1).iloc[:, 1:] >= 0).all().all()
    assert (out / "locality.png").is_file()


def test_predict_rejects_a_store_with_other_tracks(cli, tiny_run, tmp_path):
    code, _, err = cli(["predict", "--run", tmp_path / "nope", "--store", tmp_path, "--genes", "x", "--out", tmp_path / "o"])
    assert code == 1 and err.startswith("error:") and "Traceback" not in err


def test_enhancer_centric_scan_centres_windows_on_elements(cli, tiny_run, sim_store, sim_dir, tmp_path):
    out = tmp_path / "pert_ec"
    code, _, err = cli(["perturb", "--run", tiny_run, "--store", sim_store, "--elements", sim_dir / "enhancers.bed",
                        "--preset", "P1", "--mode", "enhancer-centric", "--chrom", "chr4", "--out", out, "--quiet"])
    assert code == 0, err
    eff = pd.read_csv(out / "effects.tsv", sep="\t")
    assert set(eff["mode"]) == {"enhancer-centric"}
    assert (eff["window_id"] == eff["element_id"]).all()
    mid = (eff["element_start_bp"] + eff["element_end_bp"]) // 2
    # every scored gene's body lies inside the element-centred window (+-9.5 kbp for 19 output bins)
    genes = pd.read_csv(sim_store / "genes.tsv", sep="\t").set_index("gene_id")
    body = genes.loc[eff["gene_id"], ["start_bp", "end_bp"]].to_numpy()
    assert (body[:, 0] >= mid.to_numpy() - 9_500).all() and (body[:, 1] <= mid.to_numpy() + 9_500).all()


def test_scan_through_lightning_ddp_equals_single_process(cli, tiny_run, sim_store, sim_dir, tmp_path):
    """Two CPU processes (DDP, gloo) shard the scan and gather the same effects as one process."""
    import os
    import subprocess
    import sys

    one = tmp_path / "one"
    code, _, err = cli(["perturb", "--run", tiny_run, "--store", sim_store, "--elements", sim_dir / "enhancers.bed",
                        "--chrom", "chr4", "--out", one, "--quiet"])
    assert code == 0, err
    two = tmp_path / "two"
    cmd = [sys.executable, "-m", "claster", "perturb", "--run", str(tiny_run), "--store", str(sim_store),
           "--elements", str(sim_dir / "enhancers.bed"), "--chrom", "chr4", "--out", str(two), "--quiet",
           "--accelerator", "cpu", "--devices", "2", "--strategy", "ddp", "--batch-size", "16"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, PYTHONWARNINGS="ignore", OMP_NUM_THREADS="1"))
    assert res.returncode == 0, res.stderr[-3000:]
    a = pd.read_csv(one / "effects.tsv", sep="\t")
    b = pd.read_csv(two / "effects.tsv", sep="\t")
    assert len(a) == len(b) > 0
    np.testing.assert_allclose(b["baseline_area"], a["baseline_area"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(b["perturbed_area"], a["perturbed_area"], rtol=1e-4, atol=1e-6)


def test_spec_perturbation_scales_the_promoter(cli, tiny_run, sim_store, tmp_path):
    """A YAML spec: x1 leaves every gene unchanged; x2 over offsets [-1 kbp, +1 kbp) equals the model run
    on a window scaled by hand over the same bins (overlap rule: bins 90..109 of a 201-bin window)."""
    from claster.data.body import body_simpson, gene_body_bins
    from claster.predict import Predictor
    from claster.data.windows import cut_landscape
    from claster.store import open_store

    store = open_store(sim_store)
    gene = store.genes[store.genes["usable"].astype(bool) & (store.genes["split"] == "test")].iloc[0]
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "perturbations:\n"
        "  - name: same\n    operations: [{op: scale, region: 'offset:-1000..1000', factor: 1.0}]\n"
        "  - name: double\n    operations: [{op: scale, region: 'offset:-1000..1000', factor: 2.0}]\n"
    )
    out = tmp_path / "spec_out"
    code, _, err = cli(["perturb", "--run", tiny_run, "--store", sim_store, "--spec", spec,
                        "--genes", gene.gene_name, "--out", out, "--quiet"])
    assert code == 0, err
    eff = pd.read_csv(out / "effects.tsv", sep="\t")
    same = eff[eff["element_id"] == "same"]
    assert len(same) > 0 and np.allclose(same["delta_area"], 0.0, atol=1e-6)
    row = eff[(eff["element_id"] == "double") & (eff["gene_id"] == gene.gene_id)].iloc[0]
    x = cut_landscape(store, gene.chrom, int(gene.tss_bp), n_bins=201).astype(np.float32)
    xs = x.copy()
    xs[:, 90:110] *= 2.0  # offsets [-1000, 1000) from the start of the centre bin (100) -> bins 90..109
    pred = Predictor(tiny_run).predict_raw(torch.from_numpy(np.stack([x, xs]))).numpy()
    g2 = pd.DataFrame([gene, gene])
    lo, hi = gene_body_bins(g2, center_bp=np.array([gene.tss_bp] * 2), n_bins=19)
    areas = body_simpson(pred, lo, hi, mean=False)
    assert row.perturbed_area == pytest.approx(areas[1], rel=1e-4, abs=1e-6)
    assert row.baseline_area == pytest.approx(areas[0], rel=1e-4, abs=1e-6)
