"""Store QC numbers against independent computations (pyBigWig read directly, brute-force loops, scipy)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyBigWig
import pytest
from scipy.stats import linregress


def test_promoter_means_and_zero_runs_match_brute_force_loops():
    from claster.qc import promoter_means, zero_runs

    rng = np.random.default_rng(3)
    v = rng.random(500)
    tss = np.array([0, 55, 1234, 49_950, 25_000])
    got = promoter_means(v, tss, 100, flank_bp=1000)
    for g, t in zip(got, tss, strict=True):
        bins = [b for b in range((t - 1000) // 100, (t + 1000) // 100) if 0 <= b < len(v)]
        assert g == pytest.approx(np.mean(v[bins]) if bins else 0.0)
    z = np.ones(200)
    z[10:40] = 0  # 30 zeros
    z[50:55] = 0  # 5 zeros: too short
    z[170:] = 0  # 30 zeros at the end
    runs, cur = [], 0
    for x in np.append(z, 1):
        if x == 0:
            cur += 1
        else:
            if cur >= 20:
                runs.append(cur)
            cur = 0
    assert zero_runs(z, 20).tolist() == runs == [30, 30]


def _binned_from_bigwig(path: Path, chrom: str, length: int) -> np.ndarray:
    """100 bp bin means over covered bases, 0 where a bin has no data (read with pyBigWig's exact stats)."""
    with pyBigWig.open(str(path)) as bw:
        n = -(-length // 100)
        vals = bw.stats(chrom, 0, length, nBins=n, type="mean", exact=True)
    return np.array([0.0 if v is None else v for v in vals])


def test_track_qc_matches_the_source_bigwig(sim_dir, sim_store):
    from claster.qc import track_qc
    from claster.store import open_store

    store = open_store(sim_store)
    rows = {
        (r["track"], r["chrom"]): r for r in track_qc(store, store.genes[store.genes["usable"].astype(bool)])
    }
    assert len(rows) == len(store.track_names) * len(store.chroms)
    chrom, track = "chr1", "H3K27ac"
    length = store.chrom_sizes[chrom]
    v = _binned_from_bigwig(sim_dir / "tracks" / f"{track}.bw", chrom, length)
    r = rows[(track, chrom)]
    # coverage: bins with at least one covered base, counted from the bigWig's intervals
    with pyBigWig.open(str(sim_dir / "tracks" / f"{track}.bw")) as bw:
        covered = np.zeros(len(v), bool)
        for s, e, _ in bw.intervals(chrom):
            covered[s // 100 : (e - 1) // 100 + 1] = True
    assert r["coverage"] == pytest.approx(covered.mean(), abs=1e-9)
    # gaps: runs of >= 20 uncovered bins (the simulated signal is never exactly 0 where covered)
    runs, cur = [], 0
    for c in np.append(covered, True):
        if not c:
            cur += 1
        else:
            if cur >= 20:
                runs.append(cur)
            cur = 0
    assert r["n_gaps"] == len(runs) and r["largest_gap_bp"] == (max(runs) * 100 if runs else 0)
    assert r["zero_fraction"] == pytest.approx((v == 0).mean(), abs=1e-9)
    assert r["q50"] == pytest.approx(np.quantile(v, 0.5), rel=1e-4)
    assert r["q99.9"] == pytest.approx(np.quantile(v, 0.999), rel=1e-4)
    genes = store.genes[store.genes["usable"].astype(bool) & (store.genes["chrom"] == chrom)]
    prom = [v[(t - 1000) // 100 : (t + 1000) // 100].mean() for t in genes["tss_bp"]]
    assert r["promoter_median"] == pytest.approx(np.median(prom), rel=1e-4)
    assert r["promoter_enrichment"] == pytest.approx(np.mean(prom) / v.mean(), rel=1e-4)


def test_contact_qc_matches_a_pixel_loop_and_scipy(sim_store):
    from claster.qc import contact_qc
    from claster.store import open_store

    store = open_store(sim_store)
    r = contact_qc(store, "chr17")
    band = np.asarray(store.contact_band("chr17"))
    n = store.contact_window_bins()
    sums, counts, missing, total = np.zeros(n), np.zeros(n), 0, 0
    for d in range(n):  # one separation at a time: the pixels (i, i + d) inside the chromosome
        x = band[: band.shape[0] - d, d].astype(np.float64)
        ok = np.isfinite(x) & (x > 0)
        total += len(x)
        missing += int((~ok).sum())
        sums[d] = np.log10(x[ok]).sum()
        counts[d] = ok.sum()
    assert r["missing_fraction"] == pytest.approx(missing / total, rel=1e-9)
    decay = sums / np.maximum(counts, 1)
    got = np.array(r["decay"], dtype=float)
    ok = counts > 0
    np.testing.assert_allclose(got[ok], decay[ok], rtol=1e-6)
    sep = np.arange(n) * store.contact_bin_bp()
    fit = linregress(np.log10(sep[1:][ok[1:]]), decay[1:][ok[1:]])
    assert r["slope"] == pytest.approx(fit.slope, rel=1e-6)
    assert r["slope"] < 0  # contacts decay with distance


def test_qc_command_writes_json_tsv_and_figures(cli, sim_store, tmp_path):
    out = tmp_path / "qc"
    code, stdout, err = cli(["qc", sim_store, "--out", out])
    assert code == 0, err
    q = json.loads((out / "qc.json").read_text())
    assert "distribution shift not checked" in q["verdict"]["line"]
    import pandas as pd

    t = pd.read_csv(out / "qc.tsv", sep="\t")
    assert set(t["kind"]) >= {"track", "target", "contacts"}
    for f in ("track_quantiles.png", "decay_contacts.png"):
        assert (out / f).stat().st_size > 5000
    assert "qc.json" in stdout


def test_qc_of_a_missing_store_is_one_line(cli, tmp_path):
    code, _, err = cli(["qc", tmp_path / "nope", "--out", tmp_path / "o"])
    assert code == 1 and err.startswith("error: ") and len(err.strip().splitlines()) == 1
