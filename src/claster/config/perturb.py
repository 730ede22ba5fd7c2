"""Perturbation specs: what to change in a landscape window before predicting (SPEC §6).

A spec is a list of named **perturbations**; each is a list of **operations** applied in order to one
window (each operation sees the result of the previous one). Operations act on the raw landscape
(track units of the store, before the model's input normalisation):

``silence``
    Set tracks to a value (default 0) over a region. Presets: ``P1`` = H3K27ac; ``P2`` = ATAC,
    H3K4me3 and H3K27ac (H3K27me3 kept; a heterochromatin-like state). Bins follow the SPEC §6
    element rule by default: floor(s/100) .. floor(e/100) inclusive.
``scale``
    Multiply tracks over a region: one ``factor`` for ``tracks`` (default all), or ``factors`` per track.
``flip``
    Reverse a region along the genome (mimics a gene on the other strand).
``copy``
    Paste a region taken from the same window (offset region) or from another locus (BED interval or
    gene; read from the genome tracks) at ``to_offset_bp`` (relative to the window centre) or at
    ``to_position`` (``chrom:pos``); ``anchor`` says whether that point is the start or the centre of
    the pasted block.
``insert_promoter``
    Copy a promoter (the window's centre gene, or ``gene``) TSS ±``flank_bp`` so that its centre lands
    at ``to_offset_bp`` (default −100 kbp; SPEC §6, a new gene gives a new EU-seq peak).
``transplant``
    Paste a region from another locus (e.g. a 40 kbp super-enhancer) starting at ``to_offset_bp``
    (default −60 kbp, so a 40 kbp region covers −60…−20 kbp).

Regions are written as

* a BED interval: ``"chr4:1,000-2,000"`` or ``{chrom: chr4, start_bp: 1000, end_bp: 2000}``
  (``start``/``end`` are accepted too; 0-based half-open);
* a gene (name or id, looked up in the store's gene table): ``"gene:Akirin2"``,
  ``"gene:Akirin2:body"`` or ``{gene: Akirin2, part: promoter, flank_bp: 10000}``. A promoter is the
  100 bp bins within ±``flank_bp`` of the TSS's bin, i.e. [bin_start(TSS) − flank, bin_start(TSS) + flank);
  a body is the gene's [start_bp, end_bp);
* an offset from the window centre in bp: ``"offset:-250..130"`` or
  ``{start_rel_bp: -250, end_rel_bp: 130}``. Offset 0 is the start of the centre bin (bin 5000 of a
  10,001-bin window, the bin holding the TSS).

Example YAML::

    active_filter: {track: H3K27ac, threshold: 10}
    perturbations:
      - name: promoter_x0.5
        operations:
          - {op: scale, region: "offset:-10000..10000", factor: 0.5}
      - name: new_gene
        operations:
          - {op: insert_promoter}
      - name: klf4_se
        operations:
          - {op: scale, region: "offset:-10000..10000", factor: 0.5}
          - {op: transplant, source: "chr4:55,530,000-55,570,000"}

A single perturbation may also be written with a top-level ``operations:`` list.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BeforeValidator, Discriminator, Field, Tag, model_validator

from claster.config._base import StrictModel

__all__ = [
    "PRESETS",
    "OP_NAMES",
    "BinRule",
    "BedRegion",
    "GeneRegion",
    "OffsetRegion",
    "Region",
    "SilenceOp",
    "ScaleOp",
    "FlipOp",
    "CopyOp",
    "InsertPromoterOp",
    "TransplantOp",
    "Operation",
    "ActiveFilter",
    "Perturbation",
    "PerturbSpec",
    "parse_region",
]

#: Tracks silenced by each preset (SPEC §6); H3K27me3 is kept by P2.
PRESETS: dict[str, tuple[str, ...]] = {
    "P1": ("H3K27ac",),
    "P2": ("ATAC", "H3K4me3", "H3K27ac"),
}

#: The operation names a spec may use, in documentation order.
OP_NAMES: tuple[str, ...] = ("silence", "scale", "flip", "copy", "insert_promoter", "transplant")

#: How an interval [s, e) in bp becomes bins: ``element`` = floor(s/100) .. floor(e/100) inclusive
#: (SPEC §6, used for enhancers); ``overlap`` = the bins overlapping [s, e), floor(s/100) ..
#: ceil(e/100) - 1 (so TSS ±10 kbp is exactly [4900, 5100), SPEC §6 regulatory logic).
BinRule = Literal["element", "overlap"]

_LOCUS_RE = re.compile(r"^\s*([^:\s]+)\s*:\s*([\d,_]+)\s*-\s*([\d,_]+)\s*$")
_POSITION_RE = re.compile(r"^\s*([^:\s]+)\s*:\s*([\d,_]+)\s*$")
_OFFSET_RE = re.compile(r"^\s*offset\s*:\s*([+-]?[\d,_]+)\s*\.\.\s*([+-]?[\d,_]+)\s*$")
_GENE_RE = re.compile(r"^\s*gene\s*:\s*([^:\s]+)\s*(?::\s*(promoter|body)\s*)?$")

_REGION_FORMS = (
    "'chrom:start-end', 'gene:NAME[:promoter|body]', 'offset:START..END', "
    "{chrom, start_bp, end_bp}, {gene, part, flank_bp} or {start_rel_bp, end_rel_bp}"
)


def _int(text: str) -> int:
    return int(text.replace(",", "").replace("_", ""))


# ---------------------------------------------------------------------------------------------- regions


class BedRegion(StrictModel):
    """An absolute interval [start_bp, end_bp) on ``chrom`` (0-based, half-open)."""

    kind: Literal["bed"] = "bed"
    chrom: str = Field(description="Chromosome name as in the store.")
    start_bp: int = Field(ge=0, description="0-based start in bp.")
    end_bp: int = Field(description="Exclusive end in bp (> start_bp).")

    @model_validator(mode="after")
    def _ordered(self) -> BedRegion:
        if self.end_bp <= self.start_bp:
            raise ValueError(f"end_bp ({self.end_bp}) must be greater than start_bp ({self.start_bp})")
        return self

    def __str__(self) -> str:
        return f"{self.chrom}:{self.start_bp}-{self.end_bp}"


class GeneRegion(StrictModel):
    """A gene's promoter (TSS bin ±``flank_bp``) or body [start_bp, end_bp), looked up by name or id."""

    kind: Literal["gene"] = "gene"
    gene: str = Field(description="Gene name or gene_id in the store's genes.tsv.")
    part: Literal["promoter", "body"] = Field(default="promoter", description="Promoter or gene body.")
    flank_bp: int = Field(
        default=10_000, ge=0, description="Promoter half-width in bp around the TSS's 100 bp bin (SPEC §6)."
    )

    def __str__(self) -> str:
        return f"gene:{self.gene}:{self.part}"


