"""claster.simulate: files in real formats, determinism, and the planted biology."""

from __future__ import annotations

import json
import re

import cooler
import numpy as np
import pandas as pd
import pyBigWig
import pytest
from scipy.stats import spearmanr

from claster.errors import InputError
from claster.simulate import SimParams, contact_frequency, layout_genome, preset_params, simulate_genome

TINY_SIZES = {"chr4": 2_400_000, "chr17": 1_500_000}  # as in conftest.py


def tiny_params() -> SimParams:
    return SimParams(chrom_sizes=dict(TINY_SIZES))


BIGWIGS = ["tracks/ATAC.bw", "tracks/H3K4me3.bw", "tracks/H3K27ac.bw", "tracks/H3K27me3.bw", "EUseq.bw"]


def _read_gtf(path):
    cols = ["chrom", "source", "feature", "start", "end", "score", "strand", "frame", "attributes"]
    gtf = pd.read_csv(path, sep="\t", comment="#", header=None, names=cols)
    for key in ("gene_id", "gene_type", "gene_name"):
        gtf[key] = gtf["attributes"].str.extract(rf'{key} "([^"]+)"')[0]
    return gtf


# ---------------------------------------------------------------- determinism


def test_same_seed_gives_identical_tables_and_tracks(tiny_pair):
    a, b, c = tiny_pair
    for name in ["truth/genes.tsv", "truth/pairs.tsv", "genes.gtf", "enhancers.bed", "chrom.sizes"]:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "truth/genes.tsv").read_bytes() != (c / "truth/genes.tsv").read_bytes()
    for name in BIGWIGS:
        with pyBigWig.open(str(a / name)) as x, pyBigWig.open(str(b / name)) as y:
            np.testing.assert_array_equal(x.values("chr4", 0, 400_000), y.values("chr4", 0, 400_000))
    ca, cb = (cooler.Cooler(f"{p}/contacts.mcool::/resolutions/1600") for p in (a, b))
    np.testing.assert_array_equal(ca.pixels()[:1000]["count"], cb.pixels()[:1000]["count"])


def test_small_truth_equals_a_fresh_layout(small_sim):
    """The written truth is the layout drawn first from default_rng(seed): recompute it independently."""
    info = json.loads((small_sim / "simulation.json").read_text())
    layout = layout_genome(preset_params(info["preset"]), np.random.default_rng(info["seed"]))
    genes = pd.read_csv(small_sim / "truth/genes.tsv", sep="\t")
    pd.testing.assert_frame_equal(genes, layout.genes, check_exact=False, rtol=1e-5)
    pairs = pd.read_csv(small_sim / "truth/pairs.tsv", sep="\t")
    assert len(pairs) == len(layout.pairs)
    np.testing.assert_allclose(pairs["effect"], layout.pairs["effect"], rtol=1e-5, atol=1e-12)


# ---------------------------------------------------------------- files


def test_files_and_declared_chromosomes(small_sim):
    sizes = dict(line.split("\t") for line in (small_sim / "chrom.sizes").read_text().splitlines())
    sizes = {k: int(v) for k, v in sizes.items()}
    assert {"chr4", "chr17"} <= set(sizes)
    assert 40e6 <= sum(sizes.values()) <= 50e6
    for name in BIGWIGS:
        with pyBigWig.open(str(small_sim / name)) as bw:
            assert bw.isBigWig()
            assert bw.chroms() == sizes
            # 20 bp bins (adjacent bins of equal value may be written as one interval)
            ivs = bw.intervals("chr4", 1_000_000, 1_001_000)
            assert ivs and all(s % 20 == 0 and e % 20 == 0 for s, e, _ in ivs)
            v = np.asarray(bw.values("chr4", 1_000_000, 1_001_000)).reshape(-1, 20)
            assert np.all(v == v[:, :1])
    assert sorted(cooler.fileops.list_coolers(str(small_sim / "contacts.mcool"))) == [
        "/resolutions/1600", "/resolutions/5000"]
    for res in (1600, 5000):
        clr = cooler.Cooler(f"{small_sim}/contacts.mcool::/resolutions/{res}")
        assert clr.binsize == res
        assert dict(clr.chromsizes) == sizes
        assert "weight" in clr.bins().columns
        assert clr.bins()[["weight"]][:]["weight"].notna().mean() > 0.95
    cfg = json.loads((small_sim / "simulation.json").read_text())
    assert cfg["seed"] == 0 and cfg["preset"] == "small" and "claster_version" in cfg
    assert cfg["parameters"]["regulated_threshold"] == 0.05


