"""Training: the recipe's pure pieces, a short real fit on the simulated store, resume, seeds, DDP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from claster.config.train import TrainConfig
from claster.errors import InputError
from claster.train._plan import split_weight_decay, warmup_factor


def test_warmup_is_linear_from_zero_then_constant():
    assert warmup_factor(0, 2000) == 0.0
    assert warmup_factor(500, 2000) == 0.25
    assert warmup_factor(2000, 2000) == 1.0
    assert warmup_factor(10_000, 2000) == 1.0
    assert warmup_factor(3, 0) == 1.0


def test_no_weight_decay_on_swish_beta():
    from claster.config.model import ModelConfig
    from claster.model import ClasterNet
    from claster.model.blocks import Swish

    net = ClasterNet(ModelConfig.for_variant("landscape", context_bins=201, output_bins=19,
                                             landscape_layers=(1, 1), fusion_blocks=1))
    groups = split_weight_decay(net, 1e-4)
    betas = {id(p) for m in net.modules() if isinstance(m, Swish) for p in m.parameters(recurse=False)}
    assert betas, "the network has learnable Swish betas"
    assert {id(p) for p in groups[1]["params"]} == betas
    assert groups[1]["weight_decay"] == 0.0 and groups[0]["weight_decay"] == 1e-4
    n_all = sum(p.numel() for p in net.parameters() if p.requires_grad)
    assert sum(p.numel() for g in groups for p in g["params"]) == n_all


def _config(store: Path, out: Path, **kw) -> TrainConfig:
    base = dict(store=str(store), out=str(out), recipe="paper", variant="landscape", context_bins=201, output_bins=19,
                batch_size=8, max_steps=6, max_train_samples=24, warmup_steps=2, val_check_steps=3,
                checkpoint_every_steps=2, seed=3, threads=1)
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def short_run(sim_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from claster.train import fit

    out = tmp_path_factory.mktemp("run") / "run"
    fit(_config(sim_store, out), progress=False)
    return out


def test_fit_writes_a_self_describing_run(short_run: Path, sim_store: Path):
    for rel in ("config.json", "normalisation.json", "checkpoints/last.ckpt", "checkpoints/best.ckpt",
                "logs/metrics.csv", "model/model.pt", "train_summary.json"):
        assert (short_run / rel).is_file(), rel
    summary = json.loads((short_run / "train_summary.json").read_text())
    assert summary["global_step"] == 6
    assert summary["n_train_genes"] == 24
    curves = pd.read_csv(short_run / "logs" / "metrics.csv")
    assert curves["val/pearson_binwise"].notna().sum() == 2  # validated at steps 3 and 6
    assert np.isfinite(summary["best_val_pearson_binwise"])


def test_normalisation_uses_training_genes_only(short_run: Path, sim_store: Path):
    """The landscape mean equals an independent computation over the training windows only."""
    from claster.store import open_store
    from claster.train import training_samples

    store = open_store(sim_store)
    cfg = _config(sim_store, short_run)
    train = training_samples(store, cfg)["train"]
    assert set(train["split"]) == {"train"}
    windows = [np.asarray(store.tracks(r.chrom))[:, r.tss_bp // 100 - 100 : r.tss_bp // 100 + 101]
               for r in train.itertuples()]
    ref = np.stack(windows).astype(np.float64)
    norm = json.loads((short_run / "normalisation.json").read_text())
    assert norm["landscape"]["mean"] == pytest.approx(ref.mean(), rel=1e-5)
    assert norm["landscape"]["std"] == pytest.approx(ref.std(), rel=1e-4)


def test_checkpoint_loads_and_predicts_on_cpu(short_run: Path, sim_store: Path):
    from claster.analysis.predictor import Predictor
    from claster.store import open_store

    store = open_store(sim_store)
    pred = Predictor(short_run, device="cpu")
    assert pred.context_bins == 201 and pred.output_bins == 19
    genes = store.genes[store.genes["usable"].astype(bool)].head(3).reset_index(drop=True)
    out = pred.predict_samples(pred.windows(store, genes))
    assert out.shape == (3, 19) and np.all(out >= 0) and np.isfinite(out).all()


def test_existing_run_needs_resume_or_force(short_run: Path, sim_store: Path):
    from claster.train import fit

    with pytest.raises(InputError, match="--resume"):
        fit(_config(sim_store, short_run), progress=False)


def test_resume_continues_without_losing_steps(sim_store: Path, tmp_path: Path):
    from claster.train import fit

    out = tmp_path / "run"
    fit(_config(sim_store, out, max_steps=4), progress=False)
    ck = torch.load(out / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert ck["global_step"] == 4
    fit(_config(sim_store, out, max_steps=8), resume=True, progress=False)
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["global_step"] == 8


def test_same_seed_same_weights(sim_store: Path, tmp_path: Path):
    from claster.train import fit

    a, b = tmp_path / "a", tmp_path / "b"
    fit(_config(sim_store, a, max_steps=3, val_check_steps=3), progress=False)
    fit(_config(sim_store, b, max_steps=3, val_check_steps=3), progress=False)
    sa = torch.load(a / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)["state_dict"]
    sb = torch.load(b / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)["state_dict"]
    assert sa.keys() == sb.keys()
    for k in sa:
        torch.testing.assert_close(sa[k], sb[k], rtol=0, atol=0)


def test_ddp_two_processes_on_cpu(sim_store: Path, tmp_path: Path):
    """Two-process DDP (gloo) for a few steps through the real CLI."""
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "claster", "train", "--store", str(sim_store), "--out", str(out),
           "--context-bins", "201", "--output-bins", "19", "--batch-size", "4", "--max-steps", "3",
           "--max-train-samples", "16", "--val-check-steps", "3", "--accelerator", "cpu", "--devices", "2",
           "--strategy", "ddp", "--threads", "1", "--quiet"]
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["global_step"] == 3
    assert (out / "model" / "model.pt").is_file()