class OffsetRegion(StrictModel):
    """An interval [start_rel_bp, end_rel_bp) relative to the window centre (start of the centre bin)."""

    kind: Literal["offset"] = "offset"
    start_rel_bp: int = Field(description="Start in bp relative to the window centre (negative = left).")
    end_rel_bp: int = Field(description="Exclusive end in bp relative to the window centre (> start).")

    @model_validator(mode="after")
    def _ordered(self) -> OffsetRegion:
        if self.end_rel_bp <= self.start_rel_bp:
            raise ValueError(
                f"end_rel_bp ({self.end_rel_bp}) must be greater than start_rel_bp ({self.start_rel_bp})"
            )
        return self

    def __str__(self) -> str:
        return f"offset:{self.start_rel_bp}..{self.end_rel_bp}"


def parse_region(value: Any) -> Any:
    """Normalise the written forms of a region into a dict with a ``kind`` key (pydantic pre-step).

    Strings: ``chrom:start-end`` (commas allowed), ``gene:NAME[:promoter|body]``, ``offset:S..E``.
    Mappings: BED keys (``chrom``, ``start_bp``/``start``, ``end_bp``/``end``), gene keys (``gene``,
    ``part``, ``flank_bp``) or offset keys (``start_rel_bp``, ``end_rel_bp``, or ``offset_bp: [s, e]``).
    Region models pass through unchanged.
    """
    if isinstance(value, BedRegion | GeneRegion | OffsetRegion):
        return value
    if isinstance(value, str):
        if m := _OFFSET_RE.match(value):
            return {"kind": "offset", "start_rel_bp": _int(m[1]), "end_rel_bp": _int(m[2])}
        if m := _GENE_RE.match(value):
            out: dict[str, Any] = {"kind": "gene", "gene": m[1]}
            if m[2]:
                out["part"] = m[2]
            return out
        if m := _LOCUS_RE.match(value):
            return {"kind": "bed", "chrom": m[1], "start_bp": _int(m[2]), "end_bp": _int(m[3])}
        raise ValueError(f"cannot read region {value!r}; write it as one of {_REGION_FORMS}")
    if isinstance(value, dict):
        d = dict(value)
        if "kind" in d:
            return d
        if "gene" in d:
            return {"kind": "gene", **d}
        if "offset_bp" in d:
            off = d.pop("offset_bp")
            if not (isinstance(off, list | tuple) and len(off) == 2):
                raise ValueError(f"offset_bp must be [start, end] in bp, got {off!r}")
            return {"kind": "offset", "start_rel_bp": off[0], "end_rel_bp": off[1], **d}
        if "start_rel_bp" in d or "end_rel_bp" in d:
            return {"kind": "offset", **d}
        if "chrom" in d:
            for short, full in (("start", "start_bp"), ("end", "end_bp")):
                if short in d:
                    d[full] = d.pop(short)
            return {"kind": "bed", **d}
        raise ValueError(f"cannot read region with keys {sorted(d)}; write it as one of {_REGION_FORMS}")
    raise ValueError(f"cannot read region {value!r}; write it as one of {_REGION_FORMS}")


