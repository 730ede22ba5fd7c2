"""Perturbation bins, operations, specs, the active filter and the batched engine (SPEC §6), on hand-worked arrays.

Tiny windows have 11 bins of 100 bp (centre bin 5) and start at 0 bp, so offset 0 = 500 bp.
Rows: ATAC 0..10, H3K4me3 11..21, H3K27ac 22..32, H3K27me3 33..43.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from claster.perturb import (
    EFFECTS_COLUMNS,
    PerturbationEngine,
    apply_operations,
    apply_operations_,
    check_tracks,
    element_bins,
    element_gene_geometry,
    is_active,
    load_perturb_spec,
    region_bins,
    select_active_elements,
)
from claster.config.perturb import (
    ActiveFilter,
    CopyOp,
    InsertPromoterOp,
    Perturbation,
    PerturbSpec,
    ScaleOp,
    SilenceOp,
)
from claster.errors import ConfigError, InputError

TRACKS = ("ATAC", "H3K4me3", "H3K27ac", "H3K27me3")


@pytest.fixture
def x() -> np.ndarray:
    return np.arange(44, dtype=np.float32).reshape(4, 11)


def op(**kw):
    return Perturbation(name="p", operations=[kw])


def apply(x, *ops, **kw):
    kw.setdefault("track_names", TRACKS)
    kw.setdefault("window_start_bp", 0)
    return apply_operations(x, Perturbation(name="p", operations=list(ops)), **kw)


# ------------------------------------------------------------------------------------------------ bins


def test_element_bins_hand_worked():
    # floor(-250/100) = -3 .. floor(130/100) = 1, relative to centre bin 5000
    np.testing.assert_array_equal(element_bins(-250, 130), [4997, 4998, 4999, 5000, 5001])
    # the SPEC rule includes floor(e/100) even when e is on a bin edge: [0, 200) -> 5000, 5001, 5002
    np.testing.assert_array_equal(element_bins(0, 200), [5000, 5001, 5002])
    np.testing.assert_array_equal(element_bins(-250, 130, n_bins=11), [2, 3, 4, 5, 6])


def test_region_bins_promoter_is_4900_to_5100():
    b = region_bins(-10_000, 10_000)
    assert (b[0], b[-1], b.size) == (4900, 5099, 200)
    np.testing.assert_array_equal(region_bins(-250, 130), [4997, 4998, 4999, 5000, 5001])


def test_bins_clipped_to_window():
    np.testing.assert_array_equal(element_bins(-700, -400, n_bins=11), [0, 1])  # -7 .. -4 -> -2 .. 1
    np.testing.assert_array_equal(element_bins(300, 900, n_bins=11), [8, 9, 10])
    assert element_bins(600_000, 700_000).size == 0
    assert element_bins(-(10**7), 10**7).size == 10_001


# ------------------------------------------------------------------------------------------- operations


def test_silence_p1(x):
    out = apply(x, SilenceOp(region="offset:-250..130", preset="P1"))
    expected = x.copy()
    expected[2] = [22, 23, 0, 0, 0, 0, 0, 29, 30, 31, 32]
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(x[2], np.arange(22, 33))  # input untouched


def test_silence_p2_keeps_h3k27me3(x):
    out = apply(x, SilenceOp(region="offset:-250..130", preset="P2"))
    np.testing.assert_array_equal(out[0], [0, 1, 0, 0, 0, 0, 0, 7, 8, 9, 10])
    np.testing.assert_array_equal(out[1], [11, 12, 0, 0, 0, 0, 0, 18, 19, 20, 21])
    np.testing.assert_array_equal(out[2], [22, 23, 0, 0, 0, 0, 0, 29, 30, 31, 32])
    np.testing.assert_array_equal(out[3], np.arange(33, 44))


def test_silence_any_tracks_and_value(x):
    out = apply(x, SilenceOp(region="offset:100..200", tracks=["H3K27me3"], value=5.0))
    # element rule: floor(1) .. floor(2) -> bins 6, 7
    np.testing.assert_array_equal(out[3], [33, 34, 35, 36, 37, 38, 5, 5, 41, 42, 43])
    np.testing.assert_array_equal(out[:3], x[:3])


def test_scale_per_track(x):
    out = apply(x, ScaleOp(region="offset:-100..100", factors={"ATAC": 2.0, "H3K27me3": 0.5}))
    # overlap rule: floor(-1) .. ceil(1) - 1 -> bins 4, 5
    np.testing.assert_array_equal(out[0], [0, 1, 2, 3, 8, 10, 6, 7, 8, 9, 10])
    np.testing.assert_array_equal(out[3], [33, 34, 35, 36, 18.5, 19, 39, 40, 41, 42, 43])
    np.testing.assert_array_equal(out[1:3], x[1:3])


def test_scale_one_factor_all_tracks(x):
    out = apply(x, ScaleOp(region="offset:400..500", factor=0.5))
    np.testing.assert_array_equal(out[:, 9], x[:, 9] * 0.5)
    np.testing.assert_array_equal(np.delete(out, 9, axis=1), np.delete(x, 9, axis=1))


def test_flip(x):
    out = apply(x, {"op": "flip", "region": "offset:-200..200"})
    np.testing.assert_array_equal(out[0], [0, 1, 2, 6, 5, 4, 3, 7, 8, 9, 10])
    np.testing.assert_array_equal(out[3], [33, 34, 35, 39, 38, 37, 36, 40, 41, 42, 43])


def test_copy_within_window(x):
    out = apply(x, CopyOp(source="offset:-500..-300", to_offset_bp=300))
    # source bins 0, 1 pasted at bins 8, 9
    np.testing.assert_array_equal(out[0], [0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 10])
    np.testing.assert_array_equal(out[2], [22, 23, 24, 25, 26, 27, 28, 29, 22, 23, 32])


def test_copy_clipped_at_window_edge_and_centre_anchor(x):
    out = apply(x, CopyOp(source="offset:-200..100", to_offset_bp=500, anchor="centre", tracks=["ATAC"]))
    # source bins 3, 4, 5; centre at bin 10 -> block starts at 9; bin 11 falls off the window
    np.testing.assert_array_equal(out[0], [0, 1, 2, 3, 4, 5, 6, 7, 8, 3, 4])
    np.testing.assert_array_equal(out[1:], x[1:])


def test_copy_from_another_locus(x):
    donor = {"chr2": 100 + np.arange(80, dtype=np.float32).reshape(4, 20)}
    out = apply(
        x, {"op": "transplant", "source": "chr2:1,000-1,300", "to_offset_bp": -300}, source_tracks=donor
    )
    # genome bins 10, 11, 12 of chr2 pasted at window bins 2, 3, 4
    np.testing.assert_array_equal(out[0], [0, 1, 110, 111, 112, 5, 6, 7, 8, 9, 10])
    np.testing.assert_array_equal(out[3], [33, 34, 170, 171, 172, 38, 39, 40, 41, 42, 43])


def test_copy_to_absolute_position(x):
    out = apply(x, CopyOp(source="offset:0..100", to_position="chr1:150"), chrom="chr1")
    # 150 bp is in bin 1 of a window starting at 0
    np.testing.assert_array_equal(out[0], [0, 5, 2, 3, 4, 5, 6, 7, 8, 9, 10])


def test_insert_promoter_tiny(x):
    out = apply(x, InsertPromoterOp(flank_bp=100, to_offset_bp=-400))
    # promoter bins 4, 5 centred on bin 1 -> bins 0, 1
    np.testing.assert_array_equal(out[0], [4, 5, 2, 3, 4, 5, 6, 7, 8, 9, 10])


def test_insert_promoter_at_minus_100kbp_full_window():
    rng = np.random.default_rng(0)
    w = rng.random((4, 10_001), dtype=np.float32)
    out = apply(w, InsertPromoterOp())
    np.testing.assert_array_equal(out[:, 3900:4100], w[:, 4900:5100])  # TSS +-10 kbp -> -110 .. -90 kbp
    np.testing.assert_array_equal(out[:, :3900], w[:, :3900])
    np.testing.assert_array_equal(out[:, 4100:], w[:, 4100:])


def test_transplant_40kbp_at_minus_60_to_minus_20kbp():
    w = np.zeros((4, 10_001), dtype=np.float32)
    donor = {"chr9": np.ones((4, 5_000), dtype=np.float32) * np.arange(5_000, dtype=np.float32)}
    out = apply(w, {"op": "transplant", "source": "chr9:100000-140000"}, source_tracks=donor)
    np.testing.assert_array_equal(out[:, 4400:4800], donor["chr9"][:, 1000:1400])
    assert out[:, :4400].sum() == 0 and out[:, 4800:].sum() == 0


def test_gene_region_promoter_and_body(x):
    genes = pd.DataFrame(
        {
            "gene_id": ["G1"],
            "gene_name": ["Akirin2"],
            "chrom": ["chr1"],
            "tss_bp": [570],
            "strand": ["+"],
            "start_bp": [570],
            "end_bp": [880],
        }
    )
    # promoter = [500 - 100, 500 + 100) -> bins 4, 5
    out = apply(
        x, ScaleOp(region={"gene": "Akirin2", "flank_bp": 100}, factor=0.0), chrom="chr1", genes=genes
    )
    np.testing.assert_array_equal(out[0], [0, 1, 2, 3, 0, 0, 6, 7, 8, 9, 10])
    # body [570, 880) -> bins 5 .. 8
    out = apply(x, ScaleOp(region="gene:G1:body", factor=0.0), chrom="chr1", genes=genes)
    np.testing.assert_array_equal(out[0], [0, 1, 2, 3, 4, 0, 0, 0, 0, 9, 10])
    with pytest.raises(InputError, match="gene 'Nope' is not in the gene table"):
        apply(x, ScaleOp(region="gene:Nope", factor=0.0), chrom="chr1", genes=genes)
    with pytest.raises(InputError, match="lies on chr1 but the window is on chr2"):
        apply(x, ScaleOp(region="gene:G1", factor=0.0), chrom="chr2", genes=genes)
    with pytest.raises(InputError, match="no gene table was given"):
        apply(x, ScaleOp(region="gene:G1", factor=0.0), chrom="chr1")


def test_bed_region_relative_to_window_start(x):
    # window starts at 1,000 bp -> centre 1,500; chr1:1,250-1,630 -> [-250, 130) -> bins 2 .. 6
    out = apply(x, SilenceOp(region="chr1:1250-1630", preset="P1"), chrom="chr1", window_start_bp=1_000)
    np.testing.assert_array_equal(out[2], [22, 23, 0, 0, 0, 0, 0, 29, 30, 31, 32])


def test_sequential_ops_compose(x):
    out = apply(
        x, ScaleOp(region="offset:0..100", factor=2.0), CopyOp(source="offset:0..100", to_offset_bp=-500)
    )
    assert out[0, 0] == 10 and out[0, 5] == 10  # the copy sees the scaled bin


def test_torch_and_batch_match_numpy(x):
    ops = [SilenceOp(region="offset:-250..130", preset="P2"), {"op": "flip", "region": "offset:100..400"}]
    ref = apply(x, *ops)
    t = torch.from_numpy(x.copy())
    out_t = apply(t, *ops)
    assert isinstance(out_t, torch.Tensor) and out_t.dtype == torch.float32
    np.testing.assert_array_equal(out_t.numpy(), ref)
    np.testing.assert_array_equal(t.numpy(), x)  # not in place
    batch = np.stack([x, x])
    np.testing.assert_array_equal(apply(batch, *ops), np.stack([ref, ref]))
    # per-window starts: the second window starts 100 bp later, so chr1:1250-1630 moves one bin left
    per = apply(
        batch, SilenceOp(region="chr1:1250-1630", preset="P1"), window_start_bp=[1000, 1100], chrom="chr1"
    )
    np.testing.assert_array_equal(per[0, 2], [22, 23, 0, 0, 0, 0, 0, 29, 30, 31, 32])
    np.testing.assert_array_equal(per[1, 2], [22, 0, 0, 0, 0, 0, 28, 29, 30, 31, 32])


def test_in_place_variant(x):
    y = x.copy()
    ret = apply_operations_(y, [SilenceOp(region="offset:0..50", preset="P1")], TRACKS, 0)
    assert ret is y and y[2, 5] == 0 and x[2, 5] == 27


def test_operation_errors(x):
    with pytest.raises(
        InputError, match="unknown track 'H3K9me3'.*valid tracks: ATAC, H3K4me3, H3K27ac, H3K27me3"
    ):
        apply(x, SilenceOp(region="offset:0..100", tracks=["H3K9me3"]))
    with pytest.raises(InputError, match="4 tracks but 3 track names"):
        apply_operations(x, [ScaleOp(region="offset:0..100", factor=2.0)], TRACKS[:3], 0)
    with pytest.raises(InputError, match="needs the genome tracks; pass source_tracks="):
        apply(x, {"op": "transplant", "source": "chr2:0-300"})
    with pytest.raises(InputError, match="runs past the end of chr2"):
        apply(x, {"op": "transplant", "source": "chr2:0-3000"}, source_tracks={"chr2": np.zeros((4, 20))})
    with pytest.raises(InputError, match="reaches outside the window"):
        apply(x, CopyOp(source="offset:-900..-300", to_offset_bp=0))
    with pytest.raises(InputError, match="pass chrom="):
        apply(x, SilenceOp(region="chr1:0-100", preset="P1"))


def test_config_validation_errors():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="exactly one of preset"):
        SilenceOp(region="offset:0..100")
    with pytest.raises(ValidationError, match="exactly one of factor"):
        ScaleOp(region="offset:0..100")
    with pytest.raises(ValidationError, match="cannot read region 'chr4:5'"):
        SilenceOp(region="chr4:5", preset="P1")
    with pytest.raises(ValidationError, match="must be greater than start_bp"):
        SilenceOp(region="chr4:500-100", preset="P1")
    with pytest.raises(ValidationError, match="transplant takes its source from another locus"):
        Perturbation(name="t", operations=[{"op": "transplant", "source": "offset:0..100"}])


# -------------------------------------------------------------------------------------------- activity


def test_is_active_threshold():
    w = np.zeros((4, 11), dtype=np.float32)
    w[2, 4:7] = [10, 10, 10]
    bins = element_bins(-100, 100, n_bins=11)  # 4, 5, 6
    assert not is_active(w, bins, TRACKS)  # mean 10 is not > 10
    w[2, 6] = 11.5  # mean 10.5
    assert is_active(w, bins, TRACKS)
    assert not is_active(w, bins, TRACKS, threshold=10.5)
    assert not is_active(w, np.array([], dtype=np.int64), TRACKS)
    batch = np.stack([w, np.zeros_like(w)])
    np.testing.assert_array_equal(is_active(batch, bins, TRACKS), [True, False])
    assert is_active(torch.from_numpy(w), bins, TRACKS)
    with pytest.raises(InputError, match="unknown track 'K27ac'"):
        is_active(w, bins, TRACKS, track="K27ac")


def test_select_active_elements_on_chromosome_tracks():
    tracks = {"chr1": np.zeros((4, 30), dtype=np.float32), "chr2": np.zeros((4, 30), dtype=np.float32)}
    tracks["chr1"][2, 10:13] = [12, 12, 9]  # element chr1:1000-1200 -> bins 10, 11, 12 -> mean 11
    tracks["chr2"][2, 5:8] = [9, 9, 9]
    el = pd.DataFrame(
        {
            "chrom": ["chr1", "chr2", "chr1"],
            "start": [1000, 500, 2500],
            "end": [1200, 700, 2600],
            "name": ["a", "b", "c"],
        }
    )
    out = select_active_elements(el, tracks, TRACKS)
    assert list(out["name"]) == ["a"]
    assert out["active_signal"].iloc[0] == pytest.approx(11.0)
    full = select_active_elements(el, tracks, TRACKS, keep_inactive=True, threshold=8.0)
    assert list(full["is_active"]) == [True, True, False]
    np.testing.assert_allclose(full["active_signal"], [11.0, 9.0, 0.0])
    # the same element measured in a window starting at 800 bp (bin 8 of chr1)
    win = tracks["chr1"][:, 8:19]
    one = select_active_elements(el.iloc[:1], win, TRACKS, offset_bp=800)
    assert one["active_signal"].iloc[0] == pytest.approx(11.0)


def test_element_gene_geometry():
    # element [1000, 1200) -> mid 1100; TSSs 1150 (50), 5100 (4000), 900 (200), 1050 (50)
    dist, rank, between = element_gene_geometry(1000, 1200, [1150, 5100, 900, 1050])
    np.testing.assert_array_equal(dist, [50, 4000, 200, 50])
    np.testing.assert_array_equal(rank, [1, 4, 3, 1])
    # strictly between 1100 and 5100: 1150 -> 1; between 900 and 1100: 1050 -> 1
    np.testing.assert_array_equal(between, [0, 1, 1, 0])


def test_effects_columns_documented():
    assert EFFECTS_COLUMNS[:4] == ("element_id", "element_chrom", "element_start_bp", "element_end_bp")
    assert {"delta_area", "rel_change", "abs_delta", "proximity_rank", "genes_between", "mode"} <= set(
        EFFECTS_COLUMNS
    )


# ----------------------------------------------------------------------------------------------- specs


def test_yaml_spec(tmp_path):
    p = tmp_path / "spec.yaml"
    p.write_text(
        "active_filter: {threshold: 5}\n"
        "perturbations:\n"
        "  - name: half\n"
        "    operations:\n"
        "      - {op: scale, region: 'offset:-10000..10000', factor: 0.5}\n"
        "  - name: se\n"
        "    operations:\n"
        "      - {op: transplant, from: 'chr4:1,000,000-1,040,000'}\n"
        "      - {op: insert_promoter}\n"
    )
    spec = load_perturb_spec(p, track_names=TRACKS)
    assert [q.name for q in spec.perturbations] == ["half", "se"]
    assert spec.active_filter == ActiveFilter(threshold=5.0)
    tp = spec.perturbations[1].operations[0]
    assert (tp.source.chrom, tp.source.start_bp, tp.source.end_bp, tp.to_offset_bp) == (
        "chr4",
        1_000_000,
        1_040_000,
        -60_000,
    )
    single = tmp_path / "one.yml"
    single.write_text(
        "operations: [{op: silence, preset: P2, region: {start_rel_bp: -250, end_rel_bp: 130}}]\n"
    )
    assert load_perturb_spec(single).perturbations[0].name == "perturbation"
    assert load_perturb_spec(single, active_filter=None).active_filter is None


def test_yaml_spec_errors(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("operations: [{op: explode, region: 'offset:0..100'}]\n")
    with pytest.raises(
        ConfigError, match="does not match any of the expected tags: 'silence', 'scale', 'flip', 'copy'"
    ):
        load_perturb_spec(p)
    p.write_text("operations: [{op: silence, tracks: [H3K9me3], region: 'offset:0..100'}]\n")
    with pytest.raises(
        InputError, match="unknown track 'H3K9me3' in perturbation 'perturbation', operation 1"
    ):
        load_perturb_spec(p, track_names=TRACKS)
    p.write_text("active_filter: {track: K27ac}\noperations: [{op: flip, region: 'offset:0..100'}]\n")
    with pytest.raises(InputError, match="unknown track 'K27ac' in the active filter; valid tracks: ATAC"):
        load_perturb_spec(p, track_names=TRACKS)
    p.write_text(
        "perturbations: [{name: a, operations: [{op: flip, region: 'offset:0..1'}]},"
        " {name: a, operations: [{op: flip, region: 'offset:0..1'}]}]\n"
    )
    with pytest.raises(ConfigError, match="repeated: a"):
        load_perturb_spec(p)
    with pytest.raises(InputError, match="does not exist"):
        load_perturb_spec(tmp_path / "missing.yaml")


def test_table_spec_with_op_column(tmp_path):
    p = tmp_path / "el.tsv"
    p.write_text(
        "chrom\tstart\tend\tname\top\ttracks\tfactor\tpreset\n"
        "chr4\t100\t300\te1\tscale\tATAC,H3K27ac\t2\t\n"
        "chr4\t500\t700\te2\tsilence\t\t\tP1\n"
        "chr4\t900\t950\te3\tflip\t\t\t\n"
    )
    spec = load_perturb_spec(p, track_names=TRACKS)
    ops = [q.operations[0] for q in spec.perturbations]
    assert [o.op for o in ops] == ["scale", "silence", "flip"]
    assert ops[0].tracks == ["ATAC", "H3K27ac"] and ops[0].factor == 2.0
    assert ops[1].preset == "P1"
    assert str(spec.perturbations[2].element) == "chr4:900-950"
    assert spec.active_filter == ActiveFilter()


def test_bed_spec_with_preset(tmp_path):
    p = tmp_path / "el.bed"
    p.write_text("track name=x\nchr5\t1\t2\nchr4\t100\t300\tenh\t0\t+\nchr4\t500\t700\tenh\n")
    spec = load_perturb_spec(p, preset="P2")
    assert [q.name for q in spec.perturbations] == ["chr5:1-2", "enh", "enh_2"]
    assert all(q.operations[0].preset == "P2" for q in spec.perturbations)


def test_table_spec_errors(tmp_path):
    p = tmp_path / "el.tsv"
    p.write_text("chrom\tstart\tend\top\nchr4\t100\t300\texplode\n")
    with pytest.raises(
        InputError, match=r"row 1 of .*unknown op 'explode'; valid ops in a table: silence, scale, flip"
    ):
        load_perturb_spec(p)
    p.write_text("chr4\t100\t300\n")
    with pytest.raises(InputError, match="has no op; add an 'op' column or give a preset"):
        load_perturb_spec(p)
    with pytest.raises(InputError, match="unknown preset 'P3'; valid presets: P1, P2"):
        load_perturb_spec(p, preset="P3")
    p.write_text("chr4\t300\t100\n")
    with pytest.raises(InputError, match="row 1 of .* is invalid: .*greater than start_bp"):
        load_perturb_spec(p, preset="P1")
    p.write_text("chrom\tbegin\tend\nchr4\t1\t2\n")
    with pytest.raises(InputError, match="lacks column.* start"):
        load_perturb_spec(p, preset="P1")
    p.write_text("chr4\t100\t300\n")
    with pytest.raises(InputError, match="unknown track 'H3K27ac'.*valid tracks: ATAC"):
        load_perturb_spec(p, preset="P1", track_names=["ATAC"])


def test_check_tracks_on_plain_ops():
    check_tracks([ScaleOp(region="offset:0..1", factors={"ATAC": 2})], TRACKS)
    with pytest.raises(InputError, match="unknown track 'DNase'"):
        check_tracks([ScaleOp(region="offset:0..1", factors={"DNase": 2})], TRACKS)


# ---------------------------------------------------------------------------------------------- engine


class _Windows:
    """Stand-in for GenomeWindows: fixed (N, T, W) raw windows, no contacts, on the CPU."""

    device = torch.device("cpu")

    def __init__(self, wins: np.ndarray) -> None:
        self.wins = torch.from_numpy(wins)

    def landscape(self, idx):
        return self.wins[idx].clone()

    def structure(self, idx):
        return None


class _Recorder:
    """Stand-in for Predictor: records the (flipped as the model would see them) inputs of every call."""

    def __init__(self, wins: np.ndarray, strand_oriented: bool = False) -> None:
        self.context_bins, self.output_bins = wins.shape[-1], wins.shape[-1]
        self.strand_oriented = strand_oriented
        self.seen: list[np.ndarray] = []

    def orientation_flags(self, samples):
        return (samples["strand"] == "-").to_numpy() if self.strand_oriented else np.zeros(len(samples), bool)

    def predict_raw(self, x, s=None, flip=None):
        x = torch.where(flip.view(-1, 1, 1), torch.flip(x, dims=(-1,)), x) if flip is not None else x
        self.seen.append(x.numpy().copy())
        out = x[:, 0, :] + 100 * x[:, 2, :]  # (B, W): ATAC + 100 H3K27ac, as the "model" sees them
        return torch.where(flip.view(-1, 1), torch.flip(out, dims=(-1,)), out) if flip is not None else out


def _engine(wins, strands=("+", "+", "+"), oriented=False, batch=3):
    windows_df = pd.DataFrame({"chrom": "chr1", "tss_bp": [500, 1600, 2700][: len(wins)],
                               "strand": list(strands)[: len(wins)]})
    rec = _Recorder(wins, oriented)
    return PerturbationEngine(rec, _Windows(wins), windows_df, TRACKS), rec


def test_engine_rows_equal_apply_operations_and_baselines_come_once():
    """Fills (batched) and general rows (per row) give exactly apply_operations' windows."""
    rng = np.random.default_rng(1)
    wins = rng.random((3, 4, 11), dtype=np.float32)
    perts = [
        Perturbation(name="p2", operations=[SilenceOp(region="offset:-250..130", preset="P2")]),
        Perturbation(name="edge", operations=[SilenceOp(region="offset:400..9000", tracks=["H3K27me3"], value=7)]),
        Perturbation(name="two", operations=[SilenceOp(region="offset:0..100", preset="P1"),
                                             SilenceOp(region="offset:200..300", tracks=["H3K27ac"], value=3)]),
        Perturbation(name="flip", operations=[{"op": "flip", "region": "offset:-500..500"}]),
    ]
    eng, rec = _engine(wins)
    expected = []
    for w in range(3):
        for p in perts:
            eng.add_operations(w, p)
            expected.append(apply_operations(wins[w], p, TRACKS, int(eng.window_start_bp[w]), chrom="chr1"))
    assert len(eng) == 3 + 12 and eng.window_start_bp.tolist() == [0, 1100, 2200]
    base, pert = eng.run(batch_size=4)
    seen = np.concatenate(rec.seen)
    assert [len(b) for b in rec.seen] == [4, 4, 4, 3]
    np.testing.assert_array_equal(seen[:3], wins)  # each baseline once, first
    np.testing.assert_array_equal(seen[3:], np.stack(expected))
    np.testing.assert_array_equal(seen[3 + 1, 3, 9:], [7, 7])  # offset 400 -> bins 9, 10 of 11 (clipped)
    np.testing.assert_allclose(pert, np.stack(expected)[:, 0] + 100 * np.stack(expected)[:, 2])
    np.testing.assert_allclose(base, wins[:, 0] + 100 * wins[:, 2])


