"""save_model / load_model round trip on CPU and the errors of load_model."""

from __future__ import annotations

import json

import pytest
import torch

from claster.config.model import ModelConfig
from claster.errors import CheckpointError
from claster.model import ClasterNet, load_model, save_model


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    config = ModelConfig.for_variant("microc_rotated", n_tracks=3, context_bins=4001, output_bins=41)
    model = ClasterNet(config)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    extra = {"tracks": ["ATAC", "H3K4me3", "H3K27me3"], "normalisation": {"landscape_mean": 0.5}}
    path = save_model(tmp_path / "run", model, config, extra)
    return tmp_path / "run", model, config, path


def test_round_trip_gives_identical_outputs(saved):
    directory, model, config, path = saved
    assert path == directory / "model.pt"
    assert json.loads((directory / "config.json").read_text()) == config.model_dump(mode="json")
    loaded, meta = load_model(directory)
    assert not loaded.training
    assert meta["config"] == config
    assert meta["extra"]["tracks"] == ["ATAC", "H3K4me3", "H3K27me3"]
    assert meta["class"] == "ClasterNet" and meta["format_version"] == 1
    x, s = torch.randn(2, 3, 4001), torch.randn(2, 129, 626)
    model.eval()
    with torch.no_grad():
        assert torch.equal(loaded(x, s), model(x, s))
    for (n1, p1), (n2, p2) in zip(model.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert n1 == n2 and torch.equal(p1, p2)
    # the file is plain tensors and builtins
    payload = torch.load(path, weights_only=True)
    assert all(t.device.type == "cpu" for t in payload["state_dict"].values())
    load_model(path, expected_tracks=["ATAC", "H3K4me3", "H3K27me3"])


def test_no_overwrite_without_flag(saved):
    directory, model, config, _ = saved
    with pytest.raises(CheckpointError, match="already holds a model; pass overwrite=True"):
        save_model(directory, model, config)
    save_model(directory, model, config, overwrite=True)


def test_extra_must_be_json(tmp_path):
    config = ModelConfig.for_variant("landscape", context_bins=4001)
    with pytest.raises(CheckpointError, match="extra must be JSON-able"):
        save_model(tmp_path, ClasterNet(config), config, {"mean": torch.zeros(2)})


def test_track_order_mismatch(saved):
    directory = saved[0]
    with pytest.raises(CheckpointError, match=r"trained on tracks \['ATAC', 'H3K4me3', 'H3K27me3'\]"):
        load_model(directory, expected_tracks=["H3K4me3", "ATAC", "H3K27me3"])


def _rewrite(path, **changes):
    payload = torch.load(path, weights_only=True)
    for key, value in changes.items():
        if value is None:
            payload.pop(key)
        else:
            payload[key] = value
    torch.save(payload, path)
    return payload


def test_wrong_class_version_format(saved):
    path = saved[3]
    _rewrite(path, **{"class": "OtherNet"})
    with pytest.raises(CheckpointError, match="holds a 'OtherNet', not a ClasterNet"):
        load_model(path)
    _rewrite(path, **{"class": "ClasterNet", "format_version": 99})
    with pytest.raises(CheckpointError, match="format version 99, this claster reads 1"):
        load_model(path)
    _rewrite(path, format="something-else", format_version=1)
    with pytest.raises(CheckpointError, match="is not a claster model checkpoint"):
        load_model(path)


def test_shape_mismatch_with_config(saved):
    path = saved[3]
    payload = torch.load(path, weights_only=True)
    cfg = dict(payload["config"])
    cfg["output_bins"] = 401
    _rewrite(path, config=cfg)
    with pytest.raises(
        CheckpointError, match=r"does not match its config: .*head\.weight \(41, 256\) vs \(401, 256\)"
    ):
        load_model(path)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="no model checkpoint at"):
        load_model(tmp_path)
