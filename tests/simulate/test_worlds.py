"""Settable simulator parameters, random worlds, the new mechanisms, and the fixed world lists."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import quad

from claster.errors import ConfigError
from claster.simulate import SimParams, contact_frequency, layout_genome, resolve_params
from claster.simulate._contacts import simulate_bands
from claster.simulate._tracks import simulate_tracks
from claster.simulate.worlds import (
    DEV_WORLDS,
    HELDOUT_WORLDS,
    RANDOM_RANGES,
    random_world_params,
    ranges_markdown,
)

DOCS = Path(__file__).resolve().parents[2] / "docs"
TINY = {"chr4": 2_400_000, "chr17": 1_500_000}


def tiny(**kw) -> SimParams:
    return SimParams(chrom_sizes=dict(TINY), **kw)


# ---------------------------------------------------------------- --set / --params


def test_overrides_are_typed_and_validated(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text(
        "chrom_sizes: {chr4: 3000000, chr17: 2000000}\ngenes_per_mbp: 9\nenhancer_width_bp: [400, 900]\n"
    )
    p = resolve_params(
        params=f, overrides=["genes_per_mbp=11.5", "k27me3_body_exclusion=false", "gaps_per_chrom=3"]
    )
    assert p.chrom_sizes == {"chr4": 3_000_000, "chr17": 2_000_000}
    assert p.genes_per_mbp == 11.5  # --set wins over the file
    assert p.enhancer_width_bp == (400, 900) and isinstance(p.enhancer_width_bp, tuple)
    assert p.k27me3_body_exclusion is False and p.gaps_per_chrom == 3
    assert (
        p.silent_fraction == SimParams(chrom_sizes={"chr1": 1_000_000}).silent_fraction
    )  # untouched: default
    with pytest.raises(
        ConfigError, match=r"unknown simulator parameter\(s\) 'genes_per_mb'.*valid keys: chrom_sizes"
    ):
        resolve_params(overrides=["genes_per_mb=3"])
    with pytest.raises(ConfigError, match="gaps_per_chrom.*integer"):
        resolve_params(overrides={"gaps_per_chrom": 2.5})
    with pytest.raises(ConfigError, match=r"silent_fraction: must lie in \[0, 1\]"):
        resolve_params(overrides=["silent_fraction=1.5"])
    with pytest.raises(ConfigError, match="enhancers_per_gene.*sum to 1"):
        resolve_params(overrides=["enhancers_per_gene=[0.5, 0.4]"])
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        resolve_params(overrides=["genes_per_mbp"])


def test_cli_set_params_and_one_line_errors(cli, tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("chrom_sizes: {chr4: 2400000, chr17: 1500000}\n")
    code, out, err = cli(
        [
            "simulate",
            str(tmp_path / "g"),
            "--params",
            str(f),
            "--set",
            "genes_per_mbp=8",
            "--set",
            "loops_per_mbp=2",
            "--no-progress",
        ]
    )
    assert code == 0, err
    info = json.loads((tmp_path / "g" / "simulation.json").read_text())
    assert info["parameters"]["genes_per_mbp"] == 8.0 and info["parameters"]["loops_per_mbp"] == 2.0
    assert info["summary"]["n_loops"] > 0
    loops = pd.read_csv(tmp_path / "g" / "truth" / "loops.tsv", sep="\t")
    assert len(loops) == info["summary"]["n_loops"]
    code, out, err = cli(["simulate", str(tmp_path / "h"), "--set", "nope=1"])
    assert (
        code != 0 and len(err.strip().splitlines()) == 1 and "valid keys:" in err and "Traceback" not in err
    )
    code, out, err = cli(["simulate", str(tmp_path / "h"), "--world", "mars"])
    assert code != 0 and "unknown world 'mars'" in err


def test_split_chromosomes_are_required(tmp_path):
    from claster.errors import InputError
    from claster.simulate import simulate_genome

    with pytest.raises(InputError, match="chr17"):
        simulate_genome(tmp_path / "g", params={"chrom_sizes": {"chr4": 2_400_000}}, progress=False)


# ---------------------------------------------------------------- random worlds


def _scalar(p: SimParams, key: str):
    if key.startswith("background."):
        return p.background[key.split(".", 1)[1]]
    if key.endswith("[0]") or key.endswith("[1]"):
        return getattr(p, key[:-3])[int(key[-2])]
    return getattr(p, key)


def test_random_worlds_stay_inside_the_documented_ranges():
    seen_exclusion = set()
    for seed in range(40):
        p = random_world_params(seed)
        assert "chr4" in p.chrom_sizes and "chr17" in p.chrom_sizes and 5 <= len(p.chrom_sizes) <= 6
        others = [n for c, n in p.chrom_sizes.items() if c not in ("chr4", "chr17")]
        assert all(7e6 - 1e3 <= n <= 10e6 for n in others)  # size_other, floored to whole kbp
        assert 7e6 - 1e3 <= p.chrom_sizes["chr4"] <= 10e6 and 6e6 - 1e3 <= p.chrom_sizes["chr17"] <= 8e6
        assert 34e6 - 6e3 <= sum(p.chrom_sizes.values()) <= 58e6
        for r in RANDOM_RANGES:
            if r.key.startswith(("n_chromosomes", "size_", "enhancers_mean")):
                continue
            if r.kind == "bernoulli":
                seen_exclusion.add(_scalar(p, r.key))
                continue
            if r.kind == "ratio":
                if r.key == "domain_max_bp":
                    ratio, slack = p.domain_max_bp / p.domain_min_bp, 1e-3
                else:  # "field[1]": high end / low end of a pair
                    lo_end, hi_end = getattr(p, r.key[:-3])
                    ratio = hi_end / lo_end
                    slack = (
                        0.1
                        if r.key[:-3] in ("enhancer_width_bp", "gap_length_bp", "head_to_head_gap_bp")
                        else 1e-9
                    )
                assert r.lo - slack <= ratio <= r.hi + slack, (seed, r.key, ratio)
                continue
            v = _scalar(p, r.key)
            if r.key in ("enhancer_width_bp[0]", "gap_length_bp[0]", "head_to_head_gap_bp[0]"):
                tol = 10  # rounded to the 20 bp signal bin
            elif isinstance(v, int) and r.kind != "integer":
                tol = 0.5  # an integer field
            else:
                tol = 1e-9
            assert r.lo - tol <= v <= r.hi + tol, (seed, r.key, v)
        mean_enh = sum((k + 1) * q for k, q in enumerate(p.enhancers_per_gene))
        assert 1.0 - 1e-6 <= mean_enh <= 3.5, (seed, mean_enh)
    assert seen_exclusion == {True, False}


def test_random_world_is_reproducible_and_seeds_differ():
    assert random_world_params(7) == random_world_params(7)
    a, b = random_world_params(7), random_world_params(8)
    differing = [f.name for f in dataclasses.fields(SimParams) if getattr(a, f.name) != getattr(b, f.name)]
    assert len(differing) > 40


def test_docs_hold_the_ranges_table():
    text = (DOCS / "simulate.md").read_text()
    assert ranges_markdown() in text, (
        "docs/simulate.md is out of date: paste claster.simulate.worlds.ranges_markdown()"
    )


def test_dev_and_heldout_worlds_are_disjoint():
    assert not set(DEV_WORLDS) & set(HELDOUT_WORLDS)
    assert {w for w, _ in DEV_WORLDS + HELDOUT_WORLDS} == {"random"}
    assert len(set(s for _, s in DEV_WORLDS + HELDOUT_WORLDS)) == len(DEV_WORLDS) + len(HELDOUT_WORLDS)


# ---------------------------------------------------------------- mechanisms


def test_contact_decay_exponent_matches_the_formula():
    p = tiny(contact_decay_exponent=1.3, contact_d0_bp=4_000.0, contact_between_domains=0.25)
    d = np.array([0.0, 4_000.0, 40_000.0])
    np.testing.assert_allclose(
        contact_frequency(d, np.array([True, True, False]), p),
        [1.0, 2.0**-1.3, 0.25 * 11.0**-1.3],
        rtol=1e-12,
    )


def test_loops_add_contact_to_the_pair_and_the_map():
    p = tiny(loops_per_mbp=4.0, loop_strength=(0.1, 0.2), loop_width_bp=2_000.0)
    lay = layout_genome(p, np.random.default_rng(3))
    loops = lay.loops
    assert len(loops) >= 5
    assert set(loops["enhancer_id"]) <= set(lay.enhancers["enhancer_id"])
    genes = lay.genes.set_index("gene_id")
    pairs = lay.pairs.set_index(["enhancer_id", "gene_id"])
    for row in loops.itertuples(index=False):
        assert genes.loc[row.gene_id, "tss_bp"] == row.anchor2_bp
        assert p.loop_distance_bp[0] <= abs(row.anchor2_bp - row.anchor1_bp) <= p.loop_distance_bp[1]
        pr = pairs.loc[(row.enhancer_id, row.gene_id)]
        d = abs(row.anchor2_bp - row.anchor1_bp)
        base = (1.0 if pr["same_domain"] else p.contact_between_domains) / (1 + d / p.contact_d0_bp)
        # this loop adds its full strength; other loops can only add more
        assert pr["contact"] >= base + row.strength - 1e-9
        assert pr["contact"] <= base + loops["strength"].sum() * 2 + 1e-9
    # the map: same rng state with and without loops -> the ratio at a loop pixel is (freq + s K1 K2) / freq
    q = dataclasses.replace(p, contact_noise_shape=1e9, contact_bin_bias_sigma=0.0, gaps_per_chrom=0)
    res = 5_000
    with_l = simulate_bands(q, np.random.default_rng(0), lay.domains, lay.gaps.iloc[:0], res, loops=loops)
    no_l = simulate_bands(q, np.random.default_rng(0), lay.domains, lay.gaps.iloc[:0], res, loops=None)
    row = loops.iloc[0]
    a, b = sorted((row.anchor1_bp, row.anchor2_bp))
    i, j = int(a // res), int(b // res)

    def kbar(anchor, k):
        val, _ = quad(
            lambda x: math.exp(-((x - anchor) ** 2) / (2 * q.loop_width_bp**2)), k * res, (k + 1) * res
        )
        return val / res

    extra = sum(
        r.strength
        * (kbar(r.anchor1_bp, i) * kbar(r.anchor2_bp, j) + kbar(r.anchor2_bp, i) * kbar(r.anchor1_bp, j))
        for r in loops[loops["chrom"] == row.chrom].itertuples()
    )
    dom = lay.domains[lay.domains["chrom"] == row.chrom]
    di = np.searchsorted(dom["end_bp"].to_numpy(), min((i + 0.5) * res, TINY[row.chrom] - 1), side="right")
    dj = np.searchsorted(dom["end_bp"].to_numpy(), min((j + 0.5) * res, TINY[row.chrom] - 1), side="right")
    freq = (1.0 if di == dj else q.contact_between_domains) / (1 + (j - i) * res / q.contact_d0_bp)
    ratio = with_l[row.chrom][i, j - i] / no_l[row.chrom][i, j - i]
    assert ratio == pytest.approx((freq + extra) / freq, rel=1e-4)
    assert ratio > 1.5


def test_head_to_head_genes_are_divergent_pairs():
    p = tiny(head_to_head_fraction=0.5, head_to_head_gap_bp=(200, 600))
    g = layout_genome(p, np.random.default_rng(1)).genes
    h = g[g["head_to_head"]]
    assert len(h) >= 10 and len(h) % 2 == 0
    for _chrom, sub in h.groupby("chrom"):
        sub = sub.sort_values("start_bp")
        minus, plus = sub.iloc[0::2], sub.iloc[1::2]
        assert (minus["strand"] == "-").all() and (plus["strand"] == "+").all()
        gap = plus["tss_bp"].to_numpy() - minus["tss_bp"].to_numpy()
        assert ((gap >= 201) & (gap <= 601)).all()  # '-' TSS = end - 1, '+' TSS = start


def test_bivalent_unmarked_silent_and_the_exclusion_switch():
    base = dict(
        bivalent_fraction=0.3,
        bivalent_rate_factor=0.1,
        bivalent_k4me3_height=5.0,
        silent_k27me3_fraction=0.5,
        mark_noise_shape=1e6,
        gene_mark_noise_sigma=0.0,
        gaps_per_chrom=0,
    )
    for exclusion in (True, False):
        p = tiny(k27me3_body_exclusion=exclusion, **base)
        rng = np.random.default_rng(2)
        lay = layout_genome(p, rng)
        g = lay.genes
        biv = g[g["bivalent"]]
        assert len(biv) >= 5 and not (biv["silent"]).any() and biv["polycomb"].all()
        # rate of a bivalent gene: factor x the enhancer formula (recomputed from the pairs)
        pairs = lay.pairs
        for r in biv.head(5).itertuples():
            pr = pairs[pairs["gene_id"] == r.gene_id]
            ids = pr["enhancer_id"]
            act = lay.enhancers.set_index("enhancer_id").loc[ids, "activity"].to_numpy()
            drive = p.baseline + p.gain * float(np.sum(act * pr["contact"].to_numpy()))
            assert r.rate == pytest.approx(0.1 * r.promoter_strength * drive, rel=1e-9)
        silent = g[g["silent"]]
        assert 0 < silent["polycomb"].sum() < len(silent)
        tracks = simulate_tracks(p, rng, g, lay.enhancers, lay.gaps)
        k27, k4 = tracks["H3K27me3"], tracks["H3K4me3"]

        def body_mean(track, r):
            lo, hi = (r.start_bp + r.end_bp) // 2 - 500, (r.start_bp + r.end_bp) // 2 + 500
            return float(np.mean(track[r.chrom][lo // 20 : hi // 20]))

        bg = p.background["H3K27me3"]
        marked = [body_mean(k27, r) for r in silent[silent["polycomb"]].itertuples()]
        unmarked = [
            body_mean(k27, r)
            for r in silent[~silent["polycomb"]].itertuples()
            if r.end_bp - r.start_bp > 4_000
        ]
        assert min(marked) > bg + p.k27me3_height[0] * 0.9
        assert np.median(unmarked) < bg * 1.05
        assert min(body_mean(k27, r) for r in biv.itertuples()) > bg + p.k27me3_height[0] * 0.9
        # bivalent H3K4me3 plateau (TSS +500..+1500 bp, inside the extension) = fixed height, rate-independent
        for r in biv.itertuples():
            s = 1 if r.strand == "+" else -1
            a, b = sorted((r.tss_bp + 500 * s, r.tss_bp + 1_500 * s))
            v = float(np.mean(k4[r.chrom][a // 20 : b // 20]))
            assert v >= 5.0 + p.background["H3K4me3"] - 0.01
        # transcribed bodies, far from any other gene: depleted to k27me3_body_depletion only with the rule
        active = g[~g["silent"] & ~g["bivalent"] & ((g["end_bp"] - g["start_bp"]) > 8_000)]
        vals = []
        for r in active.itertuples():
            others = g[(g["chrom"] == r.chrom) & (g["gene_id"] != r.gene_id)]
            mid = (r.start_bp + r.end_bp) // 2
            if ((others["start_bp"] - 40_000 < mid) & (others["end_bp"] + 40_000 > mid)).any():
                continue
            vals.append(body_mean(k27, r))
        assert len(vals) >= 3
        expected = bg * (p.k27me3_body_depletion if exclusion else 1.0)
        assert np.median(vals) == pytest.approx(expected, rel=0.05)


def test_more_enhancers_per_gene_when_asked():
    p = tiny(enhancers_per_gene=(0.0, 0.0, 0.0, 0.5, 0.5))
    q = tiny()
    n_p = len(layout_genome(p, np.random.default_rng(4)).enhancers)
    n_q = len(layout_genome(q, np.random.default_rng(4)).enhancers)
    n_genes = len(layout_genome(q, np.random.default_rng(4)).genes)
    assert n_q <= 3 * n_genes
    assert n_p > 1.8 * n_q  # 4.5 per gene asked vs 1.85 (placement may reject a few)


# ---------------------------------------------------------------- the default world did not move

# sha256 of the tiny genome (chr4 2.4 Mbp + chr17 1.5 Mbp, seed 5), computed with claster at commit f26464d,
# before loops, head-to-head/bivalent genes, the exclusion switch etc. existed. The bigWig values, the
# contact pixels and balancing weights, and the truth must stay the same file for file.
GOLDEN_TINY_SEED5 = {
    "truth/pairs.tsv": "6da44e119d33d050f89b42887bb9204aac65f4f5278d4a0e2a43ca7674294971",
    "genes.gtf": "c0a1f94a0e1d98177f23bfabeae246185bddfbf1d310a2eebe9251ad4f9809bc",
    "enhancers.bed": "bd77356234426869c129f5cf597fce0ee7fc848bf403b12d0313625fbccb73c5",
    "truth/enhancers.tsv": "72397d59daa88388f068450b198c640297f66c51de99e939df365203d4b83652",
    "truth/domains.tsv": "2f2d1ba0c52523aa543b2e8868be88bf9527e666651a016cd191f9157ad08a12",
    "genes": "dd352ecc64b9b770557f24a8f34217971b2738b00965438fec2a763415c06ca0",
    "tracks/ATAC.bw": "d1499e70d812caf3912e25ed8beaaf2c3eaf8798a74d47eea93e89b64b43da5e",
    "tracks/H3K4me3.bw": "03f8e7a1ca3a19c5964bb60bf2fed7a10e365d0f137ac71a4757691476936997",
    "tracks/H3K27ac.bw": "ea6660b3bc45cd827c5bf87caf32b4d8cc1428e865c8acbeca2b5a9158f834be",
    "tracks/H3K27me3.bw": "9942ae77f46c06fcad2b87239b4d9a659e3ca6092d720285f89d368fa5f36a76",
    "EUseq.bw": "b4a71120e96abc18842c0fa752cdabdb93ae86ee9a9828922cf148bd071b3b54",
    "mcool1600": "a6f84def0746d02cc2dcba97254f88a068a99d740c66f3fd5182fa75b6eac53a",
    "weight1600": "b07629c1521330b0025c6c5649c99594d7505e56901668de40d5a5499c2d8967",
    "mcool5000": "6e693bd4d263a7410369b6c696b948dba459b08d362bd41ea9ff629bb8a2e13a",
    "weight5000": "d0fb024c90f4830ff286db06be139ed311383f48853e709e18f40ca18da5ea0a",
}


def test_default_world_is_unchanged(tiny_pair):
    import hashlib

    import cooler
    import pyBigWig

    a = tiny_pair[0]
    got = {}
    for name in ["truth/pairs.tsv", "genes.gtf", "enhancers.bed", "truth/enhancers.tsv", "truth/domains.tsv"]:
        got[name] = hashlib.sha256((a / name).read_bytes()).hexdigest()
    g = pd.read_csv(a / "truth/genes.tsv", sep="\t")
    cols = [
        "gene_id",
        "gene_name",
        "chrom",
        "tss_bp",
        "strand",
        "start_bp",
        "end_bp",
        "gene_type",
        "promoter_strength",
        "silent",
        "rate",
        "domain_id",
    ]
    got["genes"] = hashlib.sha256(g[cols].to_csv(sep="\t", index=False).encode()).hexdigest()
    for t in ["tracks/ATAC.bw", "tracks/H3K4me3.bw", "tracks/H3K27ac.bw", "tracks/H3K27me3.bw", "EUseq.bw"]:
        with pyBigWig.open(str(a / t)) as bw:
            v = np.concatenate(
                [np.asarray(bw.values(c, 0, n), dtype=np.float32) for c, n in bw.chroms().items()]
            )
        got[t] = hashlib.sha256(v.tobytes()).hexdigest()
    for res in (1600, 5000):
        c = cooler.Cooler(f"{a}/contacts.mcool::/resolutions/{res}")
        got[f"mcool{res}"] = hashlib.sha256(c.pixels()[:].to_numpy().tobytes()).hexdigest()
        w = np.nan_to_num(c.bins()["weight"][:].to_numpy()).round(10)
        got[f"weight{res}"] = hashlib.sha256(w.tobytes()).hexdigest()
    assert got == GOLDEN_TINY_SEED5
    assert not g["bivalent"].any() and not g["head_to_head"].any() and (g["polycomb"] == g["silent"]).all()
    assert pd.read_csv(a / "truth/loops.tsv", sep="\t").empty
