"""Small synthetic inputs for store/window/CLI tests: bigWigs, GTFs, coolers written in tmp dirs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

# three chromosomes long enough for a few +-500 kbp windows
SIZES = {"chr1": 1_250_050, "chr4": 1_200_000, "chr17": 1_100_000}

# (gene_id, name, chrom, start0, end0, strand, type); TSS = start0 on +, end0 - 1 on -
GENES = [
    ("G1.1", "Alpha", "chr1", 600_000, 620_000, "+", "protein_coding"),
    ("G2.1", "Beta", "chr1", 700_000, 705_123, "-", "protein_coding"),
    ("G3.1", "Gamma", "chr1", 100_000, 110_000, "+", "protein_coding"),  # landscape window off the start
    ("G4.1", "Delta", "chr4", 550_000, 560_000, "-", "protein_coding"),
    ("G5.1", "Eps", "chr4", 640_000, 650_000, "+", "lncRNA"),
    ("G6.1", "Zeta", "chr17", 520_000, 530_000, "+", "protein_coding"),
    ("G7.1", "Eta", "chrM", 100, 900, "+", "protein_coding"),
]


def write_bigwig(path: Path, sizes: dict[str, int], seed: int, *, density: float = 0.6, scale: float = 5.0,
                 negative: bool = False) -> Path:
    """Random piecewise-constant signal with gaps (uncovered bases) and runs of varying length."""
    import pyBigWig

    rng = np.random.default_rng(seed)
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(list(sizes.items()), maxZooms=0)
    for chrom, length in sizes.items():
        starts, ends, vals = [], [], []
        pos = int(rng.integers(0, 50))
        while pos < length:
            run = int(rng.integers(1, 300))
            end = min(pos + run, length)
            if rng.random() < density:
                starts.append(pos)
                ends.append(end)
                v = float(rng.gamma(1.0, scale))
                vals.append(-v if negative and rng.random() < 0.2 else v)
            pos = end + (int(rng.integers(0, 200)) if rng.random() < 0.3 else 0)
        bw.addEntries([chrom] * len(starts), starts, ends=ends, values=vals)
    bw.close()
    return path


def write_gtf(path: Path, genes=GENES, *, prefix: str = "") -> Path:
    """A GENCODE-style GTF with one gene row (1-based inclusive) and one transcript row per gene."""
    lines = ["##description: test"]
    for gid, name, chrom, s0, e0, strand, gtype in genes:
        chrom = chrom if not prefix else chrom.replace("chr", prefix)
        attrs = f'gene_id "{gid}"; gene_type "{gtype}"; gene_name "{name}";'
        lines.append(f"{chrom}\tTEST\tgene\t{s0 + 1}\t{e0}\t.\t{strand}\t.\t{attrs}")
        lines.append(f"{chrom}\tTEST\ttranscript\t{s0 + 1}\t{e0}\t.\t{strand}\t.\t{attrs} transcript_id \"T{gid}\";")
    path.write_text("\n".join(lines) + "\n")
    return path


def make_inputs(d: Path, *, sizes: dict[str, int] | None = None) -> dict:
    """Write 4 tracks, a target and a GTF into ``d``; return PrepareConfig keyword arguments."""
    d.mkdir(parents=True, exist_ok=True)
    sizes = sizes or SIZES
    roles = ["ATAC", "H3K4me3", "H3K27ac", "H3K27me3"]
    tracks = {r: str(write_bigwig(d / f"{r}.bw", sizes, seed=i, negative=(r == "H3K27me3"))) for i, r in enumerate(roles)}
    target = str(write_bigwig(d / "target.bw", sizes, seed=11, density=0.3, scale=50.0))
    return {"tracks": tracks, "target": [target], "annotation": str(write_gtf(d / "genes.gtf"))}


def write_cool(uri: str, sizes: dict[str, int], bin_bp: int, seed: int, *, weights: bool, band_bins: int = 40,
               mode: str = "w") -> None:
    """A cooler with random counts within ``band_bins`` of the diagonal (and optional 'weight' column)."""
    import cooler
    import pandas as pd

    rng = np.random.default_rng(seed)
    bins = cooler.binnify(pd.Series(sizes), bin_bp)
    rows = []
    offset = 0
    for chrom, length in sizes.items():
        n = -(-length // bin_bp)
        for i in range(n):
            for dd in range(min(band_bins, n - i)):
                if rng.random() < 0.8:
                    rows.append((offset + i, offset + i + dd, int(rng.integers(1, 100 // (dd + 1) + 2))))
        offset += n
    pix = pd.DataFrame(rows, columns=["bin1_id", "bin2_id", "count"])
    if weights:
        bins = bins.assign(weight=rng.uniform(0.5, 1.5, len(bins)))
        bins.loc[3, "weight"] = np.nan
    cooler.create_cooler(uri, bins, pix, ordered=True, mode=mode)
