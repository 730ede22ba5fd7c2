"""Configuration of ``claster attribute``: integrated gradients and the aggregated maps (SPEC §8)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from claster.config._base import StrictModel
from claster.errors import InputError
from claster.units import TARGET_BINS

__all__ = ["AttributionConfig", "IG_METHODS", "parse_output_bins"]

#: Integral approximations offered by captum (``captum.attr._utils.approximation_methods``).
IG_METHODS = ("gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid")

_RANGE = re.compile(r"^\s*(-?\d+)?\s*:\s*(-?\d+)?\s*(?::\s*(\d+)\s*)?$")


def parse_output_bins(spec: str | list[int] | None, n_out: int = TARGET_BINS) -> list[int]:
    """Resolve an output-bin selection to sorted, unique model output indices.

    ``spec`` is ``None`` or ``"all"`` (every bin), a list of indices, or a half-open range
    ``"start:stop[:step]"`` of indices. Indices are model output columns: ``0`` is −200 kbp,
    ``n_out // 2`` (200) the TSS and ``n_out - 1`` (400) +200 kbp (SPEC §2, bin k = index − 200).
    Negative values count from the end, as in Python. Raises :class:`InputError` when a bin lies
    outside ``[0, n_out)`` or the selection is empty.
    """
    if spec is None or (isinstance(spec, str) and spec.strip().lower() == "all"):
        return list(range(n_out))
    if isinstance(spec, str):
        m = _RANGE.match(spec)
        if m is None:
            raise InputError(
                f"output bins {spec!r} are not 'all', a list of indices or a range 'start:stop[:step]'; "
                "e.g. '190:211' for the 21 bins around the TSS"
            )
        start, stop, step = (int(g) if g is not None else None for g in m.groups())
        if step == 0:
            raise InputError(f"output bins {spec!r}: the step must be positive; e.g. '0:401:10'")
        bins = list(range(n_out))[slice(start, stop, step)]
    else:
        bins = [int(b) for b in spec]
        bad = [b for b in bins if not -n_out <= b < n_out]
        if bad:
            raise InputError(
                f"{len(bad)} output bin(s) outside 0..{n_out - 1}: {bad[:5]}; output bins are model "
                f"output indices (index {n_out // 2} is the TSS)"
            )
        bins = [b % n_out for b in bins]
    bins = sorted(set(bins))
    if not bins:
        raise InputError(f"output bins {spec!r} select no bin of 0..{n_out - 1}; widen the selection")
    return bins


class AttributionConfig(StrictModel):
    """Everything ``claster attribute`` needs besides the run and the store (SPEC §8).

    YAML form, e.g.::

        split: test
        max_samples: 200
        output_bins: all        # or [195, 200, 205] or "150:251:5"
        n_steps: 64
        jitter: seeded
        seed: 0
    """

    # --- samples -------------------------------------------------------------------------------
    split: Literal["train", "val", "test"] = Field(
        default="test", description="Split whose genes are attributed (SPEC §1: test = chr4)."
    )
    genes: list[str] | None = Field(
        default=None, description="Attribute only these gene ids or names (default: every usable gene of the split)."
    )
    max_samples: int | None = Field(
        default=None, ge=1, description="Attribute at most this many genes (a seeded random subset)."
    )
    n_baseline: int = Field(
        default=256, ge=1,
        description="Number of training windows whose mean, per modality and in the standardised input "
        "space, is the IG baseline (SPEC §8: 256).",
    )
    # --- integrated gradients --------------------------------------------------------------------
    n_steps: int = Field(default=64, ge=2, description="Integration steps of IG (SPEC §8: 64).")
    method: Literal["gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid"] = Field(
        default="gausslegendre", description="Integral approximation (captum's names; SPEC §8: Gauss–Legendre)."
    )
    engine: Literal["batched", "captum"] = Field(
        default="batched",
        description="'batched': one forward per batch of interpolated inputs and one backward per output "
        "bin (same result as captum, faster for many bins); 'captum': captum's IntegratedGradients, "
        "one forward and backward per output bin.",
    )
    output_bins: Literal["all"] | list[int] | str = Field(
        default="all",
        description="Output bins to attribute, each separately (SPEC §8): 'all' (401), a list of model "
        "output indices (0 = -200 kbp, 200 = TSS, 400 = +200 kbp) or a range 'start:stop[:step]'.",
    )
    batch_size: int = Field(
        default=64, ge=1,
        description="Interpolated inputs per forward pass (samples x steps); halved automatically on "
        "out-of-memory errors.",
    )
    grad_chunk: int = Field(
        default=1, ge=1,
        description="Output bins whose backward passes are batched together (torch vmap) in the "
        "'batched' engine; more uses more memory.",
    )
    seed: int = Field(default=0, description="Seed of the sample subset and of the map jitter.")
    # --- landscape locality map ------------------------------------------------------------------
    jitter_bins: int = Field(
        default=10, ge=0,
        description="Jitter, in 100 bp bins, added to the roll of each output bin (SPEC §8: up to ±10).",
    )
    jitter: Literal["seeded", "average", "none"] = Field(
        default="seeded",
        description="'seeded': one random jitter per output bin from `seed` (the paper, repeatable); "
        "'average': the average over every jitter -jitter_bins..jitter_bins (deterministic smoothing); "
        "'none': no jitter.",
    )
    wrap: bool = Field(
        default=True,
        description="Roll circularly as the paper's np.roll does; false shifts in missing values and "
        "averages each distance over the output bins that cover it.",
    )
    # --- structure maps ----------------------------------------------------------------------------
    structure_sigma: float = Field(
        default=3.0, ge=0, description="Gaussian filter sigma, in pixels, of the structure maps (SPEC §8: 3)."
    )
    structure_crop: int = Field(
        default=177, ge=0, description="Columns cropped at each side of the rotated structure map (SPEC §8: 177)."
    )
    square_sigma: float = Field(
        default=0.0, ge=0, description="Gaussian filter sigma, in pixels, of square and promoter-capture maps."
    )
    # --- genome-browser tracks ---------------------------------------------------------------------
    bigwig_genes: list[str] = Field(
        default=[], description="Genes (ids or names) whose attribution tracks are written as bigWig files."
    )
    bigwig_reduce: Literal["sum", "mean_abs"] = Field(
        default="sum",
        description="How a gene's per-output-bin attributions become one track: 'sum' over the output "
        "bins (signed; the IG of the summed profile) or 'mean_abs' (mean of |attribution|).",
    )

    @field_validator("output_bins")
    @classmethod
    def _check_bins(cls, v: str | list[int]) -> str | list[int]:
        try:
            parse_output_bins(v)
        except InputError as e:
            raise ValueError(str(e)) from None
        return v

    def resolve_output_bins(self, n_out: int = TARGET_BINS) -> list[int]:
        """The selected output bins as sorted model output indices (see :func:`parse_output_bins`)."""
        return parse_output_bins(self.output_bins, n_out)
