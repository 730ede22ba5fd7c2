"""The CLASTER network (SPEC §3): blocks, branches, fusion, head, checkpoints.

``ClasterNet(config)`` is a plain ``nn.Module``; build its config with
:meth:`claster.config.model.ModelConfig.for_variant`. ``save_model``/``load_model`` write and read
self-describing checkpoints on CPU.
"""

from claster.model.blocks import (
    FirstConvBlock,
    ResBlock,
    ResidualMLPBlock,
    SqueezeExcite,
    StochasticDepth,
    Swish,
)
from claster.model.checkpoint import load_model, save_model
from claster.model.net import AttentionBlock, ClasterNet, CNNBranch, ConvHead, Fusion, count_parameters, model_summary

__all__ = [
    "AttentionBlock",
    "ClasterNet",
    "CNNBranch",
    "FirstConvBlock",
    "Fusion",
    "ConvHead",
    "ResBlock",
    "ResidualMLPBlock",
    "SqueezeExcite",
    "StochasticDepth",
    "Swish",
    "count_parameters",
    "load_model",
    "model_summary",
    "save_model",
]
