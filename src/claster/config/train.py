"""Configuration of ``claster train`` (SPEC §4), ``claster predict`` and ``claster evaluate``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from claster.config._base import StrictModel

__all__ = ["TrainConfig", "VARIANTS", "STRUCTURE_OF_VARIANT", "RECIPES", "RECIPE_KEYS"]

VARIANTS = ("landscape", "landscape_attention", "microc_rotated", "microc_square", "promchic")

# Which contact modality each variant reads besides the landscape.
STRUCTURE_OF_VARIANT: dict[str, str | None] = {
    "landscape": None,
    "landscape_attention": None,
    "microc_rotated": "rotated",
    "microc_square": "square",
    "promchic": "pchic",
}


# The named recipes. Every key left unset (None) in a TrainConfig takes its recipe's value; a value
# given explicitly (flag, YAML, keyword) always wins. "paper" is SPEC §4 exactly (with the SPEC §3
# network); "cpu" is the recipe chosen on the development worlds for short CPU runs (docs/results.md,
# "Training recipe"), i.e. a few hundred genes and minutes of training.
RECIPES: dict[str, dict[str, Any]] = {
    "paper": {
        "epochs": 120, "batch_size": 64, "lr": 1e-4, "weight_decay": 1e-4, "betas": (0.9, 0.999),
        "grad_clip": 1.0, "warmup_steps": 2_000, "augment_rev": True,
        "input_transform": "none", "target_transform": "none", "shift_bp": 0,
        "fc_dropout": 0.0, "fc_width": 512, "early_stopping_patience": None, "head": "dense",
    },
    "cpu": {  # chosen by validation Pearson on the development worlds (docs/results.md)
        "epochs": 120, "batch_size": 32, "lr": 5e-4, "weight_decay": 1e-4, "betas": (0.9, 0.999),
        "grad_clip": 1.0, "warmup_steps": 100, "augment_rev": True,
        "input_transform": "log1p", "target_transform": "log1p", "shift_bp": 0,
        "fc_dropout": 0.0, "fc_width": 512, "early_stopping_patience": 20, "head": "conv",
    },
}
RECIPE_KEYS = tuple(RECIPES["paper"])
DEFAULT_RECIPE = "cpu"


class TrainConfig(StrictModel):
    """The training recipe: ``recipe`` names a set of defaults (``RECIPES``), explicit values override it.

    ``recipe="paper"`` is SPEC §4 exactly; the default ``"cpu"`` is the recipe that generalised best in
    short CPU runs on the development worlds (docs/results.md).
    """

    store: str = Field(description="Store directory written by `claster prepare`.")
    variant: Literal["landscape", "landscape_attention", "microc_rotated", "microc_square", "promchic"] = Field(
        default="landscape", description="Network variant (SPEC §3)."
    )
    out: str = Field(description="Run directory (checkpoints, logs, the exported best model).")
    recipe: Literal["paper", "cpu"] = Field(
        default=DEFAULT_RECIPE,
        description="Named defaults for every recipe key left unset: 'paper' = SPEC §4 exactly (lr 1e-4, "
        "2,000 warm-up steps, batch 64, raw inputs); 'cpu' = the short-CPU recipe of docs/results.md (lr 5e-4, 100 warm-up steps, "
        "batch 32, log1p inputs and targets, the convolutional profile head, early stopping after 20 validations).",
    )
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
    epochs: int | None = Field(default=None, ge=1, description="Maximum number of epochs (recipe; SPEC §4: 120).")
    max_steps: int | None = Field(default=None, ge=1, description="Stop after this many optimiser steps.")
    max_minutes: float | None = Field(default=None, gt=0, description="Stop after this many minutes of training.")
    batch_size: int | None = Field(
        default=None, ge=1, description="Samples per optimiser step (recipe; paper 64, cpu 32)."
    )
    lr: float | None = Field(default=None, gt=0, description="AdamW learning rate after warm-up (recipe; paper 1e-4).")
    weight_decay: float | None = Field(
        default=None, ge=0, description="AdamW weight decay, none on Swish beta (recipe; paper 1e-4)."
    )
    betas: tuple[float, float] | None = Field(default=None, description="AdamW betas (recipe; paper (0.9, 0.999)).")
    grad_clip: float | None = Field(default=None, gt=0, description="Gradient clipping, max global norm (recipe; paper 1.0).")
    warmup_steps: int | None = Field(
        default=None, ge=0, description="Linear warm-up from 0, in optimiser steps (recipe; paper 2,000, cpu 100)."
    )
    augment_rev: bool | None = Field(
        default=None, description="Add the reversed copy of every training sample (recipe; paper true)."
    )
    input_transform: Literal["none", "log1p"] | None = Field(
        default=None,
        description="Element-wise transform of the landscape before its scalar standardisation, saved with "
        "the model and applied by predict/evaluate/perturb/attribute (recipe; paper none).",
    )
    target_transform: Literal["none", "log1p"] | None = Field(
        default=None,
        description="Transform of the target before its per-bin standardisation; the loss is on that scale "
        "and predictions are inverse-transformed to track units (recipe; paper none).",
    )
    shift_bp: int | None = Field(
        default=None, ge=0,
        description="Shift augmentation: each training window's centre moves by a uniform random offset in "
        "[-shift_bp, +shift_bp] bp, in 100 bp steps; landscape and target are cut at the shifted centre "
        "(recipe; paper 0 = off; always 0 for contact variants, whose maps are not shifted). Validation and "
        "prediction are never shifted.",
    )
    fc_dropout: float | None = Field(
        default=None, ge=0, lt=1,
        description="Dropout before each branch's flatten->Linear layer (recipe; paper 0).",
    )
    fc_width: int | None = Field(
        default=None, ge=1, description="Output width of each branch's flatten->Linear layer (recipe; paper 512)."
    )
    head: Literal["dense", "conv"] | None = Field(
        default=None,
        description="'dense' = the paper's head only; 'conv' adds a translation-equivariant convolutional "
        "profile head on the landscape (claster.config.model.ConvHeadConfig) to it (recipe; paper dense, cpu conv).",
    )
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
        default=None, ge=0,
        description="Stop when the validation score has not improved for N validations; 0 = never "
        "(recipe; paper never). The best checkpoint is exported either way.",
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

    @model_validator(mode="before")
    @classmethod
    def _fill_from_recipe(cls, data: Any) -> Any:
        """Fill every recipe key left unset (absent or None) from the named recipe."""
        if not isinstance(data, dict):
            return data
        name = data.get("recipe") or DEFAULT_RECIPE
        recipe = RECIPES.get(name)
        if recipe is None:
            return data  # the Literal check names the valid recipes
        out = dict(data)
        out["recipe"] = name
        contacts = STRUCTURE_OF_VARIANT.get(out.get("variant") or "landscape") is not None
        for key, value in recipe.items():
            if out.get(key) is None:
                # contact maps are not shifted, so a recipe's shift applies to landscape-only variants
                out[key] = 0 if key == "shift_bp" and contacts else value
        return out

    @model_validator(mode="after")
    def _check_shift(self) -> TrainConfig:
        if self.shift_bp and STRUCTURE_OF_VARIANT[self.variant] is not None:
            raise ValueError(
                f"shift_bp={self.shift_bp} with variant {self.variant}: contact maps are not shifted, so shift "
                "augmentation is for landscape-only variants; set shift_bp to 0"
            )
        if self.shift_bp and self.shift_bp % 100:
            raise ValueError(f"shift_bp={self.shift_bp} must be a multiple of 100 bp (one landscape bin)")
        return self

    def recipe_differences(self) -> dict[str, tuple[Any, Any]]:
        """Recipe keys whose value differs from ``recipe``'s: key -> (value, recipe's value)."""
        ref = RECIPES[self.recipe]
        return {k: (getattr(self, k), ref[k]) for k in RECIPE_KEYS
                if getattr(self, k) != (tuple(ref[k]) if isinstance(ref[k], tuple) else ref[k])}
