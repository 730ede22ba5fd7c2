"""``fit``: the whole training run of SPEC §4, from a store to an exported best model.

Run directory layout::

    RUN/
      config.json            resolved TrainConfig + ModelConfig
      normalisation.json     statistics fitted on the training split only
      checkpoints/last.ckpt  resumable Lightning checkpoint (every N steps, on interrupt, at the end)
      checkpoints/best.ckpt  best validation score so far
      logs/metrics.csv       training curves (train/loss, val/loss, val/pearson_binwise)
      model/                 the best model, self-describing (claster.model.checkpoint.save_model)
      input_stats.json       training-split input distributions (claster.qc.training_stats)
      train_summary.json     best step, best validation score, wall time, sample counts, versions
"""

from __future__ import annotations

import json
import os
import signal
import time
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from claster.config import write_config_json
from claster.config.train import STRUCTURE_OF_VARIANT, TrainConfig
from claster.errors import ClasterWarning, InputError, StoreError, TrainingInterrupted

__all__ = [
    "fit", "training_samples", "fit_normalisation", "versions", "store_checksum", "model_config_for",
    "cpu_has_native_bf16", "RESUME_MAY_CHANGE",
]


def store_checksum(store) -> str:
    """sha256 of the store's manifest: ties a checkpoint to the store it was trained on."""
    import hashlib

    return hashlib.sha256((Path(store.path) / "manifest.json").read_bytes()).hexdigest()


def versions() -> dict[str, str]:
    """Versions of the packages a checkpoint depends on."""
    import lightning

    import claster

    return {"claster": claster.__version__, "torch": str(torch.__version__), "lightning": str(lightning.__version__),
            "numpy": str(np.__version__)}


def training_samples(store, config: TrainConfig) -> dict[str, pd.DataFrame]:
    """Usable genes per split (train, val), with the seeded training subset applied.

    Returns a dict split -> DataFrame (columns of the store's sample index).
    """
    genes = store.genes
    usable = genes[genes["usable"].astype(bool)]
    out = {}
    for split in ("train", "val"):
        df = usable[usable["split"] == split].reset_index(drop=True)
        if df.empty:
            chroms = store.manifest.get("splits", {})
            raise InputError(
                f"the store {store.path} has no usable {split} genes (splits: {chroms}); choose other "
                "--test-chroms/--val-chroms when preparing, or check the annotation"
            )
        out[split] = df
    if config.max_train_samples is not None and len(out["train"]) > config.max_train_samples:
        rng = np.random.default_rng(config.seed)
        keep = np.sort(rng.choice(len(out["train"]), size=config.max_train_samples, replace=False))
        out["train"] = out["train"].iloc[keep].reset_index(drop=True)
    return out


def _orientation(samples: pd.DataFrame, strand_oriented: bool) -> np.ndarray:
    """Base orientation flag per sample: reversed for minus-strand genes when strand_oriented."""
    if not strand_oriented:
        return np.zeros(len(samples), dtype=bool)
    return (samples["strand"] == "-").to_numpy().copy()  # writable: torch.from_numpy warns on read-only arrays


def fit_normalisation(windows, orientation: np.ndarray, *, augment_rev: bool, batch: int = 64,
                      input_transform: str = "none", target_transform: str = "none") -> dict[str, Any]:
    """Fit the SPEC §4 standardisation on the training windows only (SPEC §10).

    Landscape and structure: one scalar mean/std each; target: per-bin mean/std over all training
    samples (both orientations when ``augment_rev``). ``input_transform`` / ``target_transform``
    (``"none"`` = SPEC §4, or ``"log1p"``) are applied before the statistics are taken and recorded
    under ``"transforms"``.
    """
    from claster.data.transforms import PerBinStandardizer, ScalarStandardizer, value_transform

    land, struct = ScalarStandardizer(), ScalarStandardizer()
    targets = []
    n = len(windows)
    for lo in range(0, n, batch):
        idx = torch.arange(lo, min(n, lo + batch))
        rev = torch.from_numpy(orientation[idx.numpy()])
        land.partial_fit(value_transform(windows.landscape(idx, rev), input_transform))
        s = windows.structure(idx, rev)
        if s is not None:
            struct.partial_fit(s)
        y = value_transform(windows.target(idx, rev), target_transform)
        targets.append(y)
        if augment_rev:
            targets.append(torch.flip(y, dims=(-1,)))
    land.finalize()
    target = PerBinStandardizer()
    target.fit(torch.cat(targets).numpy())
    out = {"landscape": land.to_dict(), "structure": None, "target": target.to_dict(),
           "transforms": {"landscape": input_transform, "target": target_transform}}
    if windows.structure_kind is not None:
        struct.finalize()
        out["structure"] = struct.to_dict()
    return out


