"""Random simulated worlds and the fixed development / held-out world lists.

``random_world_params(seed)`` draws every parameter of :class:`~claster.simulate.SimParams` that shapes
the biology or the measurement from the wide ranges of :data:`RANDOM_RANGES` (one row per drawn
quantity; the table in docs/simulate.md is :func:`ranges_markdown`). The draw uses its own random
stream (``SeedSequence([seed, WORLD_STREAM])``), separate from the genome's (``default_rng(seed)``), so
``claster simulate OUT --world random --seed S`` is one reproducible world.

Every random world has 5 or 6 chromosomes (always ``chr4``, the test chromosome, and ``chr17``, the
validation chromosome), 34-58 Mbp in all, and ~250-800 genes: small enough to simulate and prepare in
about a minute on a laptop core.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import numpy as np

from claster.simulate._params import SimParams

__all__ = [
    "RANDOM_RANGES",
    "WorldRange",
    "random_world_params",
    "ranges_markdown",
    "WorldSpec",
    "DEV_WORLDS",
    "HELDOUT_WORLDS",
    "WORLD_SETS",
    "world_params",
]

WORLD_STREAM = 0x57_0D  # second entropy word of the parameter draw (the genome uses default_rng(seed))

Kind = Literal["uniform", "log-uniform", "integer", "bernoulli", "ratio"]


@dataclass(frozen=True)
class WorldRange:
    """One drawn quantity: ``key`` names a SimParams field (``field[0]``/``field[1]`` for a pair's
    ends, ``background.TRACK`` for a background level); ``ratio`` rows draw
    ``field[1] = field[0] x U(lo, hi)``;
    ``bernoulli`` rows are true with probability ``lo``."""

    key: str
    kind: Kind
    lo: float
    hi: float
    note: str = ""


RANDOM_RANGES: tuple[WorldRange, ...] = (
    # genome
    WorldRange(
        "n_chromosomes",
        "integer",
        5,
        6,
        "chr4 (test) and chr17 (validation) always; others from chr1-3, chrX",
    ),
    WorldRange("size_chr4", "uniform", 7e6, 10e6, "bp; the test chromosome"),
    WorldRange("size_chr17", "uniform", 6e6, 8e6, "bp; the validation chromosome"),
    WorldRange("size_other", "uniform", 7e6, 10e6, "bp; each other chromosome"),
    # genes
    WorldRange("genes_per_mbp", "uniform", 7.0, 16.0, "gene density"),
    WorldRange("gene_length_median_bp", "log-uniform", 6_000, 40_000, ""),
    WorldRange("gene_length_sigma", "uniform", 0.6, 1.2, "lognormal sigma of gene lengths"),
    WorldRange("lncrna_fraction", "uniform", 0.02, 0.2, ""),
    WorldRange("silent_fraction", "uniform", 0.1, 0.4, "genes with rate 0"),
    WorldRange("silent_k27me3_fraction", "uniform", 0.4, 1.0, "silent genes under Polycomb (broad H3K27me3)"),
    WorldRange(
        "bivalent_fraction", "uniform", 0.0, 0.15, "of non-silent genes: H3K4me3 + H3K27me3, low rate"
    ),
    WorldRange("bivalent_rate_factor", "uniform", 0.0, 0.2, "rate of a bivalent gene / its enhancer formula"),
    WorldRange("bivalent_k4me3_height", "uniform", 1.0, 6.0, "fixed H3K4me3 height of bivalent promoters"),
    WorldRange("head_to_head_fraction", "uniform", 0.0, 0.25, "genes placed as divergent pairs"),
    WorldRange("head_to_head_gap_bp[0]", "uniform", 100, 500, "bp between the two TSSs (low end)"),
    WorldRange("head_to_head_gap_bp[1]", "ratio", 1.5, 4.0, "high end / low end"),
    WorldRange("promoter_strength_sigma", "uniform", 0.4, 1.0, "lognormal sigma of promoter strengths"),
    # enhancers
    WorldRange("enhancers_mean", "uniform", 1.0, 3.5, "mean enhancers per gene (1-6, shifted Poisson)"),
    WorldRange("enhancer_offset_median_bp", "log-uniform", 8_000, 60_000, "enhancer-TSS distance"),
    WorldRange("enhancer_offset_sigma", "uniform", 0.6, 1.3, ""),
    WorldRange("enhancer_width_bp[0]", "uniform", 300, 1_000, "bp (narrowest)"),
    WorldRange("enhancer_width_bp[1]", "ratio", 1.5, 4.0, "widest / narrowest"),
    WorldRange("inactive_enhancer_fraction", "uniform", 0.05, 0.35, "poised enhancers (no effect)"),
    WorldRange("activity_sigma", "uniform", 0.3, 1.0, "lognormal sigma of active enhancer activities"),
    WorldRange("gain", "log-uniform", 1.5, 10.0, "enhancer gain (baseline 1)"),
    WorldRange("regulatory_range_bp", "uniform", 150_000, 300_000, "bp an enhancer can reach"),
    # contacts
    WorldRange("contact_d0_bp", "log-uniform", 2_000, 20_000, "contact decay scale"),
    WorldRange("contact_decay_exponent", "uniform", 0.7, 1.3, "(1 + d / d0) ** -exponent"),
    WorldRange("domain_min_bp", "uniform", 150_000, 400_000, "smallest domain"),
    WorldRange("domain_max_bp", "ratio", 2.0, 4.0, "largest / smallest domain"),
    WorldRange("contact_between_domains", "uniform", 0.1, 0.7, "boundary strength (1 = none)"),
    WorldRange("loops_per_mbp", "uniform", 0.0, 3.0, "enhancer-promoter loops"),
    WorldRange("loop_strength[0]", "uniform", 0.01, 0.05, "added contact frequency (low end)"),
    WorldRange("loop_strength[1]", "ratio", 2.0, 5.0, "high end / low end"),
    WorldRange("loop_width_bp", "uniform", 1_500, 5_000, "sd of a loop's anchor footprint"),
    # marks
    WorldRange(
        "k27me3_body_exclusion", "bernoulli", 0.5, 0.5, "transcribed bodies deplete H3K27me3 (P = 0.5)"
    ),
    WorldRange("k27me3_body_depletion", "uniform", 0.1, 0.7, "remaining fraction when the rule is on"),
    WorldRange("k4me3_height", "uniform", 4.0, 12.0, "x rate ** 0.6"),
    WorldRange("promoter_atac_height", "uniform", 4.0, 12.0, "x rate ** 0.6"),
    WorldRange("promoter_k27ac_height", "uniform", 4.0, 12.0, "x rate ** 0.6"),
    WorldRange("enhancer_atac_height", "uniform", 5.0, 20.0, "x activity ** 0.7"),
    WorldRange("enhancer_k27ac_height", "uniform", 10.0, 40.0, "x activity ** 0.5"),
    WorldRange("background.ATAC", "uniform", 0.1, 1.0, ""),
    WorldRange("background.H3K4me3", "uniform", 0.1, 1.0, ""),
    WorldRange("background.H3K27ac", "uniform", 0.2, 1.5, ""),
    WorldRange("background.H3K27me3", "uniform", 1.0, 6.0, ""),
    WorldRange("background.EUseq", "uniform", 0.02, 0.2, ""),
    WorldRange("mark_noise_shape", "log-uniform", 2.0, 12.0, "Gamma shape of per-bin mark noise (depth)"),
    WorldRange("gene_mark_noise_sigma", "uniform", 0.05, 0.4, "per-gene jitter of promoter marks"),
    # EU-seq
    WorldRange("eu_pause_height", "uniform", 1.0, 8.0, "x rate"),
    WorldRange("eu_pause_offset_bp", "uniform", 30, 150, "pausing peak downstream of the TSS"),
    WorldRange("eu_pause_sd_bp", "uniform", 50, 200, "pausing peak width"),
    WorldRange("eu_pause_sigma", "uniform", 0.0, 0.8, "per-gene pausing-index jitter"),
    WorldRange("eu_body_height", "uniform", 0.4, 1.5, "x rate"),
    WorldRange("eu_body_decay_bp", "log-uniform", 10_000, 100_000, "gene-body decay length"),
    WorldRange("eu_body_floor", "uniform", 0.05, 0.6, "body level far from the TSS"),
    WorldRange("eu_readthrough_bp", "log-uniform", 1_000, 10_000, "decay after the gene end"),
    WorldRange("eu_counts_per_unit", "log-uniform", 1.0, 20.0, "EU-seq depth (Poisson)"),
    # Micro-C
    WorldRange("contact_depth", "log-uniform", 15.0, 150.0, "expected count at d = 0 per 1.6 kbp bin"),
    WorldRange("contact_bin_bias_sigma", "uniform", 0.1, 0.4, "per-bin visibility"),
    WorldRange("contact_noise_shape", "log-uniform", 2.0, 10.0, "Gamma shape of pixel noise"),
    # gaps
    WorldRange("gaps_per_chrom", "integer", 0, 4, ""),
    WorldRange("gap_length_bp[0]", "uniform", 1_000, 5_000, "bp (shortest)"),
    WorldRange("gap_length_bp[1]", "ratio", 1.5, 4.0, "longest / shortest"),
)

_OTHER_CHROMS = ("chr1", "chr2", "chr3", "chrX")
_INT_FIELDS = {f.name for f in dataclasses.fields(SimParams) if f.type in ("int", int)}


def _draw(r: WorldRange, rng: np.random.Generator) -> float:
    if r.kind in ("uniform", "ratio"):
        return float(rng.uniform(r.lo, r.hi))
    if r.kind == "log-uniform":
        return float(np.exp(rng.uniform(np.log(r.lo), np.log(r.hi))))
    if r.kind == "integer":
        return int(rng.integers(int(r.lo), int(r.hi) + 1))
    if r.kind == "bernoulli":
        return bool(rng.random() < r.lo)
    raise AssertionError(r.kind)


def _draws(seed: int) -> dict[str, float]:
    """Every row of RANDOM_RANGES drawn once, in table order (the order is part of the world's identity)."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), WORLD_STREAM]))
    return {r.key: _draw(r, rng) for r in RANDOM_RANGES}


def _enhancer_probs(mean: float, k_max: int = 6) -> tuple[float, ...]:
    """P(1..k_max) of ``1 + Poisson(mean - 1)`` truncated at ``k_max`` and renormalised."""
    from scipy.stats import poisson

    p = poisson.pmf(np.arange(k_max), mean - 1.0)
    p = p / p.sum()
    p = np.round(p, 6)
    p[0] += 1.0 - p.sum()
    return tuple(float(x) for x in p)


def random_world_params(seed: int) -> SimParams:
    """A :class:`SimParams` drawn from :data:`RANDOM_RANGES` with ``seed`` (deterministic)."""
    d = _draws(seed)
    rng_chroms = np.random.default_rng(np.random.SeedSequence([int(seed), WORLD_STREAM, 1]))
    others = sorted(
        rng_chroms.choice(_OTHER_CHROMS, size=int(d["n_chromosomes"]) - 2, replace=False),
        key=_OTHER_CHROMS.index,
    )
    other = RANDOM_RANGES_BY_KEY["size_other"]
    sizes = {c: int(rng_chroms.uniform(other.lo, other.hi)) for c in others}
    sizes["chr4"] = int(d["size_chr4"])
    sizes["chr17"] = int(d["size_chr17"])
    order = [c for c in ("chr1", "chr2", "chr3", "chr4", "chr17", "chrX") if c in sizes]
    sizes = {c: sizes[c] // 1_000 * 1_000 for c in order}

    values: dict = {}
    pairs: dict[str, list[float]] = {}
    background = dict(SimParams(chrom_sizes={"chr1": 1_000_000}).background)
    skip = {"n_chromosomes", "size_chr4", "size_chr17", "size_other", "enhancers_mean", "domain_max_bp"}
    for r in RANDOM_RANGES:
        if r.key in skip:
            continue
        v = d[r.key]
        if r.key.startswith("background."):
            background[r.key.split(".", 1)[1]] = v
        elif r.key.endswith("[0]"):
            pairs[r.key[:-3]] = [v]
        elif r.key.endswith("[1]"):
            pairs[r.key[:-3]].append(pairs[r.key[:-3]][0] * v)
        else:
            values[r.key] = int(round(v)) if r.key in _INT_FIELDS else v
    for k, (lo, hi) in pairs.items():
        if k in ("enhancer_width_bp", "gap_length_bp", "head_to_head_gap_bp"):
            lo, hi = int(round(lo / 20) * 20), int(round(hi / 20) * 20)
        values[k] = (lo, hi)
    values["domain_min_bp"] = int(d["domain_min_bp"])
    values["domain_max_bp"] = int(d["domain_min_bp"] * d["domain_max_bp"])
    values["enhancers_per_gene"] = _enhancer_probs(d["enhancers_mean"])
    values["background"] = background
    return SimParams(chrom_sizes=sizes, **values)


RANDOM_RANGES_BY_KEY = {r.key: r for r in RANDOM_RANGES}


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1_000 and float(v).is_integer() else f"{v:g}"


def ranges_markdown() -> str:
    """The table of :data:`RANDOM_RANGES` as markdown (docs/simulate.md holds this text)."""
    lines = ["| parameter | distribution | range | meaning |", "|---|---|---|---|"]
    for r in RANDOM_RANGES:
        if r.kind == "bernoulli":
            rng_txt = f"P(true) = {_fmt(r.lo)}"
        elif r.kind == "ratio":
            rng_txt = f"x [{_fmt(r.lo)}, {_fmt(r.hi)}]"
        else:
            rng_txt = f"[{_fmt(r.lo)}, {_fmt(r.hi)}]"
        lines.append(f"| `{r.key}` | {r.kind} | {rng_txt} | {r.note} |")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- fixed world sets

WorldSpec = tuple[str, int]  # (world, seed): ``claster simulate OUT --world WORLD --seed SEED``

# DEVELOPMENT worlds: use these, and only these, to tune anything (recipes, options, thresholds).
DEV_WORLDS: tuple[WorldSpec, ...] = (
    ("random", 101),
    ("random", 102),
    ("random", 103),
    ("random", 104),
)

# HELD-OUT worlds: chosen on 2026-11-29, before any tuning, with seeds disjoint from the development
# set. They are for reporting only: never pick a recipe, an option, a budget or a threshold by looking
# at their results (bench/generalization.py runs them by default).
HELDOUT_WORLDS: tuple[WorldSpec, ...] = (
    ("random", 90_001),
    ("random", 90_002),
    ("random", 90_003),
)

WORLD_SETS: dict[str, tuple[WorldSpec, ...]] = {"dev": DEV_WORLDS, "heldout": HELDOUT_WORLDS}


def world_params(world: str, seed: int, preset: str = "small") -> SimParams:
    """Parameters of a world: ``default`` (the preset's) or ``random`` (drawn with ``seed``)."""
    from claster.errors import InputError
    from claster.simulate._params import PRESETS, preset_params

    if world == "default":
        if preset not in PRESETS:
            raise InputError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
        return preset_params(preset)
    if world == "random":
        return random_world_params(seed)
    raise InputError(f"unknown world {world!r}; choose 'default' or 'random'")
