"""Contact sources through hictkpy: .hic, .mcool (incl. legacy zoom levels), .cool and text dumps.

References are computed independently: cooler's own balanced/raw matrices, cooler.balance_cooler,
and .hic files written here with hictkpy's writer from the same pixels as a cooler.
"""

from __future__ import annotations

import gzip
import sys
import warnings
from pathlib import Path

import cooler
import h5py
import numpy as np
import pandas as pd
import pytest

from claster.errors import ClasterWarning, InputError
from claster.io import BALANCING_ICE, BALANCING_NONE, open_contacts, read_band
from claster.io.contacts import _ice

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))
import claster_store_kit as kit  # noqa: E402

SIZES = {"chr1": 1_000_000, "chr2": 420_000}


@pytest.fixture(scope="module")
def mcool(tmp_path_factory) -> Path:
    """10 kbp: multiplicative 'weight' plus a divisive 'KR' column (as hic2cool writes); 20 kbp: none."""
    p = tmp_path_factory.mktemp("c") / "x.mcool"
    kit.write_cool(f"{p}::/resolutions/10000", SIZES, 10_000, seed=1, weights=True)
    kit.write_cool(f"{p}::/resolutions/20000", SIZES, 20_000, seed=2, weights=False, mode="a")
    rng = np.random.default_rng(5)
    with h5py.File(p, "r+") as h5:
        n = h5["resolutions/10000/bins/chrom"].shape[0]
        kr = rng.uniform(0.3, 3.0, n)
        kr[7] = np.nan
        h5["resolutions/10000/bins"].create_dataset("KR", data=kr)
    return p


def _hic_from_cooler(uri: str, out: Path, resolutions: list[int] | None = None) -> Path:
    """A .hic holding the raw pixels of a cooler (hictkpy's writer; no normalisation vectors)."""
    import hictkpy

    clr = cooler.Cooler(uri)
    pix = clr.pixels()[:][["bin1_id", "bin2_id", "count"]].astype({"count": np.float32})
    sizes = {str(k): int(v) for k, v in clr.chromsizes.items()}
    w = hictkpy.hic.FileWriter(str(out), sizes, resolutions or [int(clr.binsize)], tmpdir=str(out.parent),
                               compression_lvl=1, skip_all_vs_all_matrix=True)
    w.add_pixels(pix)
    w.finalize()
    return out


def _band_ref(mat: np.ndarray, band_bins: int) -> np.ndarray:
    """Diagonals of a dense matrix as (n, band_bins), NaN where the matrix is 0/NaN or past the end."""
    n = mat.shape[0]
    ref = np.full((n, band_bins), np.nan)
    for d in range(band_bins):
        diag = np.diagonal(mat, d)
        ref[: n - d, d] = np.where(diag == 0, np.nan, diag)
    return ref


def test_unavailable_resolution_lists_available(mcool):
    with pytest.raises(InputError, match=r"no resolution 1600 bp.*available resolutions: 10000, 20000 bp"):
        open_contacts(f"{mcool}::/resolutions/1600")
    with pytest.raises(InputError, match=r"no resolution 1600 bp.*available resolutions: 10000, 20000 bp"):
        open_contacts(str(mcool), resolution=1600)
    with pytest.raises(InputError, match="holds several resolutions.*--contacts-resolution"):
        open_contacts(str(mcool))
    with pytest.raises(InputError, match="is at 10000 bp but --contacts-resolution is 20000"):
        open_contacts(f"{mcool}::/resolutions/10000", resolution=20000)


@pytest.mark.parametrize("name", ["weight", "KR"])
def test_balanced_band_equals_cooler(mcool, name):
    """Multiplicative (cooler 'weight') and divisive (Juicer 'KR') weights both equal cooler's balance."""
    uri = f"{mcool}::/resolutions/10000"
    with open_contacts(str(mcool), resolution=10_000, normalization=name) as src:
        assert src.normalization == name and src.balancing == f"{name} from the file"
        assert src.resolution_bp == 10_000 and src.file_format == "mcool" and src.zoom_level is None
        for chrom in SIZES:  # chr2 checks the genome-wide bin offset
            band = read_band(src, chrom, 30, dtype=np.float64, chunk_rows=7)
            ref = cooler.Cooler(uri).matrix(balance=name if name != "weight" else True).fetch(chrom)
            ref = _band_ref(ref, 30)
            np.testing.assert_array_equal(np.isnan(band), np.isnan(ref))
            assert np.nanmax(np.abs(band - ref)) <= 1e-6
            assert np.nanmax(ref) > 10  # a real comparison, not of tiny numbers


