"""The EIR 0.1.43 convolution solver and the variant configs (SPEC §3)."""

from __future__ import annotations

import pytest

from claster.config import load_config
from claster.config.model import ModelConfig, conv_output_size, solve_conv_params
from claster.errors import ConfigError

# SPEC §3 landscape table: (conv_1 stride, conv_1 pad, conv_2 dilation, width out) for conv.1..8
LANDSCAPE_TABLE = [
    (2, 3, 3, 2497),
    (2, 0, 4, 1244),
    (2, 3, 9, 621),
    (2, 0, 16, 306),
    (1, 0, 33, 297),
    (2, 0, 32, 144),
    (2, 3, 9, 71),
    (2, 0, 4, 31),
]


def test_solver_hand_worked_block_1():
    # Width 4996, kernel 10, stride 2, requested dilation 2: (4996 + 2p - 2*9 - 1) / 2 is never an
    # integer; with dilation 3 the size is 2485 + p, and target 2488 (= base 2489 - 1) needs p = 3:
    # distance |Δd| + p = 4, the smallest. Hence SPEC's conv.1 pad 3 and conv_2 dilation 3.
    assert solve_conv_params(4996, 10, 2, 2) == (10, 2, 3, 3)
    # conv.5: width 306, requested dilation 32: stride 1 with dilation 33 fits exactly (distance 2).
    assert solve_conv_params(306, 10, 2, 32) == (10, 1, 33, 0)


def test_solver_no_solution():
    with pytest.raises(ValueError, match="no convolution fits"):
        solve_conv_params(3, 10, 2, 1)


def test_conv_output_size():
    assert conv_output_size(10001, 10, 2) == 4996
    assert conv_output_size(4996, 10, 2, padding=3) == 2497


def test_landscape_plan_matches_spec_table():
    plan = ModelConfig.for_variant("landscape").landscape_plan
    first, *res = plan.blocks
    assert (first.kernel, first.stride, first.padding, first.out_size) == ((4, 10), (1, 2), (0, 0), (1, 4996))
    assert [b.out_channels for b in res] == [32, 32, 32, 32, 64, 64, 64, 64]
    got = [(b.stride[1], b.padding[1], b.dilation[1], b.out_size[1]) for b in res]
    assert got == LANDSCAPE_TABLE
    assert all(b.conv2_kernel == (1, 9) and b.conv2_padding == (0, 4 * b.dilation[1]) for b in res)
    assert [b.full_preact for b in res] == [True] + [False] * 7
    assert plan.flat_features == 1984
    assert plan.collapses_height


def test_rotated_and_square_plans_match_spec():
    rot = ModelConfig.for_variant("microc_rotated").structure_plan
    assert [(b.kernel, b.padding, b.out_size) for b in rot.blocks] == [
        ((129, 10), (0, 3), (1, 312)),
        ((1, 10), (0, 3), (1, 155)),
        ((1, 10), (0, 0), (1, 73)),
        ((1, 10), (0, 0), (1, 32)),
    ]
    assert [b.dilation for b in rot.blocks[1:]] == [(1, 3), (1, 4), (1, 8)]
    assert rot.flat_features == 1024
    sq = ModelConfig.for_variant("microc_square").structure_plan
    assert [(b.kernel[0], b.out_size[0]) for b in sq.blocks] == [(4, 312), (4, 155), (5, 76), (6, 36)]
    assert [b.dilation[0] for b in sq.blocks[1:]] == [3, 4, 7]
    assert [b.conv2_padding[0] for b in sq.blocks[1:]] == [3, 8, 14]
    assert sq.flat_features == 10_368
    assert not sq.collapses_height


def test_attention_follows_last_block_only():
    plan = ModelConfig.for_variant("landscape_attention").landscape_plan
    att = plan.blocks[-1]
    assert type(att).__name__ == "AttentionSpec"
    assert (att.index, att.d_model, att.n_heads, att.channels) == (9, 31, 1, 64)
    assert sum(type(b).__name__ == "AttentionSpec" for b in plan.blocks) == 1


def test_for_variant_rejects_unknown_name():
    with pytest.raises(ConfigError, match="unknown model variant 'foo'; choose one of landscape"):
        ModelConfig.for_variant("foo")


def test_for_variant_rejects_too_short_context():
    with pytest.raises(ConfigError, match="residual block 2 .* no convolution fits"):
        ModelConfig.for_variant("landscape", context_bins=50)


def test_structure_shape_only_for_structure_variants():
    with pytest.raises(ConfigError, match="takes no contact map"):
        ModelConfig.for_variant("landscape", structure_shape=(129, 626))


def test_config_from_yaml_round_trip(tmp_path):
    cfg = ModelConfig.for_variant("microc_rotated", n_tracks=3)
    path = tmp_path / "model.yaml"
    import yaml

    path.write_text(yaml.safe_dump(cfg.model_dump(mode="json")))
    assert load_config(ModelConfig, path) == cfg
    path.write_text("variant: landscape\nlandscpe: {}\n")
    with pytest.raises(ConfigError, match="landscpe"):
        load_config(ModelConfig, path)
