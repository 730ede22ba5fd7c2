"""The CLASTER network (SPEC §3): CNN branches, residual-MLP fusion, linear head.

Reading order: attention block, branch, fusion, ``ClasterNet``, summary helpers.

Shapes (B = batch):

* landscape ``(B, n_tracks, context_bins)`` float32, standardised mean signal per 100 bp bin;
* structure ``(B, rows, columns)`` float32, standardised log10 contacts (rotated Micro-C 129×626,
  square Micro-C 626×626, promoter-capture Hi-C 201×201);
* output ``(B, output_bins)`` float32 in the standardised target space (no clipping; see
  :meth:`ClasterNet.predict_clipped` for the evaluation-time ReLU).

Branches whose first convolution spans every input row (landscape, rotated Micro-C) feed the rows to
it as input channels and run their tower on ``(B, C, 1, W)`` channels-last (oneDNN's fast layout on
CPU); the square towers keep the default layout. The arithmetic and parameters are the original's.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import torch
from torch import nn

from claster.config.model import AttentionSpec, BranchPlan, ConvBlockSpec, ConvHeadConfig, ModelConfig
from claster.errors import InputError
from claster.model.blocks import FirstConvBlock, ResBlock, ResidualMLPBlock, Swish

__all__ = ["AttentionBlock", "CNNBranch", "Fusion", "ConvHead", "ClasterNet", "count_parameters", "model_summary"]


# --------------------------------------------------------------------------------------------------
# blocks that need the resolved plan
# --------------------------------------------------------------------------------------------------


class AttentionBlock(nn.Module):
    """Transformer encoder over the channels as tokens (SPEC §3, attention variant).

    ``(B, C, H, W) → same shape``; tokens are the ``C`` channels, ``d_model = H · W``; pre-norm,
    GELU, feed-forward ``4 · d_model``; no outer residual (the encoder layers have their own).
    """

    def __init__(self, spec: AttentionSpec) -> None:
        super().__init__()
        self.spec = spec
        layer = nn.TransformerEncoderLayer(
            d_model=spec.d_model,
            nhead=spec.n_heads,
            dim_feedforward=4 * spec.d_model,
            dropout=spec.dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, num_layers=spec.n_layers, enable_nested_tensor=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.encoder(x.reshape(x.shape[0], x.shape[1], -1))
        return out.view(x.shape)


class CNNBranch(nn.Module):
    """One input branch: positional embedding → conv blocks → flatten → LayerNorm → Swish → Linear.

    ``forward``: ``(B, H, W)`` float32 → ``(B, num_output_features)``. Submodules: ``pos_embedding``
    ``(1, H, W)`` (zeros at init), ``conv[0]`` the first conv, ``conv[1..]`` residual (and attention)
    blocks in the order of the SPEC §3 tables, ``fc`` = ``norm``, ``act``, ``linear``.
    """

    def __init__(
        self, plan: BranchPlan, residual_dropout: float, stochastic_depth_p: float, fc_dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.plan = plan
        self.pos_embedding = nn.Parameter(torch.zeros(1, *plan.input_size))
        blocks: list[nn.Module] = []
        for spec in plan.blocks:
            if isinstance(spec, AttentionSpec):
                blocks.append(AttentionBlock(spec))
            elif spec.is_first:
                blocks.append(FirstConvBlock(spec))
            else:
                blocks.append(ResBlock(spec, residual_dropout, stochastic_depth_p))
        self.conv = nn.ModuleList(blocks)
        self.rows_as_channels = plan.collapses_height
        fc: OrderedDict[str, nn.Module] = OrderedDict(norm=nn.LayerNorm(plan.flat_features), act=Swish())
        if fc_dropout > 0:  # not in the paper; no parameters, so state dicts are unchanged
            fc["drop"] = nn.Dropout(fc_dropout)
        fc["linear"] = nn.Linear(plan.flat_features, plan.num_output_features)
        self.fc = nn.Sequential(fc)

    def tower(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, H, W)`` → the last block's output ``(B, C, H', W')``."""
        x = x + self.pos_embedding
        # Height-1 towers run channels-last (oneDNN's fast layout, 2-3x faster there); 2-D towers of
        # 4-8 channels run fastest in the default layout (bench/model.py).
        out = self.conv[0](x) if self.rows_as_channels else self.conv[0](x.unsqueeze(1))
        for block in self.conv[1:]:
            out = block(out)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.tower(x).reshape(x.shape[0], -1))


