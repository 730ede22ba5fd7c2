"""Configuration of ``claster prepare``: input files -> genome-wide store (SPEC §2)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from claster.config._base import StrictModel
from claster.units import DEFAULT_TEST_CHROMS, DEFAULT_VAL_CHROMS

__all__ = ["PrepareConfig"]


class PrepareConfig(StrictModel):
    """Everything ``claster prepare`` needs. Paths are strings as written by the user.

    The YAML form mirrors the flags, e.g.::

        tracks: {ATAC: atac.bw, H3K4me3: k4.bw, H3K27ac: k27ac.bw, H3K27me3: k27me3.bw}
        target: [EUseq.bw]
        annotation: genes.gtf
        contacts: contacts.mcool::/resolutions/1600   # or contacts.hic with contacts_resolution: 1600
        contacts_normalization: auto
        test_chroms: [chr4]
        val_chroms: [chr17]
    """

    tracks: dict[str, str | None] = Field(
        description="Input tracks in model row order, role name -> bigWig path (SPEC §1: ATAC, H3K4me3, "
        "H3K27ac, H3K27me3). A value of null declares the role explicitly absent: it is stored as "
        "zeros and the manifest records it as missing."
    )
    target: list[str] = Field(
        description="Target bigWig(s); several are summed per base (e.g. RNA-seq plus and minus strands)."
    )
    target_clip: float | None = Field(
        default=None, description="Clip the 20 bp target at this value (the paper's K562 targets used 1000)."
    )
    annotation: str = Field(description="Gene annotation, GTF (1-based) or BED6 (0-based, name, strand).")
    gene_types: list[str] = Field(
        default=["protein_coding"],
        description="Keep genes whose gene_type (GTF) is in this list; ignored for BED, which has no type.",
    )
    exclude_chroms: list[str] = Field(default=["chrM"], description="Chromosomes never used (SPEC §1).")
    chroms: list[str] | None = Field(default=None, description="Restrict the store to these chromosomes.")
    chrom_aliases: Literal["auto", "none"] | dict[str, str] = Field(
        default="auto",
        description="How to reconcile chromosome names between files: 'auto' adds or strips a 'chr' "
        "prefix when that makes the names agree; 'none' requires identical names; a mapping renames "
        "annotation chromosomes to track chromosomes.",
    )
    chrom_sizes: str | None = Field(
        default=None, description="Two-column chrom sizes file; needed for text contact dumps only."
    )
    contacts: str | None = Field(
        default=None,
        description="Micro-C/Hi-C contacts: a Juicer .hic file, a .mcool URI with its resolution "
        "(file.mcool::/resolutions/1600, or a legacy zoom level such as file.mcool::/13), a .cool file, "
        "or a juicer-style text dump (start1 start2 count).",
    )
    contacts_resolution: int | None = Field(
        default=None,
        gt=0,
        description="Resolution (bin size, bp) to read from a multi-resolution .hic or .mcool file, e.g. "
        "1600; an alternative to the ::/resolutions/N URI. Default: the file's only resolution.",
    )
    contacts_normalization: str = Field(
        default="auto",
        min_length=1,
        description="Normalisation of the contacts: 'auto' takes the first one available at the chosen "
        "resolution of weight, ICE, SCALE, KR, VC_SQRT, VC (when none is, raw counts are ICE-balanced by "
        "claster, with a warning); 'none' keeps raw counts; or the name of a normalisation in the file "
        "(e.g. KR). The one used is recorded in the manifest.",
    )
    contacts_bin_bp: int | None = Field(
        default=None, description="Bin size in bp of a text contact dump (required for text input)."
    )
    contacts_chrom: str | None = Field(
        default=None, description="Chromosome of a single-chromosome text contact dump (e.g. chr22)."
    )
    pchic: str | None = Field(
        default=None,
        description="Promoter-capture Hi-C contacts at 5 kbp (.mcool/.cool URI), for the promchic variant.",
    )
    test_chroms: list[str] = Field(default=list(DEFAULT_TEST_CHROMS), description="Test split (SPEC §1).")
    val_chroms: list[str] = Field(default=list(DEFAULT_VAL_CHROMS), description="Validation split (SPEC §1).")
    dtype: Literal["float32", "float16"] = Field(
        default="float32", description="Storage type of the 100 bp input tracks."
    )
    missing_as_zero: bool = Field(
        default=False,
        description="Average each 100 bp bin over all 100 bases, counting bases without data as 0. The "
        "default (paper-compatible, bigWig 'mean') averages over covered bases only.",
    )
    cache_rotated: bool = Field(
        default=True,
        description="Precompute each usable gene's rotated contact window at prepare time, so that "
        "training reads it instead of rotating on the fly (SPEC §2 rotation costs ~10 ms per window).",
    )

    @field_validator("tracks")
    @classmethod
    def _at_least_one_track(cls, v: dict[str, str | None]) -> dict[str, str | None]:
        if not v:
            raise ValueError("give at least one input track (role=path)")
        if all(p is None for p in v.values()):
            raise ValueError("every input track is declared missing; give at least one bigWig")
        return v

    @field_validator("target")
    @classmethod
    def _at_least_one_target(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("give at least one target bigWig")
        return v
