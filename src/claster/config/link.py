"""Configuration of ``claster abc``: the Activity-by-Contact score (Fulco et al. 2019, Nasser et al. 2021).

The defaults are those of the ABC pipeline (broadinstitute/ABC-Enhancer-Gene-Prediction, v1.x
``config.yaml`` and ``predict.py``): a 5 Mbp candidate window, power law
``exp(scale - gamma * ln(d + 1))`` with ``d`` clipped below at 5 kbp, a pseudocount equal to the
power law at 5 kbp, self-promoters set to score 1, the diagonal bin replaced by its larger neighbour.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from claster.config._base import StrictModel

__all__ = ["AbcConfig", "ABC_HIC_GAMMA", "ABC_HIC_SCALE", "ABC_GAMMA_REFERENCE"]

#: The ABC pipeline's default power-law exponent and scale (fitted on K562 Hi-C at 5 kbp).
ABC_HIC_GAMMA = 1.024238616787792
ABC_HIC_SCALE = 5.9594510043736655
#: Reference exponent contacts are rescaled to (``--scale_hic_using_powerlaw``).
ABC_GAMMA_REFERENCE = 0.87


class AbcConfig(StrictModel):
    """Options of the ABC score. Distances and lengths in bp."""

    max_distance_bp: int = Field(
        5_000_000, gt=0,
        description="Candidate elements of a gene: element midpoint within this distance of its TSS (bp). "
        "The ABC denominator sums over all of them.",
    )
    activity: Literal["sum", "mean"] = Field(
        "sum",
        description="Signal of a track over an element: 'sum' over its bases (signal x bp, like a read "
        "count, the ABC pipeline's choice) or 'mean' per base.",
    )
    accessibility_track: str | None = Field(
        None, description="Store track used as accessibility. [default: the first of ATAC, DNase, DHS present]"
    )
    acetylation_track: str = Field("H3K27ac", description="Store track used as H3K27ac.")
    include_promoters: bool = Field(
        True,
        description="Add a TSS +-250 bp promoter element for every gene whose TSS no element overlaps, as "
        "the ABC pipeline adds its TSS include-list; they enter every denominator.",
    )
    promoter_half_bp: int = Field(250, ge=0, description="Half-width of a promoter element around a TSS (bp).")
    tss_slop_bp: int = Field(
        500, ge=0,
        description="A promoter-class element whose span extended by this overlaps the target TSS is the "
        "gene's self-promoter (bp).",
    )
    self_promoter_score_one: bool = Field(
        True, description="Set the ABC score of a gene's self-promoter to 1, as the ABC pipeline does."
    )
    fit_powerlaw: bool = Field(
        True,
        description="Fit gamma and scale to the map (mean contact per distance over 5 kbp .. 1 Mbp, a "
        "log-log line, as compute_powerlaw_fit_from_hic.py does); false uses hic_gamma and hic_scale.",
    )
    hic_gamma: float = Field(ABC_HIC_GAMMA, gt=0, description="Power-law exponent when not fitted.")
    hic_scale: float = Field(ABC_HIC_SCALE, gt=0, description="Power-law scale (natural log) when not fitted.")
    powerlaw_min_bp: int = Field(5_000, gt=0, description="The power law is flat below this distance (bp).")
    fit_max_bp: int = Field(1_000_000, gt=0, description="Longest distance used by the power-law fit (bp).")
    scale_to_reference: bool = Field(
        True,
        description="Rescale contacts by powerlaw_reference(d) / powerlaw(d) (ABC's "
        "--scale_hic_using_powerlaw, reference gamma 0.87).",
    )
    gamma_reference: float = Field(ABC_GAMMA_REFERENCE, gt=0, description="Reference power-law exponent.")
    pseudocount_distance_bp: int = Field(
        5_000, gt=0,
        description="Pseudocount added to every contact: min(power law at the pair's distance, power law "
        "at this distance) (bp).",
    )
    tss_hic_contribution: float = Field(
        100.0, ge=0,
        description="Element and TSS in the same bin: contact = this percentage of the larger neighbouring "
        "bin's contact (ABC's diagonal correction).",
    )