def test_prepare_yaml_is_a_valid_prepare_config(small_sim):
    from claster.config import load_config
    from claster.config.prepare import PrepareConfig

    cfg = load_config(PrepareConfig, small_sim / "prepare.yaml")
    assert list(cfg.tracks) == ["ATAC", "H3K4me3", "H3K27ac", "H3K27me3"]
    assert cfg.tracks["H3K27ac"] == str(small_sim / "tracks/H3K27ac.bw")
    assert cfg.target == [str(small_sim / "EUseq.bw")]
    assert cfg.contacts == f"{small_sim / 'contacts.mcool'}::/resolutions/1600"
    assert cfg.test_chroms == ["chr4"] and cfg.val_chroms == ["chr17"]


def test_gtf_is_one_based_and_matches_truth(small_sim):
    gtf = _read_gtf(small_sim / "genes.gtf")
    genes = pd.read_csv(small_sim / "truth/genes.tsv", sep="\t")
    g = gtf[gtf["feature"] == "gene"].set_index("gene_id").loc[genes["gene_id"]]
    assert (gtf["feature"] == "transcript").sum() == len(genes)
    np.testing.assert_array_equal(g["start"].to_numpy() - 1, genes["start_bp"])
    np.testing.assert_array_equal(g["end"].to_numpy(), genes["end_bp"])
    tss_1based = np.where(g["strand"] == "+", g["start"], g["end"])  # SPEC §2
    np.testing.assert_array_equal(tss_1based - 1, genes["tss_bp"])
    assert all(re.fullmatch(r"ENSMUSG\d{11}\.\d+", x) for x in genes["gene_id"])
    assert set(g["strand"]) == {"+", "-"}
    assert set(g["gene_type"]) == {"protein_coding", "lncRNA"}
    assert 0 < (genes["gene_type"] == "lncRNA").mean() < 0.15
    assert genes["gene_name"].is_unique and genes["gene_id"].is_unique


def test_enhancer_bed(small_sim):
    bed = pd.read_csv(small_sim / "enhancers.bed", sep="\t", header=None)
    assert bed.shape[1] == 6 and (bed[5] == ".").all()
    assert (bed[2] > bed[1]).all() and bed[3].is_unique
    genes = pd.read_csv(small_sim / "truth/genes.tsv", sep="\t")
    assert 1.0 <= len(bed) / len(genes) <= 3.0


def test_small_preset_gene_counts(small_sim):
    genes = pd.read_csv(small_sim / "truth/genes.tsv", sep="\t")
    assert 600 <= len(genes) <= 800
    sizes = genes["chrom"].map(preset_params("small").chrom_sizes)
    full = (genes["tss_bp"] >= 500_050) & (genes["tss_bp"] + 500_050 <= sizes)
    assert (full & (genes["gene_type"] == "protein_coding")).sum() >= 400
    assert 0.12 <= genes["silent"].mean() <= 0.28
    lengths = genes["end_bp"] - genes["start_bp"]
    assert lengths.min() >= 2_000 and lengths.max() <= 150_000


def test_gaps_have_no_data_in_every_bigwig(small_sim):
    gaps = json.loads((small_sim / "simulation.json").read_text())["summary"]["gaps"]
    assert len(gaps) >= 6
    for name in BIGWIGS:
        with pyBigWig.open(str(small_sim / name)) as bw:
            for gap in gaps:
                assert bw.intervals(gap["chrom"], gap["start_bp"], gap["end_bp"]) is None
                assert np.isnan(bw.values(gap["chrom"], gap["start_bp"], gap["end_bp"])).all()
                assert bw.intervals(gap["chrom"], gap["end_bp"], gap["end_bp"] + 20) is not None


# ---------------------------------------------------------------- biology


def test_promoter_h3k4me3_follows_rate(small_sim):
    genes = pd.read_csv(small_sim / "truth/genes.tsv", sep="\t")
    with pyBigWig.open(str(small_sim / "tracks/H3K4me3.bw")) as bw:
        k4 = np.array([bw.stats(r.chrom, r.tss_bp - 1_000, r.tss_bp + 1_000)[0] for r in genes.itertuples()])
    assert spearmanr(k4, genes["rate"])[0] > 0.7
    active = ~genes["silent"].to_numpy()
    assert spearmanr(k4[active], genes["rate"][active])[0] > 0.7


