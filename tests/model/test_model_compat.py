"""Parity with the original framework (EIR 0.1.43) on its own fixtures (issue 3 item 2)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from claster.compat import eir_to_claster_state_dict, load_eir_state_dict
from claster.config.model import ModelConfig
from claster.errors import CheckpointError
from claster.model import ClasterNet


@pytest.fixture(scope="module")
def eir_dir(fixtures_dir):
    path = fixtures_dir / "eir0143"
    if not (path / "pure_conv_eir0143_state_dict.pt").exists():
        pytest.skip(f"{path} holds no EIR fixtures")
    return path


@pytest.fixture(scope="module")
def parity_input(eir_dir):
    return torch.from_numpy(np.load(eir_dir / "parity_input.npy"))


def _features(state_path, x):
    model = ClasterNet(ModelConfig.for_variant("landscape"))
    load_eir_state_dict(model, state_path)
    model.eval()
    with torch.no_grad():
        return {k: v.numpy() for k, v in model.features(x).items()}


def test_plain_state_dict_matches_original(eir_dir, parity_input):
    feats = _features(eir_dir / "pure_conv_eir0143_state_dict.pt", parity_input)
    np.testing.assert_allclose(
        feats["landscape"],
        np.load(eir_dir / "pure_conv_parity_branch_gene_expression.npy"),
        rtol=0,
        atol=1e-5,
    )
    np.testing.assert_allclose(
        feats["fused"], np.load(eir_dir / "pure_conv_parity_fused.npy"), rtol=0, atol=1e-5
    )
    np.testing.assert_allclose(feats["output"], np.load(eir_dir / "parity_output.npy"), rtol=0, atol=1e-5)


def test_perturbed_state_dict_matches_original(eir_dir, parity_input):
    state = torch.load(eir_dir / "pure_conv_eir0143_perturbed_state_dict.pt", weights_only=True)
    betas = [k for k in state if k.endswith("act_1.weight")]
    assert betas and all(float(state[k]) != 1.0 for k in betas)  # the fixture exercises every Swish beta
    feats = _features(state, parity_input)
    np.testing.assert_allclose(
        feats["output"], np.load(eir_dir / "parity_output_perturbed.npy"), rtol=0, atol=1e-5
    )


def test_heads_are_stacked_in_bin_order(eir_dir):
    state = torch.load(eir_dir / "pure_conv_eir0143_state_dict.pt", weights_only=True)
    renamed, unmapped = eir_to_claster_state_dict(state)
    assert unmapped == []
    prefix = "output_modules.expression_output.multi_task_branches."
    assert torch.equal(renamed["head.weight"][0], state[prefix + "-200_ctrl.weight"][0])
    assert torch.equal(renamed["head.weight"][200], state[prefix + "0_ctrl.weight"][0])
    assert torch.equal(renamed["head.bias"][400], state[prefix + "200_ctrl.bias"][0])
    assert (
        renamed["landscape.conv.1.act.beta"]
        is state["input_modules.gene_expression.feature_extractor.conv.1.act_1.weight"]
    )


def test_mismatched_model_is_a_clear_error(eir_dir):
    model = ClasterNet(ModelConfig.for_variant("landscape", n_tracks=3))
    with pytest.raises(
        CheckpointError,
        match=r"2 with other shapes .*landscape\.pos_embedding \(1, 4, 10001\) vs \(1, 3, 10001\)",
    ):
        load_eir_state_dict(model, eir_dir / "pure_conv_eir0143_state_dict.pt")
    rotated = ClasterNet(ModelConfig.for_variant("microc_rotated"))
    with pytest.raises(CheckpointError, match=r"missing \(structure\.pos_embedding"):
        load_eir_state_dict(rotated, eir_dir / "pure_conv_eir0143_state_dict.pt")


def test_missing_and_unexpected_names(eir_dir):
    state = torch.load(eir_dir / "pure_conv_eir0143_state_dict.pt", weights_only=True)
    key = "input_modules.gene_expression.feature_extractor.conv.3.se_block.conv_up.bias"
    del state[key]
    state["input_modules.gene_expression.feature_extractor.conv.3.grn.gamma"] = torch.zeros(1)
    model = ClasterNet(ModelConfig.for_variant("landscape"))
    before = model.landscape.conv[3].se.up.bias.clone()
    with pytest.raises(
        CheckpointError,
        match=r"1 missing \(landscape\.conv\.3\.se\.up\.bias\); 1 unexpected \(.*grn\.gamma\)",
    ):
        load_eir_state_dict(model, state)
    assert torch.equal(model.landscape.conv[3].se.up.bias, before)  # nothing loaded


def test_unreadable_inputs(tmp_path):
    model = ClasterNet(ModelConfig.for_variant("landscape", context_bins=4001))
    with pytest.raises(CheckpointError, match="does not exist"):
        load_eir_state_dict(model, tmp_path / "absent.pt")
    bad = tmp_path / "bad.pt"
    bad.write_text("not a torch file")
    with pytest.raises(CheckpointError, match="not a readable PyTorch state dict"):
        load_eir_state_dict(model, bad)
