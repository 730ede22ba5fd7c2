"""claster.io.writers: binned bigWig (checked with pyBigWig, an independent reader), TSV and BEDPE."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyBigWig
import pytest

from claster.errors import InputError
from claster.io.writers import write_bedpe, write_bigwig, write_tsv


def test_bigwig_round_trip_with_nan_and_partial_last_bin(tmp_path):
    sizes = {"chrA": 105, "chrB": 40}
    a = np.array([1.0, 2.0, np.nan, 4.0, 5.0, 6.0], dtype=np.float32)  # 6 bins of 20 bp, last one 5 bp
    path = write_bigwig(tmp_path / "x.bw", sizes, {"chrA": (a, 20)})
    with pyBigWig.open(str(path)) as bw:
        assert bw.chroms() == {"chrA": 105}  # chrB has no data: pybigtools leaves it out of the header
        vals = np.array(bw.values("chrA", 0, 105))
        expected = np.repeat(a, 20)[:105]
        np.testing.assert_array_equal(np.isnan(vals), np.isnan(expected))
        np.testing.assert_allclose(vals[~np.isnan(vals)], expected[~np.isnan(expected)])
        assert bw.intervals("chrA")[-1] == (100, 105, 6.0)
    assert not list(tmp_path.glob(".*tmp"))


def test_bigwig_equal_runs_merged_and_several_chroms(tmp_path):
    sizes = {"chr2": 75, "chr10": 30}
    a = np.array([1, 1, 1, np.nan, 1, 2, 2, 3], dtype=np.float32)  # 10 bp bins, last one 5 bp
    b = np.array([0.5, 0.5, 0.25], dtype=np.float32)
    path = write_bigwig(tmp_path / "y.bw", sizes, {"chr2": (a, 10), "chr10": (b, 10)})
    with pyBigWig.open(str(path)) as bw:
        assert bw.chroms() == sizes
        assert bw.intervals("chr2") == ((0, 30, 1.0), (40, 50, 1.0), (50, 70, 2.0), (70, 75, 3.0))
        assert bw.intervals("chr10") == ((0, 20, 0.5), (20, 30, 0.25))
    with pytest.raises(InputError, match="every value is NaN"):
        write_bigwig(tmp_path / "z.bw", sizes, {"chr2": (np.full(8, np.nan), 10)})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["y.bw"]  # no temporary file left behind


def test_bigwig_wrong_length_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="chrA needs 6 values of 20 bp"):
        write_bigwig(tmp_path / "x.bw", {"chrA": 105}, {"chrA": (np.zeros(5), 20)})
    assert not list(tmp_path.iterdir())


def test_bigwig_unknown_chrom_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="chrZ, which chrom_sizes lacks"):
        write_bigwig(tmp_path / "x.bw", {"chrA": 100}, {"chrZ": (np.zeros(5), 20)})


def test_tsv_and_bedpe(tmp_path):
    df = pd.DataFrame({"chrom1": ["c"], "start1": [0], "end1": [10], "chrom2": ["c"], "start2": [20],
                       "end2": [30], "score": [0.5]})
    write_tsv(df, tmp_path / "a.tsv")
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a.tsv", sep="\t"), df)
    write_bedpe(df, tmp_path / "a.bedpe")
    assert (tmp_path / "a.bedpe").read_text().splitlines()[1] == "c\t0\t10\tc\t20\t30\t0.5"
    with pytest.raises(InputError, match="first columns must be chrom1"):
        write_bedpe(df[["score", *df.columns[:6]]], tmp_path / "b.bedpe")
    assert not (tmp_path / "b.bedpe").exists()


def test_missing_output_directory(tmp_path):
    with pytest.raises(InputError, match="does not exist; create it first"):
        write_tsv(pd.DataFrame({"a": [1]}), tmp_path / "nope" / "a.tsv")
