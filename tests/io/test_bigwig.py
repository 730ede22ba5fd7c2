"""read_binned against pyBigWig's own per-bin statistics; bad bigWigs raise InputError."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pyBigWig
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claster.errors import InputError
from claster.io import read_bigwig_chroms, read_binned

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))
import claster_store_kit as kit  # noqa: E402

SIZES = {"chr1": 123_457, "chr2": 50_000}


@pytest.fixture(scope="module")
def bw_path(tmp_path_factory) -> Path:
    return kit.write_bigwig(tmp_path_factory.mktemp("bw") / "a.bw", SIZES, seed=3, density=0.5)


def _stats_ref(path: Path, chrom: str, bin_bp: int, length: int) -> np.ndarray:
    with pyBigWig.open(str(path)) as bw:
        out = []
        for s in range(0, length, bin_bp):
            v = bw.stats(chrom, s, min(s + bin_bp, length), type="mean", exact=True)[0]
            out.append(0.0 if v is None else v)
    return np.array(out)


def test_covered_mean_equals_pybigwig_stats(bw_path):
    got = read_binned(bw_path, "chr1", 100)
    ref = _stats_ref(bw_path, "chr1", 100, SIZES["chr1"])
    assert got.values.shape == (1235,) and got.values.dtype == np.float32
    np.testing.assert_allclose(got.values, ref, rtol=1e-5, atol=1e-6)
    assert got.n_empty == int(np.sum(ref == 0))  # the synthetic signal is never exactly 0


def test_missing_as_zero_averages_over_all_bases(bw_path):
    with pyBigWig.open(str(bw_path)) as bw:
        v = np.nan_to_num(bw.values("chr2", 0, SIZES["chr2"], numpy=True), nan=0.0)
    got = read_binned(bw_path, "chr2", 20, missing_as_zero=True).values
    np.testing.assert_allclose(got, v.reshape(-1, 20).mean(axis=1), rtol=1e-5, atol=1e-6)


@settings(max_examples=15, deadline=None)
@given(chunk_bins=st.integers(min_value=1, max_value=400))
def test_chunked_equals_unchunked(bw_path, chunk_bins):
    whole = read_binned(bw_path, "chr1", 100, chunk_bp=10_000_000)
    part = read_binned(bw_path, "chr1", 100, chunk_bp=chunk_bins * 100)
    np.testing.assert_array_equal(whole.values, part.values)
    assert whole.n_empty == part.n_empty


def test_sum_of_two_bigwigs_is_per_base(tmp_path, bw_path):
    other = kit.write_bigwig(tmp_path / "b.bw", SIZES, seed=9, density=0.5)
    with pyBigWig.open(str(bw_path)) as a, pyBigWig.open(str(other)) as b:
        va, vb = a.values("chr2", 0, 50_000, numpy=True), b.values("chr2", 0, 50_000, numpy=True)
    cov = np.isfinite(va) | np.isfinite(vb)
    s = np.nan_to_num(va) + np.nan_to_num(vb)
    n = cov.reshape(-1, 100).sum(1)
    ref = np.where(n > 0, s.reshape(-1, 100).sum(1) / np.maximum(n, 1), 0)
    got = read_binned([bw_path, other], "chr2", 100).values
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)


def test_length_beyond_file_counts_as_empty(bw_path):
    got = read_binned(bw_path, "chr2", 100, length_bp=60_050)
    assert got.values.shape == (601,)
    assert np.all(got.values[500:] == 0)
    np.testing.assert_array_equal(got.values[:500], read_binned(bw_path, "chr2", 100).values)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="does not exist; check the path"):
        read_bigwig_chroms(tmp_path / "nope.bw")


def test_corrupt_file(tmp_path):
    p = tmp_path / "bad.bw"
    p.write_bytes(b"track type=bedGraph\nchr1 0 10 1\n")
    with pytest.raises(InputError, match="is not a bigWig"):
        read_bigwig_chroms(p)
    # right magic number, garbage after it
    p.write_bytes(bytes.fromhex("26fc8f88") + b"\x00" * 20)
    with pytest.raises(InputError, match="is truncated"):
        read_bigwig_chroms(p)
    # a real bigWig cut short: the header is intact, the data and index are not
    whole = kit.write_bigwig(tmp_path / "whole.bw", SIZES, seed=3, density=0.5)
    for keep in (300, whole.stat().st_size - 10):
        p.write_bytes(whole.read_bytes()[:keep])
        with pytest.raises(InputError, match=r"bad.bw is truncated \(its header points past the end"):
            read_bigwig_chroms(p)
    assert read_bigwig_chroms(whole) == SIZES


def test_missing_chromosome(bw_path):
    with pytest.raises(InputError, match=r"has no chromosome 'chr9'.*give a bigWig covering chr9"):
        read_binned(bw_path, "chr9", 100)


def _per_base(path: Path, chrom: str, length: int) -> np.ndarray:
    """pyBigWig per-base values over [0, length), NaN where uncovered or beyond the file's chromosome."""
    with pyBigWig.open(str(path)) as bw:
        flen = bw.chroms(chrom)
        v = bw.values(chrom, 0, min(flen, length), numpy=True)
    return np.concatenate([v, np.full(max(0, length - flen), np.nan)])


