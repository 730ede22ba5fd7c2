"""Training: the recipe's pure pieces, a short real fit on the simulated store, resume, seeds, DDP."""

from __future__ import annotations

import copy
import json
import logging
import os
import signal
import subprocess
import sys
import time
import warnings
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
    umask = os.umask(0)
    os.umask(umask)
    modes = {str(p.relative_to(short_run)): oct(p.stat().st_mode & 0o777) for p in short_run.rglob("*") if p.is_file()}
    assert set(modes.values()) == {oct(0o666 & ~umask)}, modes  # every file honours the umask


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
    from claster.predict import Predictor
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


@pytest.fixture
def probe(monkeypatch):
    """Record what the run's LastCheckpoint callback sees: the global step stored in each last.ckpt it
    writes (read back with torch.load(weights_only=True)) and the state when training starts."""
    import claster.train._fit as fit_module

    records: list[dict] = []
    make = fit_module._make_last_checkpoint_cls

    def factory():
        base = make()

        class Probe(base):
            def __init__(self, *args, **kw):
                super().__init__(*args, **kw)
                self.record = {"written": [], "start": None}
                records.append(self.record)

            def _save(self, trainer):
                super()._save(trainer)
                ck = torch.load(self.path, map_location="cpu", weights_only=True)
                self.record["written"].append(int(ck["global_step"]))

            def on_train_start(self, trainer, pl_module):
                self.record["start"] = {
                    "global_step": int(trainer.global_step),
                    "optimizer": copy.deepcopy(trainer.optimizers[0].state_dict()),
                    "scheduler_last_epoch": trainer.lr_scheduler_configs[0].scheduler.last_epoch,
                    "weights": {k: v.detach().clone() for k, v in pl_module.state_dict().items()},
                }

        return Probe

    monkeypatch.setattr(fit_module, "_make_last_checkpoint_cls", factory)
    return records


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_last_checkpoint_after_each_validation(sim_store: Path, tmp_path: Path, probe):
    """checkpoint_every_steps larger than the run: last.ckpt is still written after each validation."""
    from claster.train import fit

    fit(_config(sim_store, tmp_path / "run", max_steps=6, val_check_steps=3, checkpoint_every_steps=100),
        progress=False)
    assert probe[0]["written"] == [3, 6]


