"""Window throughput and prepare time (issue 2 item 7). Run: python bench/windows.py

Prints, from one run on this machine:
1. `prepare` wall time on a genome (the simulated small genome when claster.simulate exists,
   else a synthetic 3-chromosome genome written here);
2. landscape windows/s cut from the store vs pyBigWig values() + 100 bp binning per window (ratio);
3. rotated contact windows/s on one core (torch.set_num_threads(1)): from the prepare-time cache
   and rotated on the fly.
"""

from __future__ import annotations

import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "store"))


def _synthetic_genome(d: Path) -> dict:
    import claster_store_kit as kit

    sizes = {"chr1": 6_000_000, "chr4": 4_000_000, "chr17": 3_000_000}
    inputs = kit.make_inputs(d, sizes=sizes)
    genes = []
    rng = np.random.default_rng(0)
    for chrom, length in sizes.items():
        for i, tss in enumerate(rng.integers(600_000, length - 600_000, 150)):
            genes.append((f"S{chrom}_{i}", f"g{i}", chrom, int(tss), int(tss) + 5000, "+-"[i % 2], "protein_coding"))
    kit.write_gtf(d / "genes.gtf", genes)
    mcool = d / "c.mcool"
    kit.write_cool(f"{mcool}::/resolutions/1600", sizes, 1600, seed=1, weights=True, band_bins=626)
    return {**inputs, "contacts": f"{mcool}::/resolutions/1600"}


def main() -> None:
    import pyBigWig
    import torch

    from claster.config import load_config
    from claster.config.prepare import PrepareConfig
    from claster.data import cut_landscape, cut_rotated
    from claster.store import build_store, open_store

    torch.set_num_threads(1)
    tmp = Path(tempfile.mkdtemp(prefix="claster-bench-"))
    try:
        from claster.simulate import simulate_genome

        simulate_genome(tmp / "genome", seed=0, preset="small")
        cfg = load_config(PrepareConfig, tmp / "genome" / "prepare.yaml")
        what = "simulated small genome (claster.simulate, seed 0)"
    except ImportError:
        cfg = PrepareConfig(**_synthetic_genome(tmp / "genome"))
        what = "synthetic 13 Mbp genome (bench/windows.py; claster.simulate not available)"

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build_store(cfg, tmp / "store", progress=False)
    t_prep = time.perf_counter() - t0
    store = open_store(tmp / "store")
    genes = store.genes[store.genes["usable"]]
    print(f"prepare: {t_prep:.1f} s for the {what}: {len(store.chroms)} chromosomes, "
          f"{sum(store.chrom_sizes.values()) / 1e6:.1f} Mbp, {len(genes)} usable genes")

    loci = list(zip(genes["chrom"], genes["tss_bp"].astype(int), strict=True))
    # warm the page cache, then time
    for c, t in loci[:50]:
        cut_landscape(store, c, t)
    n = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 2.0:
        for c, t in loci:
            cut_landscape(store, c, t)
        n += len(loci)
    store_rate = n / (time.perf_counter() - t0)

    paths = [p for p in cfg.tracks.values() if p is not None]
    handles = [pyBigWig.open(p) for p in paths]
    m = 0
    t0 = time.perf_counter()
    for c, t in loci[:20]:
        b0 = t // 100 - 5000
        for h in handles:
            v = h.values(c, b0 * 100, (b0 + 10_001) * 100, numpy=True).reshape(10_001, 100)
            cov = np.isfinite(v).sum(1)
            np.where(cov > 0, np.nansum(v, 1) / np.maximum(cov, 1), 0.0)
        m += 1
    bw_rate = m / (time.perf_counter() - t0)
    for h in handles:
        h.close()
    print(f"landscape windows: store {store_rate:,.0f}/s vs pyBigWig values()+binning {bw_rate:,.1f}/s "
          f"-> {store_rate / bw_rate:,.0f}x (target >= 100x)")

    if store.has("contacts"):
        for use_cache, label, budget in ((True, "from the cache", 2.0), (False, "on the fly", 3.0)):
            k = 0
            t0 = time.perf_counter()
            while time.perf_counter() - t0 < budget:
                for c, t in loci:
                    cut_rotated(store, c, t, use_cache=use_cache)
                    k += 1
                    if time.perf_counter() - t0 > budget:
                        break
            rate = k / (time.perf_counter() - t0)
            print(f"rotated windows {store.manifest['contacts']['window_bins']} bins, one core, {label}: "
                  f"{rate:,.0f}/s (target >= 1000/s)")


if __name__ == "__main__":
    main()
