"""Parameters of the simulated genome, and the two presets (``small``, ``full``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["SimParams", "PRESETS", "preset_params"]

Preset = Literal["small", "full"]


@dataclass(frozen=True)
class SimParams:
    """Every number of the generative model. Lengths in bp; signals in arbitrary track units (~0-100).

    The transcription rate of a non-silent gene ``g`` is
    ``rate_g = promoter_strength_g * (baseline + gain * sum_e activity_e * contact(e, g))``
    over the enhancers ``e`` whose midpoint lies within ``regulatory_range_bp`` of the TSS; silent genes
    have rate 0. ``contact(d, same_domain) = (1 + d / contact_d0_bp) ** -1 * (1 if same_domain else
    contact_between_domains)``. The effect of silencing ``e`` on ``g`` is ``rate_without_e / rate - 1``.
    """

    chrom_sizes: dict[str, int]
    # genes
    genes_per_mbp: float = 15.0
    gene_length_median_bp: float = 15_000.0
    gene_length_sigma: float = 0.9  # lognormal sigma (natural log)
    gene_length_min_bp: int = 2_000
    gene_length_max_bp: int = 150_000
    chrom_end_margin_bp: int = 20_000
    lncrna_fraction: float = 0.06
    silent_fraction: float = 0.2
    promoter_strength_sigma: float = 0.7  # lognormal, median 1
    # domains
    domain_min_bp: int = 300_000
    domain_max_bp: int = 900_000
    # enhancers
    enhancers_per_gene: tuple[float, float, float] = (0.4, 0.35, 0.25)  # P(1), P(2), P(3)
    enhancer_offset_median_bp: float = 25_000.0
    enhancer_offset_sigma: float = 1.0
    enhancer_offset_min_bp: int = 3_000
    enhancer_offset_max_bp: int = 250_000
    enhancer_width_bp: tuple[int, int] = (600, 2_000)
    inactive_enhancer_fraction: float = 0.15
    activity_sigma: float = 0.6  # lognormal, median 1, active enhancers
    inactive_activity: tuple[float, float] = (0.01, 0.08)
    # transcription
    baseline: float = 1.0
    gain: float = 4.0
    contact_d0_bp: float = 5_000.0
    contact_between_domains: float = 0.3
    regulatory_range_bp: int = 200_000
    regulated_threshold: float = 0.05  # |effect| >= this -> regulated
    # signals (per 20 bp bin)
    signal_bin_bp: int = 20
    mark_noise_shape: float = 6.0  # Gamma shape of per-bin multiplicative mark noise (CV = shape**-0.5)
    gene_mark_noise_sigma: float = 0.15  # lognormal per-gene jitter of promoter mark heights
    background: dict[str, float] = field(
        default_factory=lambda: {"ATAC": 0.3, "H3K4me3": 0.3, "H3K27ac": 0.5, "H3K27me3": 3.0, "EUseq": 0.05}
    )
    k4me3_height: float = 8.0  # x rate**0.6
    k4me3_extension_bp: tuple[int, int] = (2_000, 4_000)  # plateau into the gene body
    promoter_atac_height: float = 8.0
    promoter_k27ac_height: float = 8.0
    enhancer_atac_height: float = 10.0  # x activity**0.7
    enhancer_k27ac_height: float = 25.0  # x activity**0.5
    k27me3_height: tuple[float, float] = (8.0, 20.0)
    # transcription and Polycomb exclude each other: the broad H3K27me3 background is depleted over
    # transcribed gene bodies (TSS to gene end + read-through) to this fraction
    k27me3_body_depletion: float = 0.25
    k27me3_flank_bp: tuple[int, int] = (5_000, 30_000)
    eu_pause_height: float = 4.0  # x rate
    eu_body_height: float = 0.8  # x rate
    eu_body_decay_bp: float = 30_000.0
    eu_body_floor: float = 0.25
    eu_readthrough_bp: float = 3_000.0
    eu_counts_per_unit: float = 5.0  # Poisson noise: counts = Poisson(signal * this) / this
    max_signal: float = 1_000.0
    # gaps (no data in every bigWig)
    gaps_per_chrom: int = 2
    gap_length_bp: tuple[int, int] = (2_000, 8_000)
    # contacts
    contact_resolutions_bp: tuple[int, ...] = (1_600, 5_000)
    contact_max_separation_bp: int = 1_050_000
    contact_depth: float = 50.0  # expected count at separation 0 for a 1.6 kbp bin (scales with bin area)
    contact_bin_bias_sigma: float = 0.2  # lognormal per-bin visibility
    contact_noise_shape: float = 5.0  # Gamma shape of per-pixel noise

    def to_json(self) -> dict[str, Any]:
        """All parameters as JSON-ready values (tuples become lists)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}


PRESETS: dict[str, dict[str, int]] = {
    "small": {
        "chr1": 11_000_000,
        "chr2": 9_000_000,
        "chr3": 8_000_000,
        "chr4": 8_000_000,
        "chr17": 6_000_000,
        "chrX": 6_000_000,
    },
    "full": {
        **{f"chr{i}": 40_000_000 - 1_000_000 * (i - 1) for i in range(1, 20)},
        "chrX": 30_000_000,
    },
}


def preset_params(preset: str) -> SimParams:
    """The :class:`SimParams` of a preset name (``small`` or ``full``)."""
    return SimParams(chrom_sizes=dict(PRESETS[preset]))
