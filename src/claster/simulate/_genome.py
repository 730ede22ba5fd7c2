"""Layout of the simulated genome and its ground truth: domains, genes, enhancers, gaps, rates, effects.

Everything here is pure numpy/pandas; randomness comes from the ``np.random.Generator`` passed in.
Coordinates are 0-based half-open ``[start_bp, end_bp)``; a TSS is a single base ``tss_bp``
(``start_bp`` on ``+``, ``end_bp - 1`` on ``-``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from claster.simulate._params import SimParams

__all__ = ["Layout", "layout_genome", "contact_frequency", "loop_contact", "LOOP_COLUMNS"]

LOOP_COLUMNS = ["chrom", "anchor1_bp", "anchor2_bp", "strength", "enhancer_id", "gene_id"]


@dataclass(frozen=True)
class Layout:
    """The simulated genome before any signal is drawn.

    Attributes
    ----------
    domains
        ``chrom, start_bp, end_bp, domain_id`` (TAD-like domains tiling each chromosome).
    genes
        One row per gene: the columns of ``truth/genes.tsv``.
    enhancers
        ``enhancer_id, chrom, start_bp, end_bp, activity, active, domain_id``.
    pairs
        Every (enhancer, gene) pair with the TSS within ``regulatory_range_bp`` of the enhancer midpoint:
        the columns of ``truth/pairs.tsv``.
    gaps
        ``chrom, start_bp, end_bp``: intervals without data in every bigWig and contact bin.
    loops
        ``chrom, anchor1_bp, anchor2_bp, strength, enhancer_id, gene_id``: enhancer-promoter loops
        (anchor1 = enhancer midpoint, anchor2 = TSS); empty unless ``loops_per_mbp > 0``.
    """

    domains: pd.DataFrame
    genes: pd.DataFrame
    enhancers: pd.DataFrame
    pairs: pd.DataFrame
    gaps: pd.DataFrame
    loops: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=LOOP_COLUMNS))


def contact_frequency(distance_bp: np.ndarray, same_domain: np.ndarray, params: SimParams) -> np.ndarray:
    """Model contact frequency ``(1 + d / d0) ** -a``, times ``contact_between_domains`` across a boundary.

    ``a = contact_decay_exponent`` (default 1). ``distance_bp`` and ``same_domain`` broadcast; returns
    float64 in (0, 1]. Loops are not included (see :func:`loop_contact`).
    """
    d = np.abs(np.asarray(distance_bp, dtype=np.float64))
    factor = np.where(np.asarray(same_domain, dtype=bool), 1.0, params.contact_between_domains)
    if params.contact_decay_exponent == 1.0:
        return factor / (1.0 + d / params.contact_d0_bp)
    return factor * (1.0 + d / params.contact_d0_bp) ** -params.contact_decay_exponent


def loop_contact(loops: pd.DataFrame, x_bp: np.ndarray, y_bp: np.ndarray, params: SimParams) -> np.ndarray:
    """Extra contact frequency of positions ``x_bp`` and ``y_bp`` (same chromosome) from ``loops``.

    ``sum_loops strength * (K(x - a1) K(y - a2) + K(x - a2) K(y - a1))`` with
    ``K(u) = exp(-u**2 / (2 * loop_width_bp**2))``; ``x_bp``, ``y_bp`` broadcast; float64.
    """
    x = np.asarray(x_bp, dtype=np.float64)
    y = np.asarray(y_bp, dtype=np.float64)
    out = np.zeros(np.broadcast_shapes(x.shape, y.shape))
    w2 = 2.0 * params.loop_width_bp**2
    for a1, a2, s in zip(loops["anchor1_bp"], loops["anchor2_bp"], loops["strength"], strict=True):
        out += s * (
            np.exp(-((x - a1) ** 2 + (y - a2) ** 2) / w2) + np.exp(-((x - a2) ** 2 + (y - a1) ** 2) / w2)
        )
    return out


def _domains(params: SimParams, rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    domain_id = 0
    for chrom, length_bp in params.chrom_sizes.items():
        pos = 0
        while pos < length_bp:
            size = int(rng.integers(params.domain_min_bp, params.domain_max_bp + 1))
            end = min(pos + size, length_bp)
            if length_bp - end < params.domain_min_bp // 2:  # do not leave a tiny last domain
                end = length_bp
            rows.append((chrom, pos, end, domain_id))
            domain_id += 1
            pos = end
    return pd.DataFrame(rows, columns=["chrom", "start_bp", "end_bp", "domain_id"])


def _domain_of(domains: pd.DataFrame, chrom: str, pos_bp: np.ndarray) -> np.ndarray:
    d = domains[domains["chrom"] == chrom]
    idx = np.searchsorted(d["end_bp"].to_numpy(), np.asarray(pos_bp), side="right")
    return d["domain_id"].to_numpy()[idx]


def _genes(params: SimParams, rng: np.random.Generator, domains: pd.DataFrame) -> pd.DataFrame:
    mean_len = params.gene_length_median_bp * np.exp(params.gene_length_sigma**2 / 2)
    mean_gap = max(1e6 / params.genes_per_mbp - mean_len, 1_000.0)
    gap_sigma = 1.0
    gap_median = mean_gap / np.exp(gap_sigma**2 / 2)
    rows = []
    for chrom, length_bp in params.chrom_sizes.items():
        pos = params.chrom_end_margin_bp
        while True:
            pos += int(rng.lognormal(np.log(gap_median), gap_sigma))
            glen = int(
                np.clip(
                    rng.lognormal(np.log(params.gene_length_median_bp), params.gene_length_sigma),
                    params.gene_length_min_bp,
                    params.gene_length_max_bp,
                )
            )
            if pos + glen > length_bp - params.chrom_end_margin_bp:
                break
            if params.head_to_head_fraction > 0 and rng.random() < params.head_to_head_fraction:
                # a divergent pair: a '-' gene whose TSS is its end, then a '+' gene starting `sep` later
                glen2 = int(
                    np.clip(
                        rng.lognormal(np.log(params.gene_length_median_bp), params.gene_length_sigma),
                        params.gene_length_min_bp,
                        params.gene_length_max_bp,
                    )
                )
                sep = int(rng.integers(params.head_to_head_gap_bp[0], params.head_to_head_gap_bp[1] + 1))
                if pos + glen + sep + glen2 > length_bp - params.chrom_end_margin_bp:
                    break
                rows.append((chrom, pos, pos + glen, "-", True))
                rows.append((chrom, pos + glen + sep, pos + glen + sep + glen2, "+", True))
                pos += glen + sep + glen2
                continue
            strand = "+" if rng.random() < 0.5 else "-"
            rows.append((chrom, pos, pos + glen, strand, False))
            pos += glen
    genes = pd.DataFrame(rows, columns=["chrom", "start_bp", "end_bp", "strand", "head_to_head"])
    n = len(genes)
    genes["tss_bp"] = np.where(genes["strand"] == "+", genes["start_bp"], genes["end_bp"] - 1)
    numbers = 100_000 + np.arange(n) * 17
    versions = rng.integers(1, 10, size=n)
    genes["gene_id"] = [f"ENSMUSG{k:011d}.{v}" for k, v in zip(numbers, versions, strict=True)]
    genes["gene_name"] = [f"Gm{1_000 + i}" for i in range(n)]
    genes["gene_type"] = np.where(rng.random(n) < params.lncrna_fraction, "lncRNA", "protein_coding")
    genes["promoter_strength"] = rng.lognormal(0.0, params.promoter_strength_sigma, size=n)
    genes["silent"] = rng.random(n) < params.silent_fraction
    # optional mechanisms draw only when switched on, so the default world's random stream is unchanged
    polycomb = genes["silent"].to_numpy().copy()
    if params.silent_k27me3_fraction < 1.0:
        polycomb &= rng.random(n) < params.silent_k27me3_fraction
    bivalent = np.zeros(n, dtype=bool)
    if params.bivalent_fraction > 0:
        bivalent = ~genes["silent"].to_numpy() & (rng.random(n) < params.bivalent_fraction)
    genes["bivalent"] = bivalent
    genes["polycomb"] = polycomb | bivalent
    genes["domain_id"] = 0
    for chrom in params.chrom_sizes:
        m = (genes["chrom"] == chrom).to_numpy()
        genes.loc[m, "domain_id"] = _domain_of(domains, chrom, genes.loc[m, "tss_bp"].to_numpy())
    return genes


def _enhancers(params: SimParams, rng: np.random.Generator, genes: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for chrom, length_bp in params.chrom_sizes.items():
        g = genes[genes["chrom"] == chrom]
        tss = np.sort(g["tss_bp"].to_numpy())
        placed_start: list[int] = []
        placed_end: list[int] = []
        probs = list(params.enhancers_per_gene)
        counts = rng.choice(np.arange(1, len(probs) + 1), size=len(g), p=probs)
        for gene_tss, n_enh in zip(g["tss_bp"].to_numpy(), counts, strict=True):
            for _ in range(int(n_enh)):
                for _attempt in range(10):
                    offset = np.clip(
                        rng.lognormal(np.log(params.enhancer_offset_median_bp), params.enhancer_offset_sigma),
                        params.enhancer_offset_min_bp,
                        params.enhancer_offset_max_bp,
                    )
                    sign = 1 if rng.random() < 0.5 else -1
                    width = int(rng.integers(params.enhancer_width_bp[0], params.enhancer_width_bp[1] + 1))
                    width -= width % 20
                    start = int(gene_tss + sign * offset - width // 2)
                    start -= start % 20
                    end = start + width
                    if start < params.chrom_end_margin_bp or end > length_bp - params.chrom_end_margin_bp:
                        continue
                    k = np.searchsorted(tss, start - 2_000)
                    if k < len(tss) and tss[k] < end + 2_000:
                        continue  # would overlap a promoter
                    if placed_start:
                        ps, pe = np.asarray(placed_start), np.asarray(placed_end)
                        if np.any((ps < end + 500) & (pe > start - 500)):
                            continue
                    placed_start.append(start)
                    placed_end.append(end)
                    break
        order = np.argsort(placed_start)
        for i in order:
            rows.append((chrom, placed_start[i], placed_end[i]))
    enh = pd.DataFrame(rows, columns=["chrom", "start_bp", "end_bp"])
    n = len(enh)
    enh.insert(0, "enhancer_id", [f"ENH{i:06d}" for i in range(n)])
    active = rng.random(n) >= params.inactive_enhancer_fraction
    lo, hi = params.inactive_activity
    enh["activity"] = np.where(
        active, rng.lognormal(0.0, params.activity_sigma, size=n), rng.uniform(lo, hi, size=n)
    )
    enh["active"] = active
    return enh


def _gaps(
    params: SimParams, rng: np.random.Generator, genes: pd.DataFrame, enh: pd.DataFrame
) -> pd.DataFrame:
    rows = []
    for chrom, length_bp in params.chrom_sizes.items():
        tss = genes.loc[genes["chrom"] == chrom, "tss_bp"].to_numpy()
        e = enh[enh["chrom"] == chrom]
        es, ee = e["start_bp"].to_numpy(), e["end_bp"].to_numpy()
        placed = 0
        for _attempt in range(200):
            if placed == params.gaps_per_chrom:
                break
            glen = int(rng.integers(params.gap_length_bp[0], params.gap_length_bp[1] + 1))
            glen -= glen % 20
            margin = params.chrom_end_margin_bp
            start = int(rng.integers(margin, length_bp - margin - glen))
            start -= start % 20
            end = start + glen
            if np.any((tss > start - 20_000) & (tss < end + 20_000)):
                continue
            if np.any((es < end + 5_000) & (ee > start - 5_000)):
                continue
            if any(c == chrom and s < end + 50_000 and t > start - 50_000 for c, s, t in rows):
                continue
            rows.append((chrom, start, end))
            placed += 1
    return pd.DataFrame(rows, columns=["chrom", "start_bp", "end_bp"]).sort_values(
        ["chrom", "start_bp"], key=lambda s: s.map(list(params.chrom_sizes).index) if s.name == "chrom" else s
    ).reset_index(drop=True)


def _loops(
    params: SimParams, rng: np.random.Generator, genes: pd.DataFrame, enh: pd.DataFrame
) -> pd.DataFrame:
    """Enhancer-promoter loops: Poisson(loops_per_mbp * length) per chromosome, each between a random
    enhancer's midpoint and the TSS of a random gene ``loop_distance_bp`` away (within the regulatory
    range), strength uniform in ``loop_strength``."""
    rows = []
    if params.loops_per_mbp <= 0:
        return pd.DataFrame(rows, columns=LOOP_COLUMNS)
    lo = params.loop_distance_bp[0]
    hi = min(params.loop_distance_bp[1], params.regulatory_range_bp)
    for chrom, length_bp in params.chrom_sizes.items():
        e = enh[enh["chrom"] == chrom]
        g = genes[genes["chrom"] == chrom]
        n_loops = int(rng.poisson(params.loops_per_mbp * length_bp / 1e6))
        if e.empty or g.empty:
            continue
        mids = ((e["start_bp"] + e["end_bp"]) // 2).to_numpy()
        tss = g["tss_bp"].to_numpy()
        seen: set[tuple[int, int]] = set()
        for _ in range(n_loops):
            for _attempt in range(20):
                k = int(rng.integers(len(e)))
                dist = np.abs(tss - mids[k])
                cand = np.flatnonzero((dist >= lo) & (dist <= hi))
                if cand.size == 0:
                    continue
                j = int(cand[rng.integers(cand.size)])
                if (k, j) in seen:
                    continue
                seen.add((k, j))
                strength = float(rng.uniform(*params.loop_strength))
                enh_id, gene_id = e["enhancer_id"].iloc[k], g["gene_id"].iloc[j]
                rows.append((chrom, int(mids[k]), int(tss[j]), strength, enh_id, gene_id))
                break
    return pd.DataFrame(rows, columns=LOOP_COLUMNS)


def _pairs_and_rates(
    params: SimParams, genes: pd.DataFrame, enh: pd.DataFrame, domains: pd.DataFrame, loops: pd.DataFrame
):
    parts = []
    for chrom in params.chrom_sizes:
        g = genes[genes["chrom"] == chrom]
        e = enh[enh["chrom"] == chrom]
        if g.empty or e.empty:
            continue
        mid = ((e["start_bp"] + e["end_bp"]) // 2).to_numpy()
        e_dom = _domain_of(domains, chrom, mid)
        tss = g["tss_bp"].to_numpy()
        dist = np.abs(mid[:, None] - tss[None, :])
        ei, gi = np.nonzero(dist <= params.regulatory_range_bp)
        same = e_dom[ei] == g["domain_id"].to_numpy()[gi]
        contact = contact_frequency(dist[ei, gi], same, params)
        chrom_loops = loops[loops["chrom"] == chrom]
        if len(chrom_loops):
            contact = contact + loop_contact(chrom_loops, mid[ei], tss[gi], params)
        parts.append(
            pd.DataFrame(
                {
                    "enhancer_id": e["enhancer_id"].to_numpy()[ei],
                    "chrom": chrom,
                    "start_bp": e["start_bp"].to_numpy()[ei],
                    "end_bp": e["end_bp"].to_numpy()[ei],
                    "gene_id": g["gene_id"].to_numpy()[gi],
                    "gene_name": g["gene_name"].to_numpy()[gi],
                    "tss_bp": tss[gi],
                    "distance_bp": dist[ei, gi],
                    "contact": contact,
                    "same_domain": same,
                    "_activity": e["activity"].to_numpy()[ei],
                }
            )
        )
    pairs = pd.concat(parts, ignore_index=True)
    pairs["_contrib"] = params.gain * pairs["_activity"] * pairs["contact"]
    total = pairs.groupby("gene_id", sort=False)["_contrib"].sum()
    drive = params.baseline + genes["gene_id"].map(total).fillna(0.0).to_numpy()
    silent = genes["silent"].to_numpy()
    rate = np.where(silent, 0.0, genes["promoter_strength"].to_numpy() * drive)
    if genes["bivalent"].any():
        rate = np.where(genes["bivalent"].to_numpy(), params.bivalent_rate_factor * rate, rate)
    gene_drive = pd.Series(drive, index=genes["gene_id"].to_numpy())
    gene_silent = pd.Series(silent, index=genes["gene_id"].to_numpy())
    # effect = rate_without_e / rate - 1 = -contrib / (baseline + sum contrib); 0 for silent genes.
    pair_drive = pairs["gene_id"].map(gene_drive).to_numpy()
    effect = -pairs["_contrib"].to_numpy() / pair_drive
    effect = np.where(pairs["gene_id"].map(gene_silent).to_numpy(dtype=bool), 0.0, effect)
    pairs["effect"] = effect
    pairs["regulated"] = np.abs(effect) >= params.regulated_threshold
    pairs = pairs.drop(columns=["_activity", "_contrib"])
    pairs = pairs[
        [
            "enhancer_id", "chrom", "start_bp", "end_bp", "gene_id", "gene_name", "tss_bp",
            "distance_bp", "contact", "effect", "regulated", "same_domain",
        ]
    ]
    return pairs, rate


def layout_genome(params: SimParams, rng: np.random.Generator) -> Layout:
    """Draw domains, genes, enhancers and gaps, and compute rates and the truth tables."""
    domains = _domains(params, rng)
    genes = _genes(params, rng, domains)
    enh = _enhancers(params, rng, genes)
    for chrom in params.chrom_sizes:
        m = (enh["chrom"] == chrom).to_numpy()
        enh.loc[m, "domain_id"] = _domain_of(
            domains, chrom, ((enh.loc[m, "start_bp"] + enh.loc[m, "end_bp"]) // 2).to_numpy()
        )
    enh["domain_id"] = enh["domain_id"].astype(np.int64)
    gaps = _gaps(params, rng, genes, enh)
    loops = _loops(params, rng, genes, enh)
    pairs, rate = _pairs_and_rates(params, genes, enh, domains, loops)
    genes["rate"] = rate
    genes = genes[
        [
            "gene_id", "gene_name", "chrom", "tss_bp", "strand", "start_bp", "end_bp", "gene_type",
            "promoter_strength", "silent", "rate", "domain_id", "bivalent", "polycomb", "head_to_head",
        ]
    ].reset_index(drop=True)
    return Layout(domains=domains, genes=genes, enhancers=enh, pairs=pairs.reset_index(drop=True), gaps=gaps,
                  loops=loops)
