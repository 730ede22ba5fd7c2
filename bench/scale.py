"""claster at the size of a mouse genome (issue 12 item 3).

A simulated genome with mm10's chromosome sizes (chr1-19, chrX; 2.6 Gbp) and the real GENCODE vM25
protein-coding genes for positions; four input tracks and a target as 20 bp bigWigs; contacts at
1.6 kbp (an .mcool) with pixels on ``--contact-chroms`` (chr1 by default; the other chromosomes are
in the bin table without pixels, so their genes stay usable and their rotated windows are all at the
floor). The signal is cheap and has no biology: peaks at TSSs and random 1 kbp "enhancers", broad
H3K27me3 domains, a decaying gene-body target; bases elsewhere have no data, so the bigWigs stay
small. Then, each step timed:

1. ``claster prepare`` (with the rotated cache for all usable genes) as a child process: wall time
   and peak resident memory (``getrusage`` of the child), per chromosome (RSS sampled every 0.1 s
   from /proc) and genome-wide, against a bound computed from the largest chromosome's arrays;
2. the store's size on disk;
3. training windows/s sampling windows from the store (landscape; rotated Micro-C on the contact
   chromosomes) next to the same network fed in-memory random tensors, in interleaved rounds;
4. ``claster train --max-steps`` (a barely trained model), a genome-wide ``claster predict``
   (all genes) and ``claster perturb --preset P2 --mode gene-centric --chrom`` on one chromosome, in
   windows/s.

Usage::

    python bench/scale.py --out /tmp/scale                      # the full genome (up to an hour)
    python bench/scale.py --out /tmp/s19 --chroms chr19 --max-genes 300   # one 61 Mbp chromosome

Writes ``OUT/results.json`` and prints a Markdown summary (pasted into docs/results.md, "Scale").
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _sysinfo import lscpu_summary  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "data" / "real" / "annotation"
DEFAULT_SIZES = REAL / "mm10.chrom.sizes"
DEFAULT_GENES = REAL / "gencode.vM25.protein_coding.genes.mm10.bed"
MOUSE_CHROMS = [f"chr{i}" for i in range(1, 20)] + ["chrX"]
TRACKS = ("ATAC", "H3K4me3", "H3K27ac", "H3K27me3")
RAW_BP = 20
CONTACT_BP = 1_600
BAND = 626  # contact window bins at 1.6 kbp (1 Mbp + 1)
GB = 1024**3
# The fixed cost of a prepare process, independent of the genome: the interpreter with prepare's
# imports (torch via the rotation kernel) and one batch of 64 windows rotated (the operator is built).
R0_CODE = (
    "import numpy as np, cooler, scipy.ndimage, tqdm, claster.cli, claster.store._build; "
    "from claster.rotate import rotate_squares; "
    "rotate_squares(np.full((64, 626, 626), -14.0, np.float32))"
)


# ---------------------------------------------------------------------------------------------
# inputs


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def read_inputs(sizes_path: Path, genes_path: Path, chroms: list[str], max_genes: int | None, seed: int):
    sizes = pd.read_csv(sizes_path, sep="\t", header=None, names=["chrom", "length"])
    sizes = {r.chrom: int(r.length) for r in sizes.itertuples() if r.chrom in set(chroms)}
    missing = [c for c in chroms if c not in sizes]
    if missing:
        raise SystemExit(f"error: {sizes_path} has no size for {', '.join(missing)}; choose mm10 chromosomes")
    sizes = {c: sizes[c] for c in chroms}
    genes = pd.read_csv(genes_path, sep="\t")
    genes = genes.rename(columns={genes.columns[0]: "chrom"})
    genes = genes[genes["chrom"].isin(sizes)].reset_index(drop=True)
    if max_genes is not None and len(genes) > max_genes:
        keep = np.sort(np.random.default_rng(seed).choice(len(genes), size=max_genes, replace=False))
        genes = genes.iloc[keep].reset_index(drop=True)
    genes["tss"] = np.where(genes["strand"] == "+", genes["start"], genes["end"] - 1).astype(np.int64)
    return sizes, genes


def _intervals(arr: np.ndarray, starts: np.ndarray, ends: np.ndarray, values: np.ndarray) -> None:
    """Set arr[s:e] = v (20 bp bin indices), later intervals winning."""
    for s, e, v in zip(starts.tolist(), ends.tolist(), values.tolist(), strict=True):
        arr[max(0, s) : max(0, e)] = v


def make_layout(sizes: dict[str, int], genes: pd.DataFrame, seed: int) -> dict:
    """Per chromosome: TSSs, strands, gene lengths, enhancer and H3K27me3-domain positions (bp)."""
    rng = np.random.default_rng(seed)
    layout = {}
    for chrom, length in sizes.items():
        g = genes[genes["chrom"] == chrom]
        n_enh = max(1, length // 50_000)
        enh = np.sort(rng.integers(1_000, length - 2_000, n_enh))
        n_dom = max(1, length // 2_000_000)
        dom_start = np.sort(rng.integers(0, length - 100_000, n_dom))
        layout[chrom] = {
            "tss": g["tss"].to_numpy(np.int64),
            "strand": g["strand"].to_numpy(),
            "glen": (g["end"] - g["start"]).to_numpy(np.int64),
            "gexpr": rng.lognormal(1.0, 1.0, len(g)),
            "gmark": rng.lognormal(2.5, 0.7, len(g)),
            "enh": enh,
            "enh_val": rng.lognormal(3.0, 0.5, n_enh),  # H3K27ac mean ~ 20 > perturb's threshold 10
            "dom": dom_start,
            "dom_len": rng.integers(20_000, 100_000, n_dom),
        }
    return layout


def track_values(name: str, length: int, lay: dict) -> np.ndarray:
    """(ceil(length / 20),) float32 signal per 20 bp bin; NaN = no data."""
    n = -(-length // RAW_BP)
    arr = np.full(n, np.nan, dtype=np.float32)
    t20 = lay["tss"] // RAW_BP
    e20 = lay["enh"] // RAW_BP
    if name == "ATAC":
        _intervals(arr, e20, e20 + 50, lay["enh_val"] / 4)
        _intervals(arr, t20 - 12, t20 + 13, lay["gmark"])
    elif name == "H3K4me3":
        _intervals(arr, t20 - 50, t20 + 50, lay["gmark"] * 2)
    elif name == "H3K27ac":
        _intervals(arr, e20, e20 + 50, lay["enh_val"])
        _intervals(arr, t20 - 75, t20 + 75, lay["gmark"] * 1.5)
    elif name == "H3K27me3":
        d20 = lay["dom"] // RAW_BP
        _intervals(arr, d20, d20 + lay["dom_len"] // RAW_BP, np.full(len(d20), 3.0))
    elif name == "target":
        # gene body from the TSS along the strand, up to 20 kbp, 1 kbp steps decaying; a TSS peak
        for tss, strand, glen, e in zip(t20.tolist(), lay["strand"].tolist(), lay["glen"].tolist(),
                                        lay["gexpr"].tolist(), strict=True):
            body = min(glen, 20_000) // RAW_BP
            for k in range(0, body, 50):
                a, b = (tss + k, tss + min(k + 50, body)) if strand == "+" else (tss - min(k + 50, body) + 1, tss - k + 1)
                arr[max(0, a) : max(0, b)] = e * np.exp(-k / 500)
            arr[max(0, tss - 10) : tss + 10] = 5 * e
    else:
        raise ValueError(name)
    return arr


def write_tracks(d: Path, sizes: dict[str, int], layout: dict) -> dict[str, str]:
    from claster.io.writers import write_bigwig

    paths = {}
    for name in (*TRACKS, "target"):
        vals = {c: (track_values(name, sizes[c], layout[c]), RAW_BP) for c in sizes}
        p = d / f"{name}.bw"
        write_bigwig(p, sizes, vals)
        paths[name] = str(p)
        del vals
    return paths


def write_enhancers(path: Path, sizes: dict[str, int], layout: dict) -> None:
    rows = [(c, int(s), int(s) + 1_000, f"e_{c}_{i}") for c in sizes for i, s in enumerate(layout[c]["enh"])]
    pd.DataFrame(rows).to_csv(path, sep="\t", header=False, index=False)


def _pixels(sizes: dict[str, int], contact_chroms: list[str], seed: int, chunk_rows: int = 8_192):
    """Sparse distance-decay counts within 626 bins of the diagonal, in bin1/bin2 order (cooler)."""
    rng = np.random.default_rng(seed)
    lam = 10.0 / (np.arange(BAND) + 1.0)
    offset = 0
    for chrom, length in sizes.items():
        n = -(-length // CONTACT_BP)
        if chrom in contact_chroms:
            for r0 in range(0, n, chunk_rows):
                r1 = min(n, r0 + chunk_rows)
                counts = rng.poisson(lam[None, :], size=(r1 - r0, BAND)).astype(np.int32)
                i, d = np.nonzero(counts)
                keep = r0 + i + d < n
                i, d = i[keep], d[keep]
                yield pd.DataFrame({"bin1_id": offset + r0 + i, "bin2_id": offset + r0 + i + d,
                                    "count": counts[i, d]})
        offset += n


def write_contacts(path: Path, sizes: dict[str, int], contact_chroms: list[str], seed: int) -> str:
    import cooler

    rows = []
    for chrom, length in sizes.items():
        starts = np.arange(0, length, CONTACT_BP, dtype=np.int64)
        rows.append(pd.DataFrame({"chrom": chrom, "start": starts, "end": np.minimum(starts + CONTACT_BP, length)}))
    bins = pd.concat(rows, ignore_index=True)
    bins["weight"] = 1.0  # balanced = raw counts; claster reads the weight column as cooler weights
    uri = f"{path}::/resolutions/{CONTACT_BP}"
    if path.exists():
        path.unlink()
    cooler.create_cooler(uri, bins, _pixels(sizes, contact_chroms, seed), ordered=True,
                         dtypes={"count": np.int32}, ensure_sorted=False, boundscheck=False, dupcheck=False,
                         triucheck=False, mode="w")
    return uri


# ---------------------------------------------------------------------------------------------
# child processes: wall time and peak RSS


def _env() -> dict:
    import claster

    env = dict(os.environ)
    src = str(Path(claster.__file__).resolve().parents[1])
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _vmrss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


# A child's ru_maxrss on Linux starts from the RSS of the process that spawned it (the memory map it
# replaces at exec keeps its high-water mark), so a child spawned by this benchmark, which holds the
# generated genome in memory, would report at least this process's RSS. Children are therefore
# started through a small launcher (a bare interpreter, ~10 MB) that forks, execs the command and
# reports the command's own peak RSS on its last line of stderr.
_LAUNCHER = (
    "import os, sys\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os.execvp(sys.argv[1], sys.argv[1:])\n"
    "_, st, ru = os.wait4(pid, 0)\n"
    "print(f'claster-bench-maxrss-kb {ru.ru_maxrss}', file=sys.stderr, flush=True)\n"
    "sys.exit(os.waitstatus_to_exitcode(st))\n"
)


def _command_pid(launcher: int) -> int:
    """The launcher's child (the command), or the launcher itself before it has forked."""
    try:
        kids = Path(f"/proc/{launcher}/task/{launcher}/children").read_text().split()
    except OSError:
        kids = []
    return int(kids[0]) if kids else launcher


