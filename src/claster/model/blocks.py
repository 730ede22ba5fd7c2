"""Small building blocks of the CLASTER network (SPEC §3).

Convolution weights keep the original's ``Conv2d`` layout ``(out, in, kh, kw)`` so checkpoints of
the original map one to one. Every block takes and returns 4-D ``(B, C, H, W)`` tensors in either
memory format. Height-1 towers (landscape, rotated Micro-C) are ``(B, C, 1, W)`` channels-last
(``(B, W, C)`` in memory), which oneDNN convolves 2–3× faster on CPU than the default layout or
``conv1d`` (measured with ``bench/model.py``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from claster.config.model import ConvBlockSpec

__all__ = ["Swish", "SqueezeExcite", "StochasticDepth", "FirstConvBlock", "ResBlock", "ResidualMLPBlock"]


class Swish(nn.Module):
    """``x · sigmoid(β x)`` with one learnable scalar ``β`` (init 1), as the original's Swish.

    The parameter is called ``beta``; AdamW applies no weight decay to it (SPEC §4).
    """

    def __init__(self, beta: float = 1.0) -> None:
        super().__init__()
        self.beta = nn.Parameter(torch.full((1,), float(beta)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.beta * x)

    def extra_repr(self) -> str:
        return "learnable beta"


class SqueezeExcite(nn.Module):
    """Channel gate: global average pool → 1×1 conv to ``max(1, C // 16)`` → Swish → 1×1 conv → sigmoid.

    ``forward`` returns the gated input ``x · gate`` with ``gate`` of shape ``(B, C, 1[, 1])``.
    """

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        reduced = max(1, channels // reduction)
        self.down = nn.Conv2d(channels, reduced, kernel_size=1)
        self.act = Swish()
        self.up = nn.Conv2d(reduced, channels, kernel_size=1)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """The per-channel gate in (0, 1), ``(B, C, 1, 1)``, for ``x`` of shape ``(B, C, H, W)``."""
        pooled = x.mean(dim=(2, 3))  # (B, C)
        hidden = self.act(F.linear(pooled, self.down.weight.flatten(1), self.down.bias))
        gate = torch.sigmoid(F.linear(hidden, self.up.weight.flatten(1), self.up.bias))
        return gate[:, :, None, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)


class StochasticDepth(nn.Module):
    """Drop a residual branch with probability ``p`` during training (SPEC §3).

    Mode ``"batch"`` (the original's): one draw per forward pass drops the branch for the whole batch;
    a kept branch is scaled by ``1 / (1 − p)``. Mode ``"row"`` draws per sample. Identity in eval mode.
    """

    def __init__(self, p: float, mode: str = "batch") -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"stochastic depth probability must be in [0, 1], got {p}")
        if mode not in ("batch", "row"):
            raise ValueError(f"stochastic depth mode must be 'batch' or 'row', got {mode!r}")
        self.p = p
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        shape = [1] * x.dim() if self.mode == "batch" else [x.shape[0]] + [1] * (x.dim() - 1)
        noise = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(keep)
        if keep > 0.0:
            noise.div_(keep)
        return x * noise

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode}"


def _kaiming_(conv: nn.Conv2d) -> None:
    # SPEC §3: Kaiming normal, a = 0.5 (Swish slope near 0), fan_out. Biases keep PyTorch's default.
    nn.init.kaiming_normal_(conv.weight, a=0.5, mode="fan_out")


class FirstConvBlock(nn.Module):
    """The branch's first convolution: no norm, no activation (SPEC §3 step 2).

    ``(B, 1, H, W) → (B, C, H', W')``. When the kernel spans all ``H`` input rows (landscape, rotated
    Micro-C) it also takes ``(B, H, W)`` and returns ``(B, C, 1, W')`` channels-last — the same conv
    with the rows as input channels.
    """

    def __init__(self, spec: ConvBlockSpec) -> None:
        super().__init__()
        self.spec = spec
        self.conv = nn.Conv2d(
            spec.in_channels, spec.out_channels, spec.kernel, stride=spec.stride, padding=spec.padding
        )
        _kaiming_(self.conv)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 1, H, W)`` → ``(B, C, H', W')``; or ``(B, H, W)`` → ``(B, C, 1, W')`` channels-last
        when the kernel spans all ``H`` rows without height padding (the rows become input channels,
        weight ``(C, 1, H, k)`` viewed as ``(C, H, 1, k)``: the same sums)."""
        if x.dim() == 4:
            return self.conv(x)
        c = self.conv
        if c.kernel_size[0] != x.shape[1] or c.padding[0] != 0:
            raise ValueError(
                f"a (B, H, W) input needs a kernel spanning its {x.shape[1]} rows, got {c.kernel_size}"
            )
        rows = x.unsqueeze(2).contiguous(memory_format=torch.channels_last)  # (B, H, 1, W)
        return F.conv2d(
            rows, c.weight.transpose(1, 2), c.bias, stride=(1, c.stride[1]), padding=(0, c.padding[1])
        )


class ResBlock(nn.Module):
    """Pre-activation residual block (SPEC §3 step 3). ``(B, C_in, H, W) → (B, C_out, H', W')``.

    ``n = GroupNorm(1, C_in)(x)``; branch = conv_1(n) → Swish → Dropout2d → conv_2 (dilated) →
    squeeze-excitation → stochastic depth; shortcut = a conv with conv_1's kernel/stride/padding
    applied to ``n`` (first residual block, ``full_preact``) or ``x`` (later blocks);
    output = branch + shortcut.
    """

    def __init__(self, spec: ConvBlockSpec, dropout: float, stochastic_depth_p: float) -> None:
        super().__init__()
        assert spec.conv2_kernel is not None and spec.conv2_padding is not None and spec.dilation is not None
        self.spec = spec
        self.full_preact = spec.full_preact
        self.norm = nn.GroupNorm(1, spec.in_channels)
        self.conv_1 = nn.Conv2d(spec.in_channels, spec.out_channels, spec.kernel, spec.stride, spec.padding)
        self.act = Swish()
        self.dropout = nn.Dropout2d(dropout)
        self.conv_2 = nn.Conv2d(
            spec.out_channels, spec.out_channels, spec.conv2_kernel, 1, spec.conv2_padding, spec.dilation
        )
        self.se = SqueezeExcite(spec.out_channels)
        self.drop_path = StochasticDepth(stochastic_depth_p, "batch")
        self.shortcut = nn.Conv2d(spec.in_channels, spec.out_channels, spec.kernel, spec.stride, spec.padding)
        for conv in (self.conv_1, self.conv_2, self.shortcut, self.se.down, self.se.up):
            _kaiming_(conv)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = self.norm(x)
        identity = self.shortcut(n if self.full_preact else x)
        out = self.dropout(self.act(self.conv_1(n)))
        out = self.conv_2(out)
        out = self.se(out)
        out = self.drop_path(out)
        return out + identity


class ResidualMLPBlock(nn.Module):
    """Fusion block (SPEC §3): LayerNorm → Linear → Swish → Dropout → Linear → stochastic depth, + shortcut.

    ``(B, in_features) → (B, out_features)``. The shortcut is the input itself when the widths agree,
    else a ``Linear(in_features, out_features)`` applied to the (un-normalised) input.
    """

    def __init__(
        self, in_features: int, out_features: int, dropout: float, stochastic_depth_p: float
    ) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(in_features)
        self.fc_1 = nn.Linear(in_features, out_features)
        self.act = Swish()
        self.dropout = nn.Dropout(dropout)
        self.fc_2 = nn.Linear(out_features, out_features)
        self.shortcut: nn.Module = (
            nn.Identity() if in_features == out_features else nn.Linear(in_features, out_features)
        )
        self.drop_path = StochasticDepth(stochastic_depth_p, "batch")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.fc_1(self.norm(x))
        out = self.fc_2(self.dropout(self.act(out)))
        return self.drop_path(out) + self.shortcut(x)
