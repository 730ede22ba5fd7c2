"""Configuration of ``claster demo`` (sizes chosen to finish in under 20 minutes on 2 CPU cores)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from claster.config._base import StrictModel

__all__ = ["DemoConfig"]


class DemoConfig(StrictModel):
    """Sizes of the demo (defaults: under 20 minutes on 2 CPU cores)."""

    seed: int = Field(default=0, description="Seed of the simulated genome and of training.")
    preset: str = Field(default="small", description="Simulated genome preset (small | full).")
    variants: tuple[str, ...] = Field(default=("landscape", "microc_rotated"), description="Variants trained.")
    train_minutes: dict[str, float] = Field(
        default={"landscape": 6.0, "microc_rotated": 4.5}, description="Training budget per variant, minutes."
    )
    recipe: Literal["paper", "cpu"] = Field(
        default="cpu", description="Training recipe (TrainConfig.recipe): cpu = the short-CPU recipe of docs/results.md."
    )
    lr: float | None = Field(default=None, gt=0, description="Learning rate override (default: the recipe's).")
    warmup_steps: int | None = Field(default=None, ge=0, description="Warm-up steps override (default: the recipe's).")
    batch_size: int | None = Field(default=None, ge=1, description="Batch size override (default: the recipe's).")
    attribution_samples: int = Field(default=4, description="Test genes attributed.")
    attribution_bins: str = Field(default="180:221:5", description="Output bins attributed (model indices).")
    attribution_steps: int = Field(default=16, description="IG steps in the demo (SPEC §8 uses 64).")
    threads: int = Field(default=2, description="CPU threads for torch.")
