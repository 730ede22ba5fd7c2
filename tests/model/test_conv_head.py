"""The convolutional profile head (``--head conv``): alignment, equivariance, and the paper default."""

from __future__ import annotations

import pytest
import torch

from claster.config.model import ConvHeadConfig, ModelConfig
from claster.model import ClasterNet
from claster.model.net import ConvHead


def _randomise(head: ConvHead) -> ConvHead:
    torch.manual_seed(0)
    torch.nn.init.normal_(head.out.weight)
    torch.nn.init.normal_(head.out.bias)
    return head.eval()


@pytest.mark.parametrize("context_bins, output_bins", [(10_001, 401), (201, 19), (2_001, 41)])
def test_pointwise_head_maps_each_kbp_of_landscape_to_its_output_bin(context_bins, output_bins):
    # With 1-wide kernels the head is pointwise: an impulse anywhere in the 10 landscape bins
    # [centre + 10 j - 5, centre + 10 j + 5) must move output bin half + j and no other one.
    cfg = ConvHeadConfig(first_kernel=1, kernel=1, dilations=(1,), dropout=0.0)
    head = _randomise(ConvHead(cfg, 1, context_bins, output_bins))
    centre, half = context_bins // 2, output_bins // 2
    base = head(torch.zeros(1, 1, context_bins))
    for j in (-half, -1, 0, 1, half):
        for dx in (-5, 0, 4):
            x = torch.zeros(1, 1, context_bins)
            x[0, 0, centre + 10 * j + dx] = 1.0
            moved = (head(x) - base)[0].abs() > 1e-7
            assert moved.nonzero().flatten().tolist() == [half + j], (j, dx)


def test_head_is_translation_equivariant():
    # Shifting the landscape by one output bin (10 landscape bins) shifts the prediction by one bin.
    # Receptive field 2 + 2 * (1 + 2 + 4 + 8) = 32 bins < the 299 pooled bins beside the output, so
    # the wrapped-around edge of torch.roll never reaches an output bin.
    head = _randomise(ConvHead(ConvHeadConfig(dropout=0.0, dilations=(1, 2, 4, 8)), 4, 10_001, 401))
    torch.manual_seed(1)
    x = torch.randn(2, 4, 10_001)
    with torch.no_grad():
        a = head(x)
        b = head(torch.roll(x, shifts=10, dims=-1))
    torch.testing.assert_close(b[:, 1:], a[:, :-1], atol=1e-5, rtol=1e-5)


def test_alignment_by_hand():
    # 10,001 bins: centre 5000; the central 1 kbp is bins 4995..5004, so pooling starts at bin 5
    # (4995 = 5 + 10 * 499) and output bin 0 is pooled position 499 - 200 = 299 of (10,001 - 5) // 10.
    assert ConvHeadConfig().alignment(10_001, 401) == (5, 999, 299)
    with pytest.raises(ValueError, match="cover"):
        ConvHeadConfig().alignment(201, 21)


def test_paper_network_has_no_conv_head_and_conv_head_starts_at_zero():
    paper = ModelConfig.for_variant("landscape", context_bins=201, output_bins=19, landscape_layers=(1, 1))
    assert paper.conv_head is None and ClasterNet(paper).conv_head is None
    data = paper.model_dump()
    data["conv_head"] = ConvHeadConfig().model_dump()
    net = ClasterNet(ModelConfig.model_validate(data)).eval()
    x = torch.randn(3, 4, 201)
    with torch.no_grad():
        assert torch.count_nonzero(net.conv_head(x)) == 0
        torch.testing.assert_close(net(x), net.head(net.fusion(net.landscape(x))))

