"""ClasterNet: parameter counts (SPEC §3), block widths, shapes, blocks' arithmetic."""

from __future__ import annotations

import pytest
import torch

from claster.config.model import ModelConfig
from claster.errors import InputError
from claster.model import ClasterNet, SqueezeExcite, StochasticDepth, Swish, count_parameters

SEVEN = [
    ("landscape", {}, 2_205_888),
    ("landscape_attention", {}, 2_229_758),
    ("microc_rotated", {}, 3_180_446),
    ("microc_square", {}, 8_201_478),
    ("promchic", {}, 2_929_947),
    ("landscape", {"n_tracks": 3}, 2_195_247),
    (
        "landscape",
        {"context_bins": 201, "output_bins": 19, "landscape_layers": (1, 1), "fusion_blocks": 1},
        1_092_547,
    ),
]


@pytest.mark.parametrize(("variant", "kwargs", "expected"), SEVEN)
def test_parameter_counts_match_spec(variant, kwargs, expected):
    model = ClasterNet(ModelConfig.for_variant(variant, **kwargs))
    assert count_parameters(model) == expected


def test_block_output_widths():
    model = ClasterNet(ModelConfig.for_variant("landscape")).eval()
    widths = []
    hooks = [
        b.register_forward_hook(lambda m, a, o: widths.append(tuple(o.shape))) for b in model.landscape.conv
    ]
    with torch.no_grad():
        out = model(torch.randn(2, 4, 10_001))
    for h in hooks:
        h.remove()
    assert [w[3] for w in widths] == [4996, 2497, 1244, 621, 306, 297, 144, 71, 31]
    assert [w[1] for w in widths] == [64, 32, 32, 32, 32, 64, 64, 64, 64]
    assert all(w[2] == 1 for w in widths)
    assert out.shape == (2, 401) and out.dtype == torch.float32


@pytest.mark.parametrize(
    ("variant", "structure_shape"),
    [
        ("landscape_attention", None),
        ("microc_rotated", (129, 626)),
        ("microc_square", (626, 626)),
        ("promchic", (201, 201)),
    ],
)
def test_variant_output_shapes(variant, structure_shape):
    model = ClasterNet(ModelConfig.for_variant(variant)).eval()
    structure = torch.randn(2, *structure_shape) if structure_shape else None
    with torch.no_grad():
        feats = model.features(torch.randn(2, 4, 10_001), structure)
    assert feats["output"].shape == (2, 401)
    assert feats["fused"].shape == (2, 256)
    assert feats["landscape"].shape == (2, 512)
    if structure_shape:
        assert feats["structure"].shape == (2, 512)


def test_any_tracks_context_and_outputs():
    model = ClasterNet(
        ModelConfig.for_variant("microc_rotated", n_tracks=5, context_bins=4001, output_bins=41)
    )
    assert model(torch.randn(3, 5, 4001), torch.randn(3, 129, 626)).shape == (3, 41)


def test_forward_equals_features_and_is_batch_independent():
    torch.manual_seed(0)
    model = ClasterNet(ModelConfig.for_variant("landscape", context_bins=4001)).eval()
    x = torch.randn(3, 4, 4001)
    with torch.no_grad():
        full = model(x)
        single = torch.cat([model(x[i : i + 1]) for i in range(3)])
        assert torch.allclose(full, model.features(x)["output"])
    assert torch.allclose(full, single, atol=1e-5)


def test_input_errors():
    model = ClasterNet(ModelConfig.for_variant("landscape"))
    with pytest.raises(InputError, match=r"expected \(B, 4, 10001\)"):
        model(torch.randn(1, 3, 10_001))
    with pytest.raises(InputError, match="takes no contact map"):
        model(torch.randn(1, 4, 10_001), torch.randn(1, 129, 626))
    rot = ClasterNet(ModelConfig.for_variant("microc_rotated"))
    with pytest.raises(InputError, match="needs a contact map"):
        rot(torch.randn(1, 4, 10_001))
    with pytest.raises(InputError, match=r"expected \(B, \*\(129, 626\)\)"):
        rot(torch.randn(1, 4, 10_001), torch.randn(1, 626, 626))


