"""Readers and writers of the file formats claster meets: bigWig, GTF/BED, chrom sizes, contact maps
(.hic, .mcool, .cool).

Coordinates are 0-based half-open everywhere; the 1-based GTF is converted in
:mod:`claster.io.annotation` only. Heavy libraries (hictkpy, pybigtools, cooler) are imported inside functions.
"""

from claster.io.annotation import GENE_COLUMNS, read_annotation, read_bed_genes, read_gtf_genes
from claster.io.bigwig import BinnedTrack, check_bigwig, open_bigwig, read_bigwig_chroms, read_binned
from claster.io.chroms import alias_candidates, map_chroms, read_chrom_sizes
from claster.io.contacts import (
    AUTO_NORMALIZATIONS,
    BALANCING_ICE,
    BALANCING_NONE,
    ContactSource,
    open_contacts,
    parse_cool_uri,
    read_band,
)

__all__ = [
    "AUTO_NORMALIZATIONS",
    "BALANCING_ICE",
    "BALANCING_NONE",
    "BinnedTrack",
    "ContactSource",
    "GENE_COLUMNS",
    "alias_candidates",
    "check_bigwig",
    "map_chroms",
    "open_bigwig",
    "open_contacts",
    "parse_cool_uri",
    "read_annotation",
    "read_band",
    "read_bed_genes",
    "read_bigwig_chroms",
    "read_binned",
    "read_chrom_sizes",
    "read_gtf_genes",
]
