"""Scan inputs that used to go silently wrong: element identity, missing tracks, the area measured."""

from __future__ import annotations

import types

import numpy as np
import pandas as pd
import pytest

from claster.errors import InputError
from claster.perturb import area_bins, parse_area, perturb_scan, read_elements


def test_read_elements_gives_every_element_its_own_id_and_keeps_the_name(tmp_path):
    bed = tmp_path / "e.bed"
    bed.write_text(
        "chr1\t100\t200\t.\n"
        "chr1\t300\t400\t.\n"
        "chr1\t500\t600\tenh\n"
        "chr1\t700\t800\tenh\n"
        "chr2\t900\t1000\t\n"
    )
    el = read_elements(bed)
    assert el["element_id"].tolist() == ["chr1:100-200", "chr1:300-400", "enh", "enh_2", "chr2:900-1000"]
    assert el["element_name"].tolist() == [".", ".", "enh", "enh", ""]
    assert el["element_id"].is_unique


def test_read_elements_without_a_name_column(tmp_path):
    bed = tmp_path / "e.bed"
    bed.write_text("chr1\t100\t200\nchr1\t100\t200\n")
    el = read_elements(bed)
    assert el["element_id"].tolist() == ["chr1:100-200", "chr1:100-200_2"]


def _store(tracks):
    return types.SimpleNamespace(track_names=list(tracks), path="S")


def test_a_preset_track_missing_from_the_store_is_an_error_naming_the_store_tracks():
    elements = pd.DataFrame({"chrom": ["chr1"], "start_bp": [0], "end_bp": [100], "element_id": ["e"]})
    with pytest.raises(InputError, match=r"preset P2 needs track 'ATAC' but the store has DNase, H3K4me3, H3K27ac"):
        perturb_scan(None, _store(["DNase", "H3K4me3", "H3K27ac"]), elements, preset="P2")


def test_the_active_track_missing_from_the_store_is_an_error_unless_the_filter_is_off():
    elements = pd.DataFrame({"chrom": ["chr1"], "start_bp": [0], "end_bp": [100], "element_id": ["e"]})
    store = _store(["ATAC", "H3K4me3", "H3K27ac", "H3K27me3"])
    with pytest.raises(InputError, match=r"active filter needs track 'K27ac' but the store has ATAC, H3K4me3, "
                                         r"H3K27ac, H3K27me3; name another with --active-track"):
        perturb_scan(None, store, elements, preset="P1", active_track="K27ac")
    # with the filter off the track is not needed: the scan goes on (and stops at the missing predictor)
    with pytest.raises(AttributeError):
        perturb_scan(None, store, elements, preset="P1", active_track="K27ac", active_threshold=None)


def test_parse_area():
    assert parse_area("body") == ("body", None, None)
    assert parse_area("tss:-2000..3000") == ("tss:-2000..3000", -2000, 3000)
    for bad in ("tss", "tss:3000..-2000", "gene"):
        with pytest.raises(InputError, match="cannot read area"):
            parse_area(bad)


def test_tss_area_is_strand_aware():
    """TSS 10,500 in a window centred there: + strand [8,500, 13,500) -> bins -2..3; - strand
    [7,500, 12,500) -> bins -3..2 (upstream is to the right on the minus strand)."""
    genes = pd.DataFrame({"tss_bp": [10_500, 10_500], "strand": ["+", "-"], "start_bp": [10_500, 2_000],
                          "end_bp": [30_000, 10_501]})
    lo, hi = area_bins(genes, np.array([10_500, 10_500]), 19, "tss:-2000..3000")
    assert lo.tolist() == [-2, -3] and hi.tolist() == [3, 2]
    lo, hi = area_bins(genes, np.array([10_500, 10_500]), 19, "body")
    assert lo.tolist() == [0, -9] and hi.tolist() == [9, 0]  # the body, clipped to the 19-bin window
