"""Enhancer–gene links from a perturbation effects table (SPEC §7).

For each element i and gene j scored in the same window: Δij = |A_baseline − A_perturbed|;
**ratio-to-max** = Δij / max_j Δij within the element's window (the paper's best score);
**z-score** = (Δij − mean_j Δij) / std_j Δij (population std, 0 when all Δ are equal); the
**primary target** is the argmax of the score and the **closest gene** the argmin of
|TSS − element midpoint| (midpoint = (start + end) // 2). The links table follows the
ABC / ENCODE-rE2G column names so that benchmark tools read it unchanged.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from claster.errors import ClasterWarning, InputError
from claster.io.writers import atomic_path

__all__ = [
    "REQUIRED_EFFECTS_COLUMNS",
    "LINKS_COLUMNS",
    "BEDPE_LINK_COLUMNS",
    "PROMOTER_HALF_BP",
    "read_effects",
    "effects_area",
    "score_effects",
    "links_table",
    "primary_target_summary",
    "write_links_tsv",
    "write_links_bedpe",
    "read_links_tsv",
    "read_links_bedpe",
]

#: Effects columns linking needs (see ``claster.perturb.perturbation.EFFECTS_COLUMNS`` for all).
REQUIRED_EFFECTS_COLUMNS: tuple[str, ...] = (
    "element_id",
    "element_chrom",
    "element_start_bp",
    "element_end_bp",
    "gene_id",
    "gene_tss_bp",
    "baseline_area",
    "perturbed_area",
)

#: Columns of the links table, in order. ``score`` = ratio-to-max; ``delta`` = |ΔA|; distance in bp.
LINKS_COLUMNS: tuple[str, ...] = (
    "chr",
    "start",
    "end",
    "name",
    "class",
    "TargetGene",
    "TargetGeneTSS",
    "TargetGeneEnsemblID",
    "distance",
    "score",
    "delta",
    "zscore",
    "is_primary",
    "is_closest",
    "proximity_rank",
    "rel_change",
    "baseline_area",
    "perturbed_area",
    "window_id",
    "element_name",
    "area",
)

#: BEDPE columns written by :func:`write_links_bedpe` (the header line starts with ``#``).
BEDPE_LINK_COLUMNS: tuple[str, ...] = (
    "chrom1",
    "start1",
    "end1",
    "chrom2",
    "start2",
    "end2",
    "name",
    "score",
    "strand1",
    "strand2",
    "element_name",
)

#: An element within this many bp of a TSS (interval overlap with TSS ± 500 bp) is of class "promoter".
PROMOTER_HALF_BP = 500


def read_effects(path: str | os.PathLike) -> pd.DataFrame:
    """Read an ``effects.tsv`` written by ``claster perturb``; check the columns linking needs."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"effects table {path} does not exist; run `claster perturb ... --out DIR` first")
    try:
        df = pd.read_csv(
            path, sep="\t", dtype={"element_id": str, "element_name": str, "gene_id": str, "gene_name": str, "window_id": str}
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise InputError(
            f"{path} is not a tab-separated table ({e}); give the effects.tsv of claster perturb"
        ) from e
    _check_effects(df, str(path))
    return df


def _check_effects(df: pd.DataFrame, where: str) -> None:
    missing = [c for c in REQUIRED_EFFECTS_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(
            f"{where} lacks column(s) {', '.join(missing)}; an effects table needs "
            f"{', '.join(REQUIRED_EFFECTS_COLUMNS)}"
        )


def _unique_elements(df: pd.DataFrame) -> pd.DataFrame:
    """Give every element (chrom, start, end) its own ``element_id`` and keep the given name.

    An effects table from another tool may reuse one name for several loci (BED names ``.``, repeated
    names). Such ids are rewritten ``chrom:start-end`` (suffixed ``_2``, ... if still repeated), with one
    warning; ``element_name`` keeps the name as given.
    """
    df = df.copy()
    df["element_id"] = df["element_id"].astype(str)
    if "element_name" not in df.columns:
        df["element_name"] = df["element_id"]
    loci = df[["element_id", "element_chrom", "element_start_bp", "element_end_bp"]].drop_duplicates()
    shared = loci["element_id"].duplicated(keep=False)
    if shared.any():
        ids = loci.loc[shared, "element_id"]
        new = (loci.loc[shared, "element_chrom"].astype(str) + ":" + loci.loc[shared, "element_start_bp"].astype(str)
               + "-" + loci.loc[shared, "element_end_bp"].astype(str))
        taken = set(loci.loc[~shared, "element_id"])
        out = []
        for n in new:
            k, m = 1, n
            while m in taken:
                k += 1
                m = f"{n}_{k}"
            taken.add(m)
            out.append(m)
        mapping = dict(zip(map(tuple, loci.loc[shared, ["element_id", "element_chrom", "element_start_bp",
                                                          "element_end_bp"]].to_numpy().tolist()), out, strict=True))
        key = list(zip(df["element_id"], df["element_chrom"], df["element_start_bp"], df["element_end_bp"], strict=True))
        df["element_id"] = [mapping.get(tuple(k), k[0]) for k in key]
        names = ", ".join(repr(x) for x in ids.drop_duplicates().head(3))
        warnings.warn(
            f"{int(shared.sum())} elements share an element_id with another locus ({names}); they were given "
            "ids chrom:start-end (element_name keeps the name as given)",
            ClasterWarning,
            stacklevel=3,
        )
    return df


def effects_area(effects: pd.DataFrame) -> str:
    """The area the effects measure (``area`` column of ``claster perturb``; ``body`` for tables
    without it). :class:`InputError` when the table mixes areas."""
    if "area" not in effects.columns or effects.empty:
        return "body"
    areas = sorted(set(effects["area"].astype(str)))
    if len(areas) > 1:
        raise InputError(
            f"the effects table mixes areas {', '.join(areas)}; link one `claster perturb --area` run at a time"
        )
    return areas[0]


def score_effects(effects: pd.DataFrame) -> pd.DataFrame:
    """Add Δ, ratio-to-max, z-score and the window's primary target to every (element, gene, window) row.

    Groups are (window_id, element_id), or element_id alone when there is no ``window_id`` column.
    Element ids naming several loci are made unique first (``chrom:start-end``; ``element_name`` keeps
    the given name), so two elements never share a group.

    Returns
    -------
    A copy with ``delta`` (|baseline_area − perturbed_area|, float64), ``ratio_to_max`` (Δ / max Δ in
    the group; 0 when the max is 0), ``zscore`` (ddof 0; 0 when the std is 0) and ``is_window_primary``
    (Δ equals the group max and is > 0; ties all marked).
    """
    _check_effects(effects, "the effects table")
    df = _unique_elements(effects)
    if "window_id" not in df.columns:
        df["window_id"] = df["element_id"].astype(str)
    base = df["baseline_area"].to_numpy(np.float64)
    pert = df["perturbed_area"].to_numpy(np.float64)
    df["delta"] = np.abs(base - pert)
    g = df.groupby(["window_id", "element_id"], sort=False)["delta"]
    gmax, gmean, gstd = g.transform("max"), g.transform("mean"), g.transform(lambda v: v.std(ddof=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        df["ratio_to_max"] = np.where(gmax > 0, df["delta"] / gmax.where(gmax > 0, 1.0), 0.0)
        df["zscore"] = np.where(gstd > 0, (df["delta"] - gmean) / gstd.where(gstd > 0, 1.0), 0.0)
    df["is_window_primary"] = (df["delta"] == gmax) & (gmax > 0)
    return df


def links_table(
    effects: pd.DataFrame,
    *,
    min_delta: float = 0.0,
    duplicates: Literal["max", "reference"] = "max",
) -> pd.DataFrame:
    """ABC/ENCODE-rE2G-style links, one row per (element, gene).

    Parameters
    ----------
    effects
        The effects table (columns in ``REQUIRED_EFFECTS_COLUMNS``; ``gene_name``, ``window_id``,
        ``element_class`` used when present).
    min_delta
        Drop links with Δ < ``min_delta`` (area units) after scoring, so scores still use every gene.
    duplicates
        A pair scored in several windows (gene-centric scans) keeps the row with the highest score
        (``max``) or, when present, the row of the window centred on that gene (``reference``).

    Returns
    -------
    Columns :data:`LINKS_COLUMNS`: ``score`` = ratio-to-max, ``delta`` = Δ, ``zscore``; ``distance`` =
    |TSS − midpoint| in bp; ``is_closest`` marks one gene per element (smallest distance, then gene id);
    ``is_primary`` marks one gene per element (highest score, then Δ, then distance) when its Δ > 0;
    ``proximity_rank`` 1 = closest among the element's scored genes (ties share the lower rank);
    ``class`` = ``element_class`` when given, else ``promoter`` when the element overlaps a scored
    gene's TSS ± 500 bp, else ``distal``; ``name`` is the unique element id and ``element_name`` the
    name as given in the BED; ``area`` what the effects measured (``body`` or ``tss:U..D``, SPEC §7).
    Sorted by chr, start, end, distance.
    """
    if duplicates not in ("max", "reference"):
        raise InputError(f"duplicates must be 'max' or 'reference', got {duplicates!r}")
    if min_delta < 0:
        raise InputError(f"min_delta must be >= 0 (an absolute change), got {min_delta}")
    area = effects_area(effects)
    df = score_effects(effects)
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in LINKS_COLUMNS})
    df["element_id"] = df["element_id"].astype(str)
    df["gene_id"] = df["gene_id"].astype(str)
    ref = df["window_id"].astype(str) == df["gene_id"]
    if "gene_name" in df.columns:
        ref |= df["window_id"].astype(str) == df["gene_name"].astype(str)
    df["_ref"] = ref.astype(np.int64)
    order = (
        ["_ref", "ratio_to_max", "delta"] if duplicates == "reference" else ["ratio_to_max", "delta", "_ref"]
    )
    df = df.sort_values(order, ascending=False, kind="stable")
    df = df.drop_duplicates(["element_id", "gene_id"], keep="first")

    s = df["element_start_bp"].to_numpy(np.int64)
    e = df["element_end_bp"].to_numpy(np.int64)
    tss = df["gene_tss_bp"].to_numpy(np.int64)
    df["distance"] = np.abs(tss - (s + e) // 2)
    df["proximity_rank"] = df.groupby("element_id")["distance"].rank(method="min").astype(np.int64)

    df = df.sort_values(["element_id", "distance", "gene_id"], kind="stable")
    df["is_closest"] = ~df.duplicated("element_id", keep="first")
    by_score = df.sort_values(
        ["ratio_to_max", "delta", "distance"], ascending=[False, False, True], kind="stable"
    )
    first = ~by_score.duplicated("element_id", keep="first") & (by_score["delta"] > 0)
    df["is_primary"] = first.reindex(df.index)

    if "element_class" in df.columns:
        cls = df["element_class"].astype(str)
    else:
        t = df["gene_tss_bp"]
        df["_near"] = (df["element_start_bp"] < t + PROMOTER_HALF_BP) & (
            df["element_end_bp"] > t - PROMOTER_HALF_BP
        )
        cls = np.where(df.groupby("element_id")["_near"].transform("any"), "promoter", "distal")
    base = df["baseline_area"].to_numpy(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(
            base != 0,
            (df["perturbed_area"].to_numpy(np.float64) - base) / np.where(base != 0, base, 1),
            np.nan,
        )
    names = df["gene_name"].astype(str) if "gene_name" in df.columns else df["gene_id"]
    names = names.where(names.notna() & (names != "") & (names != "nan"), df["gene_id"])
    out = pd.DataFrame(
        {
            "chr": df["element_chrom"].astype(str),
            "start": df["element_start_bp"].astype(np.int64),
            "end": df["element_end_bp"].astype(np.int64),
            "name": df["element_id"],
            "class": cls,
            "TargetGene": names,
            "TargetGeneTSS": df["gene_tss_bp"].astype(np.int64),
            "TargetGeneEnsemblID": df["gene_id"],
            "distance": df["distance"].astype(np.int64),
            "score": df["ratio_to_max"].astype(np.float64),
            "delta": df["delta"].astype(np.float64),
            "zscore": df["zscore"].astype(np.float64),
            "is_primary": df["is_primary"].astype(bool),
            "is_closest": df["is_closest"].astype(bool),
            "proximity_rank": df["proximity_rank"],
            "rel_change": rel,
            "baseline_area": df["baseline_area"].astype(np.float64),
            "perturbed_area": df["perturbed_area"].astype(np.float64),
            "window_id": df["window_id"].astype(str),
            "element_name": df["element_name"].astype(str),
            "area": area,
        }
    )
    out = out[out["delta"] >= min_delta]
    return out.sort_values(
        ["chr", "start", "end", "distance", "TargetGeneEnsemblID"], kind="stable"
    ).reset_index(drop=True)


def primary_target_summary(links: pd.DataFrame) -> dict[str, float | int]:
    """How often an element's primary target is its closest gene (the paper: 932/1,396 ≈ 67 %, SPEC §6).

    Returns ``{"n_elements", "n_with_primary", "primary_is_closest", "fraction"}`` (fraction of elements
    with a primary target; NaN when none).
    """
    n_el = int(links["name"].nunique()) if len(links) else 0
    prim = links[links["is_primary"].astype(bool)]
    hits = int((prim["is_closest"].astype(bool)).sum())
    n_p = int(prim["name"].nunique())
    return {
        "n_elements": n_el,
        "n_with_primary": n_p,
        "primary_is_closest": hits,
        "fraction": hits / n_p if n_p else float("nan"),
    }


def write_links_tsv(links: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write the links table as TSV with a header (atomic: temp file beside ``path``, then os.replace)."""
    missing = [c for c in LINKS_COLUMNS if c not in links.columns]
    if missing:
        raise InputError(f"links table lacks column(s) {', '.join(missing)}; build it with links_table()")
    path = Path(path)
    with atomic_path(path) as tmp:
        links.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    return path


def write_links_bedpe(links: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write links as BEDPE for genome browsers (atomic).

    Columns :data:`BEDPE_LINK_COLUMNS`: the element interval, a 1 bp interval at the target TSS
    [TSS, TSS + 1), name ``element|TargetGene``, score = round(1000 × ratio-to-max) capped to
    [0, 1000] (an integer, as browsers expect), strands ``.``, then the element's name as given in the BED.
    The header line starts with ``#``.
    """
    missing = [
        c for c in ("chr", "start", "end", "name", "TargetGene", "TargetGeneTSS", "score") if c not in links
    ]
    if missing:
        raise InputError(f"links table lacks column(s) {', '.join(missing)}; build it with links_table()")
    score = np.clip(np.round(links["score"].to_numpy(np.float64) * 1000), 0, 1000)
    bed = pd.DataFrame(
        {
            "#chrom1": links["chr"].astype(str),
            "start1": links["start"].astype(np.int64),
            "end1": links["end"].astype(np.int64),
            "chrom2": links["chr"].astype(str),
            "start2": links["TargetGeneTSS"].astype(np.int64),
            "end2": links["TargetGeneTSS"].astype(np.int64) + 1,
            "name": links["name"].astype(str) + "|" + links["TargetGene"].astype(str),
            "score": np.nan_to_num(score, nan=0).astype(np.int64),
            "strand1": ".",
            "strand2": ".",
            "element_name": (links["element_name"] if "element_name" in links else links["name"]).astype(str),
        }
    )
    path = Path(path)
    with atomic_path(path) as tmp:
        bed.to_csv(tmp, sep="\t", index=False)
    return path


def read_links_tsv(path: str | os.PathLike) -> pd.DataFrame:
    """Read a links TSV written by :func:`write_links_tsv`."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"links table {path} does not exist; write it with `claster link`")
    return pd.read_csv(
        path, sep="\t", dtype={"name": str, "TargetGene": str, "TargetGeneEnsemblID": str, "window_id": str, "element_name": str}
    )


def read_links_bedpe(path: str | os.PathLike) -> pd.DataFrame:
    """Read a BEDPE written by :func:`write_links_bedpe` (columns :data:`BEDPE_LINK_COLUMNS`)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"BEDPE {path} does not exist; write it with `claster link --bedpe`")
    df = pd.read_csv(path, sep="\t", dtype={"name": str})
    df.columns = [str(c).lstrip("#") for c in df.columns]
    return df
