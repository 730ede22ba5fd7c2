"""Gene annotation readers: GTF (1-based, inclusive) and BED6 (0-based, half-open) -> one gene table.

The 1-based GTF coordinates are converted here and nowhere else. Every reader returns the columns
of :data:`GENE_COLUMNS`: ``start_bp``/``end_bp`` are the 0-based half-open gene body and ``tss_bp``
is the 0-based TSS base, ``start_bp`` on ``+`` and ``end_bp - 1`` on ``-`` (SPEC §2: "gene start if
strand + else gene end").
"""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from claster.errors import InputError
from claster.io.chroms import alias_candidates

__all__ = ["GENE_COLUMNS", "read_annotation", "read_bed_genes", "read_gtf_genes"]

GENE_COLUMNS: tuple[str, ...] = (
    "gene_id",
    "gene_name",
    "chrom",
    "start_bp",
    "end_bp",
    "strand",
    "gene_type",
    "tss_bp",
)

_ATTR_RE = re.compile(r'(\S+)\s+"([^"]*)"')


def _open_text(path: Path):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt")
    return open(path)


def _is_gtf(path: Path) -> bool:
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".gtf", ".gff", ".gff3")):
        return True
    if name.endswith(".bed"):
        return False
    with _open_text(path) as fh:
        for line in fh:
            if line.startswith("#") or not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            return len(parts) >= 9 and parts[3].isdigit() and parts[4].isdigit() and '"' in parts[8]
    return False


def _finish(df: pd.DataFrame, path: Path, gene_types: Iterable[str] | None, exclude_chroms: Iterable[str]) -> pd.DataFrame:
    excluded = {c for name in exclude_chroms for c in alias_candidates(name)}
    df = df[~df["chrom"].isin(excluded)]
    if gene_types is not None:
        wanted = set(gene_types)
        if df["gene_type"].eq("").all():
            pass  # no type column (plain BED6): nothing to filter on
        else:
            present = df["gene_type"].value_counts()
            df = df[df["gene_type"].isin(wanted)]
            if df.empty:
                top = ", ".join(f"{t} ({n})" for t, n in present.head(6).items())
                raise InputError(
                    f"annotation {path} has no gene of type {', '.join(sorted(wanted))} (types present: "
                    f"{top or 'none'}); pass --gene-type with one of the types present"
                )
    if df.empty:
        raise InputError(f"annotation {path} holds no gene outside {sorted(set(exclude_chroms))}; check the file")
    bad = df["strand"].isin(["+", "-"])
    if not bad.all():
        raise InputError(
            f"annotation {path} has {int((~bad).sum())} gene(s) without strand + or - (e.g. "
            f"{df.loc[~bad, 'gene_id'].iloc[0]}); strand is needed to place the TSS"
        )
    neg = df["end_bp"] <= df["start_bp"]
    if neg.any():
        raise InputError(f"annotation {path} has {int(neg.sum())} gene(s) with end <= start; fix the file")
    df = df.drop_duplicates("gene_id", keep="first")
    df = df.assign(
        tss_bp=np.where(df["strand"] == "+", df["start_bp"], df["end_bp"] - 1).astype(np.int64)
    )
    return df.loc[:, list(GENE_COLUMNS)].reset_index(drop=True)


