"""Configuration of ``claster demo`` (sizes chosen to finish in under 20 minutes on 2 CPU cores)."""

from __future__ import annotations

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
    lr: float = Field(default=5e-4, description="Learning rate of the short CPU recipe.")
    warmup_steps: int = Field(default=100, description="Warm-up steps of the short CPU recipe.")
    batch_size: int = Field(default=32, description="Batch size of the short CPU recipe.")
    attribution_samples: int = Field(default=4, description="Test genes attributed.")
    attribution_bins: str = Field(default="180:221:5", description="Output bins attributed (model indices).")
    attribution_steps: int = Field(default=16, description="IG steps in the demo (SPEC §8 uses 64).")
    threads: int = Field(default=2, description="CPU threads for torch.")
