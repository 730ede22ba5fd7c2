"""Contact sources: resolution errors, cooler weights, ICE when missing, text dumps, band reading."""

from __future__ import annotations

import gzip
import sys
import warnings
from pathlib import Path

import cooler
import numpy as np
import pytest

from claster.errors import ClasterWarning, InputError
from claster.io import BALANCING_COOLER, BALANCING_ICE, open_contacts, read_band
from claster.io.contacts import _ice

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))
import claster_store_kit as kit  # noqa: E402

SIZES = {"chr1": 1_000_000, "chr2": 420_000}


@pytest.fixture(scope="module")
def mcool(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("c") / "x.mcool"
    kit.write_cool(f"{p}::/resolutions/10000", SIZES, 10_000, seed=1, weights=True)
    kit.write_cool(f"{p}::/resolutions/20000", SIZES, 20_000, seed=2, weights=False, mode="a")
    return p


def test_unavailable_resolution_lists_available(mcool):
    with pytest.raises(InputError, match=r"no resolution 1600 bp.*available resolutions: 10000, 20000 bp"):
        open_contacts(f"{mcool}::/resolutions/1600")
    with pytest.raises(InputError, match="holds several resolutions"):
        open_contacts(str(mcool))


def test_band_uses_cooler_weights(mcool):
    uri = f"{mcool}::/resolutions/10000"
    with open_contacts(uri) as src:
        assert src.balancing == BALANCING_COOLER and src.resolution_bp == 10_000
        band = read_band(src, "chr1", 30, chunk_rows=7, max_pixels=50)
    ref = cooler.Cooler(uri).matrix(balance=True).fetch("chr1")  # count * w_i * w_j, NaN where w is NaN
    n = ref.shape[0]
    for d in (0, 1, 5, 29):
        diag = np.full(n, np.nan)
        diag[: n - d] = np.diagonal(ref, d)
        np.testing.assert_allclose(band[:, d], np.where(diag == 0, np.nan, diag), rtol=1e-6)


def test_missing_weights_are_ice_balanced_like_cooler(mcool):
    uri = f"{mcool}::/resolutions/20000"
    with pytest.warns(ClasterWarning) as rec:  # (random test counts may also not converge: a 2nd warning)
        src = open_contacts(uri)
    assert any("no balancing weights; ICE" in str(w.message) for w in rec)
    assert src.balancing == BALANCING_ICE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cooler's own ConvergenceWarning, if any
        ref, _ = cooler.balance_cooler(cooler.Cooler(uri), store=False)
    np.testing.assert_array_equal(np.isnan(src.bias), np.isnan(ref))
    np.testing.assert_allclose(src.bias, ref, rtol=1e-9)


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
    rows = [(0, 0, 5), (0, 10_000, 3), (20_000, 10_000, 2), (10_000, 20_000, 1), (40_000, 60_000, 7)]
    with gzip.open(p, "wt") as fh:
        fh.writelines(f"{a}\t{b}\t{c}\n" for a, b, c in rows)
    with pytest.warns(ClasterWarning):
        src = open_contacts(str(p), bin_bp=10_000, chrom_sizes={"chrZ": 65_000, "chrY": 10})
    with src:
        assert src.chrom_sizes == {"chrZ": 65_000}
        clr = cooler.Cooler(src.uri)
        raw = clr.matrix(balance=False)[:]
        assert raw[0, 0] == 5 and raw[0, 1] == 3 and raw[1, 2] == 3 and raw[2, 1] == 3 and raw[4, 6] == 7
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


def test_corrupt_cooler(tmp_path):
    p = tmp_path / "bad.mcool"
    p.write_bytes(b"not hdf5 at all")
    with pytest.raises(InputError, match="not an HDF5 cooler"):
        open_contacts(f"{p}::/resolutions/5000")
    with pytest.raises(InputError, match="does not exist"):
        open_contacts(str(tmp_path / "none.mcool"))
