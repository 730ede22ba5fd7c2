"""GPU check (issue 12 item 5): training and inference windows/s, a P2 scan and bf16 accuracy, in < 5 min.

On one GPU, from a store prepared here (one simulated mouse chromosome, chr19 at 61 Mbp with mm10's size
and the real vM25 genes, contacts at 1.6 kbp and the rotated cache; see bench/scale.py), with the
windows cut on the device by :class:`claster.data.genome.GenomeWindows`:

1. training windows/s (forward + SmoothL1 + backward + AdamW step, the step of
   ``claster.train.TrainingPlan``) at fp32 and bf16-mixed (autocast), for the landscape and the rotated
   Micro-C variants; the in-memory random-tensor rate of the same network next to it;
2. inference windows/s at fp32 and bf16;
3. the largest |bf16 - fp32| of the outputs (standardised units) on store windows, after the fp32
   training steps;
4. a P2 gene-centric scan (``perturb_scan``, the engine of ``claster perturb``) of the chromosome's
   enhancers, in windows/s.

Usage::

    python bench/gpu.py                       # cuda:0; the paper's geometry
    python bench/gpu.py --device cpu --tiny   # the same code on CPU at toy sizes (a test runs this)

Exit codes: 0 done; 3 no GPU (one line on stderr saying so, nothing else runs); 2 bad arguments.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

EXIT_NO_GPU = 3
VARIANTS = ("landscape", "microc_rotated")


def _no_gpu_reason(device: str) -> str | None:
    import torch

    if not device.startswith("cuda"):
        return None
    if not torch.cuda.is_available():
        built = "built without CUDA" if torch.version.cuda is None else f"CUDA {torch.version.cuda}, no device visible"
        return (f"no GPU: torch.cuda.is_available() is False (torch {torch.__version__}, {built}); run on a "
                "machine with an NVIDIA GPU, or pass --device cpu --tiny to exercise this script's code")
    index = torch.device(device).index or 0
    if index >= torch.cuda.device_count():
        return f"no GPU {device}: only {torch.cuda.device_count()} visible; pass --device cuda:0"
    return None


def _genome(tiny: bool, seed: int):
    """(sizes, genes) of the benchmark genome: chr19 of mm10 with its real genes, or a 4 Mbp toy one."""
    import scale

    if not tiny:
        return scale.read_inputs(scale.DEFAULT_SIZES, scale.DEFAULT_GENES, ["chr19"], 400, seed)
    rng = np.random.default_rng(seed)
    sizes = {"chrT": 4_000_000}
    tss = np.sort(rng.integers(1_300_000, 2_700_000, 12))
    genes = pd.DataFrame({
        "chrom": "chrT", "start": tss, "end": tss + 20_000, "name": [f"g{i}" for i in range(len(tss))],
        "score": 0, "strand": "+", "Ensembl_ID": [f"G{i}" for i in range(len(tss))], "gene_type": "protein_coding",
    })
    genes["tss"] = genes["start"]
    return sizes, genes


def make_store(work: Path, tiny: bool, seed: int = 0) -> tuple[Path, Path, str]:
    """Write inputs and prepare a store in ``work``; return (store, enhancers BED, chromosome)."""
    import scale

    from claster.config.prepare import PrepareConfig
    from claster.store import build_store

    sizes, genes = _genome(tiny, seed)
    inp = work / "inputs"
    inp.mkdir(parents=True, exist_ok=True)
    layout = scale.make_layout(sizes, genes, seed)
    ann = inp / "genes.bed"
    genes[["chrom", "start", "end", "name", "score", "strand", "Ensembl_ID", "gene_type"]].rename(
        columns={"chrom": "#chr"}).to_csv(ann, sep="\t", index=False)
    paths = scale.write_tracks(inp, sizes, layout)
    scale.write_enhancers(inp / "enhancers.bed", sizes, layout)
    uri = scale.write_contacts(inp / "contacts.mcool", sizes, list(sizes), seed)
    cfg = PrepareConfig(tracks={n: paths[n] for n in scale.TRACKS}, target=[paths["target"]], annotation=str(ann),
                        contacts=uri, test_chroms=[], val_chroms=[])
    store = build_store(cfg, work / "store", progress=False)
    return store, inp / "enhancers.bed", next(iter(sizes))


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_variant(store, variant: str, device, *, context_bins: int, output_bins: int, batch: int, steps: int,
                  warmup: int, seed: int = 0) -> dict:
    """Training / inference windows/s at fp32 and bf16 and the bf16 output error for one variant."""
    import torch

    from claster.config.train import STRUCTURE_OF_VARIANT, TrainConfig
    from claster.data.genome import GenomeWindows
    from claster.train._fit import fit_normalisation, model_config_for
    from claster.train._plan import TrainingPlan

    torch.manual_seed(seed)
    genes = store.genes[store.genes["usable"].astype(bool)].reset_index(drop=True)
    structure = STRUCTURE_OF_VARIANT[variant]
    t0 = time.perf_counter()
    win = GenomeWindows(store, genes, context_bins=context_bins, output_bins=output_bins, structure=structure)
    norm = fit_normalisation(win, np.zeros(len(genes), dtype=bool), augment_rev=True)
    win.to(device)
    setup_s = time.perf_counter() - t0
    tc = TrainConfig(store=str(store.path), out="unused", variant=variant, context_bins=context_bins,
                     output_bins=output_bins, batch_size=batch, warmup_steps=1)
    mc = model_config_for(tc, n_tracks=len(store.track_names), structure_shape=win.structure_shape)
    plan = TrainingPlan(mc.model_dump(mode="json"), tc.model_dump(mode="json"), norm).to(device)
    plan.windows = {"train": win}
    opt = plan.configure_optimizers()["optimizer"]
    gen = torch.Generator(device=device).manual_seed(seed)
    n = len(win)

    def batch_idx():
        idx = torch.randint(n, (batch,), device=device, generator=gen)
        rev = torch.rand(batch, device=device, generator=gen) < 0.5
        return idx, rev

    def train_step(bf16: bool) -> None:
        idx, rev = batch_idx()
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            x, s = plan._inputs("train", idx, rev)  # the TrainingPlan's own cutting + standardisation
            y = plan.norm_target.transform(win.target(idx, rev))
            loss = plan.loss_fn(plan.net(x, s).float(), y)
        loss.backward()
        opt.step()

    x_mem = torch.randn(batch, mc.n_tracks, mc.context_bins, device=device, generator=gen)
    s_mem = torch.randn(batch, *mc.structure_shape, device=device, generator=gen) if mc.structure_shape else None
    y_mem = torch.randn(batch, mc.output_bins, device=device, generator=gen)

    def memory_step(bf16: bool) -> None:
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = plan.loss_fn(plan.net(x_mem, s_mem).float(), y_mem)
        loss.backward()
        opt.step()

    def rate(fn, *a) -> float:
        for _ in range(warmup):
            fn(*a)
        _sync(device)
        t = time.perf_counter()
        for _ in range(steps):
            fn(*a)
        _sync(device)
        return steps * batch / (time.perf_counter() - t)

    out = {"variant": variant, "windows": n, "setup_s": setup_s, "batch": batch,
           "parameters": sum(p.numel() for p in plan.net.parameters())}
    plan.train()
    for name, bf16 in (("fp32", False), ("bf16", True)):
        out[f"train_{name}"] = rate(train_step, bf16)
        out[f"train_{name}_memory"] = rate(memory_step, bf16)

    plan.eval()

    @torch.inference_mode()
    def infer(bf16: bool) -> None:
        idx, rev = batch_idx()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            x, s = plan._inputs("train", idx, rev)
            plan.net(x, s)

    for name, bf16 in (("fp32", False), ("bf16", True)):
        out[f"infer_{name}"] = rate(infer, bf16)
    with torch.inference_mode():
        idx = torch.arange(min(n, 4 * batch), device=device)
        x, s = plan._inputs("train", idx, torch.zeros_like(idx, dtype=torch.bool))
        ref = plan.net(x, s).float()
        with torch.autocast(device.type, dtype=torch.bfloat16):
            low = plan.net(x, s).float()
    d = (low - ref).abs()
    out["bf16_max_abs_diff"], out["bf16_mean_abs_diff"] = float(d.max()), float(d.mean())
    out["_plan"], out["_tc"], out["_mc"], out["_norm"] = plan, tc, mc, norm
    return out


def p2_scan(store, res: dict, elements: Path, chrom: str, run: Path, device, batch: int) -> dict:
    """Save the landscape model trained above and run the P2 gene-centric scan of ``chrom`` on ``device``."""
    from claster.predict import Predictor
    from claster.perturb import perturb_scan, read_elements
    from claster.model.checkpoint import save_model
    from claster.qc import training_stats
    from claster.train._fit import store_checksum

    plan, tc, mc = res["_plan"], res["_tc"], res["_mc"]
    genes = store.genes
    train_genes = genes[genes["usable"].astype(bool) & (genes["split"] == "train")]
    extra = {"train_config": tc.model_dump(mode="json"), "normalisation": res["_norm"],
             "track_names": list(store.track_names), "store_manifest_sha256": store_checksum(store),
             "structure": None, "input_stats": training_stats(store, train_genes)}
    save_model(run / "model", plan.net.cpu(), mc, extra, overwrite=True)
    plan.net.to(device)
    predictor = Predictor(run, device=device)
    t = time.perf_counter()
    result = perturb_scan(predictor, store, read_elements(elements), chrom=chrom, preset="P2",
                          mode="gene-centric", batch_size=batch, progress=False)
    wall = time.perf_counter() - t
    s = result.summary
    n = s["n_reference_windows"] + s["n_perturbed_windows"]
    return {"windows": n, "wall_s": wall, "wps": n / wall, "elements": s["n_active_elements"],
            "effect_rows": s["n_effect_rows"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda", help="torch device (default cuda; cpu only with --tiny)")
    ap.add_argument("--tiny", action="store_true", help="toy sizes (4 Mbp genome, 2,001-bin context, batch 2, "
                    "2 steps) so that the code runs on a CPU in about a minute")
    ap.add_argument("--batch", type=int, default=None, help="windows per step (default 256; 2 with --tiny)")
    ap.add_argument("--steps", type=int, default=None, help="timed steps per figure (default 20; 2 with --tiny)")
    ap.add_argument("--work", type=Path, default=None, help="working directory (default: a temporary one)")
    args = ap.parse_args(argv)

    reason = _no_gpu_reason(args.device)
    if reason is not None:
        print(reason, file=sys.stderr, flush=True)
        return EXIT_NO_GPU
    if args.device == "cpu" and not args.tiny:
        print("error: --device cpu runs only with --tiny (the full sizes take hours on a CPU); add --tiny",
              file=sys.stderr)
        return 2

    import torch
    from _sysinfo import lscpu_summary

    from claster.store import open_store

    started = time.perf_counter()
    device = torch.device(args.device)
    print(lscpu_summary())
    if device.type == "cuda":
        p = torch.cuda.get_device_properties(device)
        print(f"GPU: {torch.cuda.get_device_name(device)} ({p.total_memory / 1024**3:.0f} GiB), CUDA "
              f"{torch.version.cuda}, torch {torch.__version__}")
    else:
        print(f"GPU: none (--device {args.device}), torch {torch.__version__}, {torch.get_num_threads()} threads")
    batch = args.batch or (2 if args.tiny else 256)
    steps = args.steps or (2 if args.tiny else 20)
    warmup = 1 if args.tiny else 3
    context_bins, output_bins = (2_001, 41) if args.tiny else (10_001, 401)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False  # fp32 means fp32
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = True

    tmp = tempfile.TemporaryDirectory(prefix="claster-gpu-") if args.work is None else None
    work = Path(tmp.name) if tmp else args.work
    try:
        t = time.perf_counter()
        store_path, elements, chrom = make_store(work, args.tiny)
        store = open_store(store_path)
        n_usable = int(store.genes["usable"].sum())
        print(f"store: {chrom}, {store.chrom_sizes[chrom] / 1e6:.1f} Mbp, {n_usable} usable genes, contacts at "
              f"1.6 kbp with the rotated cache; inputs + prepare {time.perf_counter() - t:.1f} s", flush=True)
        print(f"batch {batch}, {steps} timed steps after {warmup} warm-up, context {context_bins} x 100 bp, "
              f"output {output_bins} x 1 kbp; windows cut on {device} by GenomeWindows")
        head = (f"{'variant':<16}{'train fp32':>11}{'train bf16':>11}{'(random fp32)':>14}{'infer fp32':>11}"
                f"{'infer bf16':>11}{'bf16 max|Δ|':>12}")
        print(head + "\n" + "-" * len(head), flush=True)
        results = {}
        for variant in VARIANTS:
            r = bench_variant(store, variant, device, context_bins=context_bins, output_bins=output_bins,
                              batch=batch, steps=steps, warmup=warmup)
            results[variant] = r
            print(f"{variant:<16}{r['train_fp32']:>11.1f}{r['train_bf16']:>11.1f}{r['train_fp32_memory']:>14.1f}"
                  f"{r['infer_fp32']:>11.1f}{r['infer_bf16']:>11.1f}{r['bf16_max_abs_diff']:>12.4f}", flush=True)
        scan = p2_scan(store, results["landscape"], elements, chrom, work / "run", device, batch)
        print(f"P2 gene-centric scan of {chrom} (landscape, fp32): {scan['elements']} active elements, "
              f"{scan['windows']} windows in {scan['wall_s']:.1f} s = {scan['wps']:.1f} windows/s")
        land = results["landscape"]["train_bf16"]
        print(f"summary: landscape training, best of fp32/bf16, {max(land, results['landscape']['train_fp32']):.0f} "
              f"windows/s (goal on one GPU: 5,000); total {time.perf_counter() - started:.0f} s", flush=True)
    finally:
        if tmp is not None:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