def run_child(cmd: list[str], log: Path, watch=None, interval: float = 0.1) -> dict:
    """Run ``cmd``; return wall_s, peak_rss_gb (getrusage of the command itself) and ``watch``'s phases.

    ``watch()`` returns the name of the phase the command is in (polled every ``interval`` s);
    each phase gets its wall time and the largest sampled VmRSS.
    """
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        proc = subprocess.Popen([sys.executable, "-c", _LAUNCHER, *cmd], stdout=fh, stderr=subprocess.STDOUT,
                                env=_env(), cwd=REPO)
    phases: dict[str, dict] = {}
    current, since = None, t0
    while True:
        pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
        now = time.perf_counter()
        if pid == proc.pid:
            break
        if watch is not None:
            phase = watch()
            if phase != current:
                if current is not None:
                    phases[current]["wall_s"] = now - since
                current, since = phase, now
                phases.setdefault(phase, {"peak_rss_sampled_gb": 0.0})
            rss = _vmrss_kb(_command_pid(proc.pid)) * 1024 / GB
            phases[phase]["peak_rss_sampled_gb"] = max(phases[phase]["peak_rss_sampled_gb"], rss)
        time.sleep(interval)
    if current is not None:
        phases[current]["wall_s"] = now - since
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    text = log.read_text()
    if proc.returncode != 0:
        raise SystemExit(f"error: {' '.join(cmd[:4])} ... failed (exit {proc.returncode}); log {log}:\n{text[-3000:]}")
    marks = [ln for ln in text.splitlines() if ln.startswith("claster-bench-maxrss-kb ")]
    return {"wall_s": wall, "peak_rss_gb": int(marks[-1].split()[1]) * 1024 / GB, "phases": phases}


