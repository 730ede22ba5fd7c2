"""Window cutting: geometry against the stored arrays, contacts vs cooler, rotation vs scipy, rev."""

from __future__ import annotations

import sys
from pathlib import Path

import cooler
import numpy as np
import pytest
import scipy.ndimage as ndi

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
    assert y[200] == t[705_122 // 20] and y[0] == t[(705_122 - 200_000) // 20] and y[400] == t[(705_122 + 200_000) // 20]
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