def model_config_for(config: TrainConfig, *, n_tracks: int, structure_shape: tuple[int, int] | None = None):
    """The ``ModelConfig`` of a training config: the paper's network at the store's sizes.

    Short contexts (<= 2,001 bins) default to the paper's 20 kbp ablation: landscape layers (1, 1) and
    one fusion block (SPEC §3).
    """
    from claster.config.model import ModelConfig

    short = config.context_bins <= 2001
    layers = config.landscape_layers or ((1, 1) if short else None)
    fusion = config.fusion_blocks or (1 if short else None)
    model = ModelConfig.for_variant(
        config.variant, n_tracks=n_tracks, context_bins=config.context_bins, output_bins=config.output_bins,
        structure_shape=structure_shape, landscape_layers=layers, fusion_blocks=fusion,
    )
    if config.fc_dropout == 0 and config.fc_width == 512 and config.head == "dense":
        return model  # the paper's network
    data = model.model_dump()  # capacity options of the recipe: every branch's flatten -> Linear
    for branch in ("landscape", "structure"):
        if data.get(branch) is not None:
            data[branch].update(fc_dropout=config.fc_dropout, num_output_features=config.fc_width)
    if config.head == "conv":
        from claster.config.model import ConvHeadConfig

        data["conv_head"] = ConvHeadConfig().model_dump()
    return ModelConfig.model_validate(data)