def test_resume_starts_at_the_saved_state(sim_store: Path, tmp_path: Path, probe):
    """The resumed run starts at the saved step, weights, optimiser state and scheduler, keeps the first
    run's curve; and neither run warns or loads a checkpoint by unpickling (weights_only)."""
    from claster.train import fit

    out = tmp_path / "run"
    handler = _Lines()
    lightning_log = logging.getLogger("lightning")
    lightning_log.addHandler(handler)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fit(_config(sim_store, out, max_steps=4), progress=False)
            saved = torch.load(out / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
            first_curve = pd.read_csv(out / "logs" / "metrics.csv")
            fit(_config(sim_store, out, max_steps=8), resume=True, progress=False)
    finally:
        lightning_log.removeHandler(handler)
    assert not [m for m in handler.lines if "weights_only" in m], handler.lines
    assert saved["global_step"] == 4
    start = probe[1]["start"]
    assert start["global_step"] == 4
    assert start["scheduler_last_epoch"] == saved["lr_schedulers"][0]["last_epoch"] == 4
    for k, v in saved["state_dict"].items():
        torch.testing.assert_close(start["weights"][k], v, rtol=0, atol=0)
    opt_saved, opt_start = saved["optimizer_states"][0], start["optimizer"]
    assert opt_start["state"].keys() == opt_saved["state"].keys() and len(opt_saved["state"]) > 0
    for i, st in opt_saved["state"].items():
        assert float(opt_start["state"][i]["step"]) == float(st["step"]) == 4.0
        torch.testing.assert_close(opt_start["state"][i]["exp_avg"], st["exp_avg"], rtol=0, atol=0)
        torch.testing.assert_close(opt_start["state"][i]["exp_avg_sq"], st["exp_avg_sq"], rtol=0, atol=0)
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["global_step"] == 8
    curve = pd.read_csv(out / "logs" / "metrics.csv")
    before = first_curve[first_curve["step"] < 4].reset_index(drop=True)
    pd.testing.assert_frame_equal(curve[curve["step"] < 4].reset_index(drop=True)[before.columns], before)
    assert curve["step"].max() >= 7 and curve["val/pearson_binwise"].notna().sum() == 2  # steps 3 and 6
    best = torch.load(out / "checkpoints" / "best.ckpt", map_location="cpu", weights_only=True)
    assert best["global_step"] in (3, 6)


@pytest.mark.parametrize(
    "change", [{"max_train_samples": 20}, {"strand_oriented": True}, {"shuffle_targets": True},
               {"lr": 3e-4}, {"augment_rev": False}],
    ids=lambda c: next(iter(c)),
)
def test_resume_refuses_changed_data_settings(short_run: Path, sim_store: Path, change: dict):
    from claster.train import fit

    key = next(iter(change))
    with pytest.raises(InputError, match=rf"--resume with settings that differ .*: {key} \("):
        fit(_config(sim_store, short_run, **change), resume=True, progress=False)


def test_resume_may_change_budget_and_hardware():
    from claster.train._fit import RESUME_MAY_CHANGE

    data_keys = {"store", "variant", "context_bins", "output_bins", "batch_size", "seed", "augment_rev",
                 "max_train_samples", "strand_oriented", "shuffle_targets", "lr", "warmup_steps"}
    assert not (RESUME_MAY_CHANGE & data_keys)
    assert {"max_steps", "epochs", "max_minutes", "threads"} <= RESUME_MAY_CHANGE <= set(TrainConfig.model_fields)


def test_bf16_on_a_cpu_without_native_bf16_warns(monkeypatch):
    import claster.train._fit as fit_module
    from claster.errors import ClasterWarning

    monkeypatch.setattr(fit_module, "_cpu_flags", lambda: {"fpu", "avx", "avx2", "avx512f"})
    assert fit_module.cpu_has_native_bf16() is False
    with pytest.warns(ClasterWarning, match="without native bf16") as rec:
        fit_module._warn_slow_bf16("bf16-mixed", on_cpu=True)
    assert len(rec) == 1 and "\n" not in str(rec[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit_module._warn_slow_bf16("32-true", on_cpu=True)  # fp32: nothing to say
        fit_module._warn_slow_bf16("bf16-mixed", on_cpu=False)  # a GPU
        monkeypatch.setattr(fit_module, "_cpu_flags", lambda: {"avx512f", "avx512_bf16"})
        assert fit_module.cpu_has_native_bf16() is True
        fit_module._warn_slow_bf16("bf16-mixed", on_cpu=True)
        monkeypatch.setattr(fit_module, "_cpu_flags", lambda: None)  # unknown (no /proc/cpuinfo)
        assert fit_module.cpu_has_native_bf16() is None
        fit_module._warn_slow_bf16("bf16-mixed", on_cpu=True)
    assert TrainConfig.model_fields["precision"].default == "32-true"  # never bf16 by default


def test_cpu_flags_reads_proc_cpuinfo():
    from claster.train._fit import _cpu_flags

    if not Path("/proc/cpuinfo").is_file():
        pytest.skip("no /proc/cpuinfo on this system")
    text = Path("/proc/cpuinfo").read_text()
    line = next((ln for ln in text.splitlines() if ln.split(":")[0].strip() in ("flags", "Features")), None)
    if line is None:
        pytest.skip("/proc/cpuinfo has no flags line")
    assert _cpu_flags() == set(line.split(":", 1)[1].split())


def test_same_seed_same_weights(sim_store: Path, tmp_path: Path):
    from claster.train import fit

    a, b = tmp_path / "a", tmp_path / "b"
    fit(_config(sim_store, a, max_steps=3, val_check_steps=3), progress=False)
    fit(_config(sim_store, b, max_steps=3, val_check_steps=3), progress=False)
    sa = torch.load(a / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)["state_dict"]
    sb = torch.load(b / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)["state_dict"]
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


_CHILD = """
import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # a background shell may have ignored SIGINT
from claster.cli import main
main(sys.argv[1:])
"""


@pytest.mark.parametrize(
    "sig, code",
    [(signal.SIGTERM, 143), pytest.param(signal.SIGINT, 130, marks=pytest.mark.slow)],
    ids=["SIGTERM", "SIGINT"],
)
def test_signal_stops_training_with_a_failure_status(sim_store: Path, tmp_path: Path, sig, code):
    """A scheduler's SIGTERM (or Ctrl-C) mid-training: last.ckpt written, no model, exit 128 + signal, and
    one line saying how to resume."""
    out = tmp_path / "run"
    cmd = [sys.executable, "-c", _CHILD, "train", "--store", str(sim_store), "--out", str(out),
           "--context-bins", "201", "--output-bins", "19", "--batch-size", "4", "--max-train-samples", "16",
           "--epochs", "100000", "--val-check-steps", "100000", "--checkpoint-every", "1", "--accelerator", "cpu",
           "--threads", "1", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while not (out / "checkpoints" / "last.ckpt").is_file():  # training has run a step
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "training did not start within 240 s"
            time.sleep(0.2)
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == code, stderr[-3000:]
    lines = stderr.strip().splitlines()
    assert lines[-1].startswith(f"error: training stopped by {sig.name} at step "), stderr[-3000:]
    assert f"continue it with: claster train --resume --out {out}" in lines[-1]
    ck = torch.load(out / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert ck["global_step"] >= 1
    assert not (out / "model").exists() and "model written" not in stdout
