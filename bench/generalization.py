"""Generalisation to simulated worlds claster was not developed on (issue 10, items 1 and 3).

For each world of a set (default: the held-out worlds of ``claster.simulate.worlds.HELDOUT_WORLDS``):
simulate -> prepare -> ridge baseline on promoter marks (``claster baseline linear``) -> train each
variant with the CPU recipe for ``--minutes`` -> evaluate on the test chromosome (bin-wise and
gene-level Pearson / Spearman) -> P2 gene-centric scan of every chromosome -> link -> benchmark the
test chromosome's links against the world's truth (ratio-to-max AUPRC next to distance, random, the
fused score fitted on the training chromosomes, and ABC when ``claster.link.abc`` provides it) -> the
fraction of elements whose most affected gene is the closest, next to the truth's.

Writes ``OUT/results.json`` and ``OUT/results.md`` (one row per world and variant, then the mean over
worlds) and prints lscpu's model name and flags. Every step is skipped when its output exists, so an
interrupted run resumes. Not part of ``make test``; a real measurement takes ~30 min per world on a
2-core CPU (2 x 12 min of training).

Models train with ``claster train``'s defaults (``--recipe cpu``: lr 5e-4, 100 warm-up steps, batch 32,
log1p inputs and targets, the convolutional profile head); ``--train-option KEY=VALUE`` sets any other
``TrainConfig`` field (e.g. ``recipe=paper`` or ``head=dense`` for an ablation arm).

Usage::

    python bench/generalization.py --out gen_heldout                     # held-out worlds, 12 min/model
    python bench/generalization.py --worlds dev --minutes 6 --out gen_dev
    python bench/generalization.py --worlds random:90001 --minutes 3 --out gen_smoke
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

VARIANT_ALIASES = {
    "landscape": "landscape",
    "rotated": "microc_rotated",
    "microc_rotated": "microc_rotated",
    "attention": "landscape_attention",
    "square": "microc_square",
}


def lscpu_summary() -> str:
    """lscpu's model name and flags (the machine a figure was measured on)."""
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "lscpu unavailable"
    keep = [ln for ln in text.splitlines() if ln.split(":")[0].strip() in ("Model name", "Flags", "CPU(s)")]
    return "\n".join(keep)


def parse_worlds(text: str) -> list[tuple[str, int]]:
    """``heldout`` | ``dev`` | a comma list of ``random:SEED`` / ``default:SEED``."""
    from claster.simulate.worlds import WORLD_SETS

    if text in WORLD_SETS:
        return list(WORLD_SETS[text])
    out = []
    for item in text.split(","):
        world, _, seed = item.strip().partition(":")
        if world not in ("random", "default") or not seed.isdigit():
            raise SystemExit(
                f"error: --worlds takes heldout, dev or WORLD:SEED,... (e.g. random:90001), got {item!r}"
            )
        out.append((world, int(seed)))
    return out


def parse_options(items: list[str]) -> dict[str, Any]:
    import yaml

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"error: --train-option expects KEY=VALUE, got {item!r}")
        out[key.strip()] = yaml.safe_load(value)
    return out


def truth_closest_fraction(
    pairs: pd.DataFrame, chrom: str, gene_ids: set[str] | None = None
) -> dict[str, float | int]:
    """Of the enhancers on ``chrom`` with at least one regulated gene, the fraction whose most affected
    gene (largest |effect|) is the closest gene (smallest |distance|), both among ``gene_ids`` (the
    store's genes, the ones the model's links can name; all genes in range when None)."""
    p = pairs[pairs["chrom"] == chrom]
    if gene_ids is not None:
        p = p[p["gene_id"].isin(gene_ids)]
    n = hits = 0
    for _, g in p.groupby("enhancer_id", sort=False):
        if not g["regulated"].astype(bool).any():
            continue
        n += 1
        top = g.loc[g["effect"].abs().idxmax(), "gene_id"]
        closest = g.loc[g["distance_bp"].abs().idxmin(), "gene_id"]
        hits += int(top == closest)
    return {
        "n_enhancers_with_regulated_gene": n,
        "top_is_closest": hits,
        "fraction": hits / n if n else math.nan,
    }


