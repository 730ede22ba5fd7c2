"""Training recipes (issue 10): the paper recipe is SPEC §4 literally, value transforms travel with the
model, shifted windows are cut at the same shifted centre, and short budgets say when they end before
the warm-up does."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from claster.config.train import TrainConfig
from claster.errors import ClasterWarning, ConfigError


# ------------------------------------------------------------------ recipes


def test_paper_recipe_is_spec_section_4_exactly():
    cfg = TrainConfig(store="s", out="o", recipe="paper")
    # literal values of SPEC §4 ("AdamW, lr 1e-4, betas (0.9, 0.999), weight decay 1e-4 ..., gradient
    # clipping at norm 1.0, linear warm-up over 2,000 steps from 0, then constant; batch 64, shuffle,
    # drop_last; 120 epochs"), the rev augmentation of SPEC §2 and raw (untransformed) inputs and targets
    assert cfg.lr == 1e-4
    assert cfg.betas == (0.9, 0.999)
    assert cfg.weight_decay == 1e-4
    assert cfg.grad_clip == 1.0
    assert cfg.warmup_steps == 2000
    assert cfg.batch_size == 64
    assert cfg.epochs == 120
    assert cfg.augment_rev is True
    assert (cfg.input_transform, cfg.target_transform, cfg.shift_bp) == ("none", "none", 0)
    assert (cfg.fc_dropout, cfg.fc_width, cfg.early_stopping_patience) == (0.0, 512, None)
    assert cfg.head == "dense"
    assert cfg.recipe_differences() == {}


def test_paper_recipe_builds_the_spec_network_and_optimiser():
    from claster.model import ClasterNet
    from claster.train._fit import model_config_for
    from claster.train._plan import TrainingPlan

    cfg = TrainConfig(store="s", out="o", recipe="paper")
    net = ClasterNet(model_config_for(cfg, n_tracks=4))
    assert sum(p.numel() for p in net.parameters() if p.requires_grad) == 2_205_888  # SPEC §3, pure_conv
    # the optimiser and loss the plan builds from the paper recipe (tiny network: same code path)
    small = TrainConfig(store="s", out="o", recipe="paper", context_bins=201, output_bins=19)
    norm = {"landscape": {"kind": "scalar", "count": 1, "mean": 0.0, "std": 1.0},
            "target": {"kind": "per_bin", "count": 1, "mean": [0.0] * 19, "std": [1.0] * 19}}
    plan = TrainingPlan(model_config_for(small, n_tracks=4).model_dump(mode="json"),
                        small.model_dump(mode="json"), norm)
    opt = plan.configure_optimizers()
    adamw, sched = opt["optimizer"], opt["lr_scheduler"]["scheduler"]
    assert isinstance(adamw, torch.optim.AdamW)
    assert [g["lr"] for g in adamw.param_groups] == [0.0, 0.0]  # warm-up starts from 0
    assert adamw.defaults["lr"] == 1e-4 and adamw.defaults["betas"] == (0.9, 0.999)
    assert [g["weight_decay"] for g in adamw.param_groups] == [1e-4, 0.0]
    for _ in range(1000):
        adamw.step()
        sched.step()
    assert adamw.param_groups[0]["lr"] == pytest.approx(0.5e-4)  # half-way through 2,000 steps
    assert isinstance(plan.loss_fn, torch.nn.SmoothL1Loss) and plan.loss_fn.beta == 1.0
    assert plan.shift_steps == 0


def test_explicit_values_override_the_recipe_and_the_dump_round_trips():
    cfg = TrainConfig(store="s", out="o", recipe="paper", lr=3e-3, warmup_steps=0)
    assert (cfg.lr, cfg.warmup_steps, cfg.batch_size) == (3e-3, 0, 64)
    assert set(cfg.recipe_differences()) == {"lr", "warmup_steps"}
    assert TrainConfig.model_validate(cfg.model_dump(mode="json")) == cfg
    assert TrainConfig(store="s", out="o").recipe == "cpu"  # the default for short CPU runs


def test_shift_is_for_landscape_variants_only():
    from claster.config import load_config

    cpu = TrainConfig(store="s", out="o", recipe="cpu", variant="microc_rotated")
    assert cpu.shift_bp == 0  # the recipe's shift does not apply to contact variants
    with pytest.raises(ConfigError, match="contact maps are not shifted"):
        load_config(TrainConfig, store="s", out="o", variant="microc_rotated", shift_bp=1000)
    with pytest.raises(ConfigError, match="multiple of 100"):
        load_config(TrainConfig, store="s", out="o", shift_bp=150)


def test_the_demo_trains_with_the_default_recipe():
    from claster.config.demo import DemoConfig

    demo = DemoConfig()
    assert demo.recipe == TrainConfig(store="s", out="o").recipe == "cpu"
    assert (demo.lr, demo.warmup_steps, demo.batch_size) == (None, None, None)  # no private recipe


# ------------------------------------------------------------------ shifted windows


def _brute_landscape(tracks: np.ndarray, centre: int, n: int) -> np.ndarray:
    out = np.zeros((tracks.shape[0], n), np.float32)
    lo = centre // 100 - n // 2
    for j in range(n):
        if 0 <= lo + j < tracks.shape[1]:
            out[:, j] = tracks[:, lo + j]
    return out


def _brute_target(target: np.ndarray, centre: int, n: int) -> np.ndarray:
    out = np.zeros(n, np.float32)
    for j, k in enumerate(range(-(n // 2), n // 2 + 1)):
        i = (centre + 1000 * k) // 20
        if 0 <= i < target.shape[0]:
            out[j] = target[i]
    return out


def test_shifted_windows_cut_landscape_and_target_at_the_same_centre(sim_store: Path):
    from claster.data.genome import GenomeWindows
    from claster.store import open_store

    store = open_store(sim_store)
    genes = store.genes[store.genes["usable"].astype(bool)].head(6)[["chrom", "tss_bp"]]
    chrom = genes["chrom"].iloc[0]
    size = int(store.chrom_sizes[chrom])
    edges = pd.DataFrame({"chrom": [chrom, chrom], "tss_bp": [3_050, size - 2_990]})  # shifts run off the ends
    samples = pd.concat([genes, edges], ignore_index=True)
    w = GenomeWindows(store, samples, context_bins=201, output_bins=19, max_shift_bp=5_000)
    idx = torch.arange(len(samples))
    shift = torch.tensor([0, 100, -100, 4_900, -5_000, 2_300, -5_000, 5_000])
    rev = torch.tensor([False, True, False, True, False, False, True, False])
    land = w.landscape(idx, rev, shift).numpy()
    targ = w.target(idx, rev, shift).numpy()
    for i, row in enumerate(samples.itertuples()):
        tracks = np.asarray(store.tracks(row.chrom))
        target = np.asarray(store.target(row.chrom))
        centre = int(row.tss_bp) + int(shift[i])
        want_l = _brute_landscape(tracks, centre, 201)
        want_t = _brute_target(target, centre, 19)
        if rev[i]:
            want_l, want_t = want_l[:, ::-1], want_t[::-1]
        np.testing.assert_array_equal(land[i], want_l, err_msg=f"landscape of sample {i}")
        np.testing.assert_array_equal(targ[i], want_t, err_msg=f"target of sample {i}")
    # no shift = the unshifted cut
    np.testing.assert_array_equal(w.landscape(idx, rev, torch.zeros(len(idx), dtype=torch.int64)).numpy(),
                                  w.landscape(idx, rev).numpy())
    with pytest.raises(Exception, match="max_shift_bp"):
        w.landscape(idx[:1], None, torch.tensor([5_100]))


def test_training_step_shifts_landscape_and_target_together():
    from claster.train._fit import model_config_for
    from claster.train._plan import TrainingPlan

    cfg = TrainConfig(store="s", out="o", recipe="paper", context_bins=201, output_bins=19, shift_bp=700)
    norm = {"landscape": {"kind": "scalar", "count": 1, "mean": 0.0, "std": 1.0},
            "target": {"kind": "per_bin", "count": 1, "mean": [0.0] * 19, "std": [1.0] * 19}}
    plan = TrainingPlan(model_config_for(cfg, n_tracks=4).model_dump(mode="json"), cfg.model_dump(mode="json"), norm)
    seen: dict[str, torch.Tensor] = {}

    class Spy:
        device = torch.device("cpu")

        def landscape(self, idx, rev, shift=None):
            seen["landscape"] = shift
            return torch.zeros(len(idx), 4, 201)

        def target(self, idx, rev, shift=None):
            seen["target"] = shift
            return torch.zeros(len(idx), 19)

        def structure(self, idx, rev):
            return None

    plan.windows = {"train": Spy()}
    plan.log = lambda *a, **k: None
    torch.manual_seed(0)
    plan.training_step((torch.arange(256), torch.zeros(256, dtype=torch.bool)), 0)
    s = seen["landscape"]
    assert s is seen["target"] and s.shape == (256,)
    assert int(s.abs().max()) <= 700 and bool((s % 100 == 0).all()) and len(set(s.tolist())) > 5


# ------------------------------------------------------------------ warm-up budget


def test_warmup_message_fires_only_when_the_budget_ends_first():
    from claster.train._warmup import warmup_budget_message

    msg = warmup_budget_message(2000, max_steps=100)
    assert msg is not None and "2,000-step" in msg and "5%" in msg and "\n" not in msg
    assert warmup_budget_message(2000, max_steps=2000) is None
    assert warmup_budget_message(100, max_steps=5000) is None
    assert warmup_budget_message(0, max_steps=1) is None
    assert warmup_budget_message(2000, epochs=3, steps_per_epoch=30) is not None  # 90 steps in all
    assert warmup_budget_message(2000, epochs=120, steps_per_epoch=30) is None
    # 12 minutes at 2 s/step = 360 steps < 2,000; at 0.1 s/step = 7,200 steps
    assert "--max-minutes" in warmup_budget_message(2000, max_minutes=12, seconds_per_step=2.0)
    assert warmup_budget_message(2000, max_minutes=12, seconds_per_step=0.1) is None
    assert warmup_budget_message(2000, max_steps=100, start_step=2000) is None  # resumed after the warm-up


def test_warmup_callback_at_train_start():
    from claster.train._warmup import WarmupBudgetCheck

    class Trainer:
        global_step = 0
        global_rank = 0

    quiet = WarmupBudgetCheck(TrainConfig(store="s", out="o", recipe="paper", max_steps=2000), steps_per_epoch=50)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet.on_train_start(Trainer(), None)
    loud = WarmupBudgetCheck(TrainConfig(store="s", out="o", recipe="paper", max_steps=1999), steps_per_epoch=50)
    with pytest.warns(ClasterWarning, match="before the 2,000-step learning-rate warm-up"):
        loud.on_train_start(Trainer(), None)


@pytest.mark.filterwarnings("always::claster.errors.ClasterWarning")
def test_log1p_run_warns_once_saves_its_transforms_and_predicts_through_them(
        cli, sim_store: Path, tmp_path: Path):
    from claster.predict import Predictor

    out = tmp_path / "run"
    code, _, err = cli(["train", "--store", sim_store, "--out", out, "--context-bins", "201", "--output-bins", "19",
                        "--batch-size", "8", "--max-steps", "2", "--warmup-steps", "5", "--max-train-samples", "16",
                        "--input-transform", "log1p", "--target-transform", "log1p", "--shift-bp", "2000",
                        "--val-check-steps", "2", "--threads", "1", "--quiet"])
    assert code == 0, err
    lines = [ln for ln in err.splitlines() if "warm-up" in ln]
    assert len(lines) == 1 and lines[0].startswith("warning: the run ends at step 2"), err
    norm = json.loads((out / "normalisation.json").read_text())
    assert norm["transforms"] == {"landscape": "log1p", "target": "log1p"}
    pred = Predictor(out)
    assert pred.norm_landscape.name == pred.norm_target.name == "log1p"
    # independent computation from the saved statistics: standardise log1p(x), run the network,
    # un-standardise, expm1, clip at 0
    rng = np.random.default_rng(0)
    x = rng.lognormal(0.0, 1.5, size=(3, 4, 201)).astype(np.float32)
    land, tgt = norm["landscape"], norm["target"]
    z = (np.log1p(x.astype(np.float64)) - land["mean"]) / land["std"]
    with torch.no_grad():
        raw = pred.model(torch.from_numpy(z.astype(np.float32)), None).double().numpy()
    want = np.maximum(np.expm1(raw * np.asarray(tgt["std"]) + np.asarray(tgt["mean"])), 0)
    got = pred.predict_raw(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    assert math.isfinite(float(got.sum()))
