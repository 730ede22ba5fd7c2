"""Window throughput and prepare time (issues 2 and 12). Run: python bench/windows.py

Prints, from one run on this machine (lscpu's model name and flags first):
1. `prepare` wall time on a genome (the simulated small genome when claster.simulate exists,
   else a synthetic 3-chromosome genome written here);
2. bigWig reading in `prepare`, per track-Mbp: claster's reader (pybigtools, bins summarised in
   Rust) vs the former pyBigWig reader (values() per base + numpy binning, kept below as the
   baseline), both as a landscape-only `prepare` and as the reads alone; ratio;
3. bigWig writing (`write_bigwig`, pybigtools) vs the former pyBigWig fixed-step writer on the
   same 20 bp signal; ratio;
4. landscape windows/s cut from the store vs pyBigWig values() + 100 bp binning per window (ratio);
5. rotated contact windows/s on one core (torch.set_num_threads(1)): from the prepare-time cache
   and rotated on the fly.
"""

from __future__ import annotations

import os
import shutil
import subprocess
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


def _lscpu() -> None:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        print("lscpu: not available")
        return
    for line in out.splitlines():
        if line.startswith(("Model name", "Flags", "CPU(s)")):
            print(line)


def _pybigwig_read_binned(paths, chrom, bin_bp, *, length_bp=None, missing_as_zero=False,
                          chunk_bp=4_000_000, what="bigWig"):
    """The former reader (pyBigWig values() per base, numpy binning): the baseline of this benchmark."""
    import pyBigWig

    from claster.io.bigwig import BinnedTrack, _bin_reduce

    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    chroms = [chrom] * len(paths) if isinstance(chrom, str) else list(chrom)
    chunk_bp = max(bin_bp, (chunk_bp // bin_bp) * bin_bp)
    handles = [pyBigWig.open(str(p)) for p in paths]
    try:
        file_lens = [int(h.chroms()[c]) for h, c in zip(handles, chroms, strict=True)]
        total = int(length_bp) if length_bp is not None else file_lens[0]
        n_bins = -(-total // bin_bp)
        out = np.zeros(n_bins, dtype=np.float32)
        n_empty = 0
        for start in range(0, n_bins * bin_bp, chunk_bp):
            end = min(start + chunk_bp, n_bins * bin_bp)
            acc = covered = None
            for h, c, flen in zip(handles, chroms, file_lens, strict=True):
                stop = min(end, flen, total)
                if stop <= start or not h.intervals(c, start, stop):
                    continue
                v = h.values(c, start, stop, numpy=True)
                ok = np.isfinite(v)
                if acc is None:
                    acc = np.zeros(end - start)
                    covered = np.zeros(end - start, dtype=bool)
                acc[: stop - start] += np.where(ok, v, 0.0)
                covered[: stop - start] |= ok
            if acc is None:
                n_empty += (end - start) // bin_bp
                continue
            n_last = total - (n_bins - 1) * bin_bp if end == n_bins * bin_bp else bin_bp
            means, empty = _bin_reduce(acc, covered, bin_bp, missing_as_zero, n_last)
            out[start // bin_bp : end // bin_bp] = means
            n_empty += int(empty.sum())
    finally:
        for h in handles:
            h.close()
    return BinnedTrack(values=out, n_empty=n_empty)


def _pybigwig_write(path, chrom_sizes, values_by_chrom) -> None:
    """The former writer (pyBigWig fixed-step entries per finite run): the baseline of this benchmark."""
    import pyBigWig

    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([(c, int(s)) for c, s in chrom_sizes.items()], maxZooms=10)
    for chrom, (values, bin_bp) in values_by_chrom.items():
        length = int(chrom_sizes[chrom])
        finite = np.isfinite(values).astype(np.int8)
        edges = np.diff(np.concatenate([[0], finite, [0]]))
        for i, j in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
            full_j = min(j, length // bin_bp)
            if full_j > i:
                bw.addEntries(chrom, int(i) * bin_bp, values=values[i:full_j].tolist(), span=bin_bp, step=bin_bp)
            if j > full_j:
                bw.addEntries([chrom], [full_j * bin_bp], ends=[length], values=[float(values[full_j])])
    bw.close()


def _bigwig_io(cfg, tmp: Path) -> None:
    """Item 2/3 of the module docstring: prepare's bigWig reads and write_bigwig, pybigtools vs pyBigWig."""
    import claster.store._build as build
    from claster.config.prepare import PrepareConfig
    from claster.io.bigwig import read_binned
    from claster.io.writers import write_bigwig
    from claster.store import build_store, open_store

    land = PrepareConfig(**{**cfg.model_dump(), "contacts": None, "pchic": None, "cache_rotated": False})
    sizes = open_store(tmp / "store").chrom_sizes
    mbp = sum(sizes.values()) / 1e6
    reads = [(p, 100) for p in land.tracks.values() if p is not None] + [(p, 20) for p in land.target]
    track_mbp = len(reads) * mbp
    times = {}
    for label, reader in (("pyBigWig", _pybigwig_read_binned), ("pybigtools", read_binned)):
        build.read_binned = reader
        try:
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                build_store(land, tmp / f"land_{label}", progress=False)
            t_prep = time.perf_counter() - t0
        finally:
            build.read_binned = read_binned
        t0 = time.perf_counter()
        for p, b in reads:
            for c in sizes:
                reader(p, c, b, length_bp=sizes[c])
        t_read = time.perf_counter() - t0
        times[label] = (t_prep, t_read)
        print(f"prepare (landscape only) with {label:<10}: {t_prep:6.2f} s = {1e3 * t_prep / track_mbp:6.2f} ms per "
              f"track-Mbp; reads alone {1e3 * t_read / track_mbp:6.2f} ms per track-Mbp "
              f"({len(reads)} bigWigs x {mbp:.0f} Mbp)")
    for kind, k in (("prepare", 0), ("reads alone", 1)):
        print(f"  -> pybigtools is {times['pyBigWig'][k] / times['pybigtools'][k]:.2f}x faster than pyBigWig ({kind})")
    a = np.load(tmp / "land_pybigtools" / "tracks" / f"{next(iter(sizes))}.npy")
    b = np.load(tmp / "land_pyBigWig" / "tracks" / f"{next(iter(sizes))}.npy")
    print(f"  same stored tracks: max abs diff {np.abs(a - b).max():.2e}")

    rng = np.random.default_rng(0)
    values = {c: (rng.gamma(1.0, 2.0, -(-n // 20)).astype(np.float32), 20) for c, n in sizes.items()}
    wt = {}
    for label, writer in (("pyBigWig", _pybigwig_write), ("pybigtools", write_bigwig)):
        t0 = time.perf_counter()
        writer(tmp / f"w_{label}.bw", sizes, values)
        wt[label] = time.perf_counter() - t0
        print(f"write_bigwig {mbp:.0f} Mbp at 20 bp ({sum(v.size for v, _ in values.values()) / 1e6:.1f} M bins) with "
              f"{label:<10}: {wt[label]:.2f} s, {(tmp / f'w_{label}.bw').stat().st_size / 1e6:.0f} MB")
    print(f"  -> pybigtools writer {wt['pyBigWig'] / wt['pybigtools']:.2f}x the speed of pyBigWig")


def main() -> None:
    import pyBigWig
    import torch

    from claster.config import load_config
    from claster.config.prepare import PrepareConfig
    from claster.data import cut_landscape, cut_rotated
    from claster.store import build_store, open_store

    torch.set_num_threads(1)
    _lscpu()
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

    _bigwig_io(cfg, tmp)

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
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
