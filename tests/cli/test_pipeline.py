"""End to end on the simulated store with a tiny model: train -> predict -> evaluate -> perturb -> link
-> benchmark -> attribute, each checked against an independent computation where one exists."""

from __future__ import annotations

import re

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
    assert summary["n_active_elements"] > 0
    # recount from the effects table by distance: in each (window, element) with an effect, is the most
    # affected gene (first max |delta|) at the smallest |TSS - element midpoint| of the group?
    hits = n = 0
    for _, g in eff.groupby(["window_id", "element_id"]):
        if not (g["abs_delta"] > 0).any():
            continue
        d = (g["gene_tss_bp"] - (g["element_start_bp"] + g["element_end_bp"]) // 2).abs().to_numpy()
        top = int(np.argmax(g["abs_delta"].to_numpy()))
        hits, n = hits + int(d[top] == d.min()), n + 1
    assert n == summary["n_scored_element_windows"] > 0
    assert summary["fraction_most_affected_is_closest"] == pytest.approx(hits / n, abs=1e-12)

    links = tmp_path / "links.tsv"
    code, _, err = cli(["link", "--effects", out / "effects.tsv", "--out", links])
    assert code == 0, err
    # the links recounted by brute force from effects.tsv: a pair's score is the best over its windows of
    # |delta| / (largest |delta| of that element in that window); one closest gene per element
    lk = pd.read_csv(links, sep="\t")
    want: dict[tuple[str, str], float] = {}
    for (_, el), g in eff.groupby(["window_id", "element_id"]):
        top = g["abs_delta"].max()
        for gene, d in zip(g["gene_id"], g["abs_delta"], strict=True):
            want[(el, gene)] = max(want.get((el, gene), 0.0), d / top if top > 0 else 0.0)
    assert len(lk) == len(want) and lk["name"].nunique() == eff["element_id"].nunique()
    got = dict(zip(zip(lk["name"], lk["TargetGeneEnsemblID"], strict=True), lk["score"], strict=True))
    assert got.keys() == want.keys()
    np.testing.assert_allclose([got[k] for k in want], list(want.values()), rtol=1e-5, atol=1e-9)
    for el, g in lk.groupby("name"):
        e = eff[eff["element_id"] == el].iloc[0]
        d = (g["TargetGeneTSS"] - (e.element_start_bp + e.element_end_bp) // 2).abs()
        assert g["is_closest"].sum() == 1 and d[g["is_closest"]].iloc[0] == d.min()
    bench = tmp_path / "bench"
    code, _, err = cli(["benchmark", "crispr", links, "--truth-from-simulation", sim_dir, "--out", bench])
    assert code == 0, err
    m = json.loads((bench / "metrics.json").read_text())
    # recompute the AUPRC from links.tsv and the simulator's truth with scikit-learn: each truth pair takes
    # the best score of the links of its gene overlapping its enhancer; unmatched pairs score below all
    from sklearn.metrics import average_precision_score

    truth = pd.read_csv(sim_dir / "truth" / "pairs.tsv", sep="\t")
    truth = truth[truth["chrom"].isin(set(lk["chr"]))].reset_index(drop=True)  # the links' chromosomes (chr4)
    assert m["n_pairs"] == len(truth) and m["n_links"] == len(lk) > 0
    fill = lk["score"].min() - max(1.0, abs(lk["score"].min()))
    by_gene = {k: g for k, g in lk.groupby(["chr", "TargetGene"])}
    scores = []
    for t in truth.itertuples():
        g = by_gene.get((t.chrom, t.gene_name))
        hit = g[(g["start"] < t.end_bp) & (g["end"] > t.start_bp)] if g is not None else []
        scores.append(float(hit["score"].max()) if len(hit) else fill)
    y = truth["regulated"].astype(bool).to_numpy()
    assert m["auprc"] == pytest.approx(average_precision_score(y, scores), abs=1e-9)
    assert m["base_rate"] == pytest.approx(y.mean(), abs=1e-12)
    d = -truth["distance_bp"].abs().to_numpy()
    assert m["baselines"]["distance"]["auprc"] == pytest.approx(average_precision_score(y, d), abs=1e-9)


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
    # x1 is a no-op up to float32 rounding: baseline and perturbed windows run in different batches,
    # and oneDNN's convolutions round batches of different size differently (~1e-7 relative)
    assert len(same) > 0
    assert np.all(np.abs(same["delta_area"]) <= 1e-5 * np.abs(same["baseline_area"]) + 1e-6), same["delta_area"]
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


def _h3k27ac_intervals(store, chrom: str, tss: int, half_bp: int = 9_000) -> tuple[tuple[int, int], tuple[int, int]]:
    """Two 500 bp intervals within ``half_bp`` of ``tss``: one with mean H3K27ac > 10 and one with mean in
    (0, 10], found by a brute-force scan of the store's 100 bp track (element rule: 5 or 6 bins)."""
    row = np.asarray(store.tracks(chrom))[list(store.track_names).index("H3K27ac")].astype(np.float64)
    on = off = None
    for s in range(tss - half_bp, tss + half_bp - 500, 100):
        m = row[s // 100 : (s + 500) // 100 + 1].mean()
        if on is None and m > 10:
            on = (s, s + 500)
        if off is None and 0 < m <= 10:
            off = (s, s + 500)
    assert on is not None and off is not None
    return on, off


def test_spec_table_honours_the_active_filter(cli, tiny_run, sim_store, tmp_path):
    """`--spec` with a region table (P2 per row): an element with mean H3K27ac <= 10 is not perturbed and
    is reported; --no-active-filter perturbs it; a missing --active-track is one line naming the tracks."""
    from claster.store import open_store

    store = open_store(sim_store)
    gene = store.genes[store.genes["usable"].astype(bool) & (store.genes["split"] == "test")].iloc[0]
    on, off = _h3k27ac_intervals(store, gene.chrom, int(gene.tss_bp))
    table = tmp_path / "regions.bed"
    table.write_text(f"{gene.chrom}\t{on[0]}\t{on[1]}\tactive\n{gene.chrom}\t{off[0]}\t{off[1]}\tinactive\n")
    out = tmp_path / "spec_active"
    code, _, err = cli(["perturb", "--run", tiny_run, "--store", sim_store, "--spec", table, "--preset", "P2",
                        "--genes", gene.gene_id, "--out", out, "--quiet"])
    assert code == 0, err
    assert re.search(r"^warning: 1 of 2 .* left out: the element is not active", err, flags=re.M), err
    eff = pd.read_csv(out / "effects.tsv", sep="\t")
    assert set(eff["element_id"]) == {"active"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["active_filter"]["threshold"] == 10 and summary["active_filter"]["track"] == "H3K27ac"
    assert [s["perturbation"] for s in summary["skipped_inactive"]] == ["inactive"]
    assert 0 < summary["skipped_inactive"][0]["active_signal"] <= 10

    out2 = tmp_path / "spec_all"
    code, _, err = cli(["perturb", "--run", tiny_run, "--store", sim_store, "--spec", table, "--preset", "P2",
                        "--genes", gene.gene_id, "--out", out2, "--quiet", "--no-active-filter"])
    assert code == 0, err
    assert set(pd.read_csv(out2 / "effects.tsv", sep="\t")["element_id"]) == {"active", "inactive"}
    assert json.loads((out2 / "summary.json").read_text())["active_filter"] is None

    code, _, err = cli(["perturb", "--run", tiny_run, "--store", sim_store, "--spec", table, "--preset", "P2",
                        "--genes", gene.gene_id, "--out", tmp_path / "x", "--active-track", "K27ac"])
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "'K27ac'" in err and "ATAC, H3K4me3, H3K27ac, H3K27me3" in err


def test_tss_area_is_measured_and_carried_into_link(cli, tiny_run, sim_store, sim_dir, tmp_path):
    """--area tss:-2000..3000: each gene's area is the Simpson integral of its predicted profile over the
    output bins of [TSS - 2 kbp, TSS + 3 kbp) (+ strand) or [TSS - 3 kbp, TSS + 2 kbp) (- strand)."""
    from scipy.integrate import simpson

    from claster.data.windows import cut_landscape
    from claster.predict import Predictor
    from claster.store import open_store

    out = tmp_path / "pert_tss"
    code, _, err = cli(["perturb", "--run", tiny_run, "--store", sim_store, "--elements", sim_dir / "enhancers.bed",
                        "--chrom", "chr4", "--area", "tss:-2000..3000", "--out", out, "--quiet"])
    assert code == 0, err
    assert json.loads((out / "summary.json").read_text())["area"] == "tss:-2000..3000"
    eff = pd.read_csv(out / "effects.tsv", sep="\t")
    assert set(eff["area"]) == {"tss:-2000..3000"}
    store, pred = open_store(sim_store), Predictor(tiny_run)
    checked = set()
    for strand in ("+", "-"):
        own = eff[(eff["gene_id"] == eff["window_id"]) & (eff["gene_strand"] == strand)]
        row = own.iloc[0]
        tss = int(row.gene_tss_bp)
        x = cut_landscape(store, "chr4", tss, n_bins=201).astype(np.float32)
        prof = np.maximum(pred.predict_raw(torch.from_numpy(x[None])).numpy()[0].astype(np.float64), 0)
        lo, hi = (-2, 3) if strand == "+" else (-3, 2)  # 1 kbp bins around the centre bin 9 of 19
        assert row.baseline_area == pytest.approx(simpson(prof[9 + lo : 9 + hi + 1]), rel=1e-4, abs=1e-6)
        checked.add(strand)
    assert checked == {"+", "-"}
    links = tmp_path / "links_tss.tsv"
    code, _, err = cli(["link", "--effects", out / "effects.tsv", "--out", links])
    assert code == 0, err
    assert set(pd.read_csv(links, sep="\t")["area"]) == {"tss:-2000..3000"}


def test_predict_reports_windows_off_the_chromosome(cli, tiny_run, sim_store, tmp_path):
    """A BED locus at chr1:100-200 (centre 150 bp): the 201-bin window starts 99 bins before the chromosome,
    so 99/201 of it is zeros: `pad` says so (column + warning), `skip` leaves it out."""
    bed = tmp_path / "loci.bed"
    bed.write_text("chr1\t100\t200\tedge\nchr1\t500000\t500100\tinner\n")
    out = tmp_path / "pred_pad"
    code, _, err = cli(["predict", "--run", tiny_run, "--store", sim_store, "--regions", bed, "--out", out,
                        "--quiet", "--no-bigwig"])
    assert code == 0, err
    assert re.search(r"^warning: 1 window\(s\) run off their chromosome \(edge\)", err, flags=re.M), err
    prof = pd.read_csv(out / "profiles.tsv", sep="\t").set_index("gene_id")
    assert prof.loc["edge", "padded_fraction"] == pytest.approx(99 / 201)
    assert prof.loc["inner", "padded_fraction"] == 0
    out = tmp_path / "pred_skip"
    code, _, err = cli(["predict", "--run", tiny_run, "--store", sim_store, "--regions", bed, "--out", out,
                        "--quiet", "--no-bigwig", "--off-chromosome", "skip"])
    assert code == 0, err
    assert re.search(r"^warning: .*skipped", err, flags=re.M), err
    assert pd.read_csv(out / "profiles.tsv", sep="\t")["gene_id"].tolist() == ["inner"]


@pytest.fixture(scope="module")
def oriented_run(sim_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from claster.config.train import TrainConfig
    from claster.train import fit

    out = tmp_path_factory.mktemp("oriented") / "run"
    cfg = TrainConfig(store=str(sim_store), out=str(out), context_bins=201, output_bins=19, batch_size=16,
                      max_steps=8, max_train_samples=64, warmup_steps=2, val_check_steps=4, lr=3e-3, seed=2,
                      threads=1, strand_oriented=True)
    fit(cfg, progress=False)
    return out


def test_strand_oriented_model_is_evaluated_as_it_was_validated(cli, oriented_run, sim_store, tmp_path):
    """`evaluate --split val` of a --strand-oriented model reproduces the training-time validation metric
    (the same genes, presented reversed on the minus strand), and its profiles come back in genomic order."""
    from claster.model.checkpoint import load_model
    from claster.predict import Predictor
    from claster.store import open_store

    _, meta = load_model(oriented_run / "model")
    best = meta.get("extra", meta)["best_val_pearson_binwise"]
    out = tmp_path / "eval_val"
    code, _, err = cli(["evaluate", "--run", oriented_run, "--store", sim_store, "--split", "val", "--out", out,
                        "--quiet"])
    assert code == 0, err
    m = json.loads((out / "metrics.json").read_text())
    assert m["binwise_pearson"] == pytest.approx(best, abs=2e-5)

    pred, store = Predictor(oriented_run), open_store(sim_store)
    assert pred.strand_oriented
    genes = store.genes[store.genes["usable"].astype(bool) & (store.genes["strand"] == "-")].head(2)
    got = pred.predict_samples(pred.windows(store, genes))
    w = pred.windows(store, genes)
    idx = torch.arange(2)
    by_hand = pred.model(pred.norm_landscape.transform(torch.flip(w.landscape(idx), dims=(-1,))), None)
    by_hand = torch.relu(pred.norm_target.inverse_transform(by_hand.float())).detach().numpy()[:, ::-1]
    np.testing.assert_allclose(got, by_hand, rtol=1e-5, atol=1e-6)