Region = Annotated[
    Annotated[BedRegion, Tag("bed")]
    | Annotated[GeneRegion, Tag("gene")]
    | Annotated[OffsetRegion, Tag("offset")],
    Discriminator(lambda v: v.get("kind") if isinstance(v, dict) else getattr(v, "kind", None)),
    BeforeValidator(parse_region),
]


def _position(value: str) -> tuple[str, int]:
    m = _POSITION_RE.match(value)
    if not m:
        raise ValueError(f"cannot read position {value!r}; write it as 'chrom:pos', e.g. 'chr4:1,200,000'")
    return m[1], _int(m[2])


# ------------------------------------------------------------------------------------------- operations


class SilenceOp(StrictModel):
    """Set ``tracks`` (or a preset's tracks) to ``value`` over ``region`` (SPEC §6 P1/P2)."""

    op: Literal["silence"] = "silence"
    region: Region = Field(description="The element to silence.")
    preset: Literal["P1", "P2"] | None = Field(
        default=None, description="P1: H3K27ac; P2: ATAC, H3K4me3, H3K27ac (H3K27me3 kept). SPEC §6."
    )
    tracks: list[str] | None = Field(default=None, description="Tracks to silence, when no preset is given.")
    value: float = Field(default=0.0, description="Value written, in track units (SPEC §6: 0).")
    bin_rule: BinRule = Field(default="element", description="Interval -> bins rule (SPEC §6 element rule).")

    @model_validator(mode="after")
    def _one_source_of_tracks(self) -> SilenceOp:
        if (self.preset is None) == (self.tracks is None):
            raise ValueError("give exactly one of preset (P1, P2) or tracks for a silence operation")
        if self.tracks is not None and not self.tracks:
            raise ValueError("tracks is empty; name at least one track to silence")
        return self

    def track_list(self) -> tuple[str, ...]:
        """The tracks this operation writes."""
        return PRESETS[self.preset] if self.preset is not None else tuple(self.tracks or ())


