"""Throughput of the CLASTER networks on CPU (SPEC §9, issue 3 item 7).

For each variant: training (forward + SmoothL1 + backward + AdamW step) and inference windows/s at
batch 64 with 2 threads, fp32; the ratio against a baseline measured in the same run (a
straightforward Conv2d implementation of the identical network in the original's EIR layout, same
weights) and, for the landscape variant, against the original's quoted figures (35 training, 141
inference windows/s on this machine). A bf16 mode (CPU autocast) is reported separately with its
accuracy cost (max / mean absolute difference of eval outputs against fp32, standardised units).

Usage::

    python bench/model.py [--quick] [--variants landscape,microc_rotated] [--threads 2] [--batch 64]
        [--bf16/--no-bf16] [--baseline/--no-baseline] [--compile]
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from torch import nn

from claster.config.model import VARIANTS, AttentionSpec, ModelConfig
from claster.model import ClasterNet, count_parameters

ORIGINAL = {"landscape": (35.0, 141.0)}  # windows/s (train, inference), eir-dl 0.1.43, this machine


# --------------------------------------------------------------------------------------------------
# the baseline: the original's layout, every tensor 4-D, Conv2d everywhere
# --------------------------------------------------------------------------------------------------


class _RefSwish(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.beta = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.beta * x)


class _RefSE(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        r = max(1, c // 16)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.down, self.act, self.up = nn.Conv2d(c, r, 1), _RefSwish(), nn.Conv2d(r, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.up(self.act(self.down(self.pool(x)))))


class _RefSD(nn.Module):
    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        noise = torch.empty([1] * x.dim(), dtype=x.dtype).bernoulli_(1 - self.p).div_(1 - self.p)
        return x * noise


class _RefFirst(nn.Module):
    def __init__(self, spec) -> None:  # noqa: ANN001
        super().__init__()
        self.conv = nn.Conv2d(1, spec.out_channels, spec.kernel, spec.stride, spec.padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class _RefRes(nn.Module):
    def __init__(self, spec, do: float, sd: float) -> None:  # noqa: ANN001
        super().__init__()
        ci, co = spec.in_channels, spec.out_channels
        self.full_preact = spec.full_preact
        self.norm = nn.GroupNorm(1, ci)
        self.conv_1 = nn.Conv2d(ci, co, spec.kernel, spec.stride, spec.padding)
        self.act = _RefSwish()
        self.dropout = nn.Dropout2d(do)
        self.conv_2 = nn.Conv2d(co, co, spec.conv2_kernel, 1, spec.conv2_padding, spec.dilation)
        self.se = _RefSE(co)
        self.drop_path = _RefSD(sd)
        self.shortcut = nn.Conv2d(ci, co, spec.kernel, spec.stride, spec.padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = self.norm(x)
        identity = self.shortcut(n if self.full_preact else x)
        out = self.conv_2(self.dropout(self.act(self.conv_1(n))))
        out = self.drop_path(out * self.se(out))
        return out + identity


class _RefAttention(nn.Module):
    def __init__(self, spec: AttentionSpec) -> None:
        super().__init__()
        layer = nn.TransformerEncoderLayer(
            spec.d_model,
            spec.n_heads,
            4 * spec.d_model,
            spec.dropout,
            "gelu",
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, spec.n_layers, enable_nested_tensor=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        return self.encoder(x.view(b, c, h * w)).view(b, c, h, w)


class _RefBranch(nn.Module):
    def __init__(self, plan, do: float, sd: float) -> None:  # noqa: ANN001
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.zeros(1, *plan.input_size))
        blocks: list[nn.Module] = []
        for spec in plan.blocks:
            if isinstance(spec, AttentionSpec):
                blocks.append(_RefAttention(spec))
            elif spec.is_first:
                blocks.append(_RefFirst(spec))
            else:
                blocks.append(_RefRes(spec, do, sd))
        self.conv = nn.Sequential(*blocks)
        f = plan.flat_features
        self.fc = nn.Sequential()
        self.fc.add_module("norm", nn.LayerNorm(f))
        self.fc.add_module("act", _RefSwish())
        self.fc.add_module("linear", nn.Linear(f, plan.num_output_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x.unsqueeze(1) + self.pos_embedding)
        return self.fc(out.view(out.shape[0], -1))


class _RefMLP(nn.Module):
    def __init__(self, fi: int, fo: int, do: float, sd: float) -> None:
        super().__init__()
        self.norm, self.fc_1, self.act = nn.LayerNorm(fi), nn.Linear(fi, fo), _RefSwish()
        self.dropout, self.fc_2 = nn.Dropout(do), nn.Linear(fo, fo)
        self.shortcut = nn.Identity() if fi == fo else nn.Linear(fi, fo)
        self.drop_path = _RefSD(sd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.fc_2(self.dropout(self.act(self.fc_1(self.norm(x)))))
        return self.drop_path(out) + self.shortcut(x)


class Conv2dReferenceNet(nn.Module):
    """The identical network written the straightforward way (EIR layout); same state-dict names."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        lc = config.landscape
        self.landscape = _RefBranch(config.landscape_plan, lc.residual_dropout, lc.stochastic_depth_p)
        fi = lc.num_output_features
        self.structure = None
        if config.structure is not None:
            sc = config.structure
            self.structure = _RefBranch(config.structure_plan, sc.residual_dropout, sc.stochastic_depth_p)
            fi += sc.num_output_features
        f = config.fusion
        self.fusion = nn.Module()
        self.fusion.blocks = nn.Sequential(
            *(
                _RefMLP(
                    fi if i == 0 else f.hidden_features, f.hidden_features, f.dropout, f.stochastic_depth_p
                )
                for i in range(f.n_blocks)
            )
        )
        self.head = nn.Linear(f.hidden_features, config.output_bins)

    def forward(self, landscape: torch.Tensor, structure: torch.Tensor | None = None) -> torch.Tensor:
        feats = self.landscape(landscape)
        if self.structure is not None:
            feats = torch.cat([feats, self.structure(structure)], dim=1)
        return self.head(self.fusion.blocks(feats))


