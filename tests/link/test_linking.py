"""Enhancer–gene linking (SPEC §7) on a small hand-made effects table, TSV/BEDPE round trips, and the
perturbation figures drawn from the same table.

Element E1 [1000, 1200) (mid 1100), one window:  gA TSS 1150 Δ 2, gB TSS 5100 Δ 6, gC TSS 900 Δ 0
  ratio-to-max 1/3, 1, 0; mean 8/3, population std sqrt(56)/3 -> z = -2, 10, -8 over sqrt(56);
  distances 50, 4000, 200 -> closest gA, primary gB; E1 overlaps gA's TSS +-500 -> class promoter.
Element E2 [20000, 20400) (mid 20200): gD TSS 30000, gE TSS 10400, both Δ 0 and 9800 bp away
  -> no primary, closest gD (tie broken by gene id), both proximity rank 1, class distal.
Element E3 [50000, 50100) scored in two gene-centric windows:
  window gF: gF Δ 4, gG Δ 2 (ratio 1, 0.5); window gG: gF Δ 8, gG Δ 2 (ratio 1, 0.25).
"""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from claster.link import (
    BEDPE_LINK_COLUMNS,
    LINKS_COLUMNS,
    links_table,
    primary_target_summary,
    read_effects,
    read_links_bedpe,
    read_links_tsv,
    score_effects,
    write_links_bedpe,
    write_links_tsv,
)
from claster.perturb import EFFECTS_COLUMNS
from claster.errors import InputError
from claster.plots.perturbation import (
    most_affected_ranks,
    plot_distance_effect,
    plot_profile_overlay,
    plot_proximity_rank_hist,
)

HEADER = (
    "element_id element_chrom element_start_bp element_end_bp gene_id gene_name gene_tss_bp "
    "baseline_area perturbed_area window_id proximity_rank"
)
EFFECTS = """
E1 chr1 1000 1200 gA GeneA 1150 10 8 E1 1
E1 chr1 1000 1200 gB GeneB 5100 20 14 E1 3
E1 chr1 1000 1200 gC GeneC 900 5 5 E1 2
E2 chr1 20000 20400 gD GeneD 30000 3 3 E2 1
E2 chr1 20000 20400 gE GeneE 10400 7 7 E2 1
E3 chr2 50000 50100 gF GeneF 52000 10 6 gF 1
E3 chr2 50000 50100 gG GeneG 60000 10 12 gF 2
E3 chr2 50000 50100 gF GeneF 52000 10 2 gG 1
E3 chr2 50000 50100 gG GeneG 60000 10 8 gG 2
"""


