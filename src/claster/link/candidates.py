"""Every candidate element–gene pair of a scan, with the ABC features beside the model's effect.

A scan (``claster perturb``) only perturbs elements that pass the active filter, so the links table of
:func:`claster.link.links_table` lacks every pair whose element was skipped; a benchmark then ranks
those pairs last although their distance, activity and contact are known. :func:`candidate_links`
joins the links with an ABC table (:func:`claster.link.abc_scores`) of *all* elements:

- candidate pairs: every user element (not the promoters ABC adds) and every gene with
  ``|TSS - element midpoint| <= candidate_distance_bp`` (default 200 kbp: the genes a model window
  centred on the TSS predicts), plus every pair the model scored;
- a pair the model did not score keeps ``score`` (ratio-to-max), ``delta`` and ``zscore`` at 0,
  ``model_scored`` False; ``element_scanned`` says whether its element went through the scan (False:
  skipped by the active filter);
- every row carries ``ABC.Score``, ``activity``, ``contact`` and ``activity_x_contact`` (ABC's
  numerator, not normalised over the gene's candidates); ``distance`` = |TSS − (start + end) // 2|;
- ``is_closest`` and ``proximity_rank`` are recomputed over all candidate genes of the element.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from claster.errors import ClasterWarning, InputError

__all__ = ["CANDIDATE_COLUMNS", "DEFAULT_CANDIDATE_DISTANCE_BP", "candidate_links", "store_candidate_links"]

#: Columns :func:`candidate_links` adds to :data:`claster.link.LINKS_COLUMNS`.
CANDIDATE_COLUMNS: tuple[str, ...] = (
    "model_scored", "element_scanned", "ABC.Score", "activity", "contact", "activity_x_contact",
)
#: Half-width of the model's output window (200 bins of 1 kbp each side of the TSS).
DEFAULT_CANDIDATE_DISTANCE_BP = 200_000


def candidate_links(
    links: pd.DataFrame,
    abc: pd.DataFrame,
    *,
    scanned: set[str] | None = None,
    candidate_distance_bp: int = DEFAULT_CANDIDATE_DISTANCE_BP,
) -> pd.DataFrame:
    """The links plus every candidate pair the scan left out, each with ABC features.

    Parameters
    ----------
    links
        :func:`claster.link.links_table` output (``name`` = element id, ``TargetGeneEnsemblID``).
    abc
        :func:`claster.link.abc_scores` output over the same chromosomes (``name``,
        ``TargetGeneEnsemblID``, ``added_promoter`` ...).
    scanned
        Element ids the scan perturbed (default: the elements present in ``links``).
    candidate_distance_bp
        Pairs of the ABC table within this distance (bp) become candidates.

    Returns
    -------
    DataFrame: the columns of ``links`` then :data:`CANDIDATE_COLUMNS`, one row per (element, gene),
    sorted by chr, start, end, distance, gene. ``attrs["summary"]`` counts rows by origin.
    """
    if candidate_distance_bp < 0:
        raise InputError(f"candidate_distance_bp must be >= 0, got {candidate_distance_bp}")
    need = ["name", "TargetGeneEnsemblID", "ABC.Score", "activity", "contact", "ABC.Score.Numerator"]
    missing = [c for c in need if c not in abc.columns]
    if missing:
        raise InputError(f"the ABC table lacks column(s) {', '.join(missing)}; build it with abc_scores()")
    lk = links.copy()
    lk["name"] = lk["name"].astype(str)
    lk["TargetGeneEnsemblID"] = lk["TargetGeneEnsemblID"].astype(str)
    scanned = set(lk["name"]) if scanned is None else {str(x) for x in scanned}
    a = abc.copy()
    a["name"] = a["name"].astype(str)
    a["TargetGeneEnsemblID"] = a["TargetGeneEnsemblID"].astype(str)
    if "added_promoter" in a.columns:
        a = a[~a["added_promoter"].astype(bool)]
    a = a.drop_duplicates(["name", "TargetGeneEnsemblID"])
    key = ["name", "TargetGeneEnsemblID"]
    feats = a[key + ["ABC.Score", "activity", "contact", "ABC.Score.Numerator"]].rename(
        columns={"ABC.Score.Numerator": "activity_x_contact"}
    )
    out = lk.merge(feats, on=key, how="left")
    n_no_abc = int(out["ABC.Score"].isna().sum())
    out["model_scored"] = True

    have = pd.MultiIndex.from_frame(lk[key])
    cand = a[a["distance"] <= candidate_distance_bp]
    cand = cand[~pd.MultiIndex.from_frame(cand[key]).isin(have)]
    mid = (cand["start"].to_numpy(np.int64) + cand["end"].to_numpy(np.int64)) // 2
    extra = pd.DataFrame({
        "chr": cand["chr"].astype(str).to_numpy(),
        "start": cand["start"].to_numpy(np.int64),
        "end": cand["end"].to_numpy(np.int64),
        "name": cand["name"].to_numpy(),
        "class": cand["class"].astype(str).to_numpy(),
        "TargetGene": cand["TargetGene"].astype(str).to_numpy(),
        "TargetGeneTSS": cand["TargetGeneTSS"].to_numpy(np.int64),
        "TargetGeneEnsemblID": cand["TargetGeneEnsemblID"].to_numpy(),
        "distance": np.abs(cand["TargetGeneTSS"].to_numpy(np.int64) - mid),
        "score": 0.0, "delta": 0.0, "zscore": 0.0, "is_primary": False,
        "ABC.Score": cand["ABC.Score"].to_numpy(np.float64),
        "activity": cand["activity"].to_numpy(np.float64),
        "contact": cand["contact"].to_numpy(np.float64),
        "activity_x_contact": cand["ABC.Score.Numerator"].to_numpy(np.float64),
        "model_scored": False,
    })
    for c in out.columns:
        if c not in extra.columns:
            extra[c] = "" if c == "window_id" else np.nan
    out = pd.concat([out, extra[out.columns]], ignore_index=True) if len(extra) else out
    out["element_scanned"] = out["name"].isin(scanned)

    out = out.sort_values(["name", "distance", "TargetGeneEnsemblID"], kind="stable")
    out["is_closest"] = ~out.duplicated("name", keep="first")
    out["proximity_rank"] = out.groupby("name")["distance"].rank(method="min").astype(np.int64)
    out["is_primary"] = out["is_primary"].astype(bool)
    out["model_scored"] = out["model_scored"].astype(bool)
    cols = [c for c in lk.columns] + [c for c in CANDIDATE_COLUMNS if c not in lk.columns]
    out = out[cols].sort_values(["chr", "start", "end", "distance", "TargetGeneEnsemblID"], kind="stable")
    out = out.reset_index(drop=True)
    if n_no_abc:
        warnings.warn(
            f"{n_no_abc} scored links have no ABC pair (gene or element outside the ABC table); their ABC "
            "columns are NaN", ClasterWarning, stacklevel=2,
        )
    out.attrs["summary"] = {
        "n_rows": int(len(out)),
        "n_model_scored": int(out["model_scored"].sum()),
        "n_added_candidates": int(len(extra)),
        "n_added_from_skipped_elements": int((~extra["name"].isin(scanned)).sum()) if len(extra) else 0,
        "n_elements": int(out["name"].nunique()),
        "n_elements_not_scanned": int(out.loc[~out["element_scanned"], "name"].nunique()),
        "n_links_without_abc": n_no_abc,
        "candidate_distance_bp": int(candidate_distance_bp),
    }
    return out


def store_candidate_links(
    links: pd.DataFrame,
    store,
    elements: pd.DataFrame,
    *,
    scanned: set[str] | None = None,
    config=None,
    genes: pd.DataFrame | None = None,
    candidate_distance_bp: int = DEFAULT_CANDIDATE_DISTANCE_BP,
) -> pd.DataFrame:
    """:func:`candidate_links` with the ABC table computed from ``store`` (``claster link --store``).

    ``elements``: chrom, start_bp, end_bp, element_id of every candidate element (scanned or skipped);
    the ABC table covers the chromosomes of ``links`` (all of ``elements``' when ``links`` is empty).
    ``config``: :class:`claster.config.link.AbcConfig`; ``genes``: target genes (default: the store's).
    """
    from claster.link.abc import abc_links

    chroms = sorted(set(links["chr"].astype(str))) if len(links) else sorted(set(elements["chrom"].astype(str)))
    result = abc_links(
        store, elements[["chrom", "start_bp", "end_bp", "element_id"]], chroms=chroms, config=config, genes=genes
    )
    return candidate_links(links, result.table, scanned=scanned, candidate_distance_bp=candidate_distance_bp)