@pytest.mark.parametrize("length", [SIZES["chr1"], SIZES["chr1"] + 1_234])
def test_missing_as_zero_partial_last_bin(bw_path, length):
    """Uncovered bases count as 0; the last bin is divided by its real length (and by bases past the
    file's own chromosome end, which count as uncovered)."""
    v = np.nan_to_num(_per_base(bw_path, "chr1", length), nan=0.0)
    n = -(-length // 100)
    sums = np.concatenate([v, np.zeros(n * 100 - length)]).reshape(n, 100).sum(1)
    lengths = np.minimum(np.arange(1, n + 1) * 100, length) - np.arange(n) * 100
    got = read_binned(bw_path, "chr1", 100, length_bp=length, missing_as_zero=True, chunk_bp=7_700)
    np.testing.assert_allclose(got.values, sums / lengths, rtol=1e-5, atol=1e-6)
    assert got.values.shape == (n,) and lengths[-1] != 100


def test_sum_of_two_bigwigs_missing_as_zero(tmp_path, bw_path):
    other = kit.write_bigwig(tmp_path / "b.bw", SIZES, seed=9, density=0.5)
    a, b = _per_base(bw_path, "chr1", SIZES["chr1"]), _per_base(other, "chr1", SIZES["chr1"])
    s = np.nan_to_num(a) + np.nan_to_num(b)
    cov = (np.isfinite(a) | np.isfinite(b))
    n = -(-SIZES["chr1"] // 50)
    pad = n * 50 - SIZES["chr1"]
    sums = np.concatenate([s, np.zeros(pad)]).reshape(n, 50).sum(1)
    lengths = np.full(n, 50.0)
    lengths[-1] = 50 - pad
    got = read_binned([bw_path, other], "chr1", 50, missing_as_zero=True)
    np.testing.assert_allclose(got.values, sums / lengths, rtol=1e-5, atol=1e-6)
    assert got.n_empty == int((np.concatenate([cov, np.zeros(pad, bool)]).reshape(n, 50).sum(1) == 0).sum())


def test_missing_as_zero_last_bin_hand_worked(tmp_path):
    """chrA is 1,057 bp: 30 bases of 1.0 at [20, 50) and 57 of 2.0 at [1000, 1057); 100 bp bins."""
    p = tmp_path / "h.bw"
    with pyBigWig.open(str(p), "w") as bw:
        bw.addHeader([("chrA", 1057)], maxZooms=0)
        bw.addEntries(["chrA", "chrA"], [20, 1000], ends=[50, 1057], values=[1.0, 2.0])
    got = read_binned(p, "chrA", 100, missing_as_zero=True)
    assert got.values.shape == (11,) and got.n_empty == 9
    assert got.values[0] == pytest.approx(0.3) and got.values[10] == pytest.approx(2.0)  # 114 / 57 bases
    longer = read_binned(p, "chrA", 100, missing_as_zero=True, length_bp=1100)  # bin [1000, 1100): 114 / 100
    assert longer.values[10] == pytest.approx(1.14)
    covered = read_binned(p, "chrA", 100, length_bp=1100)  # covered mean: 114 / 57
    assert covered.values[0] == pytest.approx(1.0) and covered.values[10] == pytest.approx(2.0)