def read_gtf_genes(
    path: str | os.PathLike,
    gene_types: Iterable[str] | None = ("protein_coding",),
    exclude_chroms: Iterable[str] = ("chrM",),
) -> pd.DataFrame:
    """Read the ``gene`` rows of a GTF (plain or gzipped) into :data:`GENE_COLUMNS`.

    ``gene_type`` is taken from the ``gene_type`` attribute (GENCODE) or ``gene_biotype`` (Ensembl).
    Genes on ``exclude_chroms`` (and their ``chr``-less aliases) are dropped; ``gene_types=None``
    keeps every type. Duplicate gene ids keep their first row.
    """
    path = Path(path)
    rows = []
    with _open_text(path) as fh:
        for i, line in enumerate(fh, start=1):
            if line.startswith("#") or not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 9:
                raise InputError(
                    f"GTF {path} line {i} has {len(parts)} tab-separated fields, expected 9; "
                    "check that the file is a GTF (or name a BED file *.bed)"
                )
            if parts[2] != "gene":
                continue
            attrs = dict(_ATTR_RE.findall(parts[8]))
            gid = attrs.get("gene_id")
            if gid is None:
                raise InputError(f"GTF {path} line {i} has no gene_id attribute; fix the file")
            try:
                start1, end1 = int(parts[3]), int(parts[4])
            except ValueError as e:
                raise InputError(f"GTF {path} line {i}: start/end are not integers; fix the file") from e
            rows.append(
                (
                    gid,
                    attrs.get("gene_name", gid),
                    parts[0],
                    start1 - 1,  # 1-based inclusive -> 0-based half-open
                    end1,
                    parts[6],
                    attrs.get("gene_type", attrs.get("gene_biotype", "")),
                )
            )
    if not rows:
        raise InputError(f"GTF {path} has no 'gene' rows (feature column 3); give a GTF with gene records")
    df = pd.DataFrame(rows, columns=list(GENE_COLUMNS[:-1]))
    return _finish(df, path, gene_types, exclude_chroms)


def read_bed_genes(
    path: str | os.PathLike,
    gene_types: Iterable[str] | None = ("protein_coding",),
    exclude_chroms: Iterable[str] = ("chrM",),
) -> pd.DataFrame:
    """Read genes from a BED6 file (0-based half-open; name in column 4, strand in column 6).

    A header line (``#chr start end name score strand ...``) may name extra columns: ``Ensembl_ID``
    / ``gene_id`` becomes the gene id (the BED name then is the gene name) and ``gene_type`` is
    filtered on. Without them the BED name is both id and name and no type filter applies.
    """
    path = Path(path)
    header: list[str] | None = None
    with _open_text(path) as fh:
        first = fh.readline()
    if first.startswith("#") or first.lower().startswith(("chrom\t", "chr\t")):
        header = first.lstrip("#").rstrip("\n").split("\t")
    try:
        raw = pd.read_csv(
            path,
            sep="\t",
            header=None,
            comment=None,
            skiprows=1 if header else 0,
            dtype=str,
            keep_default_na=False,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise InputError(f"BED {path} could not be parsed ({e}); give a tab-separated BED6 file") from e
    if raw.shape[1] < 6:
        raise InputError(
            f"BED {path} has {raw.shape[1]} columns; genes need BED6 (chrom, start, end, name, score, strand)"
        )
    names = [c.strip() for c in header] if header and len(header) == raw.shape[1] else []
    col = {n.lower(): i for i, n in enumerate(names)}
    try:
        start = raw[1].astype(np.int64)
        end = raw[2].astype(np.int64)
    except ValueError as e:
        raise InputError(f"BED {path}: start/end (columns 2-3) are not integers; fix the file") from e
    id_idx = col.get("ensembl_id", col.get("gene_id"))
    df = pd.DataFrame(
        {
            "gene_id": raw[id_idx] if id_idx is not None else raw[3],
            "gene_name": raw[3],
            "chrom": raw[0],
            "start_bp": start,
            "end_bp": end,
            "strand": raw[5],
            "gene_type": raw[col["gene_type"]] if "gene_type" in col else "",
        }
    )
    return _finish(df, path, gene_types, exclude_chroms)


def read_annotation(
    path: str | os.PathLike,
    gene_types: Iterable[str] | None = ("protein_coding",),
    exclude_chroms: Iterable[str] = ("chrM",),
) -> pd.DataFrame:
    """Read a GTF or BED gene annotation (by extension, else by content) into :data:`GENE_COLUMNS`.

    Returns a DataFrame: gene_id, gene_name, chrom (str), start_bp, end_bp (int64, 0-based
    half-open body), strand ('+'/'-'), gene_type, tss_bp (int64, 0-based TSS base).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"annotation file {path} does not exist; check the path given to --annotation")
    if _is_gtf(path):
        return read_gtf_genes(path, gene_types, exclude_chroms)
    return read_bed_genes(path, gene_types, exclude_chroms)
