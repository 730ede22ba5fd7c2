"""Simulated genomes with known regulatory truth, written as real bigWig/GTF/BED/.mcool files.

The generative model (see :class:`SimParams`): genes with lognormal lengths on both strands,
TAD-like domains, contact frequency ``(1 + d / 5 kbp) ** -1`` (x0.3 across a domain boundary),
enhancers acting through contact, transcription rate
``promoter_strength * (baseline + gain * sum activity * contact)`` (0 for silent genes under broad
H3K27me3), promoter marks that scale with the rate, an asymmetric H3K4me3 peak reaching into the gene
body, and an EU-seq readout with a pausing peak and a decaying gene body.
"""

from claster.simulate._genome import Layout, contact_frequency, layout_genome
from claster.simulate._params import PRESETS, SimParams, preset_params
from claster.simulate._simulate import MARK_TRACKS, TEST_CHROM, VAL_CHROM, simulate_genome

__all__ = [
    "simulate_genome",
    "SimParams",
    "PRESETS",
    "preset_params",
    "Layout",
    "layout_genome",
    "contact_frequency",
    "MARK_TRACKS",
    "TEST_CHROM",
    "VAL_CHROM",
]
