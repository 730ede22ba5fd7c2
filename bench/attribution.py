"""Benchmark: integrated gradients on the CPU for the landscape ClasterNet (issue 5, item 6).

Measures windows per second of ``claster.attribute.ig.integrated_gradients`` (64 Gauss–Legendre
steps, batch 64 interpolants, SPEC §8) for a subset of output bins and for all 401, against captum's
plain per-output loop (``IntegratedGradients.attribute(target=j)`` for each bin) in the same run, and
checks that both give the same attributions.

All 401 bins at 64 steps take tens of minutes per window on 2 CPU threads, so by default the 401-bin
figures are extrapolated from per-pass timings measured here (one forward pass with graph over 64
interpolants, and one backward pass): ``ours = fwd + min(401, hidden) * bwd`` and
``captum = 401 * (fwd + bwd)``; the 10-bin runs are measured and printed next to the same model's
prediction, and ``--full-steps S`` also runs all 401 bins for real at ``S`` steps (scaled to 64).
``--full`` runs all 401 bins at 64 steps for real (slow).

Usage::

    python bench/attribution.py --threads 2 --subset-bins 10 [--full-steps 8] [--full]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch


def _model() -> tuple[torch.nn.Module, str]:
    try:
        from claster.model import ClasterNet  # type: ignore[attr-defined]
    except ImportError:
        from claster.model.net import ClasterNet
    from claster.config.model import ModelConfig

    return ClasterNet(ModelConfig.for_variant("landscape")).eval(), "ClasterNet(landscape)"


def _captum_loop(model, x, b, bins, n_steps, batch_size):
    from captum.attr import IntegratedGradients

    ig = IntegratedGradients(model, multiply_by_inputs=True)
    out = []
    for j in bins:
        out.append(
            ig.attribute(x, baselines=b, target=j, n_steps=n_steps, method="gausslegendre",
                         internal_batch_size=batch_size).detach()
        )
    return torch.stack(out, dim=1).numpy()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--subset-bins", type=int, default=10, help="output bins of the subset run (around the TSS)")
    p.add_argument("--steps", type=int, default=64, help="IG steps (SPEC §8: 64)")
    p.add_argument("--batch-size", type=int, default=64, help="interpolants per forward pass")
    p.add_argument("--full-steps", type=int, default=0, help="also run all 401 bins for real at this many steps")
    p.add_argument("--full", action="store_true", help="run all 401 bins at --steps for real (slow)")
    p.add_argument("--json", default=None, help="write the figures to this JSON file")
    args = p.parse_args()

    from claster.attribute.ig import integrated_gradients

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model, name = _model()
    n_out = model.head.out_features
    hidden = model.head.in_features
    x = torch.randn(1, 4, 10_001)
    b = torch.zeros(4, 10_001)
    res: dict[str, object] = {"model": name, "threads": args.threads, "n_steps": args.steps,
                              "batch_size": args.batch_size, "torch": torch.__version__}

    # per-pass timings at the batch IG uses
    xs = x.expand(args.batch_size, -1, -1).clone().requires_grad_(True)
    t0 = time.perf_counter()
    y = model(xs)
    t_fwd = time.perf_counter() - t0
    bwd = []
    for j in range(3):
        t0 = time.perf_counter()
        torch.autograd.grad(y[:, 200 + j].sum(), xs, retain_graph=j < 2)
        bwd.append(time.perf_counter() - t0)
    t_bwd = float(np.median(bwd))
    del y, xs
    passes = args.steps / args.batch_size  # forward/backward passes of batch_size rows per window
    res["fwd_s_per_batch"] = round(t_fwd, 3)
    res["bwd_s_per_batch"] = round(t_bwd, 3)

    def predict(n_bins: int) -> tuple[float, float]:
        ours = passes * (t_fwd + min(n_bins, hidden) * t_bwd)
        capt = passes * n_bins * (t_fwd + t_bwd)
        return ours, capt

    bins = list(range(n_out // 2 - args.subset_bins // 2, n_out // 2 - args.subset_bins // 2 + args.subset_bins))
    kw = dict(n_steps=args.steps, batch_size=args.batch_size, progress=False)
    t0 = time.perf_counter()
    ours = integrated_gradients(model, {"landscape": x}, {"landscape": b}, bins, **kw)["landscape"]
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = _captum_loop(model, x, b[None], bins, args.steps, args.batch_size)
    t_capt = time.perf_counter() - t0
    pred_o, pred_c = predict(len(bins))
    res["subset"] = {
        "n_bins": len(bins),
        "ours_s_per_window": round(t_ours, 2), "captum_loop_s_per_window": round(t_capt, 2),
        "ours_windows_per_s": 1 / t_ours, "captum_windows_per_s": 1 / t_capt,
        "speedup": round(t_capt / t_ours, 2),
        "predicted_ours_s": round(pred_o, 2), "predicted_captum_s": round(pred_c, 2),
        "max_abs_diff_vs_captum": float(np.abs(ours - ref).max()),
        "max_abs_attr": float(np.abs(ref).max()),
    }
    pred_o, pred_c = predict(n_out)
    res["all_bins_extrapolated"] = {
        "n_bins": n_out, "backward_passes": min(n_out, hidden),
        "ours_s_per_window": round(pred_o, 1), "captum_loop_s_per_window": round(pred_c, 1),
        "ours_windows_per_s": 1 / pred_o, "captum_windows_per_s": 1 / pred_c,
        "speedup": round(pred_c / pred_o, 2),
    }
    if args.full_steps:
        t0 = time.perf_counter()
        integrated_gradients(model, {"landscape": x}, {"landscape": b}, None, n_steps=args.full_steps,
                             batch_size=args.batch_size, progress=False)
        t_full = time.perf_counter() - t0
        res["all_bins_measured_at_steps"] = {
            "n_steps": args.full_steps, "s_per_window": round(t_full, 1),
            "scaled_to_steps_s_per_window": round(t_full * args.steps / args.full_steps, 1),
        }
    if args.full:
        t0 = time.perf_counter()
        integrated_gradients(model, {"landscape": x}, {"landscape": b}, None, **kw)
        t_full = time.perf_counter() - t0
        res["all_bins_measured"] = {"s_per_window": round(t_full, 1), "windows_per_s": 1 / t_full}
    text = json.dumps(res, indent=2)
    print(text)
    if args.json:
        with open(args.json, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
