"""Network configuration (SPEC §3): branches, fusion, head, and the resolved layer tables.

The original (EIR 0.1.43 "cnn" input models) chooses each convolution's kernel, stride, padding and
dilation with a small solver. :meth:`CNNBranchConfig.resolve` reproduces that solver exactly, in
plain Python (no torch), so a config can be checked and summarised without building a network:

* the first convolution uses kernel ``kernel * first_kernel_expansion`` and stride
  ``down_stride * first_stride_expansion`` per axis; residual block ``i`` (1-based) asks for dilation
  ``dilation_factor ** i``, halved (integer division by the factor) until
  ``(size - 1) // (kernel - 1)`` allows it;
* the solver tries kernel, target size, stride and dilation each at base, base + 1 and base − 1,
  keeps the combinations for which ``(n + 2p − d(k − 1) − 1) / s + 1 = target`` has a non-negative
  integer padding ``p``, and picks the one with the smallest ``|Δk| + |Δs| + |Δd| + p`` (ties broken
  by ``(k, s, d, p, target)``);
* the chosen kernel, stride and padding go to ``conv_1`` and the shortcut, which are **not** dilated;
  the chosen dilation goes to ``conv_2`` (kernel ``k − 1`` if ``k`` is even else ``k``, padding
  ``(k2 // 2) · d``). This quirk is why the landscape widths are 4996, 2497, 1244, ... (SPEC §3 table).

:meth:`ModelConfig.for_variant` builds the paper's variants; every field has the SPEC value as default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field, ValidationError, model_validator

from claster.config._base import StrictModel
from claster.errors import ConfigError
from claster.units import LANDSCAPE_BINS, MICROC_BINS, PCHIC_BINS, ROTATED_ROWS, TARGET_BINS

__all__ = [
    "VARIANTS",
    "CNNBranchConfig",
    "FusionConfig",
    "ConvHeadConfig",
    "ModelConfig",
    "ConvBlockSpec",
    "AttentionSpec",
    "BranchPlan",
    "conv_output_size",
    "solve_conv_params",
]

VARIANTS: tuple[str, ...] = (
    "landscape",
    "landscape_attention",
    "microc_rotated",
    "microc_square",
    "promchic",
)
"""Variant names (SPEC §3): landscape only (the paper's pure_conv), landscape with a transformer after
the last block, and landscape plus a rotated Micro-C, square Micro-C or promoter-capture Hi-C branch."""

MODEL_FORMAT_VERSION = 1


# --------------------------------------------------------------------------------------------------
# the EIR 0.1.43 convolution-parameter solver (pure Python)
# --------------------------------------------------------------------------------------------------


def conv_output_size(size: int, kernel: int, stride: int, padding: int = 0, dilation: int = 1) -> int:
    """Output length of a convolution along one axis (PyTorch's formula), in bins."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def solve_conv_params(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int, int, int]:
    """EIR's choice of ``(kernel, stride, dilation, padding)`` for an axis of ``size`` bins.

    Tries each of kernel, target size, stride and dilation at base, base + 1 and base − 1 (positive
    values only), keeps those with an exact non-negative integer padding, and returns the one closest
    to the request (``|Δk| + |Δs| + |Δd| + padding``; ties broken by ``(k, s, d, p, target)``).
    Raises ``ValueError`` when no combination has a solution (the input is too short).
    """
    target = conv_output_size(size, kernel, stride, 0, dilation)

    def around(base: int) -> list[int]:
        return [v for v in (base, base + 1, base - 1) if v > 0]

    best: tuple[int, tuple[int, int, int, int, int]] | None = None
    for k in around(kernel):
        for t in around(target):
            for s in around(stride):
                for d in around(dilation):
                    twice_p = (t - 1) * s - size + d * (k - 1) + 1
                    if twice_p < 0 or twice_p % 2:
                        continue
                    p = twice_p // 2
                    cand = (abs(k - kernel) + abs(s - stride) + abs(d - dilation) + p, (k, s, d, p, t))
                    if best is None or cand < best:
                        best = cand
    if best is None:
        raise ValueError(
            f"no convolution fits an axis of {size} bins with kernel {kernel}, stride {stride}, "
            f"dilation {dilation}"
        )
    k, s, d, p, _ = best[1]
    return k, s, d, p


def _block_dilation(factor: int, size: int, block_number: int, kernel: int) -> int:
    """Requested dilation of residual block ``block_number`` (1-based) on an axis of ``size`` bins."""
    if size == 1 or kernel == 1:
        return 1
    dilation = factor**block_number
    max_dilation = max(1, (size - 1) // (kernel - 1))
    while dilation > max_dilation:
        dilation //= factor
    return dilation


@dataclass(frozen=True)
class ConvBlockSpec:
    """One resolved convolution block. Tuples are ``(height, width)``; sizes in bins.

    For the first block (``index == 0``) ``conv2_*`` and ``dilation`` are unused (``None``).
    """

    index: int
    in_channels: int
    out_channels: int
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    conv2_kernel: tuple[int, int] | None
    conv2_padding: tuple[int, int] | None
    dilation: tuple[int, int] | None
    in_size: tuple[int, int]
    out_size: tuple[int, int]
    full_preact: bool = False

    @property
    def is_first(self) -> bool:
        return self.index == 0


@dataclass(frozen=True)
class AttentionSpec:
    """A transformer encoder over the channels as tokens, ``d_model = height * width`` (SPEC §3)."""

    index: int
    channels: int
    size: tuple[int, int]
    n_heads: int
    n_layers: int
    dropout: float

    @property
    def d_model(self) -> int:
        return self.size[0] * self.size[1]

    @property
    def out_size(self) -> tuple[int, int]:
        return self.size


@dataclass(frozen=True)
class BranchPlan:
    """The resolved layer table of one branch: blocks in order, then flatten → LN → Swish → Linear."""

    input_size: tuple[int, int]
    blocks: tuple[ConvBlockSpec | AttentionSpec, ...]
    out_channels: int
    out_size: tuple[int, int]
    num_output_features: int

    @property
    def flat_features(self) -> int:
        """Features entering the branch's LayerNorm: channels × height × width."""
        return self.out_channels * self.out_size[0] * self.out_size[1]

    @property
    def collapses_height(self) -> bool:
        """True when the first conv spans all input rows, so every later block runs on height 1."""
        first = self.blocks[0]
        assert isinstance(first, ConvBlockSpec)
        spans_rows = first.kernel[0] == self.input_size[0] and first.padding[0] == 0
        return spans_rows and all(
            (b.kernel[0], b.stride[0], b.padding[0]) == (1, 1, 0)
            for b in self.blocks[1:]
            if isinstance(b, ConvBlockSpec)
        )


# --------------------------------------------------------------------------------------------------
# configs
# --------------------------------------------------------------------------------------------------


class CNNBranchConfig(StrictModel):
    """One "cnn" input branch (SPEC §3), in the original's terms. Sizes in bins, probabilities in [0, 1]."""

    channel_exp_base: int = Field(
        5, ge=0, le=10, description="§3: residual channels 2**base, doubling per layer group"
    )
    first_channel_expansion: int = Field(2, ge=1, description="§3: first conv has 2**base × this channels")
    layers: tuple[int, ...] = Field(
        (4, 4), min_length=1, max_length=4, description="§3: residual blocks per group"
    )
    kernel_width: int = Field(10, ge=1, description="§3: base kernel width, bins")
    first_kernel_expansion_width: int = Field(1, ge=1, description="§3: first conv kernel width factor")
    down_stride_width: int = Field(2, ge=1, description="§3: base stride along width")
    first_stride_expansion_width: int = Field(1, ge=1, description="§3: first conv stride width factor")
    dilation_factor_width: int = Field(
        2, ge=1, description="§3: block i asks for dilation factor**i along width"
    )
    kernel_height: int = Field(1, ge=1, description="§3: base kernel height, rows")
    first_kernel_expansion_height: int = Field(
        0,
        ge=0,
        description="§3: first conv kernel height factor; 0 = span all input rows (kernel height = rows)",
    )
    down_stride_height: int = Field(1, ge=1, description="§3: base stride along height")
    first_stride_expansion_height: int = Field(1, ge=1, description="§3: first conv stride height factor")
    dilation_factor_height: int = Field(
        1, ge=1, description="§3: block i asks for dilation factor**i along height"
    )
    num_output_features: int = Field(512, ge=1, description="§3: width of the branch's final Linear")
    fc_dropout: float = Field(
        0.0, ge=0, lt=1, description="Dropout before the branch's final Linear (not in the paper: 0 = SPEC §3)"
    )
    residual_dropout: float = Field(0.3, ge=0, le=1, description="§3: Dropout2d after conv_1's Swish")
    stochastic_depth_p: float = Field(
        0.1, ge=0, le=1, description="§3: per-block stochastic depth, batch mode"
    )
    attention_inclusion_cutoff: int = Field(
        0,
        ge=0,
        description="§3: a transformer follows every block whose output height×width ≤ this (0 = none)",
    )
    attention_layers: int = Field(2, ge=1, description="§3: transformer encoder layers per attention block")
    attention_max_heads: int = Field(4, ge=1, description="§3: heads, reduced until they divide d_model")
    attention_dropout: float = Field(0.1, ge=0, le=1, description="§3: transformer dropout")

    def resolve(self, input_height: int, input_width: int) -> BranchPlan:
        """Resolve the layer table for an input of ``input_height`` rows × ``input_width`` bins.

        Raises ``ValueError`` naming the block when the input is too small for the requested layers.
        """
        if input_height < 1 or input_width < 1:
            raise ValueError(f"branch input must be at least 1×1, got {input_height}×{input_width}")
        fkh = self.first_kernel_expansion_height or input_height
        k0 = (self.kernel_height * fkh, self.kernel_width * self.first_kernel_expansion_width)
        s0 = (
            self.down_stride_height * self.first_stride_expansion_height,
            self.down_stride_width * self.first_stride_expansion_width,
        )
        try:
            kh, _, _, ph = solve_conv_params(input_height, k0[0], s0[0], self.dilation_factor_height)
            kw, _, _, pw = solve_conv_params(input_width, k0[1], s0[1], self.dilation_factor_width)
        except ValueError as e:
            raise ValueError(f"first convolution: {e}") from e
        h = conv_output_size(input_height, kh, s0[0], ph)
        w = conv_output_size(input_width, kw, s0[1], pw)
        if h < 1 or w < 1:
            raise ValueError(
                f"first convolution (kernel {kh}×{kw}) leaves no output "
                f"on a {input_height}×{input_width} input"
            )
        channels = 2**self.channel_exp_base * self.first_channel_expansion
        blocks: list[ConvBlockSpec | AttentionSpec] = [
            ConvBlockSpec(
                0, 1, channels, (kh, kw), s0, (ph, pw), None, None, None, (input_height, input_width), (h, w)
            )
        ]
        self._maybe_attention(blocks, channels, (h, w))
        n_res = 0
        for group_idx, n_layers in enumerate(self.layers):
            if n_layers < 1:
                raise ValueError(f"layers must be positive block counts, got {list(self.layers)}")
            for _ in range(n_layers):
                n_res += 1
                out_ch = 2 ** (self.channel_exp_base + group_idx)
                dh = _block_dilation(self.dilation_factor_height, h, n_res, self.kernel_height)
                dw = _block_dilation(self.dilation_factor_width, w, n_res, self.kernel_width)
                try:
                    kh, sh, dh, ph = solve_conv_params(h, self.kernel_height, self.down_stride_height, dh)
                    kw, sw, dw, pw = solve_conv_params(w, self.kernel_width, self.down_stride_width, dw)
                except ValueError as e:
                    raise ValueError(f"residual block {n_res} (input {h}×{w}): {e}") from e
                k2 = (kh - 1 if kh % 2 == 0 else kh, kw - 1 if kw % 2 == 0 else kw)
                p2 = ((k2[0] // 2) * dh, (k2[1] // 2) * dw)
                nh, nw = conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw)
                if nh < 1 or nw < 1 or kh > h + 2 * ph or kw > w + 2 * pw:
                    raise ValueError(
                        f"residual block {n_res}: kernel {kh}×{kw} does not fit its {h}×{w} input; "
                        "use fewer layers or a longer input"
                    )
                blocks.append(
                    ConvBlockSpec(
                        len(blocks),
                        channels,
                        out_ch,
                        (kh, kw),
                        (sh, sw),
                        (ph, pw),
                        k2,
                        p2,
                        (dh, dw),
                        (h, w),
                        (nh, nw),
                        full_preact=(len(blocks) == 1),
                    )
                )
                channels, h, w = out_ch, nh, nw
                self._maybe_attention(blocks, channels, (h, w))
        return BranchPlan(
            (input_height, input_width), tuple(blocks), channels, (h, w), self.num_output_features
        )

    def _maybe_attention(self, blocks: list, channels: int, size: tuple[int, int]) -> None:
        if size[0] * size[1] <= self.attention_inclusion_cutoff:
            d_model = size[0] * size[1]
            heads = self.attention_max_heads
            while d_model % heads:
                heads -= 1
            blocks.append(
                AttentionSpec(
                    len(blocks), channels, size, heads, self.attention_layers, self.attention_dropout
                )
            )


class FusionConfig(StrictModel):
    """Residual-MLP fusion of the concatenated branch outputs (SPEC §3)."""

    n_blocks: int = Field(2, ge=1, description="§3: residual MLP blocks")
    hidden_features: int = Field(256, ge=1, description="§3: width of every fusion block")
    dropout: float = Field(0.4, ge=0, le=1, description="§3: Dropout between fc_1's Swish and fc_2")
    stochastic_depth_p: float = Field(
        0.5, ge=0, le=1, description="§3: per-block stochastic depth, batch mode"
    )


class ConvHeadConfig(StrictModel):
    """A translation-equivariant profile head on the landscape (not in the paper; ``--head conv``).

    The landscape ``(B, n_tracks, context_bins)`` is averaged to the output resolution (``pool`` landscape
    bins per output bin, aligned so that the central output bin is centred on the central landscape bin),
    run through a first ``kernel``-wide convolution to ``channels`` channels and one residual block of two
    dilated convolutions per entry of ``dilations``; the central ``output_bins`` positions then go through a
    1×1 convolution to one value per output bin. Its output is added to the paper's dense head, so every
    output bin is predicted by the same weights from the marks around it, wherever it lies in the window.
    Receptive field: ``first_kernel // 2 + 2 · (kernel // 2) · Σ dilations`` output bins each side (±256
    with the defaults, i.e. ±256 kbp; zero padding beyond the landscape).
    """

    pool: int = Field(10, ge=1, description="landscape bins per output bin (10 = 100 bp → 1 kbp)")
    channels: int = Field(32, ge=1, description="channels of every convolution")
    kernel: int = Field(3, ge=1, description="kernel width of the dilated convolutions, output bins (odd)")
    first_kernel: int = Field(5, ge=1, description="kernel width of the first convolution, output bins (odd)")
    dilations: tuple[int, ...] = Field(
        (1, 2, 4, 8, 16, 32, 64), min_length=1, description="one residual block per dilation"
    )
    dropout: float = Field(0.1, ge=0, lt=1, description="Dropout inside every residual block")

    @model_validator(mode="after")
    def _odd(self) -> ConvHeadConfig:
        if self.kernel % 2 == 0 or self.first_kernel % 2 == 0:
            raise ValueError("conv head kernels must be odd so that positions stay centred")
        return self

    def alignment(self, context_bins: int, output_bins: int) -> tuple[int, int, int]:
        """``(start, n_pooled, first)``: pooling starts at landscape bin ``start`` and gives ``n_pooled``
        positions; output bin ``k`` is pooled position ``first + k``. Raises ``ValueError`` when the
        landscape does not cover the output."""
        r = self.pool
        centre, half = context_bins // 2, output_bins // 2
        lo = centre - r // 2  # first landscape bin of the central output bin
        start = lo % r
        n_pooled = (context_bins - start) // r
        first = (lo - start) // r - half
        if first < 0 or first + output_bins > n_pooled:
            raise ValueError(
                f"a conv head with pool {r} needs the landscape ({context_bins} bins) to cover "
                f"{output_bins} output bins of {r} landscape bins each"
            )
        return start, n_pooled, first


def _landscape_branch(**overrides: object) -> CNNBranchConfig:
    return CNNBranchConfig(**overrides)  # type: ignore[arg-type]


def _structure_branch(variant: str) -> CNNBranchConfig:
    if variant == "microc_rotated":
        # SPEC §3: conv.0 spans the 129 rows; channels 32, then [1, 2] blocks of 16 and 32.
        return CNNBranchConfig(channel_exp_base=4, first_channel_expansion=2, layers=(1, 2))
    # microc_square and promchic: the same square-map configuration (kernel 5, stride 2 on both axes).
    # For promchic the SPEC gives no table; this configuration reproduces its 2,929,947 parameters.
    return CNNBranchConfig(
        channel_exp_base=2,
        first_channel_expansion=2,
        layers=(1, 2),
        kernel_width=5,
        kernel_height=5,
        first_kernel_expansion_height=1,
        down_stride_width=2,
        down_stride_height=2,
        dilation_factor_width=2,
        dilation_factor_height=2,
    )


_DEFAULT_STRUCTURE_SHAPE = {
    "microc_rotated": (ROTATED_ROWS, MICROC_BINS),
    "microc_square": (MICROC_BINS, MICROC_BINS),
    "promchic": (PCHIC_BINS, PCHIC_BINS),
}


class ModelConfig(StrictModel):
    """Everything needed to build a :class:`claster.model.ClasterNet` (SPEC §3).

    Inputs: landscape ``(B, n_tracks, context_bins)``; structure ``(B, *structure_shape)`` when
    ``structure`` is set. Output ``(B, output_bins)`` in the standardised target space.
    """

    format_version: int = Field(MODEL_FORMAT_VERSION, description="version of this config's layout")
    variant: Literal["landscape", "landscape_attention", "microc_rotated", "microc_square", "promchic"] = (
        Field("landscape", description="§3: which network")
    )
    n_tracks: int = Field(4, ge=1, description="§1: landscape tracks (rows of the landscape input)")
    context_bins: int = Field(LANDSCAPE_BINS, ge=1, description="§1: landscape bins of 100 bp")
    output_bins: int = Field(TARGET_BINS, ge=1, description="§1: predicted bins (1 kbp each in the paper)")
    structure_shape: tuple[int, int] | None = Field(
        None, description="§2: (rows, columns) of the contact map input, or None for landscape-only variants"
    )
    landscape: CNNBranchConfig = Field(default_factory=CNNBranchConfig, description="§3: landscape branch")
    structure: CNNBranchConfig | None = Field(None, description="§3: contact-map branch, or None")
    fusion: FusionConfig = Field(default_factory=FusionConfig, description="§3: fusion blocks")
    conv_head: ConvHeadConfig | None = Field(
        None, description="translation-equivariant profile head added to the dense head (None = SPEC §3)"
    )

    @model_validator(mode="after")
    def _check(self) -> ModelConfig:
        if self.format_version != MODEL_FORMAT_VERSION:
            raise ValueError(
                f"format_version {self.format_version} is not supported (this claster reads "
                f"{MODEL_FORMAT_VERSION}); rebuild the config with this version"
            )
        has_structure = self.variant in _DEFAULT_STRUCTURE_SHAPE
        if has_structure and (self.structure is None or self.structure_shape is None):
            raise ValueError(f"variant {self.variant!r} needs both 'structure' and 'structure_shape'")
        if not has_structure and (self.structure is not None or self.structure_shape is not None):
            raise ValueError(
                f"variant {self.variant!r} takes no contact map; drop 'structure' and 'structure_shape'"
            )
        if self.variant == "landscape_attention" and self.landscape.attention_inclusion_cutoff == 0:
            raise ValueError("variant 'landscape_attention' needs landscape.attention_inclusion_cutoff > 0")
        try:
            self.landscape.resolve(self.n_tracks, self.context_bins)
        except ValueError as e:
            raise ValueError(f"landscape branch on {self.n_tracks}×{self.context_bins}: {e}") from e
        if self.structure is not None and self.structure_shape is not None:
            try:
                self.structure.resolve(*self.structure_shape)
            except ValueError as e:
                raise ValueError(f"structure branch on {self.structure_shape}: {e}") from e
        if self.conv_head is not None:
            self.conv_head.alignment(self.context_bins, self.output_bins)
        return self

    # convenience --------------------------------------------------------------------------------

    @property
    def landscape_plan(self) -> BranchPlan:
        """The landscape branch's resolved layer table."""
        return self.landscape.resolve(self.n_tracks, self.context_bins)

    @property
    def structure_plan(self) -> BranchPlan | None:
        """The structure branch's resolved layer table, or None."""
        if self.structure is None or self.structure_shape is None:
            return None
        return self.structure.resolve(*self.structure_shape)

    @classmethod
    def for_variant(
        cls,
        name: str,
        n_tracks: int = 4,
        context_bins: int = LANDSCAPE_BINS,
        output_bins: int = TARGET_BINS,
        *,
        structure_shape: tuple[int, int] | None = None,
        landscape_layers: tuple[int, ...] | None = None,
        fusion_blocks: int | None = None,
    ) -> ModelConfig:
        """The paper's network for variant ``name`` (one of :data:`VARIANTS`), at the given sizes.

        ``landscape_layers`` and ``fusion_blocks`` override the paper's ``(4, 4)`` and 2, e.g. the
        20 kbp ablation is ``for_variant("landscape", context_bins=201, output_bins=19,
        landscape_layers=(1, 1), fusion_blocks=1)``. Raises :class:`ConfigError` on a bad name or sizes.
        """
        if name not in VARIANTS:
            raise ConfigError(f"unknown model variant {name!r}; choose one of {', '.join(VARIANTS)}")
        landscape_kw: dict[str, object] = {}
        if landscape_layers is not None:
            landscape_kw["layers"] = tuple(landscape_layers)
        if name == "landscape_attention":
            landscape_kw["attention_inclusion_cutoff"] = 50
        data: dict[str, object] = {
            "variant": name,
            "n_tracks": n_tracks,
            "context_bins": context_bins,
            "output_bins": output_bins,
        }
        if name in _DEFAULT_STRUCTURE_SHAPE:
            data["structure_shape"] = tuple(structure_shape or _DEFAULT_STRUCTURE_SHAPE[name])
        elif structure_shape is not None:
            raise ConfigError(f"variant {name!r} takes no contact map; drop structure_shape")
        try:
            data["landscape"] = _landscape_branch(**landscape_kw)
            if name in _DEFAULT_STRUCTURE_SHAPE:
                data["structure"] = _structure_branch(name)
            if fusion_blocks is not None:
                data["fusion"] = FusionConfig(n_blocks=fusion_blocks)
            return cls.model_validate(data)
        except ValidationError as e:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or name}: {err['msg']}" for err in e.errors()
            )
            raise ConfigError(f"cannot build variant {name!r} with these sizes: {problems}") from e