def test_engine_fills_match_hand_zeroing_and_clip():
    wins = np.arange(2 * 44, dtype=np.float32).reshape(2, 4, 11)
    eng, rec = _engine(wins)
    eng.add_fills([1, 0], [4, -3], [7, 2], tracks=[0, 2], value=0.0)  # window 1 bins 4..6; window 0 bins 0..1
    eng.run(batch_size=8)
    got = rec.seen[0][2:]
    want = wins[[1, 0]].copy()
    want[0, [0, 2], 4:7] = 0
    want[1, [0, 2], 0:2] = 0
    np.testing.assert_array_equal(got, want)


def test_engine_presents_minus_strand_windows_reversed_and_returns_genomic_order():
    """A strand-oriented model sees a minus-strand window (and its perturbation) reversed; the profile
    comes back in genomic order."""
    wins = np.arange(2 * 44, dtype=np.float32).reshape(2, 4, 11)
    eng, rec = _engine(wins, strands=("+", "-"), oriented=True)
    eng.add_fills([1], [0], [2], tracks=[2], value=0.0)  # genomic bins 0, 1 of the minus-strand window
    base, pert = eng.run(batch_size=8)
    seen = rec.seen[0]
    np.testing.assert_array_equal(seen[0], wins[0])
    np.testing.assert_array_equal(seen[1], wins[1][:, ::-1])
    assert seen[2][2, 9:].tolist() == [0, 0] and seen[2][2, 8] == wins[1][2, 2]  # zeroed at the reversed end
    np.testing.assert_allclose(base[1], wins[1][0] + 100 * wins[1][2])  # genomic order again
    want = wins[1].copy()
    want[2, 0:2] = 0
    np.testing.assert_allclose(pert[0], want[0] + 100 * want[2])


def test_engine_errors():
    eng, _ = _engine(np.zeros((1, 4, 11), np.float32))
    with pytest.raises(InputError, match="batch_size must be >= 1"):
        eng.run(batch_size=0)
    with pytest.raises(InputError, match="unknown track 'DNase'"):
        eng.add_operations(0, [SilenceOp(region="offset:0..100", tracks=["DNase"])])


def test_spec_roundtrip_through_model_dump():
    spec = PerturbSpec(perturbations=[Perturbation(name="a", operations=[InsertPromoterOp(gene="Akirin2")])])
    again = PerturbSpec.model_validate(spec.model_dump())
    assert again == spec
