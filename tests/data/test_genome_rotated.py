"""GenomeWindows' rotated contact windows equal scipy's rotation of the cooler's balanced matrix."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))
import claster_store_kit as kit  # noqa: E402


def test_rotated_windows_match_scipy(tmp_path):
    import cooler
    import scipy.ndimage as ndi

    from claster.config.prepare import PrepareConfig
    from claster.data.genome import GenomeWindows
    from claster.store import build_store, open_store

    sizes = {"chr1": 1_250_050, "chr4": 1_200_000}
    inputs = kit.make_inputs(tmp_path / "in", sizes=sizes)
    uri = f"{tmp_path / 'c.mcool'}::/resolutions/1600"
    kit.write_cool(uri, sizes, 1600, seed=3, weights=True, band_bins=80)
    genes = [("A", "a", "chr1", 600_000, 610_000, "+", "protein_coding"),
             ("B", "b", "chr4", 590_000, 600_000, "-", "protein_coding"),
             ("C", "c", "chr1", 640_000, 650_000, "+", "protein_coding")]
    inputs["annotation"] = str(kit.write_gtf(tmp_path / "in" / "g.gtf", genes))
    cfg = PrepareConfig(**inputs, contacts=uri, test_chroms=[], val_chroms=[])
    store = open_store(build_store(cfg, tmp_path / "store", progress=False))
    samples = store.genes[store.genes["usable"]].reset_index(drop=True)
    assert len(samples) == 3
    win = GenomeWindows(store, samples, context_bins=101, output_bins=11, structure="rotated")
    got = win.structure(torch.arange(3)).numpy()
    assert got.shape == (3, 129, 626)

    clr = cooler.Cooler(uri)
    for k, r in samples.iterrows():
        tss = int(r.tss_bp)
        first = tss // 1600 - 312
        lo = clr.extent(r.chrom)[0] + first
        m = clr.matrix(balance=True)[lo : lo + 626, lo : lo + 626]
        m = np.where(np.isfinite(m) & (m > 0), m, 1e-14)
        # pixels further than the stored 80 diagonals are absent in the cooler too (NaN -> 1e-14)
        want = ndi.rotate(np.log10(m), 45, reshape=False)[184:313]
        np.testing.assert_allclose(got[k], want, atol=1e-4)
    pd.testing.assert_frame_equal(win.samples, samples)