# --------------------------------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------------------------------


def _inputs(
    config: ModelConfig, batch: int, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor | None]:
    x = torch.randn(batch, config.n_tracks, config.context_bins, generator=gen)
    s = torch.randn(batch, *config.structure_shape, generator=gen) if config.structure_shape else None
    return x, s


def time_training(model: nn.Module, x, s, y, steps: int, warmup: int, bf16: bool) -> float:  # noqa: ANN001
    """Windows per second of forward + SmoothL1 + backward + AdamW step."""
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-4)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            pred = model(x, s)
        loss = F.smooth_l1_loss(pred.float(), y, beta=1.0)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * x.shape[0] / (time.perf_counter() - t0)


def time_inference(model: nn.Module, x, s, steps: int, warmup: int, bf16: bool) -> float:  # noqa: ANN001
    """Windows per second of an eval-mode forward pass under inference_mode."""
    model.eval()
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for _ in range(warmup):
            model(x, s)
        t0 = time.perf_counter()
        for _ in range(steps):
            model(x, s)
        return steps * x.shape[0] / (time.perf_counter() - t0)


def bf16_error(model: nn.Module, x, s) -> tuple[float, float]:  # noqa: ANN001
    """(max, mean) |bf16 − fp32| of eval outputs, standardised target units."""
    model.eval()
    with torch.inference_mode():
        ref = model(x, s)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = model(x, s).float()
    d = (low - ref).abs()
    return float(d.max()), float(d.mean())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer steps (a rough figure in about a minute)")
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated variants")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    ap.add_argument("--batch", type=int, default=64, help="windows per batch (default 64)")
    ap.add_argument(
        "--bf16", action=argparse.BooleanOptionalAction, default=True, help="also time bf16 autocast"
    )
    ap.add_argument(
        "--baseline",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time the Conv2d baseline",
    )
    ap.add_argument(
        "--compile", action="store_true", help="also time torch.compile(model) (optional, slow to build)"
    )
    ap.add_argument("--seed", type=int, default=0, help="seed for weights and random inputs")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    train_steps, infer_steps, warmup, rounds = (2, 3, 1, 2) if args.quick else (5, 8, 1, 3)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}, "
        f"steps train {train_steps} / inference {infer_steps} (+{warmup} warm-up), best of {rounds} rounds"
    )
    header = (
        f"{'variant':<22}{'mode':<16}{'train w/s':>11}{'infer w/s':>11}{'train ×':>9}{'infer ×':>9}  note"
    )
    print(header)
    print("-" * len(header))
    for name in args.variants.split(","):
        config = ModelConfig.for_variant(name)
        model = ClasterNet(config)
        x, s = _inputs(config, args.batch, gen)
        y = torch.randn(args.batch, config.output_bins, generator=gen)
        n_params = count_parameters(model)
        rows: list[tuple[str, float, float, str]] = []
        # Contenders are timed in interleaved rounds and the best round kept, so that load from other
        # processes on a shared machine penalises every contender alike.
        contenders: dict[str, tuple[nn.Module, bool]] = {}
        notes: dict[str, str] = {}
        if args.baseline:
            ref = Conv2dReferenceNet(config)
            ref.load_state_dict(model.state_dict())
            model.eval()
            ref.eval()
            with torch.inference_mode():
                xs, ss = x[:4], None if s is None else s[:4]
                diff = float((ref(xs, ss) - model(xs, ss)).abs().max())
            contenders["baseline fp32"] = (ref, False)
            notes["baseline fp32"] = f"Conv2d/EIR layout; max |Δ| vs ours {diff:.1e}"
        contenders["claster fp32"] = (model, False)
        notes["claster fp32"] = f"{n_params:,} params"
        if args.bf16:
            err = bf16_error(model, x[:16], None if s is None else s[:16])
            contenders["claster bf16"] = (model, True)
            notes["claster bf16"] = f"autocast; |Δ| vs fp32 max {err[0]:.3g} mean {err[1]:.3g}"
        if args.compile:
            contenders["claster compiled"] = (torch.compile(model), False)
            notes["claster compiled"] = "torch.compile, fp32"
        best = {k: [0.0, 0.0] for k in contenders}
        for _ in range(rounds):
            for key, (net, bf16) in contenders.items():
                best[key][0] = max(best[key][0], time_training(net, x, s, y, train_steps, warmup, bf16))
            for key, (net, bf16) in contenders.items():
                best[key][1] = max(best[key][1], time_inference(net, x, s, infer_steps, warmup, bf16))
        base = tuple(best["baseline fp32"]) if args.baseline else None
        if name in ORIGINAL:
            o, ours = ORIGINAL[name], best["claster fp32"]
            notes["claster fp32"] += (
                f"; vs original {ours[0] / o[0]:.2f}× / {ours[1] / o[1]:.2f}× (35 / 141 w/s)"
            )
        rows = [(key, best[key][0], best[key][1], notes[key]) for key in contenders]
        for mode, tr, inf, note in rows:
            rt = f"{tr / base[0]:.2f}" if base else "-"
            ri = f"{inf / base[1]:.2f}" if base else "-"
            print(f"{name:<22}{mode:<16}{tr:>11.1f}{inf:>11.1f}{rt:>9}{ri:>9}  {note}", flush=True)


if __name__ == "__main__":
    main()