def test_predict_clipped_is_relu_of_forward():
    torch.manual_seed(1)
    model = ClasterNet(ModelConfig.for_variant("landscape", context_bins=4001)).eval()
    x = torch.randn(4, 4, 4001)
    with torch.no_grad():
        raw = model(x)
    clipped = model.predict_clipped(x)
    assert (raw < 0).any()
    assert torch.equal(clipped, raw.clamp_min(0))
    shifted = model.predict_clipped(x, inverse_transform=lambda t: t * 2 + 1)
    assert torch.equal(shifted, (raw * 2 + 1).clamp_min(0))


def test_swish_formula_and_beta_gradient():
    act = Swish()
    with torch.no_grad():
        act.beta.fill_(1.7)
    x = torch.linspace(-3, 3, 7, requires_grad=True)
    y = act(x)
    assert torch.allclose(y, x * (1 / (1 + torch.exp(-1.7 * x))))
    y.sum().backward()
    s = torch.sigmoid(1.7 * x.detach())
    assert torch.allclose(act.beta.grad, (x.detach() ** 2 * s * (1 - s)).sum().reshape(1), atol=1e-6)


def test_squeeze_excite_by_hand():
    torch.manual_seed(2)
    se = SqueezeExcite(32)
    assert se.down.out_channels == 2
    x = torch.randn(2, 32, 1, 9)
    pooled = x.mean(dim=(2, 3))
    hidden = pooled @ se.down.weight.view(2, 32).T + se.down.bias
    hidden = hidden * torch.sigmoid(se.act.beta * hidden)
    gate = torch.sigmoid(hidden @ se.up.weight.view(32, 2).T + se.up.bias)
    assert torch.allclose(se(x), x * gate[:, :, None, None], atol=1e-6)
    assert SqueezeExcite(8).down.out_channels == 1


def test_stochastic_depth_batch_mode():
    sd = StochasticDepth(0.5, "batch")
    x = torch.ones(8, 3, 1, 5)
    torch.manual_seed(0)
    outs = [sd(x) for _ in range(50)]
    # the whole batch is either dropped or kept (scaled by 1 / (1 - p))
    assert all(torch.all(o == 0) or torch.all(o == 2) for o in outs)
    assert any(torch.all(o == 0) for o in outs) and any(torch.all(o == 2) for o in outs)
    sd.eval()
    assert torch.equal(sd(x), x)
    with pytest.raises(ValueError, match="mode"):
        StochasticDepth(0.1, "sample")


def test_resblock_memory_format_does_not_change_result():
    model = ClasterNet(ModelConfig.for_variant("landscape", context_bins=4001)).eval()
    block = model.landscape.conv[1]
    x = torch.randn(2, 64, 1, 996)
    with torch.no_grad():
        a = block(x)
        b = block(x.contiguous(memory_format=torch.channels_last))
    assert torch.allclose(a, b, atol=1e-5)


@pytest.mark.parametrize(
    "variant, structure",
    [("microc_rotated", (2, 129, 626)), ("landscape_attention", None)],
)
def test_training_step_updates_every_parameter(variant, structure):
    """A training step reaches every parameter with a non-zero gradient (a detached SE gate or a frozen
    Swish beta fails this). Stochastic depth is held open so that no branch is
    dropped in this one step (a dropped branch gets an all-zero gradient by design)."""
    torch.manual_seed(3)
    cfg = ModelConfig.for_variant(variant, context_bins=4001)
    model = ClasterNet(cfg).train()
    for m in model.modules():
        if isinstance(m, StochasticDepth):
            m.eval()
    x, s = torch.randn(2, 4, 4001), torch.randn(*structure) if structure is not None else None
    y = torch.randn(2, 401)
    # a first step moves the zero-initialised attention projections, so the second reaches everything
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(2):
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.smooth_l1_loss(model(x, s), y).backward()
        if _ == 0:
            opt.step()
    params = dict(model.named_parameters())
    no_grad = [n for n, p in params.items() if p.grad is None]
    assert not no_grad, f"{len(no_grad)} parameters get no gradient: {no_grad[:10]}"
    zero_grad = [n for n, p in params.items() if not torch.any(p.grad != 0)]
    assert not zero_grad, f"{len(zero_grad)} parameters get an all-zero gradient: {zero_grad[:10]}"
    assert all(p.requires_grad for p in params.values())
