"""Speed of the convolutional profile head (``--head conv``) against a Conv1d baseline, same run.

The baseline is the straightforward implementation of the same arithmetic: ``Conv1d``/``BatchNorm1d`` on
``(B, C, W)``. claster's :class:`claster.model.net.ConvHead` runs ``Conv2d`` on ``(B, C, 1, W)``
channels-last. Both get the same weights; the script checks that their outputs agree, then times a
training step (forward + backward, batch ``--batch``) and an inference pass, alternating A and B
``--repeats`` times, and prints medians and the ratio baseline / claster, after lscpu's model and flags.

Usage::

    python bench/conv_head.py [--batch 64] [--threads 2] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from claster.config.model import ConvHeadConfig
from claster.model.blocks import Swish
from claster.model.net import ConvHead

try:
    from _sysinfo import lscpu_summary
except ImportError:  # run from elsewhere
    from bench._sysinfo import lscpu_summary  # type: ignore[no-redef]


class _Conv1dBlock(nn.Module):
    def __init__(self, c: int, k: int, d: int, p: float) -> None:
        super().__init__()
        pad = (k // 2) * d
        self.body = nn.Sequential(
            nn.BatchNorm1d(c), Swish(), nn.Conv1d(c, c, k, padding=pad, dilation=d), nn.Dropout(p),
            nn.BatchNorm1d(c), Swish(), nn.Conv1d(c, c, k, padding=pad, dilation=d),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Conv1dHead(nn.Module):
    """The baseline: the same head on ``(B, C, W)`` with Conv1d."""

    def __init__(self, cfg: ConvHeadConfig, n_tracks: int, context_bins: int, output_bins: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.start, self.n_pooled, self.first = cfg.alignment(context_bins, output_bins)
        self.output_bins = output_bins
        c = cfg.channels
        self.stem = nn.Conv1d(n_tracks, c, cfg.first_kernel, padding=cfg.first_kernel // 2)
        self.blocks = nn.Sequential(*(_Conv1dBlock(c, cfg.kernel, d, cfg.dropout) for d in cfg.dilations))
        self.norm = nn.BatchNorm1d(c)
        self.act = Swish()
        self.out = nn.Conv1d(c, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = self.cfg.pool
        x = x[:, :, self.start : self.start + self.n_pooled * r]
        x = x.reshape(x.shape[0], x.shape[1], self.n_pooled, r).mean(-1)
        h = self.blocks(self.stem(x))[:, :, self.first : self.first + self.output_bins]
        return self.out(self.act(self.norm(h))).squeeze(1)


def _median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=64, help="windows per step (default 64)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    ap.add_argument("--repeats", type=int, default=5, help="timed repeats per arm (default 5)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(lscpu_summary())
    torch.manual_seed(0)
    cfg = ConvHeadConfig(dropout=0.0)
    ours = ConvHead(cfg, 4, 10_001, 401)
    nn.init.normal_(ours.out.weight, std=0.1)
    base = Conv1dHead(cfg, 4, 10_001, 401)
    base.load_state_dict({k: (v.squeeze(2) if v.dim() == 4 else v) for k, v in ours.state_dict().items()})
    x = torch.randn(args.batch, 4, 10_001)
    with torch.no_grad():
        diff = (ours.eval()(x) - base.eval()(x)).abs().max().item()
    print(f"max |claster - baseline| on eval outputs: {diff:.2e}")
    assert diff < 1e-4, diff

    def train_step(m: nn.Module):
        def run() -> None:
            m.train()
            m.zero_grad(set_to_none=True)
            m(x).square().mean().backward()

        return run

    def infer(m: nn.Module):
        def run() -> None:
            m.eval()
            with torch.no_grad():
                m(x)

        return run

    rows = {}
    for what, make in (("training step", train_step), ("inference", infer)):
        a_times, b_times = [], []
        for _ in range(args.repeats):  # alternate A and B so a load change hits both
            a_times.append(_median_seconds(make(base), 1))
            b_times.append(_median_seconds(make(ours), 1))
        a, b = statistics.median(a_times), statistics.median(b_times)
        rows[what] = (a, b)
        print(f"{what:>14} (batch {args.batch}, {args.threads} threads): Conv1d baseline {a:.3f} s, "
              f"claster channels-last {b:.3f} s, ratio {a / b:.2f}x")


if __name__ == "__main__":
    main()