def test_auto_takes_weight_first_and_none_is_raw(mcool):
    with open_contacts(f"{mcool}::/resolutions/10000") as src:
        assert src.normalization == "weight" and src.requested_normalization == "auto"
    with open_contacts(f"{mcool}::/resolutions/10000", normalization="none") as src:
        assert src.normalization == "none" and src.balancing == BALANCING_NONE
        band = read_band(src, "chr2", 12)
    raw = cooler.Cooler(f"{mcool}::/resolutions/10000").matrix(balance=False).fetch("chr2")
    np.testing.assert_array_equal(band, _band_ref(raw, 12).astype(np.float32))


def test_normalization_missing_at_this_resolution(mcool):
    uri = f"{mcool}::/resolutions/20000"
    with pytest.raises(InputError, match=r"no normalization 'weight' at 20000 bp; available there: none"):
        open_contacts(uri, normalization="weight")
    with pytest.raises(InputError, match=r"no normalization 'SCALE' at 10000 bp; available there: KR, weight"):
        open_contacts(f"{mcool}::/resolutions/10000", normalization="SCALE")


def test_missing_weights_are_ice_balanced_like_cooler(mcool):
    uri = f"{mcool}::/resolutions/20000"
    with pytest.warns(ClasterWarning) as rec:  # (random test counts may also not converge: a 2nd warning)
        src = open_contacts(uri)
    assert any("no normalization at 20000 bp" in str(w.message) and "ICE" in str(w.message) for w in rec)
    assert src.balancing == BALANCING_ICE and src.normalization == BALANCING_ICE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cooler's own ConvergenceWarning, if any
        ref, _ = cooler.balance_cooler(cooler.Cooler(uri), store=False)
    np.testing.assert_array_equal(np.isnan(src.bias), np.isnan(ref))
    np.testing.assert_allclose(src.bias, ref, rtol=1e-9)
    src.close()


def test_hic_equals_cooler_when_both_balanced_by_claster(mcool, tmp_path):
    """A .hic written from a cooler's raw pixels: same ICE bias as cooler's, same bands."""
    uri = f"{mcool}::/resolutions/20000"
    hic = _hic_from_cooler(uri, tmp_path / "x.hic")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref_bias, _ = cooler.balance_cooler(cooler.Cooler(uri), store=False)
        h = open_contacts(str(hic))
        c = open_contacts(uri)
    with h, c:
        assert h.file_format == "hic" and h.resolution_bp == 20_000 and h.normalization == BALANCING_ICE
        np.testing.assert_allclose(h.bias, ref_bias, rtol=1e-9)
        for chrom in SIZES:
            np.testing.assert_array_equal(read_band(h, chrom, 25, chunk_rows=9), read_band(c, chrom, 25))


def test_hic_bad_resolution_or_normalization_names_the_available(mcool, tmp_path):
    hic = _hic_from_cooler(f"{mcool}::/resolutions/10000", tmp_path / "two.hic", resolutions=[10_000, 20_000])
    with pytest.raises(InputError, match=r"two.hic has no resolution 1600 bp; available resolutions: 10000, 20000 bp"):
        open_contacts(str(hic), resolution=1600)
    with pytest.raises(InputError, match=r"two.hic holds several resolutions \(10000, 20000 bp\)"):
        open_contacts(str(hic))
    with pytest.raises(InputError, match=r"no normalization 'KR' at 20000 bp; available there: none"):
        open_contacts(f"{hic}::/resolutions/20000", normalization="KR")
    with open_contacts(str(hic), resolution=10_000, normalization="none") as src:
        band = read_band(src, "chr1", 10)
    raw = cooler.Cooler(f"{mcool}::/resolutions/10000").matrix(balance=False).fetch("chr1")
    np.testing.assert_array_equal(band, _band_ref(raw, 10).astype(np.float32))


def test_legacy_zoom_levels(tmp_path):
    """A legacy .mcool (groups /0, /1: hic2cool / old cooler zoomify) opens by level or by resolution."""
    p = tmp_path / "legacy.mcool"
    kit.write_cool(f"{p}::/0", SIZES, 20_000, seed=3, weights=True)
    kit.write_cool(f"{p}::/1", SIZES, 10_000, seed=4, weights=True, mode="a")
    with pytest.warns(ClasterWarning, match=r"legacy zoom level /1 of legacy.mcool is 10000 bp bins"):
        src = open_contacts(f"{p}::/1")
    with src:
        assert src.resolution_bp == 10_000 and src.zoom_level == "/1" and src.describe()["zoom_level"] == "/1"
        band = read_band(src, "chr1", 20, dtype=np.float64)
    ref = _band_ref(cooler.Cooler(f"{p}::/1").matrix(balance=True).fetch("chr1"), 20)
    assert np.nanmax(np.abs(band - ref)) <= 1e-6
    with pytest.warns(ClasterWarning, match="legacy zoom level /0"):
        src = open_contacts(str(p), resolution=20_000)
    with src:
        assert src.resolution_bp == 20_000 and src.zoom_level == "/0"
    with pytest.raises(InputError, match=r"no resolution 5000 bp; available resolutions: /1 = 10000 bp, /0 = 20000 bp"):
        open_contacts(str(p), resolution=5000)
    with pytest.raises(InputError, match=r"no cooler group /7"):
        open_contacts(f"{p}::/7")


