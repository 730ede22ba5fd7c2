"""Integrated gradients and the attribution maps (SPEC §8), on small hand-built models."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from claster.attribute import (
    ROTATED_LAMBDA,
    attribution_to_bigwig,
    baseline_from_windows,
    distance_axis_bp,
    integrated_gradients,
    landscape_locality_map,
    locality_stats,
    mean_attributions,
    reduce_output_bins,
    square_map,
    structure_map,
)
from claster.config import load_config
from claster.config.attribution import AttributionConfig, parse_output_bins
from claster.errors import ClasterWarning, ConfigError, InputError

torch.set_num_threads(1)


# --------------------------------------------------------------------------------------------------
# small models
# --------------------------------------------------------------------------------------------------
class TinyConvNet(nn.Module):
    """A tiny conv net on (B, 4, 101) (+ optional (B, 6, 9) structure) with a linear ``head``."""

    def __init__(self, n_out: int = 5, hidden: int = 8, structure: bool = False) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv1d(4, 6, 7, padding=3)
        self.conv2 = nn.Conv1d(6, 4, 5, stride=2)
        self.fc = nn.Linear(4 * 49, hidden)
        self.sfc = nn.Linear(6 * 9, hidden) if structure else None
        self.head = nn.Linear(hidden, n_out)

    def forward(self, landscape: torch.Tensor, structure: torch.Tensor | None = None) -> torch.Tensor:
        h = torch.tanh(self.conv(landscape))
        h = nn.functional.silu(self.conv2(h))
        z = self.fc(h.flatten(1))
        if self.sfc is not None and structure is not None:
            z = z + torch.sigmoid(self.sfc(structure.flatten(1)))
        return self.head(nn.functional.softplus(z))


class LocalModel(nn.Module):
    """Output j depends only on track ``track`` within ±k bins of its locus ``c + 10 (j - centre)``."""

    def __init__(self, n_out: int = 21, width: int = 401, k: int = 3, track: int = 1) -> None:
        super().__init__()
        self.n_out, self.width, self.k, self.track = n_out, width, k, track
        self.scale = nn.Parameter(torch.ones(()))

    def loci(self) -> list[int]:
        c, centre = self.width // 2, self.n_out // 2
        return [c + 10 * (j - centre) for j in range(self.n_out)]

    def forward(self, landscape: torch.Tensor, structure: torch.Tensor | None = None) -> torch.Tensor:
        x = landscape[:, self.track]
        outs = [
            (nn.functional.softplus(self.scale * x[:, lo - self.k : lo + self.k + 1]) ** 2).sum(1)
            for lo in self.loci()
        ]
        return torch.stack(outs, dim=1)


class OOMAbove(nn.Module):
    """Wraps a model and raises a CUDA-style out-of-memory error for batches above ``limit``."""

    def __init__(self, inner: nn.Module, limit: int) -> None:
        super().__init__()
        self.inner, self.limit = inner, limit
        self.sizes: list[int] = []

    def forward(self, landscape: torch.Tensor, structure: torch.Tensor | None = None) -> torch.Tensor:
        self.sizes.append(landscape.shape[0])
        if landscape.shape[0] > self.limit:
            raise RuntimeError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return self.inner(landscape, structure)


def _inputs(n: int = 3, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, 101, generator=g)
    b = 0.1 * torch.randn(4, 101, generator=g)
    return x, b


# --------------------------------------------------------------------------------------------------
# integrated gradients
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("engine", ["batched", "captum"])
def test_completeness_at_64_steps(engine: str) -> None:
    model = TinyConvNet().eval()
    x, b = _inputs()
    attr = integrated_gradients(model, {"landscape": x}, {"landscape": b}, engine=engine, progress=False)
    a = attr["landscape"]
    assert a.shape == (3, 5, 4, 101) and a.dtype == np.float32
    with torch.no_grad():
        delta = (model(x) - model(b[None])).numpy()
    np.testing.assert_allclose(a.sum(axis=(2, 3)), delta, rtol=0.01, atol=0.01 * np.abs(delta).max())


def test_batched_engine_equals_captum_with_structure_and_chunks() -> None:
    model = TinyConvNet(n_out=7, hidden=3, structure=True).eval()
    x, b = _inputs(4)
    s = torch.randn(4, 6, 9, generator=torch.Generator().manual_seed(3))
    inputs = {"landscape": x, "structure": s}
    base = {"landscape": b, "structure": torch.zeros(6, 9)}
    bins = [6, 0, 3]
    ref = integrated_gradients(model, inputs, base, bins, engine="captum", batch_size=10, progress=False)
    variants = [
        {"batch_size": 64},
        {"batch_size": 10},  # fewer rows than steps: the steps are split
        {"batch_size": 256, "grad_chunk": 2},  # four samples per forward, vmapped backward
        {"batch_size": 64, "head_basis": True},  # 3 hidden units instead of 3 bins
    ]
    for kw in variants:
        got = integrated_gradients(model, inputs, base, bins, progress=False, **kw)
        for k in ("landscape", "structure"):
            assert got[k].shape == ref[k].shape
            np.testing.assert_allclose(got[k], ref[k], rtol=1e-4, atol=1e-7, err_msg=str(kw))
    # all 7 bins with 3 hidden units: the head basis is chosen automatically and is exact
    full = integrated_gradients(model, inputs, base, progress=False)
    full_ref = integrated_gradients(model, inputs, base, engine="captum", progress=False)
    np.testing.assert_allclose(full["landscape"], full_ref["landscape"], rtol=1e-4, atol=1e-7)


def test_head_basis_falls_back_when_the_output_is_not_the_head() -> None:
    class Clipped(TinyConvNet):
        def forward(self, landscape, structure=None):
            return torch.relu(super().forward(landscape, structure) - 0.3)

    model = Clipped(n_out=6, hidden=2).eval()
    x, b = _inputs(2)
    ref = integrated_gradients(model, {"landscape": x}, {"landscape": b}, engine="captum", progress=False)
    got = integrated_gradients(model, {"landscape": x}, {"landscape": b}, progress=False)
    np.testing.assert_allclose(got["landscape"], ref["landscape"], rtol=1e-4, atol=1e-7)
    with pytest.raises(InputError, match="head_basis=True needs"):
        integrated_gradients(model, {"landscape": x}, {"landscape": b}, head_basis=True, progress=False)


def test_ig_restores_training_mode_and_works_under_no_grad() -> None:
    model = TinyConvNet().train()
    x, b = _inputs(1)
    with torch.no_grad():
        a = integrated_gradients(model, {"landscape": x}, {"landscape": b}, [2], progress=False)
    assert model.training
    assert np.abs(a["landscape"]).sum() > 0


@pytest.mark.parametrize("engine", ["batched", "captum"])
def test_out_of_memory_lowers_the_batch_size(engine: str) -> None:
    inner = TinyConvNet().eval()
    x, b = _inputs(3)
    ref = integrated_gradients(inner, {"landscape": x}, {"landscape": b}, [1, 4], batch_size=8, progress=False)
    model = OOMAbove(inner, limit=8)
    with pytest.warns(ClasterWarning, match="ran out of memory") as record:
        got = integrated_gradients(model, {"landscape": x}, {"landscape": b}, [1, 4], batch_size=64,
                                   engine=engine, progress=False)
    assert [str(w.message).split("lowered ")[1] for w in record] == [
        "batch_size to 32 and retrying", "batch_size to 16 and retrying", "batch_size to 8 and retrying"]
    np.testing.assert_allclose(got["landscape"], ref["landscape"], rtol=1e-5, atol=1e-8)
    assert max(model.sizes[-5:]) <= 8


def test_out_of_memory_at_batch_size_one_is_an_error() -> None:
    model = OOMAbove(TinyConvNet().eval(), limit=0)
    x, b = _inputs(1)
    with pytest.raises(RuntimeError, match="out of memory"):  # the probe forward of one sample
        integrated_gradients(model, {"landscape": x}, {"landscape": b}, [0], progress=False)


def test_out_of_memory_exhausted_is_an_input_error() -> None:
    class FailGrad(TinyConvNet):
        def forward(self, landscape, structure=None):
            if torch.is_grad_enabled():
                raise RuntimeError("CUDA out of memory.")
            return super().forward(landscape, structure)

    x, b = _inputs(1)
    with pytest.warns(ClasterWarning), pytest.raises(InputError, match="out of memory .* even at batch_size 1"):
        integrated_gradients(FailGrad().eval(), {"landscape": x}, {"landscape": b}, [0], batch_size=2,
                             progress=False)


def test_other_runtime_errors_are_not_swallowed() -> None:
    class Broken(TinyConvNet):
        def forward(self, landscape, structure=None):
            if torch.is_grad_enabled():
                raise RuntimeError("shape mismatch")
            return super().forward(landscape, structure)

    x, b = _inputs(1)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        integrated_gradients(Broken().eval(), {"landscape": x}, {"landscape": b}, [0], progress=False)


def test_ig_input_errors() -> None:
    model = TinyConvNet().eval()
    x, b = _inputs(2)
    with pytest.raises(InputError, match="output bins must be model output indices 0..4"):
        integrated_gradients(model, {"landscape": x}, {"landscape": b}, [5], progress=False)
    with pytest.raises(InputError, match="needs the 'landscape' input"):
        integrated_gradients(model, {"structure": x}, {"structure": b}, progress=False)
    with pytest.raises(InputError, match="the landscape baseline has shape"):
        integrated_gradients(model, {"landscape": x}, {"landscape": b[:, :50]}, progress=False)
    with pytest.raises(InputError, match="no baseline for the 'landscape' input"):
        integrated_gradients(model, {"landscape": x}, {}, progress=False)
    with pytest.raises(InputError, match="IG method must be one of"):
        integrated_gradients(model, {"landscape": x}, {"landscape": b}, method="simpson", progress=False)
    with pytest.raises(InputError, match="engine must be"):
        integrated_gradients(model, {"landscape": x}, {"landscape": b}, engine="fast", progress=False)


def test_mean_attributions_is_the_mean_over_batches() -> None:
    model = TinyConvNet().eval()
    x, b = _inputs(5)
    batches = [{"landscape": x[:2], "target": None}, {"landscape": x[2:]}]
    mean, n = mean_attributions(model, batches, {"landscape": b}, [0, 2], progress=False)
    full = integrated_gradients(model, {"landscape": x}, {"landscape": b}, [0, 2], progress=False)
    assert n == 5
    np.testing.assert_allclose(mean["landscape"], full["landscape"].mean(axis=0), rtol=1e-5, atol=1e-8)
    with pytest.raises(InputError, match="no samples to attribute"):
        mean_attributions(model, [], {"landscape": b})


# --------------------------------------------------------------------------------------------------
# locality
# --------------------------------------------------------------------------------------------------
def _local_attr(k: int = 3) -> tuple[LocalModel, np.ndarray]:
    model = LocalModel(k=k).eval()
    g = torch.Generator().manual_seed(7)
    x = 1.0 + 0.05 * torch.rand(4, 3, 401, generator=g)  # near-uniform positive input
    attr = integrated_gradients(model, {"landscape": x}, {"landscape": torch.zeros(3, 401)}, progress=False)
    return model, attr["landscape"]


def test_local_model_gets_attribution_only_within_k_and_stats_report_k() -> None:
    k = 3
    model, a = _local_attr(k)
    assert a.shape == (4, 21, 3, 401)
    mask = np.zeros((21, 3, 401), dtype=bool)
    for j, lo in enumerate(model.loci()):
        mask[j, 1, lo - k : lo + k + 1] = True
    assert np.all(a[:, ~mask] == 0)
    assert np.all(a[:, mask] > 0)
    mean = a.mean(axis=0)
    lmap = landscape_locality_map(mean, centre_bin=10, jitter_bins=0)
    assert lmap.shape == (3, 401) and lmap.max() == pytest.approx(1.0)
    nz = np.flatnonzero(lmap[1])
    assert nz.min() == 200 - k and nz.max() == 200 + k
    assert not lmap[[0, 2]].any()
    stats = locality_stats(lmap, track_names=["A", "B", "C"])
    row = stats.set_index("track").loc["B"]
    assert row["below20_bp"] == k * 100
    assert row["mass95_bp"] == k * 100
    assert stats.set_index("track").loc["A"].isna().all()
    # with a seeded ±10-bin jitter the reach is at most k + 10 bins
    jit = locality_stats(landscape_locality_map(mean, centre_bin=10, rng=0), track_names=["A", "B", "C"])
    reach = jit.set_index("track").loc["B", "below20_bp"]
    assert k * 100 <= reach <= (k + 10) * 100


def test_jittered_map_is_repeatable_and_the_average_is_its_expectation() -> None:
    rng = np.random.default_rng(3)
    attr = rng.normal(size=(21, 2, 301))
    m1 = landscape_locality_map(attr, centre_bin=10, rng=5)
    m2 = landscape_locality_map(attr, centre_bin=10, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(m1, m2)
    assert not np.array_equal(m1, landscape_locality_map(attr, centre_bin=10, rng=6))
    # deterministic smoothing: mean over output bins and over every jitter -3..3, by hand
    det = landscape_locality_map(attr, centre_bin=10, jitter_bins=3, rng=None, scale=False)
    ref = np.mean(
        [np.roll(np.abs(attr[j]), -10 * (j - 10) + e, axis=-1) for j in range(21) for e in range(-3, 4)], axis=0
    )
    np.testing.assert_allclose(det, ref)
    signed = landscape_locality_map(attr, centre_bin=10, jitter_bins=0, signed=True, scale=False)
    ref_s = np.mean([np.roll(attr[j], -10 * (j - 10), axis=-1) for j in range(21)], axis=0)
    np.testing.assert_allclose(signed, ref_s)


def test_unwrapped_roll_averages_only_covered_positions() -> None:
    attr = np.ones((3, 1, 11))
    attr[:, 0, 0] = 5.0
    m = landscape_locality_map(attr, [0, 1, 2], centre_bin=1, jitter_bins=0, wrap=False, scale=False,
                               output_bin_bp=100)
    # shifts +1, 0, -1: column 0 holds 5 (shift 0) and 1 (shift -1); column 1 holds 5 (shift +1),
    # 1 and 1; column 10 is covered by shifts +1 and 0 only
    np.testing.assert_allclose(m[0], [3, 7 / 3, 1, 1, 1, 1, 1, 1, 1, 1, 1])


def test_locality_stats_on_a_hand_made_map() -> None:
    m = np.zeros((3, 21))
    m[0, 10], m[0, [9, 11]], m[0, [8, 12]] = 4.0, 2.0, 1.0  # mass by distance 4, 4, 2 (total 10)
    m[1, 13] = -1.0  # one signed value 3 bins right of the centre
    expected = pd.read_csv(
        io.StringIO(
            "track mass50_bp mass80_bp mass95_bp below20_bp peak_bp\n"
            "a 100 100 200 200 0\n"
            "b 300 300 300 300 300\n"
            "c <NA> <NA> <NA> <NA> <NA>\n"
        ),
        sep=" ",
        dtype={"track": object},
        na_values=["<NA>"],
    )
    for col in expected.columns[1:]:
        expected[col] = expected[col].astype("Int64")
    got = locality_stats(m, 100, track_names=["a", "b", "c"])
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    with pytest.raises(InputError, match="2 track names for a map with 3 tracks"):
        locality_stats(m, track_names=["a", "b"])


def test_distance_axis() -> None:
    np.testing.assert_array_equal(distance_axis_bp(5, 100), [-200, -100, 0, 100, 200])
    assert distance_axis_bp(10_001)[5000] == 0


def test_locality_map_input_errors() -> None:
    with pytest.raises(InputError, match="must be \\(n_out, T, W\\)"):
        landscape_locality_map(np.zeros((4, 10)))
    with pytest.raises(InputError, match="implies 401"):
        landscape_locality_map(np.zeros((5, 2, 10)))
    with pytest.raises(InputError, match="2 output bins given for attributions with 5 rows"):
        landscape_locality_map(np.zeros((5, 2, 10)), [1, 2])


# --------------------------------------------------------------------------------------------------
# contact maps
# --------------------------------------------------------------------------------------------------
def test_structure_map_rolls_flips_and_crops() -> None:
    n_out, h, w = 21, 9, 80
    centre = 10
    attr = np.zeros((n_out, h, w))
    # hand-worked: output bin i kbp from the TSS is i * 0.88530 columns (626 / 707.107 per kbp) away,
    # truncated toward zero as in the paper (i = -10: -8.853 -> -8; i = -1: -0.885 -> 0; i = 9: 7.968 -> 7)
    shift = [-8, -7, -7, -6, -5, -4, -3, -2, -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 7, 8]
    for j in range(n_out):
        attr[j, 2, 40 + shift[j]] = 1.0 if j % 2 else -1.0  # rolled back, every one lands at column 40
    sm = structure_map(attr, centre_bin=centre, sigma=0, crop=0)
    assert sm.abs_map.shape == (h, w)
    assert sm.abs_map[h - 1 - 2, 40] == pytest.approx(1.0)  # flipped: row 2 -> row 6
    assert sm.abs_map.sum() == pytest.approx(1.0)
    assert sm.signed_map[6, 40] == pytest.approx(-1 / 21)
    np.testing.assert_allclose(sm.row_kbp, 2 * np.arange(h) / ROTATED_LAMBDA)
    assert sm.row_kbp[1] == pytest.approx(2.259, abs=1e-3)
    cropped = structure_map(attr, centre_bin=centre, sigma=2.0, crop=20)
    from scipy.ndimage import gaussian_filter

    np.testing.assert_allclose(cropped.abs_map, gaussian_filter(sm.abs_map[::-1], 2.0)[::-1][:, 20:60])
    assert cropped.col_kbp.shape == (40,)
    np.testing.assert_allclose(cropped.col_kbp, (np.arange(40) - 19.5) / ROTATED_LAMBDA)
    with pytest.raises(InputError, match="leaves nothing"):
        structure_map(attr, centre_bin=centre, crop=40)


def test_square_map_rolls_both_axes() -> None:
    n_out, n = 21, 41
    attr = np.zeros((n_out, n, n))
    for j in range(n_out):
        d = round((j - 10) * 1000 / 5000)
        attr[j, 20 + d, 20 + d] = 2.0
        attr[j, 20 + d, 22 + d] = -1.0
    sq = square_map(attr, centre_bin=10, bin_bp=5000)
    assert sq.abs_map[20, 20] == pytest.approx(2.0) and sq.abs_map[20, 22] == pytest.approx(1.0)
    assert sq.signed_map[20, 22] == pytest.approx(-1.0)
    assert sq.row_kbp[20] == 0 and sq.col_kbp[21] == 5.0
    assert square_map(attr, centre_bin=10, bin_bp=5000, crop=5).abs_map.shape == (31, 31)


# --------------------------------------------------------------------------------------------------
# bigWig export
# --------------------------------------------------------------------------------------------------
def test_attribution_to_bigwig_places_values_at_window_coordinates(tmp_path) -> None:
    import pyBigWig

    rng = np.random.default_rng(0)
    per_bin = rng.normal(size=(3, 2, 101)).astype(np.float32)
    tss_bp = 3_050  # centre bin 30 -> window bins -20..80: the first 20 are off the chromosome
    sizes = {"chrA": 9_950, "chrB": 5_000}
    paths = attribution_to_bigwig(per_bin, tmp_path, chrom="chrA", tss_bp=tss_bp, chrom_sizes=sizes,
                                  track_names=["ATAC", "H3K4me3"], prefix="geneX.")
    assert [p.name for p in paths] == ["geneX.ATAC.bw", "geneX.H3K4me3.bw"]
    collapsed = per_bin.astype(np.float64).sum(axis=0)
    for t, p in enumerate(paths):
        with pyBigWig.open(str(p)) as bw:
            assert bw.chroms() == {"chrA": 9_950}
            iv = bw.intervals("chrA")
        starts = np.array([s for s, _, _ in iv])
        vals = np.array([v for _, _, v in iv])
        np.testing.assert_array_equal(starts, np.arange(0, 8_100, 100))  # genome bins 0..80
        np.testing.assert_allclose(vals, collapsed[t, 20:], rtol=1e-6)
    # a reversed window is flipped back; mean_abs reduces differently
    paths = attribution_to_bigwig(per_bin, tmp_path, chrom="chrA", tss_bp=5_000, chrom_sizes=sizes,
                                  track_names=["ATAC", "H3K4me3"], reduce="mean_abs", reverse=True)
    with pyBigWig.open(str(paths[0])) as bw:
        vals = np.array([v for _, _, v in bw.intervals("chrA")])
    np.testing.assert_allclose(vals, np.abs(per_bin).mean(axis=0)[0, ::-1][:, None].ravel()[: len(vals)],
                               rtol=1e-6)
    np.testing.assert_allclose(reduce_output_bins(per_bin, "mean_abs"), np.abs(per_bin).mean(axis=0), rtol=1e-6)
    with pytest.raises(InputError, match="chromosome chrZ is not in chrom_sizes"):
        attribution_to_bigwig(per_bin, tmp_path, chrom="chrZ", tss_bp=0, chrom_sizes=sizes, track_names="ab")
    with pytest.raises(InputError, match="1 track names for 2 attribution rows"):
        attribution_to_bigwig(per_bin, tmp_path, chrom="chrA", tss_bp=0, chrom_sizes=sizes, track_names=["a"])
    with pytest.raises(InputError, match="reduce must be"):
        reduce_output_bins(per_bin, "max")


# --------------------------------------------------------------------------------------------------
# baseline and config
# --------------------------------------------------------------------------------------------------
def test_baseline_from_windows() -> None:
    rng = np.random.default_rng(0)
    windows = [{"landscape": rng.normal(size=(4, 11)).astype(np.float32),
                "structure": torch.randn(3, 5), "target": np.zeros(7)} for _ in range(10)]
    full = baseline_from_windows(windows, n=256)
    assert set(full) == {"landscape", "structure"}
    np.testing.assert_allclose(full["landscape"], np.mean([w["landscape"] for w in windows], axis=0, dtype=np.float64),
                               rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(full["structure"], torch.stack([w["structure"] for w in windows]).mean(0).numpy(),
                               rtol=1e-5, atol=1e-7)
    # a seeded random subset, the same for the same seed, from a sequence or a one-pass iterator
    sub = baseline_from_windows(windows, n=4, rng=1)
    idx = np.sort(np.random.default_rng(1).choice(10, size=4, replace=False))
    ref = np.mean([windows[i]["landscape"] for i in idx], axis=0, dtype=np.float64)
    np.testing.assert_allclose(sub["landscape"], ref, rtol=1e-6, atol=1e-7)
    it1 = baseline_from_windows(iter(windows), n=4, rng=2, modalities=["landscape"])
    it2 = baseline_from_windows(iter(windows), n=4, rng=2, modalities=["landscape"])
    np.testing.assert_array_equal(it1["landscape"], it2["landscape"])
    assert set(it1) == {"landscape"}
    with pytest.raises(InputError, match="no windows"):
        baseline_from_windows([], n=4)
    with pytest.raises(InputError, match="lacks the 'structure' modality"):
        baseline_from_windows([{"landscape": np.zeros(3)}], modalities=["structure"])


def test_attribution_config(tmp_path) -> None:
    cfg = AttributionConfig()
    assert (cfg.n_baseline, cfg.n_steps, cfg.method, cfg.jitter_bins, cfg.structure_sigma, cfg.structure_crop) == (
        256, 64, "gausslegendre", 10, 3.0, 177)
    assert len(cfg.resolve_output_bins()) == 401
    assert AttributionConfig(output_bins="190:211:5").resolve_output_bins() == [190, 195, 200, 205, 210]
    assert parse_output_bins([200, -1, 200]) == [200, 400]
    with pytest.raises(InputError, match="not 'all', a list of indices or a range"):
        parse_output_bins("middle")
    with pytest.raises(InputError, match="select no bin"):
        parse_output_bins("500:600")
    bad = tmp_path / "attr.yaml"
    bad.write_text("output_bins: [0, 401]\n")
    with pytest.raises(ConfigError, match="output_bins: .*outside 0..400"):
        load_config(AttributionConfig, bad)
    bad.write_text("n_step: 32\n")
    with pytest.raises(ConfigError, match="n_step"):
        load_config(AttributionConfig, bad)


# --------------------------------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------------------------------
def test_figures(tmp_path) -> None:
    from matplotlib.figure import Figure

    from claster.plots.attribution import plot_locality_profile, plot_square_map, plot_structure_map

    rng = np.random.default_rng(0)
    lmap = np.abs(rng.normal(size=(4, 1001)))
    fig = plot_locality_profile(lmap, ["ATAC", "H3K4me3", "H3K27ac", "H3K27me3"])
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len(ax.lines) == 4 and len(ax.child_axes) == 1 and ax.child_axes[0].get_xscale() == "log"
    np.testing.assert_allclose(ax.lines[1].get_xdata()[[0, 500]], [-50.0, 0.0])
    fig.savefig(tmp_path / "loc.png")
    fig = plot_locality_profile(lmap - 0.5, signed=True, inset=False, xlim_kbp=None)
    assert fig.axes[0].get_ylabel().startswith("mean signed") and not fig.axes[0].child_axes
    sm = structure_map(rng.normal(size=(21, 129, 626)).astype(np.float32), range(190, 211))
    assert sm.abs_map.shape == (129, 272)
    fig = plot_structure_map(sm.signed_map, sm.row_kbp, sm.col_kbp, signed=True)
    assert fig.axes[0].get_ylim()[1] == pytest.approx(-1 / ROTATED_LAMBDA)  # diagonal on top
    fig.savefig(tmp_path / "structure.png")
    sq = square_map(rng.normal(size=(401, 21, 21)), bin_bp=5000)
    plot_square_map(sq.abs_map, sq.row_kbp).savefig(tmp_path / "square.png")
    with pytest.raises(InputError, match="pass the map's own"):
        plot_structure_map(sm.abs_map, sm.row_kbp[:5], sm.col_kbp)
