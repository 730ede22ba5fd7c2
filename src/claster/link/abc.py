"""The Activity-by-Contact (ABC) score of Fulco et al. 2019 / Nasser et al. 2021 from claster inputs.

For a candidate element E and a gene G whose TSS lies within ``max_distance_bp`` (5 Mbp) of E's
midpoint::

    activity(E)  = sqrt(accessibility(E) * H3K27ac(E))          geometric mean of the two signals
    contact(E,G) = hic(E,G) [* powerlaw_ref(d) / powerlaw(d)] + pseudocount(d)
    ABC(E,G)     = activity(E) * contact(E,G) / sum over G's candidates E' of activity(E') * contact(E',G)

Signals come from a store (:func:`element_signal`: the 100 bp track summed over the element's bases,
i.e. signal x bp, or averaged per base with ``activity="mean"``) or from a table
(:func:`activity_from_columns`, e.g. the DHS and H3K27ac read counts of an ABC ``EnhancerList``).

``hic(E,G)`` is the balanced contact between the bin of E's midpoint and the bin of G's TSS, read
from a diagonal band (the store's ``contacts``, or any :class:`ContactBand`), handled as the ABC
pipeline handles a Juicer matrix (``workflow/scripts/hic.py`` and ``predictor.py``, read and
re-implemented here):

- the band is divided by its mean row sum (ABC makes the matrix "doubly stochastic"; claster's row sum
  runs over the band, i.e. the distances the store keeps);
- the diagonal (E and the TSS in one bin) becomes ``tss_hic_contribution`` % of the larger of the two
  neighbouring off-diagonal entries;
- a pair with a filtered bin (no finite value in its row: removed by balancing) gets the power law at
  the bins' distance (ABC fills NaN from KR failures, and genes with no promoter contact, that way);
- a pair beyond the band (distance past what the store keeps) or on a chromosome without a map gets
  the power law at the pair's distance; an absent pixel inside the band is a 0 count;
- with ``scale_to_reference`` the contact is multiplied by ``powerlaw_ref(d) / powerlaw(d)`` (ABC's
  ``--scale_hic_using_powerlaw``, reference gamma 0.87, scale ``-4.80 + 11.63 * gamma_ref``);
- the pseudocount ``min(powerlaw(d), powerlaw(pseudocount_distance_bp))`` is added.

``powerlaw(d) = exp(scale - gamma * ln(max(d, 5 kbp) + 1))``. gamma and scale are fitted per
chromosome from the same band (mean contact per distance over 5 kbp .. 1 Mbp, least squares on
log-log, as ``compute_powerlaw_fit_from_hic.py``), or taken from the config (ABC's K562 values).
Without any map the score is ABC's "powerlaw" variant: contact = powerlaw(d), no pseudocount.

Promoters enter as ABC does: elements overlapping a TSS +- 250 bp are class ``promoter`` (else
``genic`` inside a gene body, else ``intergenic``); genes whose TSS no element covers get a TSS +- 250
bp element (``include_promoters``), which counts in every denominator; a gene's self-promoter gets
score 1. Differences to the ABC pipeline: no quantile normalisation of signals to a reference, no
MACS2 peak calling (the elements are the user's), no expression filter on genes (every gene is
scored), the row-sum normalisation runs over the stored band, and contacts come from the store's
balancing (ICE or the cooler's weights) rather than Juicer's KR/SCALE vectors.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from claster.config.link import AbcConfig
from claster.errors import ClasterWarning, InputError

__all__ = [
    "ABC_COLUMNS",
    "ABC_EXTRA_COLUMNS",
    "ACCESSIBILITY_TRACKS",
    "AbcResult",
    "ContactBand",
    "powerlaw_contact",
    "fit_powerlaw",
    "element_signal",
    "store_activity",
    "activity_from_columns",
    "element_classes",
    "add_promoter_elements",
    "abc_scores",
    "abc_links",
    "write_abc_tsv",
    "write_abc_bedpe",
]

#: ABC-style output columns, in order (``distance`` = |TSS - element midpoint| in bp).
ABC_COLUMNS: tuple[str, ...] = (
    "chr", "start", "end", "name", "class", "TargetGene", "TargetGeneTSS", "distance", "activity", "contact",
    "ABC.Score",
)
#: Further columns :func:`abc_scores` adds after :data:`ABC_COLUMNS`.
ABC_EXTRA_COLUMNS: tuple[str, ...] = (
    "TargetGeneEnsemblID", "isSelfPromoter", "hic_contact", "powerlaw_contact", "contact_source",
    "ABC.Score.Numerator", "added_promoter",
)
#: Store track names tried, in order, as the accessibility signal.
ACCESSIBILITY_TRACKS: tuple[str, ...] = ("ATAC", "DNase", "DHS")

# contact_source values
MAP, FILTERED, BEYOND, NO_MAP = "map", "powerlaw_filtered_bin", "powerlaw_beyond_map", "powerlaw_no_map"


def powerlaw_contact(distance_bp, gamma: float, scale: float, min_distance_bp: float = 5_000) -> np.ndarray:
    """ABC's power law ``exp(scale - gamma * ln(max(d, min_distance_bp) + 1))``, float64 like ``distance_bp``."""
    d = np.clip(np.asarray(distance_bp, dtype=np.float64), min_distance_bp, None)
    return np.exp(scale - gamma * np.log(d + 1.0))


