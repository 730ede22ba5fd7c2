"""Simulated genomes with known regulatory truth, written as real bigWig/GTF/BED/.mcool files.

The generative model (see :class:`SimParams`): genes with lognormal lengths on both strands,
TAD-like domains, contact frequency ``(1 + d / 5 kbp) ** -1`` (x0.3 across a domain boundary),
enhancers acting through contact, transcription rate
``promoter_strength * (baseline + gain * sum activity * contact)`` (0 for silent genes under broad
H3K27me3), promoter marks that scale with the rate, an asymmetric H3K4me3 peak reaching into the gene
body, and an EU-seq readout with a pausing peak and a decaying gene body. Optional mechanisms (off by
default): enhancer-promoter loops, head-to-head genes, bivalent genes, silent genes without Polycomb,
per-gene pausing, a contact decay exponent, and a switch for the Polycomb exclusion rule.

``claster.simulate.worlds`` draws random worlds (``--world random``) from documented ranges and fixes
the development and held-out world lists (``DEV_WORLDS``, ``HELDOUT_WORLDS``).
"""

from claster.simulate._genome import Layout, contact_frequency, layout_genome, loop_contact
from claster.simulate._params import PRESETS, SimParams, apply_overrides, parse_set_options, preset_params
from claster.simulate._simulate import MARK_TRACKS, TEST_CHROM, VAL_CHROM, resolve_params, simulate_genome
from claster.simulate.worlds import DEV_WORLDS, HELDOUT_WORLDS, random_world_params

__all__ = [
    "simulate_genome",
    "SimParams",
    "PRESETS",
    "preset_params",
    "Layout",
    "layout_genome",
    "contact_frequency",
    "loop_contact",
    "apply_overrides",
    "parse_set_options",
    "resolve_params",
    "random_world_params",
    "DEV_WORLDS",
    "HELDOUT_WORLDS",
    "MARK_TRACKS",
    "TEST_CHROM",
    "VAL_CHROM",
]