@pytest.fixture
def effects() -> pd.DataFrame:
    df = pd.read_csv(io.StringIO(HEADER + "\n" + EFFECTS.strip()), sep=r"\s+")
    df["delta_area"] = df["perturbed_area"] - df["baseline_area"]
    df["abs_delta"] = df["delta_area"].abs()
    df["rel_change"] = df["delta_area"] / df["baseline_area"]
    df["distance_bp"] = (df["gene_tss_bp"] - (df["element_start_bp"] + df["element_end_bp"]) // 2).abs()
    return df


def test_score_effects_ratio_and_zscore(effects):
    s = score_effects(effects).set_index(["window_id", "element_id", "gene_id"])
    e1 = s.loc[("E1", "E1")]
    np.testing.assert_allclose(e1["delta"], [2, 6, 0])
    np.testing.assert_allclose(e1["ratio_to_max"], [1 / 3, 1, 0])
    np.testing.assert_allclose(e1["zscore"], np.array([-2, 10, -8]) / math.sqrt(56))
    assert list(e1["is_window_primary"]) == [False, True, False]
    e2 = s.loc[("E2", "E2")]
    assert list(e2["ratio_to_max"]) == [0, 0] and list(e2["zscore"]) == [0, 0]
    assert not e2["is_window_primary"].any()
    np.testing.assert_allclose(s.loc[("gG", "E3"), "ratio_to_max"], [1, 0.25])


def test_links_table_hand_worked(effects):
    links = links_table(effects)
    assert tuple(links.columns) == LINKS_COLUMNS
    e1 = links[links["name"] == "E1"].set_index("TargetGeneEnsemblID")
    assert list(e1.index) == ["gA", "gC", "gB"]  # sorted by distance
    np.testing.assert_array_equal(e1["distance"], [50, 200, 4000])
    np.testing.assert_array_equal(e1["proximity_rank"], [1, 2, 3])
    np.testing.assert_allclose(e1.loc[["gA", "gB", "gC"], "score"], [1 / 3, 1, 0])
    np.testing.assert_allclose(e1.loc[["gA", "gB", "gC"], "zscore"], np.array([-2, 10, -8]) / math.sqrt(56))
    assert e1["is_primary"].to_dict() == {"gA": False, "gC": False, "gB": True}
    assert e1["is_closest"].to_dict() == {"gA": True, "gC": False, "gB": False}
    assert set(e1["class"]) == {"promoter"}
    assert list(e1["TargetGene"]) == ["GeneA", "GeneC", "GeneB"]
    np.testing.assert_allclose(e1.loc["gB", "rel_change"], -0.3)

    e2 = links[links["name"] == "E2"].set_index("TargetGeneEnsemblID")
    assert not e2["is_primary"].any()
    assert e2["is_closest"].to_dict() == {"gD": True, "gE": False}
    assert list(e2["proximity_rank"]) == [1, 1]
    assert set(e2["class"]) == {"distal"}


def test_duplicates_across_windows(effects):
    mx = links_table(effects, duplicates="max").set_index("TargetGeneEnsemblID").loc[["gF", "gG"]]
    # gF: both windows score 1, the larger delta (8, window gG) wins; gG: 0.5 (window gF) beats 0.25
    assert list(mx["window_id"]) == ["gG", "gF"]
    np.testing.assert_allclose(mx["score"], [1, 0.5])
    np.testing.assert_allclose(mx["delta"], [8, 2])
    ref = links_table(effects, duplicates="reference").set_index("TargetGeneEnsemblID").loc[["gF", "gG"]]
    assert list(ref["window_id"]) == ["gF", "gG"]
    np.testing.assert_allclose(ref["score"], [1, 0.25])
    assert ref["is_primary"].to_dict() == {"gF": True, "gG": False}
    assert ref["is_closest"].to_dict() == {"gF": True, "gG": False}


def test_min_delta_filters_after_scoring(effects):
    links = links_table(effects, min_delta=2.5)
    assert sorted(zip(links["name"], links["TargetGeneEnsemblID"], strict=True)) == [
        ("E1", "gB"),
        ("E3", "gF"),
    ]
    assert links.set_index("TargetGeneEnsemblID").loc["gB", "score"] == 1.0


def test_primary_target_summary(effects):
    summary = primary_target_summary(links_table(effects))
    # E1's primary gB is not its closest gA; E3's primary gF is its closest; E2 has no primary
    assert summary == {"n_elements": 3, "n_with_primary": 2, "primary_is_closest": 1, "fraction": 0.5}


def test_links_errors(effects):
    with pytest.raises(InputError, match="lacks column.*baseline_area"):
        links_table(effects.drop(columns=["baseline_area"]))
    with pytest.raises(InputError, match="duplicates must be 'max' or 'reference'"):
        links_table(effects, duplicates="mean")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="min_delta must be >= 0"):
        links_table(effects, min_delta=-1)


def test_effects_tsv_roundtrip(tmp_path, effects):
    path = tmp_path / "effects.tsv"
    effects.to_csv(path, sep="\t", index=False)
    back = read_effects(path)
    pd.testing.assert_frame_equal(links_table(back), links_table(effects), check_dtype=False)
    with pytest.raises(InputError, match="does not exist; run `claster perturb"):
        read_effects(tmp_path / "nope.tsv")
    (tmp_path / "bad.tsv").write_text("a\tb\n1\t2\n")
    with pytest.raises(InputError, match="lacks column.*element_id"):
        read_effects(tmp_path / "bad.tsv")


def test_links_tsv_roundtrip(tmp_path, effects):
    links = links_table(effects)
    path = write_links_tsv(links, tmp_path / "links.tsv")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left
    back = read_links_tsv(path)
    assert tuple(back.columns) == LINKS_COLUMNS
    pd.testing.assert_frame_equal(back, links, check_dtype=False, rtol=1e-5)
    with pytest.raises(InputError, match="lacks column"):
        write_links_tsv(links.drop(columns=["score"]), tmp_path / "x.tsv")


def test_links_bedpe_roundtrip(tmp_path, effects):
    links = links_table(effects)
    path = write_links_bedpe(links, tmp_path / "links.bedpe")
    assert path.read_text().startswith(
        "#chrom1\tstart1\tend1\tchrom2\tstart2\tend2\tname\tscore\tstrand1\tstrand2\telement_name\n"
    )
    bed = read_links_bedpe(path)
    assert tuple(bed.columns) == BEDPE_LINK_COLUMNS
    row = bed[bed["name"] == "E1|GeneA"].iloc[0]
    assert (row["chrom1"], row["start1"], row["end1"]) == ("chr1", 1000, 1200)
    assert (row["chrom2"], row["start2"], row["end2"]) == ("chr1", 1150, 1151)
    assert row["score"] == 333 and row["strand1"] == "." and row["strand2"] == "."
    assert bed["score"].max() == 1000 and bed["score"].min() == 0
    # capped at 1000 even for scores above 1
    over = links.assign(score=links["score"] * 3)
    assert read_links_bedpe(write_links_bedpe(over, tmp_path / "o.bedpe"))["score"].max() == 1000