@dataclass
class ContactBand:
    """Balanced contacts of one chromosome as a diagonal band.

    ``band``: (n_bins, band_bins) with ``band[i, d]`` = contact of bins i and i + d (NaN: no pixel or a
    filtered bin), the layout of :meth:`claster.store.Store.contact_band`; ``bin_bp``: bin size in bp.
    """

    band: np.ndarray
    bin_bp: int
    _norm: np.ndarray | None = field(default=None, repr=False)
    _filtered: np.ndarray | None = field(default=None, repr=False)
    mean_row_sum: float = float("nan")

    def prepared(self) -> tuple[np.ndarray, np.ndarray]:
        """``(band / mean row sum, filtered)``: float32 (n, B) with NaN kept, and (n,) bool of bins with
        no finite value in their row or column. Computed once."""
        if self._norm is None:
            band = np.asarray(self.band, dtype=np.float32)
            n, width = band.shape
            finite = np.isfinite(band)
            vals = np.where(finite, band, 0).astype(np.float64)
            rows = vals.sum(1)
            count = finite.sum(1).astype(np.int64)
            for d in range(1, width):  # the lower triangle: band[i - d, d] belongs to row i too
                rows[d:] += vals[: n - d, d]
                count[d:] += finite[: n - d, d]
            filtered = count == 0
            positive = rows[(rows > 0) & ~filtered]
            if positive.size == 0:
                raise InputError("the contact map has no positive contact; check the contact file")
            self.mean_row_sum = float(positive.mean())
            self._norm = (band / np.float32(self.mean_row_sum)).astype(np.float32)
            self._filtered = filtered
        assert self._filtered is not None
        return self._norm, self._filtered


