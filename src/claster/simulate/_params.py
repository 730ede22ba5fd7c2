"""Parameters of the simulated genome, the two presets (``small``, ``full``), and parameter overrides.

Every field of :class:`SimParams` can be set from the command line (``--set KEY=VALUE``, the value read
as YAML) or from a YAML mapping (``--params FILE.yaml``); :func:`apply_overrides` validates the types
with pydantic and the ranges with :meth:`SimParams.__post_init__`.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from claster.errors import ConfigError, InputError

__all__ = [
    "SimParams", "PRESETS", "preset_params", "apply_overrides", "parse_set_options", "read_params_file",
]

Preset = Literal["small", "full"]


@dataclass(frozen=True)
class SimParams:
    """Every number of the generative model. Lengths in bp; signals in arbitrary track units (~0-100).

    The transcription rate of a non-silent gene ``g`` is
    ``rate_g = promoter_strength_g * (baseline + gain * sum_e activity_e * contact(e, g))``
    over the enhancers ``e`` whose midpoint lies within ``regulatory_range_bp`` of the TSS; silent genes
    have rate 0, bivalent genes ``bivalent_rate_factor`` times the formula.
    ``contact(d, same_domain) = (1 + d / contact_d0_bp) ** -contact_decay_exponent * (1 if same_domain
    else contact_between_domains)`` plus, for an enhancer-promoter loop with anchors ``(a, b)`` and
    strength ``s``, ``s * K(x - a) * K(y - b)`` (``K`` a Gaussian of sd ``loop_width_bp``, peak 1; both
    orders of the anchors). The effect of silencing ``e`` on ``g`` is ``rate_without_e / rate - 1``.

    The defaults are the ``small``/``full`` presets' world; every mechanism added after it (loops,
    head-to-head genes, bivalent genes, unmarked silent genes, per-gene pausing, the switch of the
    Polycomb exclusion rule, the contact decay exponent) defaults to "off" and draws no random numbers
    when off, so the default world is unchanged bit for bit.
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
    # a silent gene is Polycomb-silenced (broad H3K27me3 over it) with this probability; the others are
    # silent without any mark
    silent_k27me3_fraction: float = 1.0
    # bivalent genes (drawn among the non-silent ones): H3K27me3 over the gene plus a fixed, rate-independent
    # H3K4me3 peak, and a rate of bivalent_rate_factor x the enhancer formula
    bivalent_fraction: float = 0.0
    bivalent_rate_factor: float = 0.05
    bivalent_k4me3_height: float = 3.0
    # P(a gene is placed as a divergent head-to-head pair: '-' gene, then a '+' gene starting this close)
    head_to_head_fraction: float = 0.0
    head_to_head_gap_bp: tuple[int, int] = (200, 1_000)  # distance between the two TSSs
    # domains
    domain_min_bp: int = 300_000
    domain_max_bp: int = 900_000
    # enhancers
    enhancers_per_gene: tuple[float, ...] = (0.4, 0.35, 0.25)  # P(1), P(2), P(3), ... (any length)
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
    contact_decay_exponent: float = 1.0
    contact_between_domains: float = 0.3  # boundary strength: 1 = no boundary, smaller = stronger
    # enhancer-promoter loops: an enhancer midpoint and a TSS loop_distance_bp apart get extra contact
    loops_per_mbp: float = 0.0
    loop_strength: tuple[float, float] = (0.03, 0.15)  # uniform, added contact frequency at the anchors
    loop_width_bp: float = 2_500.0  # Gaussian sd of the loop's footprint around each anchor
    loop_distance_bp: tuple[int, int] = (30_000, 200_000)
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
    # transcribed gene bodies (TSS to gene end + read-through) to this fraction; the rule is applied
    # only when k27me3_body_exclusion is true
    k27me3_body_exclusion: bool = True
    k27me3_body_depletion: float = 0.25
    k27me3_flank_bp: tuple[int, int] = (5_000, 30_000)
    eu_pause_height: float = 4.0  # x rate
    eu_pause_offset_bp: float = 60.0  # pausing peak centre downstream of the TSS
    eu_pause_sd_bp: float = 80.0
    eu_pause_sigma: float = 0.0  # lognormal per-gene jitter of the pausing peak (pausing index)
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

    def __post_init__(self) -> None:
        problems = _range_problems(self)
        if problems:
            raise ValueError("; ".join(problems))

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


