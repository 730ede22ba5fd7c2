"""The training plan: loss, optimiser, warm-up and validation metric around a plain ``ClasterNet``.

The network itself (``claster.model``) never imports Lightning, so prediction, perturbation and
attribution run without it. Batches carry only sample indices and orientation flags; the plan cuts
the windows from device-resident tensors (:class:`claster.data.genome.GenomeWindows`).
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
import torchmetrics

from claster.data.transforms import normalisers_from_dict

__all__ = ["TrainingPlan", "warmup_factor", "split_weight_decay"]


def warmup_factor(step: int, warmup_steps: int) -> float:
    """Learning-rate multiplier at optimiser ``step``: linear from 0 over ``warmup_steps``, then 1 (SPEC §4)."""
    if warmup_steps <= 0:
        return 1.0
    return min(1.0, step / warmup_steps)


def split_weight_decay(model: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """AdamW parameter groups: no weight decay on the learnable Swish beta (SPEC §4), decay elsewhere."""
    from claster.model.blocks import Swish

    no_decay = {id(p) for m in model.modules() if isinstance(m, Swish) for p in m.parameters(recurse=False)}
    decay = [p for p in model.parameters() if p.requires_grad and id(p) not in no_decay]
    nodecay = [p for p in model.parameters() if p.requires_grad and id(p) in no_decay]
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": nodecay, "weight_decay": 0.0},
    ]


class TrainingPlan(L.LightningModule):
    """Wraps a :class:`claster.model.ClasterNet` with the recipe of SPEC §4.

    Parameters
    ----------
    model_config
        ``ModelConfig`` as a JSON dict (saved in the checkpoint's hyper-parameters).
    train_config
        ``TrainConfig`` as a JSON dict.
    normalisation
        ``{"landscape": ScalarStandardizer dict, "structure": ... or None, "target": PerBinStandardizer dict,
        "transforms": {"landscape": name, "target": name}}`` fitted on the training split only (the
        transforms are applied before standardisation; absent = none, SPEC §4).
    """

    def __init__(self, model_config: dict, train_config: dict, normalisation: dict) -> None:
        super().__init__()
        self.save_hyperparameters()
        from claster.config.model import ModelConfig
        from claster.model import ClasterNet

        self.net = ClasterNet(ModelConfig.model_validate(model_config))
        self.train_config = train_config
        norms = normalisers_from_dict(normalisation)
        self.norm_landscape, self.norm_structure, self.norm_target = (
            norms["landscape"], norms["structure"], norms["target"])
        self.shift_steps = int(train_config.get("shift_bp") or 0) // 100  # shift augmentation, 100 bp steps
        self.loss_fn = torch.nn.SmoothL1Loss(beta=1.0)
        self.val_pearson = torchmetrics.PearsonCorrCoef()
        self.windows: dict[str, Any] = {}  # split -> GenomeWindows, attached by the data module

    # ---------------------------------------------------------------- helpers
    def _windows(self, split: str):
        w = self.windows[split]
        if w.device != self.device:
            w.to(self.device)
        return w

    def _inputs(
        self, split: str, idx: torch.Tensor, rev: torch.Tensor, shift: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        w = self._windows(split)
        x = self.norm_landscape.transform(w.landscape(idx, rev, shift))
        s = w.structure(idx, rev)
        if s is not None and self.norm_structure is not None:
            s = self.norm_structure.transform(s)
        return x, s

    # ---------------------------------------------------------------- steps
    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        idx, rev = batch
        shift = None
        if self.shift_steps:  # one uniform centre offset per window, in 100 bp steps (CPU RNG: seeded)
            shift = torch.randint(-self.shift_steps, self.shift_steps + 1, (len(idx),)).to(idx.device) * 100
        x, s = self._inputs("train", idx, rev, shift)
        y = self.norm_target.transform(self._windows("train").target(idx, rev, shift))
        pred = self.net(x, s)
        loss = self.loss_fn(pred, y)
        self.log("train/loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=len(idx))
        return loss

    def validation_step(self, batch, batch_idx: int) -> None:
        idx, rev = batch
        x, s = self._inputs("val", idx, rev)
        y_raw = self._windows("val").target(idx, rev)
        pred_std = self.net(x, s)
        loss = self.loss_fn(pred_std, self.norm_target.transform(y_raw))
        pred = torch.relu(self.norm_target.inverse_transform(pred_std.float()))
        self.val_pearson.update(torch.log2(pred.reshape(-1) + 1), torch.log2(y_raw.reshape(-1).float() + 1))
        self.log("val/loss", loss, on_epoch=True, sync_dist=True, batch_size=len(idx))

    def on_validation_epoch_end(self) -> None:
        self.log("val/pearson_binwise", self.val_pearson.compute(), prog_bar=True)
        self.val_pearson.reset()

    # ---------------------------------------------------------------- optimiser
    def configure_optimizers(self):
        cfg = self.train_config
        opt = torch.optim.AdamW(
            split_weight_decay(self.net, cfg["weight_decay"]), lr=cfg["lr"], betas=tuple(cfg["betas"])
        )
        warm = int(cfg["warmup_steps"])
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: warmup_factor(step, warm))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