def fit_powerlaw(cb: ContactBand, *, min_bp: int = 5_000, max_bp: int = 1_000_000) -> dict[str, float]:
    """Fit ``log(mean contact) = scale - gamma * log(distance)`` on the normalised band.

    For each bin distance d with ``min_bp <= d * bin_bp <= max_bp`` (and inside the band), the mean over
    pairs of unfiltered bins of the normalised contact (an absent pixel counts 0); least squares of its
    natural log on ``log(d * bin_bp)``, as the ABC pipeline's ``compute_powerlaw_fit_from_hic.py``.

    Returns ``{"gamma", "scale", "n_distances"}``; :class:`InputError` with fewer than 3 usable distances.
    """
    norm, filtered = cb.prepared()
    n, width = norm.shape
    d_lo = max(1, int(np.ceil(min_bp / cb.bin_bp)))
    d_hi = min(width - 1, int(max_bp // cb.bin_bp))
    xs, ys = [], []
    for d in range(d_lo, d_hi + 1):
        ok = ~filtered[: n - d] & ~filtered[d:]
        if not ok.any():
            continue
        v = np.nan_to_num(norm[: n - d, d][ok].astype(np.float64), nan=0.0)
        m = v.mean()
        if m > 0:
            xs.append(np.log(d * cb.bin_bp))
            ys.append(np.log(m))
    if len(xs) < 3:
        raise InputError(
            f"too few distances ({len(xs)}) with contacts between {min_bp} and {max_bp} bp to fit the power "
            "law; set fit_powerlaw: false (ABC's K562 gamma and scale are then used)"
        )
    slope, intercept = np.polyfit(np.asarray(xs), np.asarray(ys), 1)
    return {"gamma": float(-slope), "scale": float(intercept), "n_distances": len(xs)}


# --------------------------------------------------------------------------------------------------
# activity


def element_signal(track: np.ndarray, bin_bp: int, start_bp, end_bp, *, how: str = "sum") -> np.ndarray:
    """Signal of one track over intervals ``[start_bp, end_bp)``.

    ``track``: (n_bins,) mean signal per ``bin_bp`` bin (a store track row); NaN counts 0 and bins past
    the end are 0. ``how="sum"``: integral over the bases (mean per base x bp, signal units x bp);
    ``"mean"``: that integral / (end - start). Partial bins count by their overlap. Returns (n,) float64.
    """
    row = np.nan_to_num(np.asarray(track, dtype=np.float64), nan=0.0)
    cs = np.concatenate([[0.0], np.cumsum(row) * bin_bp])
    length = row.size * bin_bp

    def integral(x: np.ndarray) -> np.ndarray:
        x = np.clip(x, 0, length)
        b = np.minimum(x // bin_bp, max(row.size - 1, 0))
        inner = cs[b] + (row[b] * (x - b * bin_bp) if row.size else 0.0)
        return np.where(x >= length, cs[-1], inner)

    s = np.asarray(start_bp, dtype=np.int64)
    e = np.asarray(end_bp, dtype=np.int64)
    total = integral(e) - integral(s)
    if how == "mean":
        return total / np.maximum(e - s, 1)
    if how != "sum":
        raise InputError(f"activity must be 'sum' or 'mean', got {how!r}")
    return total


def store_activity(store, elements: pd.DataFrame, config: AbcConfig | None = None) -> pd.DataFrame:
    """Accessibility, H3K27ac and their geometric mean ``activity`` for each element, from a store.

    ``elements``: chrom, start_bp, end_bp (0-based half-open). Returns a copy with ``accessibility``,
    ``h3k27ac`` (per :func:`element_signal`, track units x bp for ``sum``) and ``activity``.
    """
    cfg = config or AbcConfig()
    names = list(store.track_names)
    acc = cfg.accessibility_track or next((t for t in ACCESSIBILITY_TRACKS if t in names), None)
    if acc is None or acc not in names:
        raise InputError(
            f"the store has no accessibility track ({', '.join(ACCESSIBILITY_TRACKS)}; it has {', '.join(names)}); "
            "name one with accessibility_track"
        )
    if cfg.acetylation_track not in names:
        raise InputError(
            f"the store has no {cfg.acetylation_track} track (it has {', '.join(names)}); set acetylation_track"
        )
    out = elements.copy()
    a = np.zeros(len(out))
    k = np.zeros(len(out))
    for chrom, idx in out.groupby("chrom", sort=False).indices.items():
        tracks = store.tracks(str(chrom))
        s = out["start_bp"].to_numpy(np.int64)[idx]
        e = out["end_bp"].to_numpy(np.int64)[idx]
        a[idx] = element_signal(tracks[names.index(acc)], store.track_bin_bp, s, e, how=cfg.activity)
        k[idx] = element_signal(tracks[names.index(cfg.acetylation_track)], store.track_bin_bp, s, e,
                                how=cfg.activity)
    for what, v in ((acc, a), (cfg.acetylation_track, k)):
        if len(v) and not np.any(v > 0):
            warnings.warn(f"track {what} is zero over every element; every activity is 0",
                          ClasterWarning, stacklevel=2)
    out["accessibility"] = a
    out["h3k27ac"] = k
    out["activity"] = np.sqrt(np.clip(a, 0, None) * np.clip(k, 0, None))
    out.attrs["accessibility_track"] = acc
    return out


def activity_from_columns(table: pd.DataFrame, accessibility_col: str, acetylation_col: str) -> np.ndarray:
    """(n,) float64 geometric mean ``sqrt(acc * h3k27ac)`` of two columns (negative values count 0)."""
    missing = [c for c in (accessibility_col, acetylation_col) if c not in table.columns]
    if missing:
        raise InputError(f"the element table lacks column(s) {', '.join(missing)}; name the signal columns")
    a = pd.to_numeric(table[accessibility_col], errors="coerce").to_numpy(np.float64)
    k = pd.to_numeric(table[acetylation_col], errors="coerce").to_numpy(np.float64)
    bad = int((np.isnan(a) | np.isnan(k)).sum())
    if bad:
        raise InputError(f"{bad} elements have a non-numeric {accessibility_col} or {acetylation_col}; fix the table")
    return np.sqrt(np.clip(a, 0, None) * np.clip(k, 0, None))


# --------------------------------------------------------------------------------------------------
# elements and genes


def _genes(genes: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("chrom", "tss_bp", "gene_id") if c not in genes.columns]
    if missing:
        raise InputError(f"the gene table lacks column(s) {', '.join(missing)}; give chrom, tss_bp, gene_id")
    g = genes.copy()
    if "gene_name" not in g.columns:
        g["gene_name"] = g["gene_id"]
    g["gene_name"] = g["gene_name"].astype(str).where(g["gene_name"].astype(str).ne(""), g["gene_id"].astype(str))
    g["chrom"] = g["chrom"].astype(str)
    g["tss_bp"] = g["tss_bp"].astype(np.int64)
    return g.reset_index(drop=True)


def _overlaps_any(chrom, s, e, iv_chrom, iv_s, iv_e) -> np.ndarray:
    """(n,) bool: interval i overlaps any of the intervals (same chromosome, half-open)."""
    out = np.zeros(len(s), dtype=bool)
    for c in np.unique(chrom):
        m = chrom == c
        k = iv_chrom == c
        if not k.any():
            continue
        order = np.argsort(iv_s[k], kind="stable")
        starts, ends = iv_s[k][order], iv_e[k][order]
        run_max_end = np.maximum.accumulate(ends)
        j = np.searchsorted(starts, e[m], side="left")  # intervals starting before e
        prev = np.where(j > 0, run_max_end[np.maximum(j - 1, 0)], -1)
        out[m] = (j > 0) & (prev > s[m])
    return out


def element_classes(elements: pd.DataFrame, genes: pd.DataFrame, *, promoter_half_bp: int = 250) -> np.ndarray:
    """ABC's element class: ``promoter`` (overlaps a TSS +- ``promoter_half_bp``), else ``genic`` (overlaps
    a gene body ``start_bp..end_bp`` when the gene table has them), else ``intergenic``."""
    g = _genes(genes)
    c = elements["chrom"].astype(str).to_numpy()
    s = elements["start_bp"].to_numpy(np.int64)
    e = elements["end_bp"].to_numpy(np.int64)
    gc = g["chrom"].to_numpy()
    tss = g["tss_bp"].to_numpy(np.int64)
    prom = _overlaps_any(c, s, e, gc, tss - promoter_half_bp, tss + promoter_half_bp)
    genic = np.zeros(len(s), dtype=bool)
    if {"start_bp", "end_bp"} <= set(g.columns):
        genic = _overlaps_any(c, s, e, gc, g["start_bp"].to_numpy(np.int64), g["end_bp"].to_numpy(np.int64))
    return np.where(prom, "promoter", np.where(genic, "genic", "intergenic"))


def add_promoter_elements(elements: pd.DataFrame, genes: pd.DataFrame, *, half_bp: int = 250) -> pd.DataFrame:
    """``elements`` plus a ``promoter|<gene_name>`` element at TSS +- ``half_bp`` for each gene whose
    TSS +- ``half_bp`` no element overlaps (one per distinct TSS); ``added_promoter`` marks them."""
    g = _genes(genes).drop_duplicates(["chrom", "tss_bp"])
    tss = g["tss_bp"].to_numpy(np.int64)
    covered = _overlaps_any(g["chrom"].to_numpy(), tss - half_bp, tss + half_bp,
                            elements["chrom"].astype(str).to_numpy(), elements["start_bp"].to_numpy(np.int64),
                            elements["end_bp"].to_numpy(np.int64))
    new = g.loc[~covered]
    add = pd.DataFrame({
        "chrom": new["chrom"].to_numpy(),
        "start_bp": np.maximum(new["tss_bp"].to_numpy(np.int64) - half_bp, 0),
        "end_bp": new["tss_bp"].to_numpy(np.int64) + half_bp,
        "element_id": ("promoter|" + new["gene_name"].astype(str)).to_numpy(),
        "added_promoter": True,
    })
    base = elements.copy()
    base["added_promoter"] = base.get("added_promoter", False)
    return pd.concat([base, add], ignore_index=True) if len(add) else base


# --------------------------------------------------------------------------------------------------
# the score


def _pairs(el: pd.DataFrame, g: pd.DataFrame, max_distance_bp: int) -> tuple[np.ndarray, np.ndarray]:
    """(element row, gene row) index arrays of pairs with |TSS - midpoint| < max_distance_bp (one chrom)."""
    mid = (el["start_bp"].to_numpy(np.float64) + el["end_bp"].to_numpy(np.float64)) / 2
    order = np.argsort(mid, kind="stable")
    ms = mid[order]
    tss = g["tss_bp"].to_numpy(np.float64)
    lo = np.searchsorted(ms, tss - max_distance_bp, side="right")
    hi = np.searchsorted(ms, tss + max_distance_bp, side="left")
    counts = hi - lo
    gi = np.repeat(np.arange(len(g)), counts)
    starts = np.repeat(lo, counts)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    ei = order[starts + within]
    return ei, gi


def _map_contacts(cb: ContactBand, e_bin: np.ndarray, t_bin: np.ndarray, cfg: AbcConfig,
                  gamma: float, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Raw (normalised, diagonal-corrected, filled) contact and its source for each pair."""
    norm, filtered = cb.prepared()
    n, width = norm.shape
    lo = np.minimum(e_bin, t_bin)
    hi = np.maximum(e_bin, t_bin)
    d = hi - lo
    inside = (lo >= 0) & (hi < n) & (d < width)
    li, di = np.where(inside, lo, 0), np.where(inside, d, 0)
    hic = np.nan_to_num(norm[li, di].astype(np.float64), nan=0.0)
    diag = inside & (d == 0)
    if diag.any() and width > 1:
        left = np.where(li > 0, np.nan_to_num(norm[np.maximum(li - 1, 0), 1].astype(np.float64), nan=0.0), 0.0)
        right = np.nan_to_num(norm[li, 1].astype(np.float64), nan=0.0)
        hic = np.where(diag, np.maximum(left, right) * cfg.tss_hic_contribution / 100.0, hic)
    bad = inside & (filtered[li] | filtered[np.where(inside, hi, 0)])
    hic = np.where(bad, powerlaw_contact(d * cb.bin_bp, gamma, scale, cb.bin_bp), hic)
    source = np.where(~inside, BEYOND, np.where(bad, FILTERED, MAP))
    return hic, source


def abc_scores(
    elements: pd.DataFrame,
    genes: pd.DataFrame,
    contacts: dict[str, ContactBand] | None = None,
    *,
    config: AbcConfig | None = None,
) -> pd.DataFrame:
    """ABC scores of every element–gene pair within ``max_distance_bp`` (see the module docstring).

    Parameters
    ----------
    elements
        ``chrom, start_bp, end_bp, element_id, activity`` (0-based half-open; activity >= 0, any units:
        the score is a ratio); optional ``class`` (else :func:`element_classes`) and ``added_promoter``.
        Promoter elements are *not* added here (see :func:`add_promoter_elements`).
    genes
        ``chrom, tss_bp, gene_id`` and optional ``gene_name``, ``start_bp``, ``end_bp``.
    contacts
        Chromosome -> :class:`ContactBand`; None or a missing chromosome: power law only.

    Returns
    -------
    DataFrame with :data:`ABC_COLUMNS` then :data:`ABC_EXTRA_COLUMNS`; ``contact`` is the adjusted
    contact ABC multiplies (with pseudocount), ``hic_contact`` the map value before scaling and
    pseudocount, ``powerlaw_contact`` the fitted power law at the distance. ``attrs["summary"]`` holds
    per-chromosome gamma/scale, the count of pairs per ``contact_source`` and genes whose candidates
    all have activity 0 (their scores are 0, with a warning).
    """
    cfg = config or AbcConfig()
    missing = [c for c in ("chrom", "start_bp", "end_bp", "element_id", "activity") if c not in elements.columns]
    if missing:
        raise InputError(f"the elements lack column(s) {', '.join(missing)}; give chrom, start_bp, end_bp, "
                         "element_id and activity")
    els = elements.copy().reset_index(drop=True)
    els["chrom"] = els["chrom"].astype(str)
    if (els["end_bp"] <= els["start_bp"]).any():
        raise InputError("some elements have end <= start; give 0-based half-open intervals")
    if (pd.to_numeric(els["activity"], errors="coerce").fillna(-1) < 0).any():
        raise InputError("element activity must be a number >= 0 for every element")
    g = _genes(genes)
    if "class" not in els.columns:
        els["class"] = element_classes(els, g, promoter_half_bp=cfg.promoter_half_bp)
    if "added_promoter" not in els.columns:
        els["added_promoter"] = False
    contacts = contacts or {}
    parts, summary = [], {"chroms": {}, "contact_source": {}, "n_genes_zero_activity": 0}
    for chrom in sorted(set(els["chrom"]) & set(g["chrom"])):
        el = els[els["chrom"] == chrom].reset_index(drop=True)
        gg = g[g["chrom"] == chrom].reset_index(drop=True)
        ei, gi = _pairs(el, gg, cfg.max_distance_bp)
        e = el.iloc[ei].reset_index(drop=True)
        t = gg.iloc[gi].reset_index(drop=True)
        mid = (e["start_bp"].to_numpy(np.float64) + e["end_bp"].to_numpy(np.float64)) / 2
        tss = t["tss_bp"].to_numpy(np.int64)
        dist = np.abs(mid - tss)
        cb = contacts.get(chrom)
        info: dict = {"n_pairs": int(len(e))}
        if cb is not None:
            if cfg.fit_powerlaw:
                fit = fit_powerlaw(cb, min_bp=cfg.powerlaw_min_bp, max_bp=cfg.fit_max_bp)
                gamma, scale = fit["gamma"], fit["scale"]
                info["n_fit_distances"] = fit["n_distances"]
            else:
                gamma, scale = cfg.hic_gamma, cfg.hic_scale
            e_bin = np.floor(mid / cb.bin_bp).astype(np.int64)
            t_bin = tss // cb.bin_bp
            hic, source = _map_contacts(cb, e_bin, t_bin, cfg, gamma, scale)
            pl = powerlaw_contact(dist, gamma, scale, cfg.powerlaw_min_bp)
            hic = np.where(source == BEYOND, pl, hic)
            scaled = hic
            if cfg.scale_to_reference:
                ref = powerlaw_contact(dist, cfg.gamma_reference, -4.80 + 11.63 * cfg.gamma_reference,
                                       cfg.powerlaw_min_bp)
                scaled = hic * ref / pl
            pseudo = np.minimum(pl, powerlaw_contact(cfg.pseudocount_distance_bp, gamma, scale, cb.bin_bp))
            contact = scaled + pseudo
            info.update(gamma=gamma, scale=scale, mean_row_sum=cb.mean_row_sum, bin_bp=cb.bin_bp)
        else:
            gamma, scale = cfg.hic_gamma, cfg.hic_scale
            pl = powerlaw_contact(dist, gamma, scale, cfg.powerlaw_min_bp)
            hic = pl
            contact = pl
            source = np.full(len(e), NO_MAP)
            info.update(gamma=gamma, scale=scale)
        act = e["activity"].to_numpy(np.float64)
        num = act * contact
        is_self = (
            (e["class"].astype(str).to_numpy() == "promoter")
            & (e["start_bp"].to_numpy(np.int64) - cfg.tss_slop_bp < tss)
            & (e["end_bp"].to_numpy(np.int64) + cfg.tss_slop_bp > tss)
        )
        part = pd.DataFrame({
            "chr": chrom,
            "start": e["start_bp"].to_numpy(np.int64),
            "end": e["end_bp"].to_numpy(np.int64),
            "name": e["element_id"].astype(str).to_numpy(),
            "class": e["class"].astype(str).to_numpy(),
            "TargetGene": t["gene_name"].astype(str).to_numpy(),
            "TargetGeneTSS": tss,
            "distance": dist,
            "activity": act,
            "contact": contact,
            "ABC.Score": np.nan,
            "TargetGeneEnsemblID": t["gene_id"].astype(str).to_numpy(),
            "isSelfPromoter": is_self,
            "hic_contact": hic,
            "powerlaw_contact": pl,
            "contact_source": source,
            "ABC.Score.Numerator": num,
            "added_promoter": e["added_promoter"].astype(bool).to_numpy(),
        })
        denom = part.groupby(["TargetGeneEnsemblID", "TargetGeneTSS"], sort=False)["ABC.Score.Numerator"].transform("sum")
        denom = denom.to_numpy(np.float64)
        zero = denom <= 0
        summary["n_genes_zero_activity"] += int(part.loc[zero, "TargetGeneEnsemblID"].nunique())
        part["ABC.Score"] = np.where(zero, 0.0, num / np.where(zero, 1.0, denom))
        if cfg.self_promoter_score_one:
            part.loc[is_self, "ABC.Score"] = 1.0
        parts.append(part)
        summary["chroms"][chrom] = info
    if not parts:
        raise InputError("no element shares a chromosome with a gene; check the chromosome names")
    out = pd.concat(parts, ignore_index=True)
    summary["contact_source"] = {k: int(v) for k, v in out["contact_source"].value_counts().items()}
    summary["n_pairs"] = int(len(out))
    if summary["n_genes_zero_activity"]:
        warnings.warn(
            f"{summary['n_genes_zero_activity']} genes have activity 0 on every candidate element; their ABC "
            "scores are set to 0", ClasterWarning, stacklevel=2,
        )
    out = out.sort_values(["chr", "start", "end", "TargetGeneTSS", "TargetGeneEnsemblID"], kind="stable")
    out = out.reset_index(drop=True)
    out.attrs["summary"] = summary
    return out


@dataclass
class AbcResult:
    """The ABC table (:func:`abc_scores`) and a JSON-ready summary."""

    table: pd.DataFrame
    summary: dict


def abc_links(
    store,
    elements: pd.DataFrame,
    *,
    chroms: list[str] | None = None,
    config: AbcConfig | None = None,
    contacts_kind: str = "contacts",
    genes: pd.DataFrame | None = None,
) -> AbcResult:
    """ABC scores from a store: activity from its tracks, contact from its balanced map, its genes.

    Parameters
    ----------
    store
        An open :class:`claster.store.Store`.
    elements
        chrom, start_bp, end_bp, element_id (e.g. :func:`claster.perturb.read_elements`).
    chroms
        Restrict to these chromosomes (default: every store chromosome with an element).
    config
        :class:`claster.config.link.AbcConfig`.
    contacts_kind
        Store contact data used (``contacts``; ``pchic`` for capture data).
    genes
        Target genes (``chrom, tss_bp, gene_id, gene_name``, e.g. :func:`claster.io.read_annotation` with
        every gene type); default: every gene of the store (usable or not; the store keeps the gene
        types given to ``claster prepare``, protein-coding by default).

    Every target gene is scored; promoters are added per
    ``include_promoters``. A chromosome without a map uses the power law (with a warning).
    """
    cfg = config or AbcConfig()
    els = elements.copy()
    els["chrom"] = els["chrom"].astype(str)
    wanted = list(chroms) if chroms else [c for c in store.chroms if c in set(els["chrom"])]
    for c in wanted:
        store.check_chrom(c)
    dropped = int((~els["chrom"].isin(wanted)).sum())
    els = els[els["chrom"].isin(wanted)].reset_index(drop=True)
    if els.empty:
        raise InputError(f"no element on {', '.join(wanted) or 'the store chromosomes'}; check the BED and --chroms")
    genes = store.genes if genes is None else genes
    genes = genes[genes["chrom"].astype(str).isin(wanted)].reset_index(drop=True)
    if genes.empty:
        raise InputError(f"no gene on {', '.join(wanted)}; check the gene annotation's chromosome names")
    els = els.assign(added_promoter=False)
    if cfg.include_promoters:
        els = add_promoter_elements(els, genes, half_bp=cfg.promoter_half_bp)
    els = store_activity(store, els, cfg)
    contacts: dict[str, ContactBand] = {}
    no_map = []
    for c in wanted:
        meta = store.manifest.get(contacts_kind) or {}
        if store.has(contacts_kind) and c in meta.get("chroms", []):
            contacts[c] = ContactBand(np.asarray(store.contact_band(c, contacts_kind)),
                                      store.contact_bin_bp(contacts_kind))
        else:
            no_map.append(c)
    if no_map:
        warnings.warn(
            f"no {contacts_kind} map for {', '.join(no_map)}: ABC contact there is the power law alone "
            "(ABC's K562 gamma and scale)", ClasterWarning, stacklevel=2,
        )
    table = abc_scores(els, genes, contacts, config=cfg)
    summary = {
        "config": cfg.model_dump(),
        "chroms": wanted,
        "n_elements": int((~els["added_promoter"]).sum()),
        "n_promoters_added": int(els["added_promoter"].sum()),
        "n_elements_elsewhere": dropped,
        "n_genes": int(len(genes)),
        "accessibility_track": els.attrs.get("accessibility_track"),
        "acetylation_track": cfg.acetylation_track,
        "activity_units": "track units x bp (summed over the element)" if cfg.activity == "sum"
        else "track units (mean per base)",
        "no_map_chroms": no_map,
        **table.attrs["summary"],
    }
    return AbcResult(table, summary)


def write_abc_tsv(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write an ABC table (:data:`ABC_COLUMNS` first) as TSV, atomically."""
    from claster.io.writers import write_tsv

    missing = [c for c in ABC_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(f"ABC table lacks column(s) {', '.join(missing)}; build it with abc_scores()")
    rest = [c for c in table.columns if c not in ABC_COLUMNS]
    return write_tsv(table[[*ABC_COLUMNS, *rest]], path, float_format="%.6g")


def write_abc_bedpe(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write an ABC table as BEDPE: the element, a 1 bp interval at the TSS, ``name|TargetGene``, the
    ABC score (float), the gene, distance (bp)."""
    from claster.io.writers import write_bedpe

    bed = pd.DataFrame({
        "chrom1": table["chr"].astype(str), "start1": table["start"].astype(np.int64),
        "end1": table["end"].astype(np.int64), "chrom2": table["chr"].astype(str),
        "start2": table["TargetGeneTSS"].astype(np.int64), "end2": table["TargetGeneTSS"].astype(np.int64) + 1,
        "name": table["name"].astype(str) + "|" + table["TargetGene"].astype(str),
        "score": table["ABC.Score"].astype(np.float64), "TargetGene": table["TargetGene"].astype(str),
        "distance": table["distance"],
    })
    return write_bedpe(bed, path, float_format="%.6g")