def _claster(*args: str) -> list[str]:
    return [sys.executable, "-m", "claster", *args]


def prepare_watch(store: Path, chroms: list[str]):
    """Phase of a running prepare: the chromosome being written, then the rotated cache, then the index."""
    def watch() -> str:
        try:
            done = json.loads((store / "manifest.json").read_text()).get("complete_chroms", [])
        except (OSError, ValueError):
            done = []
        if len(done) < len(chroms):
            return chroms[len(done)] if done or (store / "tracks").exists() else "start-up"
        return "rotated cache + index"
    return watch


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


# ---------------------------------------------------------------------------------------------
# training throughput: store windows vs in-memory random tensors


def train_throughput(store_path: Path, variant: str, chroms: list[str] | None, steps: int, batch: int,
                     rounds: int, threads: int, seed: int = 0) -> dict:
    import torch
    import torch.nn.functional as F

    from claster.config.model import ModelConfig
    from claster.data.genome import GenomeWindows
    from claster.model import ClasterNet
    from claster.store import open_store
    from claster.train._fit import STRUCTURE_OF_VARIANT

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    store = open_store(store_path)
    genes = store.genes
    samples = genes[genes["usable"].astype(bool) & (genes["split"] == "train")]
    if chroms is not None:
        samples = samples[samples["chrom"].isin(chroms)]
    samples = samples.reset_index(drop=True)
    structure = STRUCTURE_OF_VARIANT[variant]
    t0 = time.perf_counter()
    win = GenomeWindows(store, samples, context_bins=10_001, output_bins=401, structure=structure)
    setup_s = time.perf_counter() - t0
    config = ModelConfig.for_variant(variant, structure_shape=win.structure_shape)
    model = ClasterNet(config)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    gen = torch.Generator().manual_seed(seed)
    rand_x = torch.randn(batch, config.n_tracks, config.context_bins, generator=gen)
    rand_s = torch.randn(batch, *config.structure_shape, generator=gen) if config.structure_shape else None
    rand_y = torch.randn(batch, config.output_bins, generator=gen)

    def step(x, s, y) -> None:
        opt.zero_grad(set_to_none=True)
        loss = F.smooth_l1_loss(model(x, s), y)
        loss.backward()
        opt.step()

    def from_store() -> None:
        idx = torch.randint(len(win), (batch,), generator=gen)
        rev = torch.rand(batch, generator=gen) < 0.5
        x = torch.log1p(win.landscape(idx, rev))  # a cheap stand-in for the fitted standardisation
        s = win.structure(idx, rev)
        y = torch.log1p(win.target(idx, rev))
        step(x, s, y)

    def from_memory() -> None:
        step(rand_x, rand_s, rand_y)

    model.train()
    from_store(), from_memory()  # warm-up
    best = {"store": 0.0, "memory": 0.0}
    for _ in range(rounds):
        for key, fn in (("store", from_store), ("memory", from_memory)):
            t = time.perf_counter()
            for _ in range(steps):
                fn()
            best[key] = max(best[key], steps * batch / (time.perf_counter() - t))
    # the window cutting alone, for reference
    t = time.perf_counter()
    for _ in range(steps):
        idx = torch.randint(len(win), (batch,), generator=gen)
        win.landscape(idx), win.target(idx), win.structure(idx)
    cut = steps * batch / (time.perf_counter() - t)
    return {"variant": variant, "samples": len(samples), "setup_s": setup_s, "store_wps": best["store"],
            "memory_wps": best["memory"], "ratio": best["store"] / best["memory"], "cut_wps": cut,
            "batch": batch, "steps": steps, "rounds": rounds, "threads": threads}