class ScaleOp(StrictModel):
    """Multiply tracks over ``region``: ``factor`` for ``tracks`` (default all), or ``factors`` per track."""

    op: Literal["scale"] = "scale"
    region: Region = Field(description="The region to scale.")
    factor: float | None = Field(default=None, ge=0, description="One factor for `tracks` (unitless).")
    tracks: list[str] | None = Field(default=None, description="Tracks for `factor`; default all tracks.")
    factors: dict[str, float] | None = Field(default=None, description="A factor per track name.")
    bin_rule: BinRule = Field(default="overlap", description="Interval -> bins rule.")

    @model_validator(mode="after")
    def _one_factor_form(self) -> ScaleOp:
        if (self.factor is None) == (self.factors is None):
            raise ValueError("give exactly one of factor (with optional tracks) or factors {track: factor}")
        if self.factors is not None and self.tracks is not None:
            raise ValueError("tracks goes with factor; with factors, name the tracks as its keys")
        if self.factors is not None and any(f < 0 for f in self.factors.values()):
            raise ValueError("scale factors must be >= 0 (the tracks are non-negative signals)")
        return self


class FlipOp(StrictModel):
    """Reverse ``region`` along the genome for ``tracks`` (default all)."""

    op: Literal["flip"] = "flip"
    region: Region = Field(description="The region to reverse.")
    tracks: list[str] | None = Field(default=None, description="Tracks to reverse; default all.")
    bin_rule: BinRule = Field(default="overlap", description="Interval -> bins rule.")


class CopyOp(StrictModel):
    """Paste ``source`` (same window or another locus) at an offset or a position, replacing the values."""

    op: Literal["copy"] = "copy"
    source: Region = Field(
        validation_alias=AliasChoices("source", "from"),
        description="Region copied: an offset region is read from the window (its current state); "
        "a BED interval or gene is read from the genome tracks (see `read_from`).",
    )
    to_offset_bp: int | None = Field(
        default=None, description="Paste point relative to the window centre, bp."
    )
    to_position: str | None = Field(default=None, description="Paste point as 'chrom:pos' (absolute, bp).")
    anchor: Literal["start", "centre"] = Field(
        default="start", description="Whether the paste point is the start or the centre of the block."
    )
    tracks: list[str] | None = Field(default=None, description="Tracks to copy; default all.")
    read_from: Literal["auto", "window", "genome"] = Field(
        default="auto",
        description="'window' reads the current window, 'genome' the unperturbed genome tracks; 'auto' "
        "uses the window for offset regions and the genome for BED intervals and genes.",
    )
    bin_rule: BinRule = Field(default="overlap", description="Interval -> bins rule for the source.")

    @model_validator(mode="after")
    def _one_target(self) -> CopyOp:
        if (self.to_offset_bp is None) == (self.to_position is None):
            raise ValueError("give exactly one of to_offset_bp or to_position for a copy operation")
        if self.to_position is not None:
            _position(self.to_position)
        if self.read_from == "genome" and isinstance(self.source, OffsetRegion):
            raise ValueError(
                "read_from: genome needs an absolute source (BED interval or gene), not an offset"
            )
        return self

    def position(self) -> tuple[str, int] | None:
        """``(chrom, pos_bp)`` of ``to_position``, or None."""
        return _position(self.to_position) if self.to_position is not None else None


class InsertPromoterOp(StrictModel):
    """Copy a promoter (TSS bin ±``flank_bp``) so that its centre lands at ``to_offset_bp`` (SPEC §6)."""

    op: Literal["insert_promoter"] = "insert_promoter"
    gene: str | None = Field(
        default=None, description="Gene whose promoter is copied; default the window's centre gene."
    )
    flank_bp: int = Field(default=10_000, gt=0, description="Promoter half-width in bp (SPEC §6: 10 kbp).")
    to_offset_bp: int = Field(
        default=-100_000, description="Centre of the pasted promoter, bp from the centre."
    )

    def expand(self) -> list[CopyOp]:
        """The equivalent primitive copy."""
        src: Any = (
            OffsetRegion(start_rel_bp=-self.flank_bp, end_rel_bp=self.flank_bp)
            if self.gene is None
            else GeneRegion(gene=self.gene, part="promoter", flank_bp=self.flank_bp)
        )
        return [CopyOp(source=src, to_offset_bp=self.to_offset_bp, anchor="centre")]