def test_h3k4me3_extends_into_the_body(small_sim):
    genes = pd.read_csv(small_sim / "truth/genes.tsv", sep="\t")
    genes = genes[~genes["silent"]]
    with pyBigWig.open(str(small_sim / "tracks/H3K4me3.bw")) as bw:
        def mean(c, a, b):
            return bw.stats(c, a, b)[0]
        right = np.array([mean(r.chrom, r.tss_bp + 1, r.tss_bp + 3_001) for r in genes.itertuples()])
        left = np.array([mean(r.chrom, r.tss_bp - 3_000, r.tss_bp) for r in genes.itertuples()])
    plus = (genes["strand"] == "+").to_numpy()
    down, up = np.where(plus, right, left), np.where(plus, left, right)
    assert (np.array(down) > np.array(up)).mean() > 0.9


def test_eu_seq_silent_genes_pausing_and_decay(small_sim):
    genes = pd.read_csv(small_sim / "truth/genes.tsv", sep="\t")
    with pyBigWig.open(str(small_sim / "EUseq.bw")) as bw:
        body = np.array([bw.stats(r.chrom, r.start_bp, r.end_bp)[0] for r in genes.itertuples()])
        silent = genes["silent"].to_numpy()
        # background only (0.05), apart from read-through of an active upstream neighbour
        assert np.median(body[silent]) < 0.1 and np.percentile(body[silent], 90) < 0.3
        assert np.median(body[~silent]) > 1.0
        assert spearmanr(body[~silent], genes["rate"][~silent])[0] > 0.8
        long_active = genes[~genes["silent"] & (genes["end_bp"] - genes["start_bp"] > 40_000)]
        first, last, pause = [], [], []
        for r in long_active.itertuples():
            a, b = (r.start_bp, r.end_bp) if r.strand == "+" else (r.end_bp, r.start_bp)
            step = (b - a) // 4
            first.append(bw.stats(r.chrom, *sorted((a + 500 * np.sign(step), a + step)))[0])
            last.append(bw.stats(r.chrom, *sorted((b - step, b)))[0])
            pause.append(bw.stats(r.chrom, r.tss_bp - 200, r.tss_bp + 300)[0])
    assert (np.array(first) > np.array(last)).mean() > 0.8
    assert (np.array(pause) > 2 * np.array(first)).mean() > 0.8


def test_active_enhancers_pass_the_spec_h3k27ac_filter(small_sim):
    enh = pd.read_csv(small_sim / "truth/enhancers.tsv", sep="\t")
    with pyBigWig.open(str(small_sim / "tracks/H3K27ac.bw")) as bw:
        ac = np.array([bw.stats(r.chrom, r.start_bp, r.end_bp)[0] for r in enh.itertuples()])
    assert (ac[enh["active"]] > 10).mean() > 0.95
    assert (ac[~enh["active"]] < 10).mean() > 0.95


