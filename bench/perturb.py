"""P2 chr4 scan speed: this checkout's perturbation engine against a baseline commit, in one run.

Run: python bench/perturb.py [--baseline-rev 727085c] [--repeats 3] [--threads 2] [--workdir DIR]

Builds (or reuses, with --workdir) the small simulated genome (seed 0), its store and a model trained
for a few steps (the weights do not matter for speed), then times ``perturb_scan`` (P2, gene-centric,
chr4, batch 64) of the baseline commit (checked out into a temporary git worktree) and of this
checkout, alternating A/B ``--repeats`` times, each in a fresh process. Prints lscpu's model name and
flags, windows/s (baselines + perturbed windows over the scan's wall time) of each run, the ratio of
the medians, and the largest difference between the two codes' effect areas.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import torch
torch.set_num_threads(int(sys.argv[4]))
from claster.perturb import perturb_scan, read_elements
from claster.predict import Predictor
from claster.store import open_store
run, store, genome, out = sys.argv[1], open_store(sys.argv[2]), sys.argv[3], sys.argv[5]
pred = Predictor(run)
els = read_elements(f"{genome}/enhancers.bed")
ref = store.genes[(store.genes["chrom"] == "chr4") & store.genes["usable"].astype(bool)]
perturb_scan(pred, store, els, chrom="chr4", preset="P2", genes=list(ref["gene_id"].head(2)), progress=False)
t = time.perf_counter()
res = perturb_scan(pred, store, els, chrom="chr4", mode="gene-centric", preset="P2", batch_size=64, progress=False)
wall = time.perf_counter() - t
n = res.summary["n_reference_windows"] + res.summary["n_perturbed_windows"]
res.effects.to_csv(out, sep="\t", index=False)
print(json.dumps({"windows": n, "wall": wall, "per_s": n / wall, "rows": len(res.effects)}))
"""


def _lscpu() -> tuple[str, str]:
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown", "unknown"
    info = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    return info.get("Model name", "unknown").strip(), info.get("Flags", "unknown").strip()


def _prepare(work: Path, threads: int) -> tuple[Path, Path, Path]:
    sys.path.insert(0, str(ROOT / "src"))
    from claster.config import load_config
    from claster.config.prepare import PrepareConfig
    from claster.config.train import TrainConfig
    from claster.simulate import simulate_genome
    from claster.store import build_store
    from claster.train import fit

    genome, store, run = work / "genome", work / "store", work / "run"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if not (genome / "prepare.yaml").is_file():
            simulate_genome(genome, seed=0, preset="small")
        if not (store / "manifest.json").is_file():
            build_store(load_config(PrepareConfig, genome / "prepare.yaml"), store, progress=False)
        if not (run / "model" / "model.pt").is_file():
            fit(TrainConfig(store=str(store), out=str(run), batch_size=8, max_steps=3, max_train_samples=32,
                            warmup_steps=1, val_check_steps=3, seed=0, threads=threads), progress=False)
    return genome, store, run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline-rev", default="727085c", help="git revision of the baseline code")
    ap.add_argument("--repeats", type=int, default=3, help="A/B pairs, each run in a fresh process")
    ap.add_argument("--threads", type=int, default=2, help="torch threads per run")
    ap.add_argument("--workdir", type=Path, default=None, help="reuse the genome, store and model here")
    args = ap.parse_args()

    model, flags = _lscpu()
    print(f"CPU: {model}")
    print(f"flags: {flags}")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="claster-bench-perturb-"))
    work.mkdir(parents=True, exist_ok=True)
    genome, store, run = _prepare(work, args.threads)
    base_tree = Path(tempfile.mkdtemp(prefix="claster-base-")) / "tree"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base_tree), args.baseline_rev],
                   check=True, capture_output=True)
    trees = {f"baseline {args.baseline_rev}": base_tree / "src", "this checkout": ROOT / "src"}
    results: dict[str, list[dict]] = {k: [] for k in trees}
    try:
        for rep in range(args.repeats):
            for label, src in trees.items():
                out = work / f"effects_{'base' if src != ROOT / 'src' else 'new'}.tsv"
                env = dict(os.environ, PYTHONPATH=str(src), PYTHONWARNINGS="ignore")
                res = subprocess.run([sys.executable, "-c", CHILD, str(run), str(store), str(genome),
                                      str(args.threads), str(out)], capture_output=True, text=True, env=env)
                if res.returncode != 0:
                    raise SystemExit(f"{label} failed:\n{res.stderr[-3000:]}")
                r = json.loads(res.stdout.strip().splitlines()[-1])
                results[label].append(r)
                print(f"run {rep + 1} {label:>22}: {r['windows']} windows in {r['wall']:.2f} s = "
                      f"{r['per_s']:.1f} windows/s ({r['rows']} effect rows)")
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base_tree)], capture_output=True)
        shutil.rmtree(base_tree.parent, ignore_errors=True)
    (a_label, a), (b_label, b) = results.items()
    ma, mb = statistics.median(r["per_s"] for r in a), statistics.median(r["per_s"] for r in b)
    print(f"median windows/s: {a_label} {ma:.1f}, {b_label} {mb:.1f}; ratio (this / baseline) {mb / ma:.2f}x")

    import numpy as np
    import pandas as pd

    ea = pd.read_csv(work / "effects_base.tsv", sep="\t")
    eb = pd.read_csv(work / "effects_new.tsv", sep="\t")
    key = ["window_id", "element_start_bp", "element_end_bp", "gene_id"]
    m = ea.merge(eb, on=key, suffixes=("_a", "_b"))
    diff = max(float(np.max(np.abs(m[f"{c}_a"] - m[f"{c}_b"]))) for c in ("baseline_area", "perturbed_area"))
    print(f"effects: {len(ea)} vs {len(eb)} rows, {len(m)} matched; max |area difference| {diff:.3g}")


if __name__ == "__main__":
    main()