class TransplantOp(StrictModel):
    """Paste a region from another locus (e.g. a 40 kbp super-enhancer) starting at ``to_offset_bp``."""

    op: Literal["transplant"] = "transplant"
    source: Region = Field(
        validation_alias=AliasChoices("source", "from"),
        description="Donor region: a BED interval or a gene (read from the genome tracks).",
    )
    to_offset_bp: int = Field(default=-60_000, description="Start of the pasted block, bp from the centre.")
    tracks: list[str] | None = Field(default=None, description="Tracks to copy; default all.")

    @model_validator(mode="after")
    def _absolute_source(self) -> TransplantOp:
        if isinstance(self.source, OffsetRegion):
            raise ValueError("transplant takes its source from another locus; give a BED interval or a gene")
        return self

    def expand(self) -> list[CopyOp]:
        """The equivalent primitive copy."""
        return [
            CopyOp(
                source=self.source,
                to_offset_bp=self.to_offset_bp,
                anchor="start",
                tracks=self.tracks,
                read_from="genome",
            )
        ]


Operation = Annotated[
    SilenceOp | ScaleOp | FlipOp | CopyOp | InsertPromoterOp | TransplantOp,
    Field(discriminator="op"),
]


def primitive_ops(ops: list[Any]) -> list[SilenceOp | ScaleOp | FlipOp | CopyOp]:
    """Expand convenience operations (insert_promoter, transplant) into primitive ones, in order."""
    out: list[Any] = []
    for op in ops:
        out.extend(op.expand() if isinstance(op, InsertPromoterOp | TransplantOp) else [op])
    return out


# -------------------------------------------------------------------------------------- spec and filter


class ActiveFilter(StrictModel):
    """Perturb an element only when it is active: mean ``track`` over its bins > ``threshold`` (SPEC §6)."""

    track: str = Field(default="H3K27ac", description="Track tested (SPEC §6: H3K27ac).")
    threshold: float = Field(
        default=10.0, description="Mean over the element's bins must exceed this (track units)."
    )
    bin_rule: BinRule = Field(default="element", description="Interval -> bins rule (SPEC §6 element rule).")


class Perturbation(StrictModel):
    """One perturbed variant of a window: ``operations`` applied in order.

    ``element`` (optional) is the region the active filter tests; TSV/BED specs set it to the row.
    """

    name: str = Field(description="Label of this perturbation in outputs.")
    operations: list[Operation] = Field(min_length=1, description="Applied in order.")
    element: Region | None = Field(default=None, description="Region tested by the active filter.")

    def tracks_used(self, all_tracks: tuple[str, ...] | list[str]) -> list[tuple[int, str, str]]:
        """(operation index, op name, track) for every track an operation names."""
        out: list[tuple[int, str, str]] = []
        for i, op in enumerate(self.operations):
            names: list[str] = []
            if isinstance(op, SilenceOp):
                names = list(op.track_list())
            elif isinstance(op, ScaleOp):
                names = list(op.factors) if op.factors is not None else list(op.tracks or [])
            elif isinstance(op, FlipOp | CopyOp | TransplantOp):
                names = list(op.tracks or [])
            out.extend((i, op.op, t) for t in names)
        return out


class PerturbSpec(StrictModel):
    """A list of perturbations and the active-enhancer filter (None: perturb every element)."""

    perturbations: list[Perturbation] = Field(min_length=1, description="Variants, each predicted once.")
    active_filter: ActiveFilter | None = Field(
        default_factory=ActiveFilter,
        description="Applied to perturbations with an `element`; null perturbs every element (SPEC §6).",
    )

    @model_validator(mode="before")
    @classmethod
    def _single_perturbation(cls, data: Any) -> Any:
        if isinstance(data, dict) and "operations" in data:
            if "perturbations" in data:
                raise ValueError("give either operations (one perturbation) or perturbations, not both")
            data = dict(data)
            ops = data.pop("operations")
            data["perturbations"] = [{"name": data.pop("name", "perturbation"), "operations": ops}]
        return data

    @model_validator(mode="after")
    def _unique_names(self) -> PerturbSpec:
        names = [p.name for p in self.perturbations]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"perturbation names must be unique; repeated: {', '.join(dup)}")
        return self