def _cpu_flags() -> set[str] | None:
    """The CPU feature flags of ``/proc/cpuinfo`` (x86 ``flags``, ARM ``Features``); None when unknown."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return None


def cpu_has_native_bf16() -> bool | None:
    """True when the CPU computes bf16 natively (x86 ``avx512_bf16`` or ``amx_bf16``, ARM ``bf16``),
    False when it does not (bf16 is then emulated, several times slower than fp32), None when unknown."""
    flags = _cpu_flags()
    if flags is None:
        return None
    return bool(flags & {"avx512_bf16", "amx_bf16", "bf16"})


def _warn_slow_bf16(precision: str, on_cpu: bool) -> None:
    """One-line warning when bf16 is asked for on a CPU that emulates it."""
    if on_cpu and str(precision).startswith("bf16") and cpu_has_native_bf16() is False:
        warnings.warn(
            f"--precision {precision} on a CPU without native bf16 (no avx512_bf16/amx_bf16 in /proc/cpuinfo) "
            "trains several times slower than 32-true (measured 8x in bench/model.py); use --precision 32-true",
            ClasterWarning, stacklevel=3,
        )


def _is_launched_worker() -> bool:
    """True in the extra processes Lightning launches for DDP (local rank > 0, or a node rank > 0)."""
    return int(os.environ.get("LOCAL_RANK", "0")) > 0 or int(os.environ.get("NODE_RANK", "0")) > 0


RESUME_MAY_CHANGE: frozenset[str] = frozenset({
    "out", "epochs", "max_steps", "max_minutes", "early_stopping_patience", "checkpoint_every_steps",
    "accelerator", "devices", "strategy", "num_nodes", "precision", "threads",
})
"""TrainConfig keys a ``--resume`` may change: budgets and hardware. Every other key (the store, the
training subset, orientation, target shuffling, the recipe, ...) decides which data the saved
normalisation and optimiser state belong to, so a resume must keep it."""


def _check_run_dir(out: Path, config: TrainConfig, resume: bool, force: bool) -> None:
    cfg_path = out / "config.json"
    if resume:
        if not (out / "checkpoints" / "last.ckpt").is_file():
            raise InputError(f"nothing to resume in {out}: no checkpoints/last.ckpt; start without --resume")
        saved = json.loads(cfg_path.read_text())["train"]
        mine = config.model_dump(mode="json")
        diff = [f"{k} ({saved.get(k)!r} -> {mine.get(k)!r})" for k in sorted(set(saved) | set(mine))
                if k not in RESUME_MAY_CHANGE and saved.get(k, "<unset>") != mine.get(k, "<unset>")]
        if diff:
            raise InputError(
                f"--resume with settings that differ from the run in {out}: {', '.join(diff)}; "
                "resume with the original settings or start a new --out"
            )
    elif cfg_path.exists() and not force:
        raise InputError(f"{out} already holds a training run; pass --resume to continue it or --force to restart")


def fit(config: TrainConfig, *, resume: bool = False, force: bool = False, progress: bool = True) -> Path:
    """Train ``config.variant`` on ``config.store`` and export the best model to ``config.out/model``.

    Returns the run directory. Raises :class:`InputError`/:class:`StoreError` on unusable inputs.
    """
    import lightning as L
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger

    from claster.data.genome import GenomeWindows
    from claster.store import open_store
    from claster.train._plan import TrainingPlan
    from claster.train._warmup import WarmupBudgetCheck

    import logging

    # Lightning's start-up tips are noise for our users; warnings and errors still show.
    logging.getLogger("lightning.pytorch.utilities.rank_zero").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
    out = Path(config.out)
    worker = _is_launched_worker()
    if not worker:  # DDP worker processes re-run this function after rank 0 has set the run up
        _check_run_dir(out, config, resume, force)
    if config.threads:
        torch.set_num_threads(config.threads)
    L.seed_everything(config.seed, workers=True, verbose=False)
    store = open_store(config.store)
    structure = STRUCTURE_OF_VARIANT[config.variant]
    if structure is not None:
        kind = "pchic" if structure == "pchic" else "contacts"
        if store.manifest.get(kind) is None:
            raise StoreError(
                f"variant {config.variant} needs {kind} but the store {store.path} has none; "
                f"prepare it with --{kind}"
            )
    samples = training_samples(store, config)
    windows = {
        split: GenomeWindows(store, df, context_bins=config.context_bins, output_bins=config.output_bins,
                             structure=structure, max_shift_bp=config.shift_bp if split == "train" else 0)
        for split, df in samples.items()
    }
    orient = {split: _orientation(df, config.strand_oriented) for split, df in samples.items()}
    if config.shuffle_targets:
        perm = torch.from_numpy(np.random.default_rng(config.seed).permutation(len(samples["train"])))
        windows["train"].permute_targets(perm)

    norm_path = out / "normalisation.json"
    if resume and norm_path.is_file():
        normalisation = json.loads(norm_path.read_text())
    else:
        normalisation = fit_normalisation(windows["train"], orient["train"], augment_rev=config.augment_rev,
                                          input_transform=config.input_transform,
                                          target_transform=config.target_transform)
    model_config = model_config_for(config, n_tracks=len(store.track_names),
                                    structure_shape=windows["train"].structure_shape)
    out.mkdir(parents=True, exist_ok=True)
    if not worker:
        write_config_json({"train": config.model_dump(mode="json"), "model": model_config.model_dump(mode="json"),
                           "track_names": list(store.track_names), "store_manifest_sha256": store_checksum(store)},
                          out / "config.json")
        write_config_json(normalisation, norm_path)

    plan = TrainingPlan(model_config.model_dump(mode="json"), config.model_dump(mode="json"), normalisation)
    plan.windows = windows

    n_train = len(samples["train"])
    tr_idx = torch.arange(n_train)
    tr_rev = torch.from_numpy(orient["train"])
    if config.augment_rev:
        tr_idx, tr_rev = torch.cat([tr_idx, tr_idx]), torch.cat([tr_rev, ~tr_rev])
    gen = torch.Generator().manual_seed(config.seed)
    train_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(tr_idx, tr_rev), batch_size=config.batch_size, shuffle=True,
        drop_last=len(tr_idx) >= config.batch_size, generator=gen,
    )
    n_val = len(samples["val"])
    val_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.arange(n_val), torch.from_numpy(orient["val"])),
        batch_size=config.batch_size, shuffle=False,
    )

    ckpt_dir = out / "checkpoints"
    best_cb = ModelCheckpoint(dirpath=ckpt_dir, filename="best", monitor="val/pearson_binwise", mode="max",
                              save_top_k=1, enable_version_counter=False)
    last_cb = _make_last_checkpoint_cls()(ckpt_dir / "last.ckpt", every_n_steps=config.checkpoint_every_steps)
    callbacks: list = [best_cb, last_cb, WarmupBudgetCheck(config, steps_per_epoch=len(train_loader))]
    if config.early_stopping_patience:
        callbacks.append(EarlyStopping(monitor="val/pearson_binwise", mode="max",
                                       patience=config.early_stopping_patience))
    trainer_kw: dict[str, Any] = {}
    if config.val_check_steps:
        trainer_kw.update(val_check_interval=config.val_check_steps, check_val_every_n_epoch=None)
    else:
        trainer_kw.update(check_val_every_n_epoch=config.val_every_n_epochs)
    devices: Any = config.devices
    if devices.isdigit():
        devices = int(devices)
    elif "," in devices:
        devices = [int(d) for d in devices.split(",") if d]
    trainer = L.Trainer(
        default_root_dir=out,
        max_epochs=config.epochs,
        max_steps=config.max_steps or -1,
        max_time=timedelta(minutes=config.max_minutes) if config.max_minutes else None,
        accelerator=config.accelerator,
        devices=devices,
        strategy=config.strategy,
        num_nodes=config.num_nodes,
        precision=config.precision,
        gradient_clip_val=config.grad_clip,
        gradient_clip_algorithm="norm",
        callbacks=callbacks,
        logger=CSVLogger(out, name="logs", version="", flush_logs_every_n_steps=20),
        enable_progress_bar=progress,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        log_every_n_steps=max(1, min(50, len(train_loader))),
        **trainer_kw,
    )
    from lightning.pytorch.accelerators import CPUAccelerator

    _warn_slow_bf16(config.precision, isinstance(trainer.accelerator, CPUAccelerator))
    started = time.time()
    ckpt_path = str(ckpt_dir / "last.ckpt") if resume else None
    curves_path = out / "logs" / "metrics.csv"
    earlier = pd.read_csv(curves_path) if resume and curves_path.is_file() else None
    with warnings.catch_warnings():
        # CSVLogger warns that it will overwrite the earlier curves; they are merged back below.
        warnings.filterwarnings("ignore", message=".*exists and is not empty.*")
        # Resuming mid-epoch restarts that epoch's sample order (documented); steps, optimiser and
        # scheduler state continue exactly.
        warnings.filterwarnings("ignore", message=".*resuming from a checkpoint that ended before the epoch.*")
        try:
            # weights_only=True: a checkpoint is never unpickled with arbitrary code.
            trainer.fit(plan, train_dataloaders=train_loader, val_dataloaders=val_loader, ckpt_path=ckpt_path,
                        weights_only=True)
        except SystemExit as e:  # Lightning ends a run stopped by SIGTERM or Ctrl-C with SystemExit
            stopped_by = _stop_signal(e)
            if stopped_by is None:
                raise
            raise TrainingInterrupted(
                f"training stopped by {stopped_by.name} at step {trainer.global_step}; the run is saved in "
                f"{ckpt_dir / 'last.ckpt'} and no model was exported; continue it with: claster train "
                f"--resume --out {out} (and the same settings)",
                signum=int(stopped_by),
            ) from None
    if earlier is not None and trainer.global_rank == 0:
        _merge_curves(earlier, curves_path)
    trainer.save_checkpoint(ckpt_dir / "last.ckpt", weights_only=False)  # every rank: it holds a barrier
    if trainer.global_rank == 0:
        _export_best(out, plan, best_cb, store, config, model_config, normalisation, samples,
                     wall_s=time.time() - started, trainer=trainer)
    return out


def _stop_signal(exc: SystemExit) -> signal.Signals | None:
    """The signal behind Lightning's SystemExit: SIGTERM (``SIGTERMException``), SIGINT (the
    ``sys.exit(1)`` it raises while handling KeyboardInterrupt), or None for any other exit."""
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    if isinstance(exc, SIGTERMException):
        return signal.SIGTERM
    if isinstance(exc.__context__, KeyboardInterrupt):
        return signal.SIGINT
    return None


def _input_stats(store, out: Path) -> dict:
    """Training-split input statistics (claster.qc.training_stats over every usable training gene, not
    only a --max-train-samples subset), also written to ``RUN/input_stats.json``."""
    from claster.io.writers import atomic_path
    from claster.qc import training_stats

    genes = store.genes
    stats = training_stats(store, genes[genes["usable"].astype(bool) & (genes["split"] == "train")])
    with atomic_path(out / "input_stats.json") as tmp:
        tmp.write_text(json.dumps(stats, indent=1))
    return stats


def _make_last_checkpoint_cls():
    from lightning.pytorch.callbacks import Callback

    class LastCheckpoint(Callback):
        """Write ``last.ckpt`` every N optimiser steps, after each validation and on any exception.

        So a killed run (Ctrl-C, SIGTERM, a crash) resumes from where it stopped with ``--resume``.
        ``saved_steps`` lists the global step of every write, in order.
        """

        def __init__(self, path: Path, every_n_steps: int) -> None:
            self.path = Path(path)
            self.every = every_n_steps
            self.saved_steps: list[int] = []

        def _save(self, trainer) -> None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".ckpt.tmp")
            trainer.save_checkpoint(tmp, weights_only=False)  # the full state: optimiser, loops, callbacks
            if trainer.global_rank == 0 and tmp.exists():
                os.replace(tmp, self.path)
            self.saved_steps.append(int(trainer.global_step))

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            if trainer.global_step > 0 and trainer.global_step % self.every == 0:
                self._save(trainer)

        def on_validation_end(self, trainer, pl_module) -> None:
            # After the validation's metrics are logged, so best.ckpt and last.ckpt agree on them.
            if not trainer.sanity_checking and trainer.state.fn == "fit":
                if not self.saved_steps or self.saved_steps[-1] != trainer.global_step:
                    self._save(trainer)

        def on_exception(self, trainer, pl_module, exception) -> None:
            self._save(trainer)

    return LastCheckpoint


def _merge_curves(earlier: pd.DataFrame, path: Path) -> None:
    """Put the curves of the run before ``--resume`` back in front of the resumed run's curves."""
    now = pd.read_csv(path) if path.is_file() else pd.DataFrame()
    first = now["step"].min() if "step" in now and len(now) else np.inf
    merged = pd.concat([earlier[earlier["step"] < first], now], ignore_index=True)
    tmp = path.with_suffix(".csv.tmp")
    merged.to_csv(tmp, index=False)
    os.replace(tmp, path)