class Fusion(nn.Module):
    """Residual MLP blocks over the concatenated branch outputs: ``(B, F_in) → (B, hidden)``."""

    def __init__(
        self, in_features: int, hidden: int, n_blocks: int, dropout: float, stochastic_depth_p: float
    ):
        super().__init__()
        self.blocks = nn.Sequential(
            *(
                ResidualMLPBlock(in_features if i == 0 else hidden, hidden, dropout, stochastic_depth_p)
                for i in range(n_blocks)
            )
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x)


class _DilatedBlock(nn.Module):
    """Pre-activation residual block on ``(B, C, 1, W)``: (BatchNorm → Swish → dilated conv) twice,
    dropout between; width-preserving."""

    def __init__(self, channels: int, kernel: int, dilation: int, dropout: float) -> None:
        super().__init__()
        pad = (0, (kernel // 2) * dilation)

        def conv() -> nn.Conv2d:
            return nn.Conv2d(channels, channels, (1, kernel), padding=pad, dilation=(1, dilation))

        self.body = nn.Sequential(
            nn.BatchNorm2d(channels), Swish(), conv(), nn.Dropout(dropout), nn.BatchNorm2d(channels), Swish(), conv()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ConvHead(nn.Module):
    """Translation-equivariant profile head (:class:`ConvHeadConfig`; not in the paper).

    ``(B, n_tracks, context_bins)`` standardised landscape → ``(B, output_bins)``: average-pool to the
    output resolution, first convolution, dilated residual blocks, crop the central ``output_bins``
    positions, 1×1 convolution. The same weights predict every output bin from the marks around it.
    The last convolution starts at zero, so at initialisation the head adds nothing. Like the height-1
    towers it runs as ``(B, C, 1, W)`` channels-last, oneDNN's fast layout on CPU (``bench/conv_head.py``:
    1.1-1.4× faster than ``Conv1d`` on the same arithmetic).
    """

    def __init__(self, config: ConvHeadConfig, n_tracks: int, context_bins: int, output_bins: int) -> None:
        super().__init__()
        self.config = config
        self.start, self.n_pooled, self.first = config.alignment(context_bins, output_bins)
        self.output_bins = output_bins
        c = config.channels
        self.stem = nn.Conv2d(n_tracks, c, (1, config.first_kernel), padding=(0, config.first_kernel // 2))
        self.blocks = nn.Sequential(*(_DilatedBlock(c, config.kernel, d, config.dropout) for d in config.dilations))
        self.norm = nn.BatchNorm2d(c)
        self.act = Swish()
        self.out = nn.Conv2d(c, 1, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = self.config.pool
        x = x[:, :, self.start : self.start + self.n_pooled * r]
        x = x.reshape(x.shape[0], x.shape[1], 1, self.n_pooled, r).mean(-1)  # (B, n_tracks, 1, n_pooled)
        x = x.contiguous(memory_format=torch.channels_last)
        h = self.blocks(self.stem(x))[..., self.first : self.first + self.output_bins]
        return self.out(self.act(self.norm(h))).flatten(1)


# --------------------------------------------------------------------------------------------------
# main class
# --------------------------------------------------------------------------------------------------


class ClasterNet(nn.Module):
    """The CLASTER network for any variant of SPEC §3, built from a :class:`ModelConfig` only.

    Submodules: ``landscape`` (:class:`CNNBranch`), ``structure`` (a :class:`CNNBranch` or None),
    ``fusion`` (:class:`Fusion`), ``head`` (``Linear(hidden, output_bins)``), ``conv_head``
    (:class:`ConvHead`, added to ``head``'s output, or None as in the paper).
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.landscape = CNNBranch(
            config.landscape_plan, config.landscape.residual_dropout, config.landscape.stochastic_depth_p,
            config.landscape.fc_dropout,
        )
        self.structure: CNNBranch | None = None
        in_features = config.landscape.num_output_features
        plan = config.structure_plan
        if plan is not None and config.structure is not None:
            self.structure = CNNBranch(
                plan, config.structure.residual_dropout, config.structure.stochastic_depth_p,
                config.structure.fc_dropout,
            )
            in_features += config.structure.num_output_features
        f = config.fusion
        self.fusion = Fusion(in_features, f.hidden_features, f.n_blocks, f.dropout, f.stochastic_depth_p)
        self.head = nn.Linear(f.hidden_features, config.output_bins)
        self.conv_head: ConvHead | None = None
        if config.conv_head is not None:
            self.conv_head = ConvHead(config.conv_head, config.n_tracks, config.context_bins, config.output_bins)

    # inputs -------------------------------------------------------------------------------------

    def _check_inputs(self, landscape: torch.Tensor, structure: torch.Tensor | None) -> None:
        c = self.config
        if landscape.dim() != 3 or tuple(landscape.shape[1:]) != (c.n_tracks, c.context_bins):
            raise InputError(
                f"landscape input has shape {tuple(landscape.shape)}, expected "
                f"(B, {c.n_tracks}, {c.context_bins}); "
                "cut windows with the tracks and context of this model's config"
            )
        if self.structure is None:
            if structure is not None:
                raise InputError(f"variant {c.variant!r} takes no contact map; pass structure=None")
            return
        if structure is None:
            raise InputError(
                f"variant {c.variant!r} needs a contact map; pass structure=(B, *{c.structure_shape})"
            )
        if structure.dim() != 3 or tuple(structure.shape[1:]) != tuple(c.structure_shape or ()):
            raise InputError(
                f"structure input has shape {tuple(structure.shape)}, "
                f"expected (B, *{tuple(c.structure_shape or ())})"
            )
        if structure.shape[0] != landscape.shape[0]:
            raise InputError(
                f"landscape and structure batches differ ({landscape.shape[0]} vs {structure.shape[0]}); "
                "pass one contact map per window"
            )

    # forward ------------------------------------------------------------------------------------

    def features(
        self, landscape: torch.Tensor, structure: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """Intermediate outputs: ``landscape`` and ``structure`` branch outputs ``(B, 512)``,
        ``fused`` ``(B, hidden)`` and ``output`` ``(B, output_bins)``. For localising mismatches."""
        self._check_inputs(landscape, structure)
        out = {"landscape": self.landscape(landscape)}
        if self.structure is not None:
            assert structure is not None
            out["structure"] = self.structure(structure)
        out["fused"] = self.fusion(torch.cat(list(out.values()), dim=1))
        out["output"] = self.head(out["fused"])
        if self.conv_head is not None:
            out["conv_head"] = self.conv_head(landscape)
            out["output"] = out["output"] + out["conv_head"]
        return out

    def forward(self, landscape: torch.Tensor, structure: torch.Tensor | None = None) -> torch.Tensor:
        """Predict the standardised target profile.

        Parameters
        ----------
        landscape
            ``(B, n_tracks, context_bins)`` float32, standardised mean signal per 100 bp bin.
        structure
            ``(B, rows, columns)`` float32, standardised log10 contacts; only for structure variants.

        Returns
        -------
        ``(B, output_bins)`` float32, standardised target (unclipped).
        """
        self._check_inputs(landscape, structure)
        feats = self.landscape(landscape)
        if self.structure is not None:
            assert structure is not None
            feats = torch.cat([feats, self.structure(structure)], dim=1)
        out = self.head(self.fusion(feats))
        if self.conv_head is not None:
            out = out + self.conv_head(landscape)
        return out

    @torch.no_grad()
    def predict_clipped(
        self,
        landscape: torch.Tensor,
        structure: torch.Tensor | None = None,
        inverse_transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Evaluation-time prediction (SPEC §3): forward, optional inverse target transform, ReLU at 0.

        ``inverse_transform`` maps ``(B, output_bins)`` standardised values back to signal units
        (e.g. the fitted per-bin scaler); without it the clip applies to the raw output. No gradients.
        Returns ``(B, output_bins)`` float32, ≥ 0.
        """
        out = self(landscape, structure)
        if inverse_transform is not None:
            out = inverse_transform(out)
        return torch.relu(out)


# --------------------------------------------------------------------------------------------------
# summary helpers
# --------------------------------------------------------------------------------------------------


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameter elements of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _block_line(name: str, module: nn.Module, shape: tuple[int, ...]) -> str:
    n = count_parameters(module)
    spec = getattr(module, "spec", None)
    what = type(module).__name__
    if isinstance(spec, ConvBlockSpec):
        what += f" {spec.in_channels}→{spec.out_channels} k{spec.kernel[0]}×{spec.kernel[1]}"
        what += f" s{spec.stride[0]}×{spec.stride[1]} p{spec.padding[0]}×{spec.padding[1]}"
        if spec.dilation is not None and spec.conv2_kernel is not None:
            k2, d = spec.conv2_kernel, spec.dilation
            what += f" | conv_2 k{k2[0]}×{k2[1]} d{d[0]}×{d[1]}"
    elif isinstance(spec, AttentionSpec):
        what += f" d_model={spec.d_model} heads={spec.n_heads} layers={spec.n_layers}"
    return f"  {name:<24} {what:<58} out {str(shape):<20} params {n:>10,}"


def model_summary(config: ModelConfig) -> str:
    """A short text summary: per-block output shapes and parameter counts, then
    ``trainable parameters: N``. Runs one zero-input forward pass (batch 1) on CPU in eval mode."""
    model = ClasterNet(config).eval()
    shapes: dict[str, tuple[int, ...]] = {}
    hooks = []
    named: list[tuple[str, nn.Module]] = []
    for branch_name in ("landscape", "structure"):
        branch = getattr(model, branch_name)
        if branch is None:
            continue
        for i, block in enumerate(branch.conv):
            named.append((f"{branch_name}.conv.{i}", block))
        named.append((f"{branch_name}.fc", branch.fc))
    for i, block in enumerate(model.fusion.blocks):
        named.append((f"fusion.blocks.{i}", block))
    named.append(("head", model.head))
    for name, module in named:
        hooks.append(
            module.register_forward_hook(
                lambda m, a, o, name=name: shapes.__setitem__(name, (1, *o.shape[1:]))
            )
        )
    landscape = torch.zeros(1, config.n_tracks, config.context_bins)
    structure = torch.zeros(1, *config.structure_shape) if config.structure_shape else None
    with torch.no_grad():
        model(landscape, structure)
    for h in hooks:
        h.remove()
    lines = [
        f"ClasterNet variant={config.variant} landscape=(B, {config.n_tracks}, {config.context_bins})"
        + (
            f" structure=(B, {config.structure_shape[0]}, {config.structure_shape[1]})"
            if config.structure_shape
            else ""
        )
        + f" output=(B, {config.output_bins})"
    ]
    for branch_name in ("landscape", "structure"):
        branch = getattr(model, branch_name)
        if branch is None:
            continue
        lines.append(f"{branch_name} branch (pos_embedding {tuple(branch.pos_embedding.shape)}):")
        for name, module in named:
            if name.startswith(branch_name + "."):
                lines.append(_block_line(name, module, shapes[name]))
        lines.append(f"  {'total':<24} {'':<58} {'':<24} params {count_parameters(branch):>10,}")
    lines.append("fusion and head:")
    for name, module in named:
        if name.startswith(("fusion", "head")):
            lines.append(_block_line(name, module, shapes[name]))
    if model.conv_head is not None:
        h = model.conv_head.config
        lines.append(
            f"conv head: pool {h.pool}, {h.channels} channels, dilations {list(h.dilations)}, "
            f"added to head; params {count_parameters(model.conv_head):,}"
        )
    lines.append(f"trainable parameters: {count_parameters(model)}")
    return "\n".join(lines)
