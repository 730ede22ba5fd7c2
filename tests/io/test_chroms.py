"""Chromosome alias resolution."""

from __future__ import annotations

import pytest

from claster.errors import InputError
from claster.io import map_chroms


def test_auto_adds_and_strips_chr():
    assert map_chroms(["chr1", "chrX", "chrM"], ["1", "X", "MT"]) == {"chr1": "1", "chrX": "X", "chrM": "MT"}
    assert map_chroms(["1", "2"], ["chr1", "chr3"]) == {"1": "chr1", "2": None}


def test_none_requires_identical_names_and_names_the_option():
    with pytest.raises(InputError, match=r"chromosome names differ.*chr-prefixed.*bare.*--chrom-aliases auto"):
        map_chroms(["chr1", "chr2"], ["1", "2"], "none")


def test_explicit_mapping():
    assert map_chroms(["a", "chr2"], ["chr1", "chr2"], {"a": "chr1"}) == {"a": "chr1", "chr2": "chr2"}


def test_unrelated_names_error():
    with pytest.raises(InputError, match="same assembly"):
        map_chroms(["chr1"], ["scaffold_1"])