def _export_best(out, plan, best_cb, store, config, model_config, normalisation, samples, *, wall_s, trainer):
    from claster.model.checkpoint import save_model
    from claster.train._plan import TrainingPlan

    best_path = best_cb.best_model_path
    if best_path and Path(best_path).is_file():
        state = torch.load(best_path, map_location="cpu", weights_only=True)["state_dict"]
        best = TrainingPlan(model_config.model_dump(mode="json"), config.model_dump(mode="json"), normalisation)
        best.load_state_dict(state)
        net = best.net
        best_score = float(best_cb.best_model_score) if best_cb.best_model_score is not None else None
    else:  # no validation ran (e.g. max_steps before the first validation): export the last weights
        net = plan.net
        best_score = None
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if torch.is_tensor(v) and v.numel() == 1}
    extra = {
        "train_config": config.model_dump(mode="json"),
        "normalisation": normalisation,
        "track_names": list(store.track_names),
        "store_manifest_sha256": store_checksum(store),
        "structure": STRUCTURE_OF_VARIANT[config.variant],
        "best_val_pearson_binwise": best_score,
        "global_step": int(trainer.global_step),
        "metrics": metrics,
        "versions": versions(),
        # training-split input distributions: the shift check and --match-scale of predict/evaluate/...
        "input_stats": _input_stats(store, out),
    }
    save_model(out / "model", net.cpu(), model_config, extra, overwrite=True)
    summary = {
        "variant": config.variant,
        "best_val_pearson_binwise": best_score,
        "global_step": int(trainer.global_step),
        "epochs_completed": int(trainer.current_epoch),
        "wall_seconds": round(wall_s, 1),
        "n_train_genes": len(samples["train"]),
        "n_val_genes": len(samples["val"]),
        "interrupted": bool(trainer.interrupted),
        "versions": versions(),
    }
    write_config_json(summary, out / "train_summary.json")