# ---------------------------------------------------------------------------------------------
# main


def bound_gb(store: Path, r0_gb: float) -> dict:
    """Peak-memory bound of prepare: R0 + 2 x the largest chromosome's arrays (see docs/results.md)."""
    man = json.loads((store / "manifest.json").read_text())
    per = {}
    for c, length in man["chrom_sizes"].items():
        n100, n20 = -(-length // 100), -(-length // RAW_BP)
        band = (man["contacts"]["n_bins"].get(c, 0) * man["contacts"]["band_bins"] * 4) if man.get("contacts") else 0
        per[c] = len(man["track_names"]) * n100 * 4 + n20 * 4 + band
    big = max(per, key=per.get)
    return {"r0_gb": r0_gb, "largest_chrom": big, "largest_arrays_gb": per[big] / GB,
            "genome_arrays_gb": sum(per.values()) / GB, "bound_gb": r0_gb + 2 * per[big] / GB,
            "per_chrom_arrays_gb": {c: v / GB for c, v in per.items()}}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="working directory (inputs, store, runs)")
    ap.add_argument("--chroms", default=",".join(MOUSE_CHROMS), help="comma-separated mm10 chromosomes "
                    "(default chr1-19,chrX)")
    ap.add_argument("--contact-chroms", default="chr1", help="chromosomes with contact pixels, or 'all' "
                    "(default chr1; falls back to the first of --chroms when chr1 is not among them)")
    ap.add_argument("--max-genes", type=int, default=None, help="a seeded subset of N genes (default all)")
    ap.add_argument("--test-chrom", default=None, help="test chromosome (default chr4, else the last of --chroms)")
    ap.add_argument("--scan-chrom", default=None, help="chromosome of the P2 scan (default the smallest)")
    ap.add_argument("--train-steps", type=int, default=8, help="steps per timing round (default 8)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds, best kept (default 3)")
    ap.add_argument("--batch", type=int, default=16, help="training batch (default 16)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    ap.add_argument("--cli-steps", type=int, default=3, help="claster train --max-steps (default 3)")
    ap.add_argument("--predict-tile-bp", type=int, default=None, help="predict a genome-wide tiling with window "
                    "centres every N bp instead of every gene (default: every gene, --all-genes)")
    ap.add_argument("--scan-enhancers", type=int, default=None, help="scan N enhancers (evenly spaced) of the "
                    "scan chromosome instead of all")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reuse", action="store_true", help="reuse inputs already in --out (skip generation)")
    args = ap.parse_args(argv)

    print(lscpu_summary(), flush=True)
    import torch

    print(f"python {sys.version.split()[0]}, torch {torch.__version__}, {args.threads} torch threads", flush=True)
    out = args.out.resolve()
    inp = out / "inputs"
    inp.mkdir(parents=True, exist_ok=True)
    chroms = [c for c in args.chroms.split(",") if c]
    sizes, genes = read_inputs(DEFAULT_SIZES, DEFAULT_GENES, chroms, args.max_genes, args.seed)
    if args.contact_chroms == "all":
        contact_chroms = chroms
    else:
        contact_chroms = [c for c in args.contact_chroms.split(",") if c in sizes] or [chroms[0]]
    if len(sizes) >= 3:
        test = args.test_chrom or ("chr4" if "chr4" in sizes else chroms[-1])
        val = "chr17" if "chr17" in sizes and test != "chr17" else next(c for c in chroms if c != test)
        splits = {"test_chroms": [test], "val_chroms": [val]}
    else:  # too few chromosomes to split: every gene is a training gene
        test = val = None
        splits = {"test_chroms": [], "val_chroms": []}
    scan = args.scan_chrom or min(sizes, key=sizes.get)
    res: dict = {"cpu": lscpu_summary(), "chroms": chroms, "genome_bp": sum(sizes.values()), "genes": len(genes),
                 "contact_chroms": contact_chroms, "command": " ".join(sys.argv)}
    _log(f"{len(sizes)} chromosomes, {res['genome_bp'] / 1e9:.3f} Gbp, {len(genes)} genes; contacts on "
         f"{','.join(contact_chroms)}")

    # 1. inputs --------------------------------------------------------------------------
    ann = inp / "genes.bed"
    cfg = inp / "prepare.yaml"
    if not (args.reuse and cfg.exists()):
        t = time.perf_counter()
        layout = make_layout(sizes, genes, args.seed)
        g = genes[["chrom", "start", "end", "name", "score", "strand", "Ensembl_ID", "gene_type"]]
        g.rename(columns={"chrom": "#chr"}).to_csv(ann, sep="\t", index=False)
        paths = write_tracks(inp, sizes, layout)
        write_enhancers(inp / "enhancers.bed", sizes, layout)
        _log(f"bigWigs written in {time.perf_counter() - t:.0f} s")
        t = time.perf_counter()
        uri = write_contacts(inp / "contacts.mcool", sizes, contact_chroms, args.seed)
        _log(f"contacts written in {time.perf_counter() - t:.0f} s")
        import yaml

        cfg.write_text(yaml.safe_dump({
            "tracks": {n: paths[n] for n in TRACKS}, "target": [paths["target"]], "annotation": str(ann),
            "contacts": uri, **splits, "chroms": chroms,
        }, sort_keys=False))
        res["input_gen_s"] = time.perf_counter() - t
    res["inputs_size_gb"] = dir_size(inp) / GB

    # 2. prepare ---------------------------------------------------------------------------
    store = out / "store"
    if store.exists():
        import shutil

        shutil.rmtree(store)
    r0 = run_child([sys.executable, "-c", R0_CODE], out / "r0.log")
    _log("prepare ...")
    prep = run_child(_claster("prepare", "--config", str(cfg), "--out", str(store), "-q"), out / "prepare.log",
                     watch=prepare_watch(store, list(sizes)))
    b = bound_gb(store, r0["peak_rss_gb"])
    res["prepare"] = {**prep, **b, "holds": prep["peak_rss_gb"] <= b["bound_gb"]}
    res["store_size_gb"] = dir_size(store) / GB
    sub = {p.name: dir_size(p) / GB if p.is_dir() else p.stat().st_size / GB for p in store.iterdir()}
    res["store_parts_gb"] = sub
    man = json.loads((store / "manifest.json").read_text())
    res["usable_genes"] = sum(v["usable"] for v in man["counts"].values())
    save(out, res)
    _log(f"prepare {prep['wall_s']:.0f} s, peak RSS {prep['peak_rss_gb']:.2f} GB (bound {b['bound_gb']:.2f} GB), "
         f"store {res['store_size_gb']:.2f} GB")

    # 3. training throughput ----------------------------------------------------------------
    _log("training throughput ...")
    res["train"] = [train_throughput(store, "landscape", None, args.train_steps, args.batch, args.rounds,
                                     args.threads)]
    contact_train = [c for c in contact_chroms if c not in (test, val)]
    if contact_train:
        res["train"].append(train_throughput(store, "microc_rotated", contact_train, args.train_steps,
                                             args.batch, args.rounds, args.threads))
    save(out, res)
    for r in res["train"]:
        _log(f"  {r['variant']}: store {r['store_wps']:.1f} w/s, memory {r['memory_wps']:.1f} w/s "
             f"({r['ratio']:.2f}x), cutting alone {r['cut_wps']:.0f} w/s, setup {r['setup_s']:.1f} s")

    # 4. CLI: train a few steps, genome-wide predict, P2 scan ---------------------------------
    run = out / "run"
    if val is None:
        tr = run_child([sys.executable, str(Path(__file__).resolve()), "--untrained-model", str(store), str(run)],
                       out / "train.log")
        tr["what"] = "untrained landscape model (no validation chromosome to run `claster train`)"
    else:
        tr = _cli_train(store, run, args)
    res["cli_train"] = tr
    save(out, res)
    _log(f"model: {tr['wall_s']:.0f} s, peak RSS {tr['peak_rss_gb']:.2f} GB")
    if args.predict_tile_bp:
        t = args.predict_tile_bp
        n_win = sum(len(range(t // 2, L, t)) for L in sizes.values())
        sel, what = ["--tile-bp", str(t)], f"`claster predict --tile-bp {t}` (genome-wide tiling)"
    else:
        n_win = len(pd.read_csv(store / "genes.tsv", sep="\t", usecols=["gene_id"]))
        sel, what = ["--all-genes"], "`claster predict --all-genes`"
    pr = run_child(_claster("predict", "--run", str(run), "--store", str(store), "--out", str(out / "predict"),
                            *sel, "--batch-size", "32", "-q"), out / "predict.log")
    pr["what"] = what
    pr["windows"] = n_win
    pr["wps"] = n_win / pr["wall_s"]
    res["predict"] = pr
    save(out, res)
    _log(f"predict, {n_win} windows: {pr['wall_s']:.0f} s = {pr['wps']:.1f} windows/s (incl. start-up), "
         f"peak RSS {pr['peak_rss_gb']:.2f} GB")
    enh = pd.read_csv(inp / "enhancers.bed", sep="\t", header=None)
    enh = enh[enh[0] == scan].reset_index(drop=True)
    if args.scan_enhancers and len(enh) > args.scan_enhancers:
        enh = enh.iloc[np.linspace(0, len(enh) - 1, args.scan_enhancers).astype(int)]
    enh.to_csv(out / "scan_enhancers.bed", sep="\t", header=False, index=False)
    pt = run_child(_claster("perturb", "--run", str(run), "--store", str(store), "--out", str(out / "perturb"),
                            "--elements", str(out / "scan_enhancers.bed"), "--preset", "P2", "--mode", "gene-centric",
                            "--chrom", scan, "--batch-size", "32", "--force", "-q"), out / "perturb.log")
    summ = json.loads((out / "perturb" / "summary.json").read_text())
    pt["summary"] = {k: v for k, v in summ.items() if isinstance(v, (int, float, str))}
    pt["windows"] = _scan_windows(summ)
    pt["wps"] = pt["windows"] / pt["wall_s"] if pt["windows"] else float("nan")
    pt["chrom"] = scan
    pt["n_enhancers"] = len(enh)
    res["perturb"] = pt
    _log(f"P2 scan of {scan}: {pt['wall_s']:.0f} s, {pt['windows']} windows = {pt['wps']:.1f} windows/s, "
         f"peak RSS {pt['peak_rss_gb']:.2f} GB")

    (out / "results.json").write_text(json.dumps(res, indent=2, default=str))
    print(markdown(res), flush=True)
    return res


def save(out: Path, res: dict) -> None:
    (out / "results.json").write_text(json.dumps(res, indent=2, default=str))


def _cli_train(store: Path, run: Path, args) -> dict:
    tr = run_child(_claster("train", "--store", str(store), "--variant", "landscape", "--out", str(run),
                            "--max-steps", str(args.cli_steps), "--batch-size", str(args.batch), "--warmup-steps",
                            "1", "--accelerator", "cpu", "--threads", str(args.threads), "--force", "-q",
                            "--val-check-steps", "1000000"), args.out.resolve() / "train.log")
    tr["what"] = f"`claster train --variant landscape --max-steps {args.cli_steps}` (all training genes)"
    return tr


def untrained_model(store_path: str, run: str) -> None:
    """Write RUN/model: an untrained landscape network with normalisation fitted on up to 256 genes."""
    import torch

    from claster.config.model import ModelConfig
    from claster.config.train import TrainConfig
    from claster.data.genome import GenomeWindows
    from claster.model import ClasterNet
    from claster.model.checkpoint import save_model
    from claster.store import open_store
    from claster.train._fit import fit_normalisation, store_checksum

    torch.manual_seed(0)
    store = open_store(store_path)
    genes = store.genes[store.genes["usable"].astype(bool)].head(256).reset_index(drop=True)
    win = GenomeWindows(store, genes, context_bins=10_001, output_bins=401)
    norm = fit_normalisation(win, np.zeros(len(genes), dtype=bool), augment_rev=True)
    config = ModelConfig.for_variant("landscape")
    tc = TrainConfig(store=store_path, out=run, variant="landscape")
    extra = {"train_config": tc.model_dump(mode="json"), "normalisation": norm,
             "track_names": list(store.track_names), "store_manifest_sha256": store_checksum(store),
             "structure": None}
    save_model(Path(run) / "model", ClasterNet(config), config, extra, overwrite=True)


def _scan_windows(summary: dict) -> int:
    """Windows the scan evaluated (baseline + perturbed), from its summary.json."""
    for key in ("n_windows", "windows"):
        if isinstance(summary.get(key), int):
            return int(summary[key])
    n = 0
    for key in ("n_reference_windows", "n_perturbed_windows"):
        if isinstance(summary.get(key), int):
            n += int(summary[key])
    return n


def markdown(res: dict) -> str:
    p = res["prepare"]
    lines = [
        f"Genome: {len(res['chroms'])} chromosomes, {res['genome_bp'] / 1e9:.3f} Gbp, {res['genes']:,} genes "
        f"({res['usable_genes']:,} usable); contacts on {', '.join(res['contact_chroms'])}.",
        "",
        "| step | wall time | peak RSS | figure |",
        "|---|---|---|---|",
        f"| `claster prepare` (genome-wide, rotated cache) | {p['wall_s']:.0f} s | {p['peak_rss_gb']:.2f} GB | "
        f"bound {p['bound_gb']:.2f} GB = R0 {p['r0_gb']:.2f} + 2 × {p['largest_chrom']} arrays "
        f"{p['largest_arrays_gb']:.2f} GB (all chromosomes' arrays: {p['genome_arrays_gb']:.2f} GB); "
        f"holds: {'yes' if p['holds'] else 'NO'} |",
        f"| store on disk | | | {res['store_size_gb']:.2f} GB (" + ", ".join(
            f"{k} {v:.2f}" for k, v in sorted(res["store_parts_gb"].items()) if v > 0.005) + ") |",
    ]
    for r in res["train"]:
        lines.append(
            f"| training, {r['variant']}, batch {r['batch']}, {r['threads']} threads | setup {r['setup_s']:.1f} s | | "
            f"from the store {r['store_wps']:.1f} windows/s vs in-memory random tensors {r['memory_wps']:.1f} "
            f"({r['ratio']:.2f}×; {r['samples']:,} training genes; window cutting alone {r['cut_wps']:,.0f}/s) |")
    t, pr, pt = res["cli_train"], res["predict"], res["perturb"]
    lines += [
        f"| model: {t['what']} | {t['wall_s']:.0f} s | {t['peak_rss_gb']:.2f} GB | start-up included |",
        f"| {pr['what']} | {pr['wall_s']:.0f} s | {pr['peak_rss_gb']:.2f} GB | "
        f"{pr['windows']:,} windows, {pr['wps']:.1f} windows/s (wall time incl. start-up) |",
        f"| `claster perturb --preset P2 --chrom {pt['chrom']}` | {pt['wall_s']:.0f} s | {pt['peak_rss_gb']:.2f} GB | "
        f"{pt['n_enhancers']:,} enhancers, {pt['windows']:,} windows, {pt['wps']:.1f} windows/s (incl. start-up) |",
        "",
        "Per chromosome (prepare; RSS sampled every 0.1 s):",
        "",
        "| phase | wall time | peak RSS (sampled) | chromosome's arrays |",
        "|---|---|---|---|",
    ]
    for ph, v in p["phases"].items():
        arr = p["per_chrom_arrays_gb"].get(ph)
        lines.append(f"| {ph} | {v.get('wall_s', 0):.1f} s | {v['peak_rss_sampled_gb']:.2f} GB | "
                     f"{'' if arr is None else f'{arr:.3f} GB'} |")
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--untrained-model":
        untrained_model(sys.argv[2], sys.argv[3])
    else:
        main()