def _range_problems(p: SimParams) -> list[str]:
    """Every out-of-range value of ``p``, as ``key: what is wrong`` strings (empty when valid)."""
    out: list[str] = []
    if not p.chrom_sizes:
        out.append("chrom_sizes: give at least one chromosome")
    for c, n in p.chrom_sizes.items():
        if n < 2 * p.chrom_end_margin_bp + 100_000:
            out.append(f"chrom_sizes: {c} ({n} bp) is shorter than 2 x chrom_end_margin_bp + 100 kbp")
    fractions = [
        "lncrna_fraction", "silent_fraction", "silent_k27me3_fraction", "bivalent_fraction",
        "head_to_head_fraction", "inactive_enhancer_fraction", "regulated_threshold", "eu_body_floor",
        "k27me3_body_depletion",
    ]
    for k in fractions:
        if not 0.0 <= getattr(p, k) <= 1.0:
            out.append(f"{k}: must lie in [0, 1], got {getattr(p, k)}")
    positive = [
        "genes_per_mbp", "gene_length_median_bp", "enhancer_offset_median_bp", "contact_d0_bp",
        "contact_decay_exponent", "loop_width_bp", "eu_body_decay_bp", "eu_readthrough_bp", "eu_pause_sd_bp",
        "eu_counts_per_unit", "mark_noise_shape", "contact_depth", "contact_noise_shape", "max_signal",
        "regulatory_range_bp", "signal_bin_bp", "contact_max_separation_bp", "bivalent_rate_factor",
    ]
    for k in positive:
        if not getattr(p, k) > 0:
            out.append(f"{k}: must be > 0, got {getattr(p, k)}")
    non_negative = [
        "gene_length_sigma", "promoter_strength_sigma", "enhancer_offset_sigma", "activity_sigma",
        "baseline", "gain", "gene_mark_noise_sigma", "contact_bin_bias_sigma", "loops_per_mbp",
        "gaps_per_chrom",
        "eu_pause_sigma", "eu_pause_height", "eu_body_height", "bivalent_k4me3_height", "chrom_end_margin_bp",
        "eu_pause_offset_bp",
    ]
    for k in non_negative:
        if not getattr(p, k) >= 0:
            out.append(f"{k}: must be >= 0, got {getattr(p, k)}")
    if not 0 < p.contact_between_domains <= 1:
        out.append(f"contact_between_domains: must lie in (0, 1], got {p.contact_between_domains}")
    pairs = [
        "enhancer_width_bp", "inactive_activity", "k4me3_extension_bp", "k27me3_height", "k27me3_flank_bp",
        "gap_length_bp", "head_to_head_gap_bp", "loop_strength", "loop_distance_bp",
    ]
    for k in pairs:
        lo, hi = getattr(p, k)
        if not 0 <= lo <= hi:
            out.append(f"{k}: needs 0 <= low <= high, got ({lo}, {hi})")
    for k in ("gene_length", "domain"):
        lo, hi = getattr(p, f"{k}_min_bp"), getattr(p, f"{k}_max_bp")
        if not 0 < lo <= hi:
            out.append(f"{k}_min_bp/{k}_max_bp: needs 0 < min <= max, got ({lo}, {hi})")
    if not 0 < p.enhancer_offset_min_bp <= p.enhancer_offset_max_bp:
        out.append("enhancer_offset_min_bp/enhancer_offset_max_bp: needs 0 < min <= max")
    probs = p.enhancers_per_gene
    if not probs or any(not x >= 0 for x in probs) or not math.isclose(sum(probs), 1.0, abs_tol=1e-6):
        out.append(f"enhancers_per_gene: P(1), P(2), ... must be >= 0 and sum to 1, got {list(probs)}")
    if p.enhancer_width_bp[0] < 2 * p.signal_bin_bp:
        out.append("enhancer_width_bp: the narrowest enhancer must span at least two signal bins")
    if any(r <= 0 for r in p.contact_resolutions_bp) or not p.contact_resolutions_bp:
        out.append("contact_resolutions_bp: give positive resolutions")
    missing = {"ATAC", "H3K4me3", "H3K27ac", "H3K27me3", "EUseq"} - set(p.background)
    if missing:
        out.append(f"background: give a value for every track (missing {', '.join(sorted(missing))})")
    return out


def _field_names() -> list[str]:
    return [f.name for f in dataclasses.fields(SimParams)]


def _one_line(err: Exception) -> str:
    """One line from a pydantic ValidationError (or the ValueError of ``__post_init__``)."""
    import pydantic

    if isinstance(err, pydantic.ValidationError):
        parts = []
        for e in err.errors():
            loc = ".".join(str(x) for x in e["loc"])
            msg = e["msg"].removeprefix("Value error, ")
            parts.append(f"{loc}: {msg} (got {e.get('input')!r})" if loc else msg)
        return "; ".join(parts)
    return str(err)


def apply_overrides(base: SimParams, overrides: Mapping[str, Any], *, source: str = "--set") -> SimParams:
    """``base`` with the fields in ``overrides`` replaced, each validated (type by pydantic, range checks).

    Unknown keys raise :class:`~claster.errors.ConfigError` listing the valid keys; a bad value raises it
    naming the key and the problem. Tuples may be given as lists, numbers as strings.
    """
    import pydantic

    names = _field_names()
    unknown = [k for k in overrides if k not in names]
    if unknown:
        raise ConfigError(
            f"unknown simulator parameter(s) {', '.join(map(repr, unknown))} in {source}; valid keys: "
            + ", ".join(names)
        )
    if not overrides:
        return base
    merged = {**dataclasses.asdict(base), **dict(overrides)}
    try:
        return pydantic.TypeAdapter(SimParams).validate_python(merged)
    except (pydantic.ValidationError, ValueError, TypeError) as err:
        raise ConfigError(f"invalid simulator parameter in {source}: {_one_line(err)}") from None


def parse_set_options(items: Iterable[str]) -> dict[str, Any]:
    """``["KEY=VALUE", ...]`` -> ``{KEY: VALUE}``, each VALUE read as YAML (``3``, ``0.5``, ``[1, 2]``)."""
    import yaml

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set expects KEY=VALUE, got {item!r} (e.g. --set genes_per_mbp=10)")
        try:
            out[key] = yaml.safe_load(value) if value.strip() else value
        except yaml.YAMLError as err:
            raise ConfigError(
                f"--set {key}: cannot read {value!r} as a YAML value ({err.__class__.__name__})"
            ) from None
    return out


def read_params_file(path: str | os.PathLike) -> dict[str, Any]:
    """The mapping of simulator parameters in a YAML file (keys are :class:`SimParams` fields)."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise InputError(f"parameter file {path} does not exist; give a YAML mapping of simulator parameters")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {str(err).splitlines()[0]}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path} must hold a mapping of simulator parameters (KEY: VALUE), got {type(data).__name__}"
        )
    return data
