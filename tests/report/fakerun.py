"""A fake run directory with small synthetic files of every kind the report reads.

The numbers are chosen so the tests can recompute what the report must show (gene counts per
split, unusable reasons, best validation step, ...).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

VARIANTS = ("landscape", "microc_rotated")


def tiny_png(path: Path, *, kind: str = "line", seed: int = 0, dpi: int = 60) -> Path:
    """Draw a small but non-trivial matplotlib figure into ``path`` (PNG)."""
    from matplotlib.figure import Figure

    rng = np.random.default_rng(seed)
    fig = Figure(figsize=(3, 2.2))
    ax = fig.add_subplot()
    if kind == "image":
        ax.imshow(rng.random((12, 30)), aspect="auto", cmap="viridis")
    elif kind == "hist2d":
        ax.hist2d(rng.normal(size=500), rng.normal(size=500), bins=20, cmap="magma")
    else:
        x = np.linspace(0, 1, 50)
        ax.plot(x, np.cumsum(rng.normal(size=50)), color=f"C{seed % 10}")
        ax.fill_between(x, 0, x, alpha=0.3, color="C3")
    ax.set_title(path.stem, fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=dpi)
    return path


def write_json(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    return path


# genes.tsv: (split, usable, reason) -> count
GENE_COUNTS = {
    ("train", True, ""): 37,
    ("train", False, "landscape window off chromosome"): 3,
    ("val", True, ""): 9,
    ("val", False, "contact window off chromosome"): 2,
    ("test", True, ""): 11,
    ("test", False, "landscape window off chromosome"): 1,
}
SPLIT_CHROMS = {"train": "chr1", "val": "chr17", "test": "chr4"}
CHROM_SIZES = {"chr1": 3_000_000, "chr4": 2_000_000, "chr17": 1_500_000}


def extra_chroms(n_chroms: int) -> dict[str, int]:
    """The three split chromosomes plus ``n_chroms - 3`` more training chromosomes (chr5, chr6, ...)."""
    sizes = dict(CHROM_SIZES)
    for i in range(max(0, n_chroms - 3)):
        sizes[f"chr{5 + i}"] = 1_000_000
    return sizes


def write_store(store: Path, n_chroms: int = 3) -> None:
    sizes = extra_chroms(n_chroms)
    chroms = list(sizes)
    n100 = {c: -(-n // 100) for c, n in sizes.items()}
    manifest = {
        "format": "claster-store", "format_version": 1, "claster_version": "0.1.0",
        "created": "2026-01-02T03:04:05+00:00",
        "track_names": ["ATAC", "H3K4me3", "H3K27ac", "H3K27me3"],
        "tracks": [
            {"name": "ATAC", "sources": [], "missing": True},
            {"name": "H3K4me3", "sources": [{"path": "/data/k4me3.bw", "sha256": "ab", "size_bytes": 2_500_000}],
             "missing": False},
            {"name": "H3K27ac", "sources": [{"path": "/data/k27ac.bw", "sha256": "cd", "size_bytes": 1_000_000}],
             "missing": False},
            {"name": "H3K27me3", "sources": [{"path": "/data/k27me3.bw", "sha256": "ef", "size_bytes": 500_000}],
             "missing": False},
        ],
        "track_bin_bp": 100, "track_dtype": "float32",
        "target": {"name": "EU-seq", "sources": [{"path": "/data/euseq.bw", "sha256": "01", "size_bytes": 3_000_000}],
                   "clip": None, "raw_bin_bp": 20, "smooth_sigma_bp": 1000, "box_bp": 1000},
        "contacts": {"source": "/data/microc.mcool::/resolutions/1600", "resolution_bp": 1600, "window_bins": 626,
                     "band_bins": 640, "balancing": "ICE computed by claster", "log_floor": 1e-14,
                     "rotated_cache": True},
        "pchic": None,
        "chrom_sizes": sizes,
        "chroms": chroms,
        "splits": {"test": ["chr4"], "val": ["chr17"]},
        "complete_chroms": [c for c in chroms if c != "chr17"],
        # ATAC is declared missing (every bin filled); H3K27ac has a few empty bins on each chromosome
        "fills": {"tracks_empty_bins": {"ATAC": dict(n100), "H3K4me3": {c: 0 for c in chroms},
                                        "H3K27ac": {c: 123 + i for i, c in enumerate(chroms)},
                                        "H3K27me3": {c: 0 for c in chroms}},
                  "target_empty_bins": {c: 0 for c in chroms}},
        "config": {"tracks": {"ATAC": None, "H3K4me3": "k4me3.bw"}, "target": ["euseq.bw"], "annotation": "g.gtf"},
    }
    write_json(store / "manifest.json", manifest)
    lines = ["gene_id\tgene_name\tchrom\ttss_bp\tstrand\tstart_bp\tend_bp\tgene_type\tsplit\tusable\treason"]
    i = 0
    for (split, usable, reason), n in GENE_COUNTS.items():
        for _ in range(n):
            i += 1
            chrom = SPLIT_CHROMS[split]
            lines.append(f"G{i}\tgene{i}\t{chrom}\t{1000 * i}\t+\t{1000 * i}\t{1000 * i + 500}\tprotein_coding\t"
                         f"{split}\t{usable}\t{reason}")
    (store / "genes.tsv").write_text("\n".join(lines) + "\n")


def write_metrics_csv(path: Path, *, n_steps: int = 60, val_every: int = 20, seed: int = 0) -> dict:
    """A CSVLogger-like file; returns the best validation Pearson and its step."""
    rng = np.random.default_rng(seed)
    rows = ["epoch,step,train/loss_epoch,train/loss_step,val/loss,val/pearson_binwise"]
    best = (-1.0, -1)
    for step in range(n_steps):
        rows.append(f"{step // 20},{step},,{1.0 / (1 + step) + 0.05 * rng.random():.5f},,")
        if (step + 1) % val_every == 0:
            r = 0.3 + 0.1 * (step + 1) / val_every + 0.01 * seed
            rows.append(f"{step // 20},{step},,,{0.5 - 0.05 * (step + 1) / val_every:.5f},{r:.5f}")
            rows.append(f"{step // 20},{step},{0.4:.5f},,,")
            best = max(best, (r, step))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n")
    return {"best_r": best[0], "best_step": best[1]}


TRAIN_CONFIG = {"lr": 0.0005, "warmup_steps": 100, "batch_size": 32, "max_minutes": 6.0, "max_steps": None,
                "epochs": 120, "context_bins": 10001, "output_bins": 401}


def write_run(run: Path, variant: str, seed: int) -> dict:
    best = write_metrics_csv(run / "logs" / "metrics.csv", seed=seed)
    write_json(run / "config.json", {"train": {**TRAIN_CONFIG, "variant": variant}, "model": {}})
    write_json(run / "train_summary.json", {
        "variant": variant, "best_val_pearson_binwise": best["best_r"], "global_step": 60,
        "epochs_completed": 3, "wall_seconds": 12.5, "n_train_genes": 37, "n_val_genes": 9, "interrupted": False,
        "versions": {"claster": "0.1.0", "torch": "2.13.0"},
    })
    return best


EVAL_METRICS = {
    "landscape": {"binwise_pearson": 0.7123, "binwise_spearman": 0.6011, "gene_pearson": 0.801,
                  "gene_spearman": 0.822, "n_samples": 11, "paper_binwise_pearson": 0.8852,
                  "paper_binwise_spearman": 0.7814, "variant": "landscape", "split": "test"},
    "microc_rotated": {"binwise_pearson": 0.6987, "binwise_spearman": 0.5899, "gene_pearson": 0.79,
                       "gene_spearman": 0.81, "n_samples": 11, "paper_binwise_pearson": 0.8690,
                       "paper_binwise_spearman": 0.7717, "variant": "microc_rotated", "split": "test"},
}
BENCH_METRICS = {
    "auprc": 0.6123, "auroc": 0.8345, "precision_at_70_recall": 0.5555, "n_pairs": 240, "n_positive": 30,
    "baselines": {"distance": {"auprc": 0.7001, "auroc": 0.9, "precision_at_70_recall": 0.66},
                  "random": {"auprc": 0.125, "auroc": 0.5, "precision_at_70_recall": 0.125}},
}
LOCALITY = [("ATAC", 1500, 6000, 25000, 4000), ("H3K4me3", 800, 3500, 18000, 2500),
            ("H3K27ac", 2100, 9000, 41000, 7000), ("H3K27me3", 5000, 30000, 120000, 15000)]


BASELINE_METRICS = {
    "linear": {"binwise_pearson": 0.2304, "binwise_spearman": 0.1539, "gene_pearson": 0.878, "gene_spearman": 0.85,
               "n_samples": 11},
    "shuffled": {"binwise_pearson": 0.0933, "binwise_spearman": 0.0586, "gene_pearson": 0.3217,
                 "gene_spearman": 0.2661, "n_samples": 11},
}


def build_fake_run(root: Path, n_chroms: int = 3) -> dict:
    """Write every kind of file the report reads under ``root``; returns facts for the assertions.

    ``n_chroms``: chromosomes in the store (>= 3); the QC section must not grow with it.
    """
    facts: dict = {"pngs": []}
    write_json(root / "summary.json", {
        "demo": {"seconds": 812.4, "seed": 0},
        "train": {"landscape": {"best_val_pearson_binwise": 0.71}, "microc_rotated": {"best_val_pearson_binwise": 0.7}},
        "benchmark": {"landscape": {"auprc": 0.6123}},
        "n_genes": 63,
    })
    write_json(root / "genome" / "simulation.json", {"seed": 0, "preset": "small", "n_chroms": 3,
                                                      "enhancers_per_gene": 2.5, "chrom_sizes": CHROM_SIZES})
    write_store(root / "store", n_chroms=n_chroms)
    for name, m in BASELINE_METRICS.items():
        write_json(root / "baselines" / name / "metrics.json", m)
    facts["runs"] = {v: write_run(root / "runs" / v, v, seed=i) for i, v in enumerate(VARIANTS)}
    for i, v in enumerate(VARIANTS):
        write_json(root / "eval" / v / "metrics.json", EVAL_METRICS[v])
        facts["pngs"].append(tiny_png(root / "eval" / v / "density.png", kind="hist2d", seed=i))
        facts["pngs"].append(tiny_png(root / "eval" / v / "profiles.png", seed=i + 1))
    facts["pngs"].append(tiny_png(root / "eval" / "comparison.png", seed=5))
    for name in ("distance_effect", "profile_overlay", "rank_histogram"):
        facts["pngs"].append(tiny_png(root / "perturb" / "landscape" / f"{name}.png", seed=len(facts["pngs"])))
    write_json(root / "perturb" / "landscape" / "summary.json",
               {"n_enhancers": 14, "n_active": 9, "fraction_most_affected_is_closest": 0.6667})
    write_json(root / "benchmark" / "landscape" / "metrics.json", BENCH_METRICS)
    for name in ("pr_curve", "roc_curve"):
        facts["pngs"].append(tiny_png(root / "benchmark" / "landscape" / f"{name}.png", seed=len(facts["pngs"])))
    loc = ["track\tmass50_bp\tmass80_bp\tmass95_bp\tbelow20_bp"]
    loc += ["\t".join(map(str, row)) for row in LOCALITY]
    (root / "attribution" / "landscape").mkdir(parents=True)
    (root / "attribution" / "landscape" / "locality.tsv").write_text("\n".join(loc) + "\n")
    facts["pngs"].append(tiny_png(root / "attribution" / "landscape" / "landscape_map.png", kind="image", seed=2))
    facts["pngs"].append(tiny_png(root / "attribution" / "landscape" / "structure_map.png", kind="image", seed=3))
    return facts