def test_empty_effects_give_empty_links(effects):
    links = links_table(effects.iloc[:0])
    assert len(links) == 0 and tuple(links.columns) == LINKS_COLUMNS


def test_effects_columns_cover_linking_needs():
    from claster.link import REQUIRED_EFFECTS_COLUMNS

    assert set(REQUIRED_EFFECTS_COLUMNS) <= set(EFFECTS_COLUMNS)


# ------------------------------------------------------------------------------------------------ plots


def test_most_affected_ranks(effects):
    ranks = most_affected_ranks(effects)
    # E1: gB (rank 3); E2: all zero -> left out; window gF: gF (rank 1); window gG: gF (rank 1)
    assert ranks.to_dict() == {("E1", "E1"): 3, ("gF", "E3"): 1, ("gG", "E3"): 1}


def test_plots_return_figures(effects):
    fig = plot_distance_effect(effects)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    offsets = ax.collections[0].get_offsets()
    assert len(offsets) == len(effects)
    np.testing.assert_allclose(np.sort(offsets[:, 1]), np.sort(effects["rel_change"]))

    fig = plot_proximity_rank_hist(effects, max_rank=3)
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert heights == [2, 0, 1]
    assert "67%" in fig.axes[0].get_title()

    base = np.zeros(401)
    pert = np.zeros(401)
    pert[200] = -1
    fig = plot_profile_overlay(base, pert, element_rel_bp=(-20_000, -10_000), gene_body_rel_bp=(0, 5_000))
    lines = fig.axes[0].get_lines()
    np.testing.assert_allclose(lines[1].get_ydata(), pert)
    assert lines[0].get_xdata()[0] == -200 and lines[0].get_xdata()[-1] == 200
    with pytest.raises(InputError, match="differ in length"):
        plot_profile_overlay(base, pert[:-1])
    with pytest.raises(InputError, match="lacks column 'rel_change'"):
        plot_distance_effect(effects.drop(columns=["rel_change"]))


def test_elements_sharing_a_name_stay_apart():
    """Two BED elements named '.' in one gene-centric window g1: A [1000, 1100) moves g1 by 5 and g2 by 1;
    B [8000, 8100) moves g2 by 1 and g1 by 0. Each element's links are scored against its own Δ:
    B -> g2 has ratio-to-max 1/1 = 1.0 (merged with A it would be 1/5 = 0.2)."""
    eff = pd.DataFrame({
        "element_id": [".", ".", ".", "."], "element_chrom": "chr1",
        "element_start_bp": [1000, 1000, 8000, 8000], "element_end_bp": [1100, 1100, 8100, 8100],
        "gene_id": ["g1", "g2", "g1", "g2"], "gene_name": ["G1", "G2", "G1", "G2"],
        "gene_tss_bp": [2000, 9000, 2000, 9000], "baseline_area": [10.0, 10.0, 10.0, 10.0],
        "perturbed_area": [5.0, 9.0, 10.0, 9.0], "window_id": "g1",
    })
    with pytest.warns(Warning, match="2 elements share an element_id with another locus"):
        links = links_table(eff)
    assert len(links) == 4 and links["name"].nunique() == 2
    b = links[links["start"] == 8000].set_index("TargetGeneEnsemblID")
    assert b.loc["g2", "score"] == pytest.approx(1.0) and b.loc["g1", "score"] == 0.0
    assert b.loc["g2", "is_primary"] and b["name"].iloc[0] == "chr1:8000-8100"
    assert (links["element_name"] == ".").all()
    a = links[links["start"] == 1000].set_index("TargetGeneEnsemblID")
    assert a.loc["g2", "score"] == pytest.approx(0.2) and a.loc["g1", "is_primary"]
    assert primary_target_summary(links)["n_with_primary"] == 2


def test_links_record_the_area_and_refuse_mixed_areas():
    base = pd.DataFrame({
        "element_id": ["E", "E"], "element_chrom": "chr1", "element_start_bp": 1000, "element_end_bp": 1100,
        "gene_id": ["g1", "g2"], "gene_tss_bp": [2000, 9000], "baseline_area": [10.0, 10.0],
        "perturbed_area": [5.0, 9.0], "window_id": "g1",
    })
    assert set(links_table(base)["area"]) == {"body"}  # tables without the column measured gene bodies
    tss = base.assign(area="tss:-2000..3000")
    assert set(links_table(tss)["area"]) == {"tss:-2000..3000"}
    mixed = base.assign(area=["body", "tss:-2000..3000"])
    with pytest.raises(InputError, match="mixes areas body, tss:-2000..3000"):
        links_table(mixed)
