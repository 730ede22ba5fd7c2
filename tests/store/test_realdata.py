"""Stores built from the real files in ../shared/data/real (skipped with a reason when absent)."""

from __future__ import annotations

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
    with pytest.warns(ClasterWarning, match="no balancing weights; ICE"):
        store = open_store(build_store(cfg, tmp_path / "store", progress=False))
    meta = store.manifest["contacts"]
    assert meta["balancing"] == "ICE computed by claster" and meta["window_bins"] == 201 and meta["rotated_cache"]
    usable = store.genes[store.genes["usable"]]
    assert len(usable) > 400
    for g in usable.iloc[:: max(1, len(usable) // 8)].itertuples():
        sq = cut_square(store, "chr22", g.tss_bp)
        assert sq.shape == (201, 201) and np.array_equal(sq, sq.T)
        ref = ndi.rotate(sq, 45, reshape=False)[round(201 * 184 / 626) : (201 + 1) // 2]  # rows [59, 101)
        for rot in (cut_rotated(store, "chr22", g.tss_bp), cut_rotated(store, "chr22", g.tss_bp, use_cache=False)):
            assert rot.shape == (42, 201)
            assert np.abs(rot - ref).max() <= 1e-3
