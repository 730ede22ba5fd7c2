"""Signal tracks of the simulated genome at 20 bp: four chromatin marks and the EU-seq readout.

Values are mean signal per 20 bp bin (arbitrary units, ~0-100), NaN inside no-data gaps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtr

from claster.simulate._params import SimParams

__all__ = ["TRACK_NAMES", "simulate_tracks"]

TRACK_NAMES: tuple[str, ...] = ("ATAC", "H3K4me3", "H3K27ac", "H3K27me3", "EUseq")


class _Canvas:
    """Expected (noise-free) signal of one chromosome, built by adding shapes into 20 bp bins."""

    def __init__(self, length_bp: int, bin_bp: int) -> None:
        self.bin_bp = bin_bp
        self.n_bins = -(-length_bp // bin_bp)
        self.values = np.zeros(self.n_bins, dtype=np.float64)

    def _span(self, lo_bp: float, hi_bp: float) -> tuple[int, int, np.ndarray]:
        i = max(int(lo_bp // self.bin_bp), 0)
        j = min(int(hi_bp // self.bin_bp) + 1, self.n_bins)
        centres = (np.arange(i, j) + 0.5) * self.bin_bp
        return i, j, centres

    def gaussian(self, centre_bp: float, sd_bp: float, height: float) -> None:
        i, j, x = self._span(centre_bp - 4 * sd_bp, centre_bp + 4 * sd_bp)
        self.values[i:j] += height * np.exp(-0.5 * ((x - centre_bp) / sd_bp) ** 2)

    def plateau(self, start_bp: float, end_bp: float, edge_sd_bp: float, height: float) -> None:
        i, j, x = self._span(start_bp - 4 * edge_sd_bp, end_bp + 4 * edge_sd_bp)
        self.values[i:j] += height * (ndtr((x - start_bp) / edge_sd_bp) - ndtr((x - end_bp) / edge_sd_bp))

    def oriented(self, tss_bp: int, sign: int, lo_bp: float, hi_bp: float, shape) -> None:
        """Add ``shape(u)`` where ``u`` is the distance from the TSS in the transcribed direction."""
        a, b = (tss_bp + lo_bp, tss_bp + hi_bp) if sign > 0 else (tss_bp - hi_bp, tss_bp - lo_bp)
        i, j, x = self._span(a, b)
        u = (x - (tss_bp + 0.5)) * sign
        self.values[i:j] += shape(u)


def _k4me3_shape(height: float, ext_bp: float):
    def shape(u: np.ndarray) -> np.ndarray:
        out = np.where(u < 0, np.exp(-0.5 * (u / 600.0) ** 2), 1.0)
        out = np.where(u > ext_bp, np.exp(-0.5 * ((u - ext_bp) / 1_000.0) ** 2), out)
        return height * out

    return shape


def _eu_shape(params: SimParams, rate: float, length_bp: int, pause_jitter: float = 1.0):
    pause = params.eu_pause_height * rate * pause_jitter
    body = params.eu_body_height * rate
    floor = params.eu_body_floor

    def shape(u: np.ndarray) -> np.ndarray:
        level = body * (floor + (1 - floor) * np.exp(-np.clip(u, 0, None) / params.eu_body_decay_bp))
        end_level = body * (floor + (1 - floor) * np.exp(-length_bp / params.eu_body_decay_bp))
        out = np.where((u >= 0) & (u < length_bp), level, 0.0)
        out = np.where(u >= length_bp, end_level * np.exp(-(u - length_bp) / params.eu_readthrough_bp), out)
        return out + pause * np.exp(-0.5 * ((u - params.eu_pause_offset_bp) / params.eu_pause_sd_bp) ** 2)

    return shape


def simulate_tracks(
    params: SimParams,
    rng: np.random.Generator,
    genes: pd.DataFrame,
    enhancers: pd.DataFrame,
    gaps: pd.DataFrame,
) -> dict[str, dict[str, np.ndarray]]:
    """Draw every track: ``{track: {chrom: (ceil(L / 20),) float32}}``, NaN inside gaps.

    Marks get per-bin Gamma noise around the expected signal (background included); EU-seq gets
    Poisson noise at ``eu_counts_per_unit`` counts per signal unit. Silent genes carry a broad H3K27me3
    plateau when ``polycomb`` (and nothing otherwise); bivalent genes carry the plateau plus an H3K4me3
    peak of fixed height ``bivalent_k4me3_height``; with ``k27me3_body_exclusion`` the H3K27me3 of
    transcribed (non-silent, non-bivalent) gene bodies is scaled down to ``k27me3_body_depletion``.
    """
    bin_bp = params.signal_bin_bp
    out: dict[str, dict[str, np.ndarray]] = {t: {} for t in TRACK_NAMES}
    for chrom, length_bp in params.chrom_sizes.items():
        canvases = {t: _Canvas(length_bp, bin_bp) for t in TRACK_NAMES}
        g = genes[genes["chrom"] == chrom]
        jitter = rng.lognormal(0.0, params.gene_mark_noise_sigma, size=(len(g), 3))
        ext = rng.uniform(*params.k4me3_extension_bp, size=len(g))
        k27me3_h = rng.uniform(*params.k27me3_height, size=len(g))
        flanks = rng.uniform(*params.k27me3_flank_bp, size=(len(g), 2))
        pause_jitter = np.ones(len(g))
        if params.eu_pause_sigma > 0:  # drawn only when on: the default world's stream is unchanged
            pause_jitter = rng.lognormal(0.0, params.eu_pause_sigma, size=len(g))
        polycomb = g["polycomb"].to_numpy() if "polycomb" in g else g["silent"].to_numpy()
        bivalent = g["bivalent"].to_numpy() if "bivalent" in g else np.zeros(len(g), dtype=bool)
        for k, row in enumerate(g.itertuples(index=False)):
            sign = 1 if row.strand == "+" else -1
            if polycomb[k]:
                canvases["H3K27me3"].plateau(
                    row.start_bp - flanks[k, 0], row.end_bp + flanks[k, 1], 2_000.0, k27me3_h[k]
                )
            if row.silent:
                continue
            level = row.rate**0.6
            k4_height = params.bivalent_k4me3_height if bivalent[k] else params.k4me3_height * level
            canvases["H3K4me3"].oriented(
                row.tss_bp,
                sign,
                -3_000,
                ext[k] + 5_000,
                _k4me3_shape(k4_height * jitter[k, 0], ext[k]),
            )
            h_atac = params.promoter_atac_height * level * jitter[k, 1]
            canvases["ATAC"].gaussian(row.tss_bp - 50 * sign, 150.0, h_atac)
            h27 = params.promoter_k27ac_height * level * jitter[k, 2]
            canvases["H3K27ac"].gaussian(row.tss_bp - 1_000 * sign, 600.0, h27)
            canvases["H3K27ac"].gaussian(row.tss_bp + 1_500 * sign, 600.0, h27)
            length_bp_gene = row.end_bp - row.start_bp
            canvases["EUseq"].oriented(
                row.tss_bp, sign, -500, length_bp_gene + 6 * params.eu_readthrough_bp,
                _eu_shape(params, row.rate, length_bp_gene, pause_jitter[k]),
            )
        e = enhancers[enhancers["chrom"] == chrom]
        for row in e.itertuples(index=False):
            mid = (row.start_bp + row.end_bp) / 2
            width = row.end_bp - row.start_bp
            canvases["ATAC"].gaussian(mid, width / 4, params.enhancer_atac_height * row.activity**0.7)
            if row.active:
                h_ac = params.enhancer_k27ac_height * row.activity**0.5
                canvases["H3K27ac"].plateau(row.start_bp, row.end_bp, 150.0, h_ac)
            else:  # poised: weak acetylation, some H3K27me3
                canvases["H3K27ac"].plateau(row.start_bp, row.end_bp, 150.0, 3.0)
                canvases["H3K27me3"].plateau(row.start_bp - 2_000, row.end_bp + 2_000, 500.0, 5.0)
        # transcribed bodies carry no Polycomb mark: deplete the H3K27me3 background there (switchable)
        body = _Canvas(length_bp, bin_bp)
        if params.k27me3_body_exclusion:
            for k, row in enumerate(g.itertuples(index=False)):
                if not row.silent and not bivalent[k]:
                    lo = row.start_bp - (params.eu_readthrough_bp if row.strand == "-" else 500)
                    hi = row.end_bp + (params.eu_readthrough_bp if row.strand == "+" else 500)
                    body.plateau(lo, hi, 500.0, 1.0)
        k27_scale = 1.0 - (1.0 - params.k27me3_body_depletion) * np.clip(body.values, 0.0, 1.0)
        gap_rows = gaps[gaps["chrom"] == chrom]
        for t in TRACK_NAMES:
            expected = canvases[t].values + params.background[t]
            if t == "H3K27me3":
                expected = expected * k27_scale
            if t == "EUseq":
                values = rng.poisson(expected * params.eu_counts_per_unit) / params.eu_counts_per_unit
            else:
                shape = params.mark_noise_shape
                values = expected * rng.gamma(shape, 1.0 / shape, size=expected.shape)
            values = np.minimum(values, params.max_signal).astype(np.float32)
            for gap in gap_rows.itertuples(index=False):
                values[gap.start_bp // bin_bp : -(-gap.end_bp // bin_bp)] = np.nan
            out[t][chrom] = values
    return out