def run_world(
    world: str,
    seed: int,
    out: Path,
    variants: list[str],
    minutes: float,
    train_opts: dict,
    threads: int,
    progress: bool,
    fused: bool = True,
) -> list[dict]:
    import torch

    from claster.evaluate import linear_baseline
    from claster.link import benchmark_links, metrics_json, restrict_truth, truth_from_simulation
    from claster.evaluate import evaluate
    from claster.link import abc_links, candidate_links, fit_link_fusion
    from claster.link import links_table, primary_target_summary, read_links_tsv, write_links_tsv
    from claster.predict import Predictor
    from claster.perturb import perturb_scan, read_elements
    from claster.config import load_config
    from claster.config.prepare import PrepareConfig
    from claster.config.train import TrainConfig
    from claster.simulate import simulate_genome
    from claster.store import build_store, open_store
    from claster.train import fit

    torch.set_num_threads(threads)
    wdir = out / f"{world}-{seed}"
    genome, store_dir = wdir / "genome", wdir / "store"
    timings: dict[str, float] = {}
    wdir.mkdir(parents=True, exist_ok=True)

    def timed(name, fn):
        t, c = time.perf_counter(), time.process_time()
        r = fn()
        timings[name] = round(time.perf_counter() - t, 1)
        timings[f"{name} (cpu)"] = round(time.process_time() - c, 1)
        print(
            f"[{world}:{seed}] {name}: {timings[name]} s wall, {timings[name + ' (cpu)']} s cpu", flush=True
        )
        return r

    if not (genome / "simulation.json").is_file():
        timed(
            "simulate", lambda: simulate_genome(genome, seed=seed, world=world, force=True, progress=progress)
        )
    sim = json.loads((genome / "simulation.json").read_text())
    prep = load_config(PrepareConfig, genome / "prepare.yaml")
    test_chrom = prep.test_chroms[0]
    if not (store_dir / "genes.tsv").is_file():
        timed("prepare", lambda: build_store(prep, store_dir, force=True, progress=progress))
    store = open_store(store_dir)
    genes = store.genes
    usable = genes[genes["usable"].astype(bool)]
    ridge = timed("ridge", lambda: linear_baseline(store_dir, out=wdir / "linear", split="test"))
    pairs = pd.read_csv(genome / "truth" / "pairs.tsv", sep="\t")
    truth_closest = truth_closest_fraction(pairs, test_chrom, set(genes["gene_id"].astype(str)))
    truth = truth_from_simulation(genome)
    elements = read_elements(genome / "enhancers.bed")
    train_chroms = sorted(set(genes.loc[genes["split"] == "train", "chrom"].astype(str)))
    abc_all = timed("abc", lambda: abc_links(store, elements).table)
    abc_test = abc_all[abc_all["chr"].astype(str) == test_chrom].rename(columns={"ABC.Score": "score"})
    abc_auprc = metrics_json(benchmark_links(abc_test, restrict_truth(truth, [test_chrom]), seed=0))["auprc"]

    rows = []
    for variant in variants:
        run = wdir / "runs" / variant
        if not (run / "model" / "model.pt").is_file():
            cfg = TrainConfig(
                store=str(store_dir),
                variant=variant,
                out=str(run),
                max_minutes=minutes,
                seed=0,
                threads=threads,
                **train_opts,
            )
            timed(f"train {variant}", lambda cfg=cfg: fit(cfg, force=True, progress=progress))
        tsum = json.loads((run / "train_summary.json").read_text())
        ev = timed(
            f"evaluate {variant}",
            lambda run=run, variant=variant: evaluate(
                run, store_dir, split="test", out=wdir / "eval" / variant, progress=progress
            ),
        )
        links_path = wdir / "links" / f"{variant}.tsv"
        if not links_path.is_file():

            def scan(run=run):
                res = perturb_scan(
                    Predictor(run),
                    store,
                    elements,
                    chrom=None if fused else test_chrom,  # the fusion is fitted on the other chromosomes
                    mode="gene-centric",
                    preset="P2",
                    progress=progress,
                )
                return links_table(res.effects)

            links_all = timed(f"perturb+link {variant}", scan)
            links_path.parent.mkdir(parents=True, exist_ok=True)
            write_links_tsv(links_all, links_path)
        links_all = read_links_tsv(links_path)
        test_links = links_all[links_all["chr"].astype(str) == test_chrom].reset_index(drop=True)
        test_truth = restrict_truth(truth, [test_chrom])
        bench = metrics_json(benchmark_links(test_links, test_truth, seed=0))
        # fused (issue 11, as `claster link --store` + `claster fuse`): every candidate pair of the
        # scanned chromosomes with its ABC features, a logistic model on model delta, ratio-to-max, ABC,
        # contact, activity and log distance fitted on the training chromosomes' truth, applied to chr4.
        fused_auprc = axc_auprc = fused_coef = None
        if fused and abc_all is not None:
            cand = candidate_links(links_all, abc_all)
            cand_test = cand[cand["chr"].astype(str) == test_chrom].reset_index(drop=True)
            cand_train = cand[cand["chr"].astype(str).isin(train_chroms)].reset_index(drop=True)
            train_truth = truth[truth["chrom"].astype(str).isin(train_chroms)].reset_index(drop=True)
            if len(cand_train) and train_truth["Regulated"].any():
                model = fit_link_fusion(cand_train, train_truth)
                fused_coef = model.to_dict()["coef"]
                fused_links = model.apply(cand_test)
                fused_auprc = metrics_json(
                    benchmark_links(fused_links, test_truth, score_col="fused_score", seed=0)
                )["auprc"]
            axc_auprc = metrics_json(
                benchmark_links(cand_test, test_truth, score_col="activity_x_contact", seed=0)
            )["auprc"]
        prim = primary_target_summary(test_links)
        rows.append(
            {
                "world": world,
                "seed": seed,
                "variant": variant,
                "n_genes": int(len(genes)),
                "n_usable_train": int((usable["split"] == "train").sum()),
                "n_usable_test": int((usable["split"] == "test").sum()),
                "world_summary": sim["summary"]
                | {"k27me3_body_exclusion": sim["parameters"]["k27me3_body_exclusion"]},
                "train": {
                    k: tsum.get(k)
                    for k in ("global_step", "best_val_pearson_binwise", "wall_seconds", "epochs_completed")
                },
                "binwise_pearson": ev["binwise_pearson"],
                "binwise_spearman": ev["binwise_spearman"],
                "gene_pearson": ev["gene_pearson"],
                "gene_spearman": ev["gene_spearman"],
                "ridge_binwise_pearson": ridge["binwise_pearson"],
                "ridge_gene_pearson": ridge["gene_pearson"],
                "ridge_gene_spearman": ridge["gene_spearman"],
                "auprc_model": bench.get("auprc"),
                "auprc_distance": bench["baselines"]["distance"]["auprc"],
                "auprc_random": bench["baselines"]["random"]["auprc"],
                "auprc_fused": fused_auprc,
                "fused_coef": fused_coef,
                "auprc_abc": abc_auprc,
                "auprc_activity_x_contact": axc_auprc,
                "base_rate": bench["base_rate"],
                "n_truth_pairs": bench["n_pairs"],
                "closest_fraction_model": prim["fraction"],
                "closest_fraction_truth": truth_closest["fraction"],
                "timings_seconds": dict(timings),
            }
        )
    return rows


