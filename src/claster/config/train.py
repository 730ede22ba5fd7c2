"""Configuration of ``claster train`` (SPEC §4), ``claster predict`` and ``claster evaluate``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from claster.config._base import StrictModel

__all__ = ["TrainConfig", "VARIANTS", "STRUCTURE_OF_VARIANT"]

VARIANTS = ("landscape", "landscape_attention", "microc_rotated", "microc_square", "promchic")

# Which contact modality each variant reads besides the landscape.
STRUCTURE_OF_VARIANT: dict[str, str | None] = {
    "landscape": None,
    "landscape_attention": None,
    "microc_rotated": "rotated",
    "microc_square": "square",
    "promchic": "pchic",
}


class TrainConfig(StrictModel):
    """The training recipe. Defaults are the paper's (SPEC §4) unless noted."""

    store: str = Field(description="Store directory written by `claster prepare`.")
    variant: Literal["landscape", "landscape_attention", "microc_rotated", "microc_square", "promchic"] = Field(
        default="landscape", description="Network variant (SPEC §3)."
    )
    out: str = Field(description="Run directory (checkpoints, logs, the exported best model).")
    context_bins: int = Field(
        default=10_001, description="Landscape window length in 100 bp bins (odd; 201 = the 20 kbp ablation)."
    )
    output_bins: int = Field(
        default=401, description="Target length in 1 kbp bins centred on the TSS (odd; 19 = +-9 kbp ablation)."
    )
    landscape_layers: tuple[int, ...] | None = Field(
        default=None,
        description="Residual blocks per stage of the landscape branch (paper: (4, 4)); default (1, 1) when "
        "context_bins <= 2001, as in the paper's 20 kbp ablation.",
    )
    fusion_blocks: int | None = Field(
        default=None,
        description="Residual MLP blocks in the fusion (paper: 2); default 1 when context_bins <= 2001.",
    )
    epochs: int = Field(default=120, ge=1, description="Maximum number of epochs (SPEC §4: 120).")
    max_steps: int | None = Field(default=None, ge=1, description="Stop after this many optimiser steps.")
    max_minutes: float | None = Field(default=None, gt=0, description="Stop after this many minutes of training.")
    batch_size: int = Field(default=64, ge=1, description="Samples per optimiser step (SPEC §4: 64).")
    lr: float = Field(default=1e-4, gt=0, description="AdamW learning rate after warm-up.")
    weight_decay: float = Field(default=1e-4, ge=0, description="AdamW weight decay (none on Swish beta).")
    betas: tuple[float, float] = Field(default=(0.9, 0.999), description="AdamW betas.")
    grad_clip: float = Field(default=1.0, gt=0, description="Gradient clipping, max global norm.")
    warmup_steps: int = Field(default=2_000, ge=0, description="Linear warm-up from 0, in optimiser steps.")
    augment_rev: bool = Field(default=True, description="Add the reversed copy of every training sample.")
    strand_oriented: bool = Field(
        default=False,
        description="Present minus-strand genes reversed so every window reads 5'->3' (SPEC §10 option); "
        "the default keeps genomic orientation like the paper.",
    )
    val_every_n_epochs: int = Field(default=1, ge=1, description="Validate every N epochs.")
    val_check_steps: int | None = Field(
        default=None, ge=1, description="Validate every N training steps instead (useful for short runs)."
    )
    early_stopping_patience: int | None = Field(
        default=None, ge=1, description="Stop when the validation score has not improved for N validations."
    )
    checkpoint_every_steps: int = Field(
        default=200, ge=1, description="Write the resumable last checkpoint every N steps."
    )
    max_train_samples: int | None = Field(
        default=None, ge=1, description="Use at most N training genes (a seeded subset), for quick runs."
    )
    shuffle_targets: bool = Field(
        default=False, description="Baseline control: permute targets across training genes (seeded)."
    )
    seed: int = Field(default=0, description="Seed of every random choice (weights, order, subsets).")
    accelerator: str = Field(default="auto", description="Lightning accelerator: auto, cpu, gpu.")
    devices: str = Field(default="auto", description="Lightning devices: auto, N, or a list like 0,1.")
    strategy: str = Field(default="auto", description="Lightning strategy: auto, ddp, ...")
    num_nodes: int = Field(default=1, ge=1, description="Number of nodes for multi-node DDP.")
    precision: str = Field(
        default="32-true", description="Lightning precision: 32-true, bf16-mixed, 16-mixed."
    )
    threads: int | None = Field(default=None, ge=1, description="CPU threads for torch (default: torch's).")