def test_pairs_table_is_complete_and_follows_the_formula(small_sim):
    params = preset_params("small")
    genes = pd.read_csv(small_sim / "truth/genes.tsv", sep="\t")
    enh = pd.read_csv(small_sim / "truth/enhancers.tsv", sep="\t")
    pairs = pd.read_csv(small_sim / "truth/pairs.tsv", sep="\t")
    # completeness: brute force over all (enhancer, gene) pairs on the same chromosome
    m = enh.merge(genes, on="chrom", suffixes=("_e", ""))
    m = m[np.abs((m["start_bp_e"] + m["end_bp_e"]) // 2 - m["tss_bp"]) <= 200_000]
    assert len(m) == len(pairs)
    assert pairs["effect"].between(-1, 0).all()
    np.testing.assert_array_equal(pairs["regulated"], pairs["effect"].abs() >= 0.05)
    np.testing.assert_allclose(
        pairs["contact"], contact_frequency(pairs["distance_bp"], pairs["same_domain"], params), rtol=1e-5
    )
    # rate = strength * (baseline + gain * sum activity * contact); effect = -gain*a*c / (baseline + ...)
    act = pairs["enhancer_id"].map(enh.set_index("enhancer_id")["activity"])
    contrib = params.gain * act * pairs["contact"]
    drive = params.baseline + contrib.groupby(pairs["gene_id"]).sum()
    g = genes.set_index("gene_id")
    active = ~g["silent"]
    gene_drive = drive.reindex(g.index).fillna(params.baseline)
    expected_rate = (g["promoter_strength"] * gene_drive).where(active, 0.0)
    np.testing.assert_allclose(g["rate"], expected_rate, rtol=1e-4)
    silent_pair = pairs["gene_id"].map(g["silent"]).to_numpy(dtype=bool)
    assert (pairs.loc[silent_pair, "effect"] == 0).all()
    np.testing.assert_allclose(
        pairs.loc[~silent_pair, "effect"], -(contrib / pairs["gene_id"].map(drive))[~silent_pair], rtol=1e-4
    )
    assert 0.05 <= pairs["regulated"].mean() <= 0.6


def test_closest_gene_is_often_not_the_top_target(small_sim):
    pairs = pd.read_csv(small_sim / "truth/pairs.tsv", sep="\t")
    enh = pd.read_csv(small_sim / "truth/enhancers.tsv", sep="\t").set_index("enhancer_id")
    acts = pairs.groupby("enhancer_id")["effect"].transform("min").lt(0)  # acts on some gene
    pairs = pairs[pairs["enhancer_id"].map(enh["active"]) & acts]
    by = pairs.groupby("enhancer_id")
    top = pairs.loc[by["effect"].idxmin()].set_index("enhancer_id")["gene_id"]
    near = pairs.loc[by["distance_bp"].idxmin()].set_index("enhancer_id")["gene_id"]
    same = (top == near.loc[top.index]).mean()
    assert 0.15 <= 1 - same <= 0.6  # the paper saw 33 % (SPEC §6)


def test_contacts_decay_with_distance_and_are_balanced(small_sim):
    clr = cooler.Cooler(f"{small_sim}/contacts.mcool::/resolutions/1600")
    mat = clr.matrix(balance=True, sparse=True).fetch("chr4").tocsr()
    n = mat.shape[0]
    diag_means = [np.nanmean(mat.diagonal(d)) for d in (2, 10, 100, 600)]
    assert all(a > b for a, b in zip(diag_means, diag_means[1:], strict=False))
    domains = pd.read_csv(small_sim / "truth/domains.tsv", sep="\t")
    d = domains[domains["chrom"] == "chr4"]
    centre = (np.arange(n) + 0.5) * 1600
    dom = d["domain_id"].to_numpy()[np.searchsorted(d["end_bp"].to_numpy(), centre, side="right")]
    # P(s) ~ s^-1 within domains (10x the separation -> ~10x fewer contacts)
    within = [np.nanmean(mat.diagonal(s)[dom[:-s] == dom[s:]]) for s in (30, 300)]
    slope = np.log10(within[1] / within[0])
    assert -1.25 < slope < -0.75
    # within-domain enhancement at a fixed separation
    sep = 60
    vals = mat.diagonal(sep)
    same = dom[:-sep] == dom[sep:]
    assert np.nanmean(vals[same]) > 2 * np.nanmean(vals[~same])
    # balanced: rows sum to 1 once the first two diagonals are ignored (cooler's default)
    full = mat.copy()  # cooler returns both triangles of a cis block
    full.data = np.nan_to_num(full.data)  # pixels of filtered bins (weight NaN) do not count
    full.setdiag(0)
    full.setdiag(0, 1)
    full.setdiag(0, -1)
    sums = np.asarray(full.sum(axis=1)).ravel()
    w = clr.bins().fetch("chr4")["weight"].to_numpy()
    np.testing.assert_allclose(sums[np.isfinite(w)], 1.0, rtol=1e-3)


# ---------------------------------------------------------------- errors and CLI


def test_existing_output_needs_force(tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(InputError, match="already exists; choose another path or pass --force"):
        simulate_genome(tmp_path / "out", params=tiny_params(), progress=False)


def test_bad_preset_and_seed(tmp_path):
    with pytest.raises(InputError, match="unknown preset 'huge'; choose one of small, full"):
        simulate_genome(tmp_path / "x", preset="huge")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="seed must be a non-negative integer"):
        simulate_genome(tmp_path / "x", seed=-1)
    assert not (tmp_path / "x").exists()


def test_cli_seed_and_force(cli, tmp_path, monkeypatch):
    import claster.simulate._simulate as sim

    monkeypatch.setattr(sim, "preset_params", lambda preset: SimParams(chrom_sizes=dict(TINY_SIZES)))
    out = tmp_path / "g"
    code, stdout, _ = cli(["simulate", out, "--seed", "3", "--no-progress"])
    assert code == 0 and "wrote simulated genome" in stdout
    assert json.loads((out / "simulation.json").read_text())["seed"] == 3
    first = (out / "truth/genes.tsv").read_bytes()
    code, _, err = cli(["simulate", out, "--seed", "4"])
    assert code == 1 and err.strip().startswith("error: output directory")
    assert len(err.strip().splitlines()) == 1
    code, _, _ = cli(["simulate", out, "--seed", "4", "--force", "--no-progress"])
    assert code == 0 and (out / "truth/genes.tsv").read_bytes() != first
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