COLUMNS = [
    ("world", "world"),
    ("variant", "variant"),
    ("steps", None),
    ("binwise_pearson", "bin P"),
    ("binwise_spearman", "bin S"),
    ("gene_pearson", "gene P"),
    ("gene_spearman", "gene S"),
    ("ridge_binwise_pearson", "ridge bin P"),
    ("ridge_gene_spearman", "ridge gene S"),
    ("auprc_model", "AUPRC model"),
    ("auprc_distance", "AUPRC −dist"),
    ("auprc_fused", "AUPRC fused"),
    ("auprc_abc", "AUPRC ABC"),
    ("auprc_activity_x_contact", "AUPRC act×contact"),
    ("auprc_random", "AUPRC random"),
    ("closest_fraction_model", "top=closest model"),
    ("closest_fraction_truth", "top=closest truth"),
]


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def markdown(rows: list[dict]) -> str:
    head = [c[1] or "steps (best val P)" for c in COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = []
        for key, _ in COLUMNS:
            if key == "world":
                cells.append(f"{r['world']}:{r['seed']}")
            elif key == "steps":
                t = r["train"]
                cells.append(f"{t['global_step']} ({_fmt(t['best_val_pearson_binwise'])})")
            else:
                cells.append(_fmt(r.get(key)))
        lines.append("| " + " | ".join(cells) + " |")
    for variant in dict.fromkeys(r["variant"] for r in rows):
        sub = [r for r in rows if r["variant"] == variant]
        cells = []
        for key, _ in COLUMNS:
            if key == "world":
                cells.append(f"**mean of {len(sub)}**")
            elif key == "variant":
                cells.append(variant)
            elif key == "steps":
                cells.append("")
            else:
                vals = [
                    r.get(key) for r in sub if isinstance(r.get(key), float) and math.isfinite(r.get(key))
                ]
                cells.append(_fmt(float(np.mean(vals))) if vals else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--worlds", default="heldout", help="heldout (default), dev, or WORLD:SEED,... (random:90001)"
    )
    ap.add_argument(
        "--minutes", type=float, default=12.0, help="training budget per model, minutes (default 12)"
    )
    ap.add_argument("--variants", default="landscape,rotated", help="comma list (landscape, rotated, ...)")
    ap.add_argument("--out", type=Path, default=Path("generalization_out"), help="output folder (resumable)")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    ap.add_argument(
        "--cli-defaults",
        action="store_true",
        help="accepted for old command lines; models always train with `claster train`'s defaults",
    )
    ap.add_argument(
        "--train-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other TrainConfig field (value read as YAML); repeatable",
    )
    ap.add_argument(
        "--no-fused",
        action="store_true",
        help="scan only the test chromosome and skip the fused score (it needs the other chromosomes' links)",
    )
    ap.add_argument("--progress", action="store_true", help="show progress bars")
    args = ap.parse_args(argv)

    variants = []
    for v in args.variants.split(","):
        if v.strip() not in VARIANT_ALIASES:
            raise SystemExit(f"error: unknown variant {v!r}; choose from {', '.join(VARIANT_ALIASES)}")
        variants.append(VARIANT_ALIASES[v.strip()])
    worlds = parse_worlds(args.worlds)
    train_opts = parse_options(args.train_option)
    print(lscpu_summary(), flush=True)
    print(
        f"worlds: {worlds}; variants: {variants}; {args.minutes} min per model; recipe options: {train_opts}",
        flush=True,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    t0 = time.perf_counter()
    for world, seed in worlds:
        rows += run_world(
            world, seed, args.out, variants, args.minutes, train_opts, args.threads, args.progress,
            fused=not args.no_fused,
        )
        (args.out / "results.json").write_text(
            json.dumps(
                {
                    "worlds": worlds,
                    "minutes": args.minutes,
                    "train_options": train_opts,
                    "rows": rows,
                    "lscpu": lscpu_summary(),
                },
                indent=2,
                default=str,
            )
        )
    table = markdown(rows)
    (args.out / "results.md").write_text(table)
    print(table)
    for r in rows:  # ratios against the baselines measured in the same run
        rs = r["gene_spearman"] / r["ridge_gene_spearman"] if r["ridge_gene_spearman"] else math.nan
        ra = (
            (r["auprc_model"] / r["auprc_distance"]) if r["auprc_model"] and r["auprc_distance"] else math.nan
        )
        print(
            f"{r['world']}:{r['seed']} {r['variant']}: gene Spearman / ridge = {rs:.3f}; "
            f"AUPRC model / distance = {ra:.3f}"
        )
    print(f"total wall time {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
