"""Window cutting: geometry against the stored arrays, contacts vs cooler, rotation vs scipy, rev."""

from __future__ import annotations

import sys
from pathlib import Path

import cooler
import numpy as np
import pandas as pd
import pytest
import scipy.ndimage as ndi
import torch

from claster.config.prepare import PrepareConfig
from claster.data import (
    WindowSpec,
    cut_landscape,
    cut_pchic,
    cut_rotated,
    cut_square,
    cut_target,
    reverse_window,
)
from claster.errors import InputError
from claster.store import build_store, open_store

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))
import claster_store_kit as kit  # noqa: E402


def scipy_rotated(square_log10: np.ndarray) -> np.ndarray:
    """Reference (SPEC §2): scipy.ndimage.rotate(m, 45, reshape=False), rows [round(n*184/626), (n+1)//2)."""
    n = square_log10.shape[0]
    return ndi.rotate(square_log10, 45, reshape=False)[round(n * 184 / 626) : (n + 1) // 2]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    d = tmp_path_factory.mktemp("w")
    inputs = kit.make_inputs(d / "in")
    mcool = d / "c.mcool"
    kit.write_cool(f"{mcool}::/resolutions/10000", kit.SIZES, 10_000, seed=1, weights=True, band_bins=110)
    kit.write_cool(f"{mcool}::/resolutions/5000", kit.SIZES, 5_000, seed=2, weights=True, band_bins=210, mode="a")
    cfg = PrepareConfig(**inputs, contacts=f"{mcool}::/resolutions/10000", pchic=f"{mcool}::/resolutions/5000")
    return open_store(build_store(cfg, d / "store", progress=False)), mcool


def test_landscape_geometry(store):
    s, _ = store
    w = cut_landscape(s, "chr1", 600_050)
    assert w.shape == (4, 10_001) and w.dtype == np.float32
    np.testing.assert_array_equal(w[:, 5000], s.tracks("chr1")[:, 6000])  # TSS bin in the centre
    np.testing.assert_array_equal(w[:, 0], s.tracks("chr1")[:, 1000])
    short = cut_landscape(s, "chr1", 600_050, n_bins=201)  # the 20 kbp ablation
    np.testing.assert_array_equal(short, w[:, 4900:5101])


def test_target_geometry(store):
    s, _ = store
    y = cut_target(s, "chr1", 705_122)
    t = s.target("chr1")
    assert y.shape == (401,)
    # hand-worked: 705,122 bp lies in the 20 bp bin [705,120, 705,140) = bin 35,256; -/+ 200 kbp: 25,256 / 45,256
    assert y[200] == t[35_256] and y[0] == t[25_256] and y[400] == t[45_256]
    # at a 20 bp bin edge: 705,139 is the last base of bin 35,256, 705,140 the first of bin 35,257
    assert cut_target(s, "chr1", 705_139)[200] == t[35_256] and cut_target(s, "chr1", 705_140)[200] == t[35_257]
    assert cut_target(s, "chr1", 705_139)[0] == t[25_256] and cut_target(s, "chr1", 705_140)[400] == t[45_257]
    # brute force over every bin k: the 20 bp bin whose [start, start + 20) holds TSS + 1000 (k - 200)
    starts = np.arange(t.shape[0]) * 20
    for k in range(401):
        pos = 705_122 + 1000 * (k - 200)
        j = int(np.flatnonzero((starts <= pos) & (pos < starts + 20))[0])
        assert y[k] == t[j], k
    np.testing.assert_array_equal(cut_target(s, "chr1", 705_122, n_bins=19), y[191:210])


def test_off_chromosome_raises_or_pads(store):
    s, _ = store
    with pytest.raises(InputError, match="runs off the chromosome.*pad=True"):
        cut_landscape(s, "chr1", 100_000)
    w = cut_landscape(s, "chr1", 100_000, pad=True)
    assert not w[:, :4000].any()
    np.testing.assert_array_equal(w[:, 4000:], s.tracks("chr1")[:, :6001])
    with pytest.raises(InputError, match="not in store"):
        cut_landscape(s, "chrZ", 1)


def test_square_equals_cooler_balanced_matrix(store):
    s, mcool = store
    m = cut_square(s, "chr1", 600_000, log=False)
    assert m.shape == (101, 101)  # ceil(1e6 / 10 kb) + 1
    c0 = 600_000 // 10_000 - 50
    ref = cooler.Cooler(f"{mcool}::/resolutions/10000").matrix(balance=True).fetch("chr1")[c0 : c0 + 101, c0 : c0 + 101]
    ref = np.where(ref == 0, np.nan, ref)
    np.testing.assert_allclose(m, ref, rtol=1e-6)
    lg = cut_square(s, "chr1", 600_000)
    np.testing.assert_allclose(lg, np.log10(np.where(np.isfinite(ref) & (ref > 0), ref, 1e-14)), atol=1e-6)
    assert (lg == -14).any() and cut_pchic(s, "chr1", 600_000).shape == (201, 201)


def test_rotated_cache_and_on_the_fly_equal_scipy(store):
    s, _ = store
    assert s.manifest["contacts"]["rotated_cache"]
    for tss in (600_000, 705_122):
        ref = scipy_rotated(cut_square(s, "chr1", tss))
        assert ref.shape == (21, 101)  # rows [30, 51)
        cached = cut_rotated(s, "chr1", tss)
        fly = cut_rotated(s, "chr1", tss, use_cache=False)
        np.testing.assert_allclose(cached, ref, atol=1e-3)
        np.testing.assert_array_equal(cached, fly)
    off_gene = cut_rotated(s, "chr1", 650_000)  # not a TSS: rotated on the fly
    np.testing.assert_allclose(off_gene, scipy_rotated(cut_square(s, "chr1", 650_000)), atol=1e-3)


def test_reverse_window():
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_array_equal(reverse_window("landscape", a[0]), a[0][:, ::-1])
    np.testing.assert_array_equal(reverse_window("rotated", a), a[:, :, ::-1])  # batches too
    np.testing.assert_array_equal(reverse_window("square", a[0, :, :3]), a[0, :, :3][::-1, ::-1])
    np.testing.assert_array_equal(reverse_window("target", a[0, 0]), a[0, 0][::-1])
    with pytest.raises(InputError, match="unknown window kind"):
        reverse_window("bogus", a)


def test_window_spec():
    assert WindowSpec().context_bp == 1_000_100 and WindowSpec().target_half_bp == 200_000
    spec = WindowSpec(context_bins=201, target_bins=19)
    assert spec.target_half_bp == 9_000
    with pytest.raises(ValueError, match="odd"):
        WindowSpec(context_bins=200)


# --------------------------------------------------------------------------------------------------
# GenomeWindows (the batched cutter of training, prediction, perturbation and attribution) against the
# per-window cut_* functions and reverse_window, in both orientations


def _samples(s, ids):
    g = s.genes.set_index("gene_id").loc[ids].reset_index()
    return g[["gene_id", "chrom", "tss_bp", "strand"]]


@pytest.mark.parametrize("structure", [None, "rotated", "square", "pchic"])
def test_genome_windows_equal_cut_functions_in_both_orientations(store, structure):
    from claster.data.genome import GenomeWindows

    s, _ = store
    ids = ["G1.1", "G2.1", "G4.1", "G6.1"]  # three chromosomes, both strands
    if structure is None:
        ids.append("G3.1")  # its windows run off the start of chr1: zero-filled
    samples = _samples(s, ids)
    gw = GenomeWindows(s, samples, context_bins=10_001, output_bins=401, structure=structure)
    n = len(samples)
    idx = torch.arange(n)
    for rev in (torch.zeros(n, dtype=torch.bool), torch.ones(n, dtype=torch.bool),
                torch.tensor([i % 2 == 1 for i in range(n)])):
        land, tgt, st = gw.landscape(idx, rev).numpy(), gw.target(idx, rev).numpy(), gw.structure(idx, rev)
        assert land.shape == (n, 4, 10_001) and tgt.shape == (n, 401)
        for i, r in enumerate(samples.itertuples()):
            flip = bool(rev[i])
            x = cut_landscape(s, r.chrom, r.tss_bp, pad=True)
            y = cut_target(s, r.chrom, r.tss_bp, pad=True)
            np.testing.assert_array_equal(land[i], reverse_window("landscape", x) if flip else x)
            np.testing.assert_array_equal(tgt[i], reverse_window("target", y) if flip else y)
            if structure is None:
                assert st is None
                continue
            cut = {"rotated": cut_rotated, "square": cut_square, "pchic": cut_pchic}[structure]
            m = cut(s, r.chrom, r.tss_bp)
            np.testing.assert_allclose(st[i].numpy(), reverse_window(structure, m) if flip else m, atol=1e-6)
    # a sub-batch in another order picks the same rows
    sub = torch.tensor([2, 0])
    np.testing.assert_array_equal(gw.landscape(sub).numpy(), gw.landscape(idx).numpy()[[2, 0]])
    if structure is None:
        i = ids.index("G3.1")
        assert not land[i][:, :4000].any()  # 100,000 // 100 - 5000 = -4000: 4,000 bins before chr1


def test_genome_windows_off_end_needs_the_same_fill_as_cut(store):
    """A window off the chromosome end (not only the start) reads zeros, like cut_* with pad=True."""
    from claster.data.genome import GenomeWindows

    s, _ = store
    end = s.chrom_sizes["chr17"]
    samples = pd.DataFrame({"gene_id": ["x"], "chrom": ["chr17"], "tss_bp": [end - 30_001]})
    gw = GenomeWindows(s, samples, context_bins=10_001, output_bins=401)
    idx = torch.tensor([0])
    x = cut_landscape(s, "chr17", end - 30_001, pad=True)
    y = cut_target(s, "chr17", end - 30_001, pad=True)
    np.testing.assert_array_equal(gw.landscape(idx)[0].numpy(), x)
    np.testing.assert_array_equal(gw.target(idx)[0].numpy(), y)
    np.testing.assert_array_equal(gw.landscape(idx, torch.tensor([True]))[0].numpy(), x[:, ::-1])
    assert not y[231:].any() and y[:200].any()  # bins past the end are zero