@pytest.mark.realdata
@pytest.mark.slow
def test_in_memory_ice_equals_cooler_on_real_chr22(real_dir, tmp_path):
    from claster.io.contacts import _text_to_cool

    cool = tmp_path / "c.cool"
    _text_to_cool(real_dir / "k562_chr22" / "chr22.5kb.RAWobserved.gz", 5000, "chr22", 50_818_468, cool, "x")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref, _ = cooler.balance_cooler(cooler.Cooler(str(cool)), store=False)
    np.testing.assert_allclose(_ice(str(cool)), ref, rtol=1e-9)


def test_text_dump_roundtrip(tmp_path):
    p = tmp_path / "chrZ.10kb.txt.gz"
    rows = [(0, 0, 5), (0, 10_000, 3), (20_000, 10_000, 2), (10_000, 20_000, 1), (40_000, 60_000, 7.5)]
    with gzip.open(p, "wt") as fh:
        fh.writelines(f"{a}\t{b}\t{c}\n" for a, b, c in rows)
    with pytest.warns(ClasterWarning):
        src = open_contacts(str(p), bin_bp=10_000, chrom_sizes={"chrZ": 65_000, "chrY": 10})
    with src:
        assert src.chrom_sizes == {"chrZ": 65_000} and src.file_format == "text dump"
        clr = cooler.Cooler(src.uri)
        raw = clr.matrix(balance=False)[:]
        assert raw[0, 0] == 5 and raw[0, 1] == 3 and raw[1, 2] == 3 and raw[2, 1] == 3 and raw[4, 6] == 7.5
        tmpdir = Path(src.uri).parent
    assert not tmpdir.exists()  # the temporary cooler is removed on exit


def test_text_dump_needs_bin_size(tmp_path):
    p = tmp_path / "d.txt"
    p.write_text("0 0 1\n")
    with pytest.raises(InputError, match="--contacts-bin-bp"):
        open_contacts(str(p), chrom_sizes={"chr1": 100})
    with pytest.raises(InputError, match="not multiples of 3 bp"):
        p.write_text("0 5 1\n")
        open_contacts(str(p), bin_bp=3, chrom_sizes={"chr1": 100})


def test_corrupt_files(tmp_path):
    p = tmp_path / "bad.mcool"
    p.write_bytes(b"not hdf5 at all")
    with pytest.raises(InputError, match="neither an HDF5 cooler nor a .hic file"):
        open_contacts(f"{p}::/resolutions/5000")
    q = tmp_path / "bad.hic"
    q.write_bytes(b"HIC\x00" + b"\x00" * 40)
    with pytest.raises(InputError, match="bad.hic is not a readable .hic file"):
        open_contacts(str(q))
    with pytest.raises(InputError, match="does not exist"):
        open_contacts(str(tmp_path / "none.mcool"))


def test_pixels_frame_is_what_cooler_stores(mcool):
    """Guard for _hic_from_cooler: the pixel table it copies is the cooler's upper triangle."""
    pix = cooler.Cooler(f"{mcool}::/resolutions/20000").pixels()[:]
    assert isinstance(pix, pd.DataFrame) and (pix["bin1_id"] <= pix["bin2_id"]).all()


def test_all_nan_weights_count_as_unavailable(tmp_path):
    """A normalisation listed but without a finite value at this resolution is not available there."""
    p = tmp_path / "nan.cool"
    kit.write_cool(str(p), SIZES, 20_000, seed=6, weights=True)
    with h5py.File(p, "r+") as h5:
        h5["bins/weight"][:] = np.nan
    with pytest.raises(InputError, match=r"no normalization 'weight' at 20000 bp; available there: none"):
        open_contacts(str(p), normalization="weight")
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        src = open_contacts(str(p))
    with src:
        assert src.normalization == BALANCING_ICE and src.file_format == "cool"
    assert any("ICE-balancing" in str(w.message) for w in rec)
