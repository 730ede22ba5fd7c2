"""Stores built from the real files in ../shared/data/real (skipped with a reason when absent)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyBigWig
import pytest
import scipy.ndimage as ndi

from claster.config.prepare import PrepareConfig
from claster.data import cut_landscape, cut_rotated, cut_square
from claster.errors import ClasterWarning
from claster.store import build_store, open_store

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def chr9_store(real_dir, tmp_path_factory):
    d = real_dir / "k562_chr9_bigwig"
    bw = {m: str(d / f"bigwig_chr9_4000000_6000000_K562_{m}.bigwig") for m in ("H3K4me3", "H3K27ac", "H3K27me3", "RNA")}
    cfg = PrepareConfig(
        tracks={"ATAC": None, "H3K4me3": bw["H3K4me3"], "H3K27ac": bw["H3K27ac"], "H3K27me3": bw["H3K27me3"]},
        target=[bw["RNA"]], annotation=str(d / "gtf_chr9_4000000_6000000.gtf"),
    )
    # H3K4me3 (the first present track) declares the hg38 chr9 length, the others hg19: the store uses
    # the first track's length and says so for each disagreeing file.
    with pytest.warns(ClasterWarning, match="declares chr9 as 141,213,431 bp but the store uses 138,394,717 bp"):
        out = build_store(cfg, tmp_path_factory.mktemp("chr9") / "store", progress=False)
    return open_store(out), bw


def test_chr9_landscape_equals_pybigwig(chr9_store):
    store, bw = chr9_store
    assert store.manifest["tracks"][0]["missing"] and store.chrom_sizes == {"chr9": 138_394_717}
    genes = store.genes
    # genes whose whole +-500 kbp window lies in the covered 4-6 Mbp region
    inside = genes[(genes["tss_bp"] // 100 - 5000) * 100 >= 4_000_000]
    inside = inside[(inside["tss_bp"] // 100 + 5001) * 100 <= 6_000_000]
    assert {"JAK2", "CD274", "AK3", "RCL1"} <= set(inside["gene_name"])
    handles = {m: pyBigWig.open(bw[m]) for m in ("H3K4me3", "H3K27ac", "H3K27me3")}
    try:
        for g in inside.itertuples():
            win = cut_landscape(store, "chr9", g.tss_bp)
            assert not win[0].any()  # ATAC declared missing: zeros
            b0 = g.tss_bp // 100 - 5000
            for row, mark in enumerate(("H3K4me3", "H3K27ac", "H3K27me3"), start=1):
                v = handles[mark].values("chr9", b0 * 100, (b0 + 10_001) * 100, numpy=True).reshape(10_001, 100)
                cov = np.isfinite(v).sum(1)
                ref = np.where(cov > 0, np.nansum(v, 1, dtype=np.float64) / np.maximum(cov, 1), 0.0)
                err = np.abs(win[row] - ref) / np.maximum(np.abs(ref), 1e-6)
                assert err.max() <= 1e-5, (g.gene_name, mark, err.max())
    finally:
        for h in handles.values():
            h.close()
    print(f"chr9: {len(inside)} genes with the window inside the covered region match pyBigWig")


def test_chr9_window_outside_covered_region_is_zero_but_valid(chr9_store):
    store, _ = chr9_store
    w = cut_landscape(store, "chr9", 60_000_000)  # inside chr9, outside the 4-6 Mbp data
    assert w.shape == (4, 10_001) and not w.any()


def test_chr22_text_dump_rotated_equals_scipy(real_dir, tmp_path):
    d = real_dir / "k562_chr22"
    length = 50_818_468
    for name in ("track", "target"):
        h = pyBigWig.open(str(tmp_path / f"{name}.bw"), "w")
        h.addHeader([("chr22", length)], maxZooms=0)
        h.addEntries(["chr22"], [20_000_000], ends=[20_000_100], values=[1.0])
        h.close()
    genes = pd.read_csv(d / "GeneList.K562_chr22.hg38.txt", sep="\t")
    genes[["chr", "start", "end", "name", "score", "strand"]].to_csv(tmp_path / "g.bed", sep="\t", header=False,
                                                                     index=False)
    cfg = PrepareConfig(tracks={"ATAC": str(tmp_path / "track.bw")}, target=[str(tmp_path / "target.bw")],
                        annotation=str(tmp_path / "g.bed"), contacts=str(d / "chr22.5kb.RAWobserved.gz"),
                        contacts_bin_bp=5000)
    with pytest.warns(ClasterWarning, match="no normalization at 5000 bp.*ICE-balancing"):
        store = open_store(build_store(cfg, tmp_path / "store", progress=False))
    meta = store.manifest["contacts"]
    assert meta["balancing"] == "ICE computed by claster" and meta["window_bins"] == 201 and meta["rotated_cache"]
    assert meta["format"] == "text dump" and meta["normalization"] == "ICE computed by claster"
    usable = store.genes[store.genes["usable"]]
    assert len(usable) > 400
    for g in usable.iloc[:: max(1, len(usable) // 8)].itertuples():
        sq = cut_square(store, "chr22", g.tss_bp)
        assert sq.shape == (201, 201) and np.array_equal(sq, sq.T)
        ref = ndi.rotate(sq, 45, reshape=False)[round(201 * 184 / 626) : (201 + 1) // 2]  # rows [59, 101)
        for rot in (cut_rotated(store, "chr22", g.tss_bp), cut_rotated(store, "chr22", g.tss_bp, use_cache=False)):
            assert rot.shape == (42, 201)
            assert np.abs(rot - ref).max() <= 1e-3


# --- .hic vs .cool from the same real dump -----------------------------------------------------------

CHR22_LEN = 50_818_468
REGION = (17_000_000, 29_000_000)  # a 12 Mbp part of chr22 keeps the .hic writing and ICE fast


def _tiny_bigwig(path, length: int) -> str:
    h = pyBigWig.open(str(path), "w")
    h.addHeader([("chr22", length)], maxZooms=0)
    h.addEntries(["chr22"], [20_000_000], ends=[20_000_100], values=[1.0])
    h.close()
    return str(path)


@pytest.fixture(scope="module")
def chr22_hic_cool(real_dir, tmp_path_factory):
    """A .hic (hictkpy's writer) and a .cool (cooler's writer) of the same raw K562 chr22 5 kb pixels,
    and the genes whose whole +-500 kbp contact window lies in REGION."""
    import cooler
    import hictkpy

    d = real_dir / "k562_chr22"
    tmp = tmp_path_factory.mktemp("hic_cool")
    dump = pd.read_csv(d / "chr22.5kb.RAWobserved.gz", sep="\t", header=None, names=["s1", "s2", "count"])
    lo, hi = np.minimum(dump["s1"], dump["s2"]), np.maximum(dump["s1"], dump["s2"])
    keep = (lo >= REGION[0]) & (hi < REGION[1])
    pix = pd.DataFrame({"bin1_id": lo[keep] // 5000, "bin2_id": hi[keep] // 5000, "count": dump["count"][keep]})
    pix = pix.sort_values(["bin1_id", "bin2_id"]).reset_index(drop=True)
    hic = tmp / "chr22.hic"
    w = hictkpy.hic.FileWriter(str(hic), {"chr22": CHR22_LEN}, 5000, tmpdir=str(tmp), compression_lvl=1,
                               skip_all_vs_all_matrix=True)
    w.add_pixels(pix.astype({"count": np.float32}))
    w.finalize()
    cool = tmp / "chr22.cool"
    cooler.create_cooler(str(cool), cooler.binnify(pd.Series({"chr22": CHR22_LEN}), 5000),
                         pix.astype({"count": np.int64}), ordered=True)
    genes = pd.read_csv(d / "GeneList.K562_chr22.hg38.txt", sep="\t")
    genes = genes[(genes["start"] >= REGION[0]) & (genes["end"] <= REGION[1])]  # fewer rotated windows to cache
    genes[["chr", "start", "end", "name", "score", "strand"]].to_csv(tmp / "g.bed", sep="\t", header=False,
                                                                     index=False)
    track = _tiny_bigwig(tmp / "track.bw", CHR22_LEN)
    stores = {}
    for kind, path in (("hic", hic), ("cool", cool)):
        cfg = PrepareConfig(tracks={"ATAC": track}, target=[track], annotation=str(tmp / "g.bed"), contacts=str(path))
        with warnings.catch_warnings(record=True) as rec:  # ICE may also not converge on this part: a 2nd one
            warnings.simplefilter("always")
            stores[kind] = open_store(build_store(cfg, tmp / f"store_{kind}", progress=False))
        assert any("no normalization at 5000 bp" in str(x.message) for x in rec), [str(x.message) for x in rec]
    return stores, cool


def test_chr22_hic_windows_equal_cool_windows(chr22_hic_cool):
    stores, cool = chr22_hic_cool
    h, c = stores["hic"], stores["cool"]
    mh, mc = h.manifest["contacts"], c.manifest["contacts"]
    assert (mh["format"], mc["format"]) == ("hic", "cool")
    assert mh["resolution_bp"] == mc["resolution_bp"] == 5000
    assert mh["normalization"] == mc["normalization"] == "ICE computed by claster"
    genes = h.genes[h.genes["usable"]]
    inside = genes[(genes["tss_bp"] - 505_000 >= REGION[0]) & (genes["tss_bp"] + 505_000 <= REGION[1])]
    assert len(inside) >= 20, len(inside)
    picked = inside.iloc[:: max(1, len(inside) // 8)]
    diffs = []
    for g in picked.itertuples():
        sq_h = cut_square(h, "chr22", g.tss_bp, log=False)
        sq_c = cut_square(c, "chr22", g.tss_bp, log=False)
        assert np.isfinite(sq_c).mean() > 0.1  # a real window, not an empty one (5 kb pixels are sparse)
        np.testing.assert_array_equal(np.isnan(sq_h), np.isnan(sq_c))
        diffs.append(float(np.nanmax(np.abs(sq_h - sq_c) / np.abs(sq_c))))
        for use_cache in (True, False):
            rh = cut_rotated(h, "chr22", g.tss_bp, use_cache=use_cache)
            rc = cut_rotated(c, "chr22", g.tss_bp, use_cache=use_cache)
            assert np.abs(rh - rc).max() <= 1e-5, (g.gene_name, use_cache)
    assert max(diffs) <= 1e-5, diffs
    print(f"chr22 .hic vs .cool: {len(picked)} genes ({', '.join(picked['gene_name'])}), "
          f"max rel. diff of balanced square windows {max(diffs):.2e}")


@pytest.mark.slow
def test_chr22_cool_window_equals_cooler_balanced(chr22_hic_cool):
    """Independent reference for both: cooler's own ICE and balanced matrix on the .cool."""
    import cooler

    stores, cool = chr22_hic_cool
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bias, _ = cooler.balance_cooler(cooler.Cooler(str(cool)), store=False)
    raw = cooler.Cooler(str(cool)).matrix(balance=False, sparse=True)
    g = stores["hic"].genes.set_index("gene_name")
    for name in ("XBP1", "MN1", "CHEK2"):
        if name not in g.index:
            continue
        tss = int(g.loc[name, "tss_bp"] if np.ndim(g.loc[name, "tss_bp"]) == 0 else g.loc[name, "tss_bp"].iloc[0])
        b0 = tss // 5000 - 100
        m = raw[b0 : b0 + 201, b0 : b0 + 201].toarray().astype(np.float64)
        m = np.triu(m) + np.triu(m, 1).T
        ref = m * bias[b0 : b0 + 201, None] * bias[None, b0 : b0 + 201]
        ref[m == 0] = np.nan
        got = cut_square(stores["hic"], "chr22", tss, log=False)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
        np.testing.assert_allclose(got, ref, rtol=1e-5)
