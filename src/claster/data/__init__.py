"""Sample windows cut from a store (landscape, target, contacts), augmentation and datasets.

:mod:`claster.data.windows` is the one window API used by training, prediction, perturbation and
attribution. Importing this package does not import torch (the torch-based batch cutter lives in
:mod:`claster.data.genome`).
"""

from claster.data.body import body_simpson, gene_body_bins, gene_body_mean, gene_body_means, round_half_away
from claster.data.windows import (
    WindowSpec,
    cut_landscape,
    cut_pchic,
    cut_rotated,
    cut_square,
    cut_target,
    reverse_window,
)

__all__ = [
    "body_simpson",
    "gene_body_bins",
    "gene_body_mean",
    "gene_body_means",
    "round_half_away",
    "WindowSpec",
    "cut_landscape",
    "cut_pchic",
    "cut_rotated",
    "cut_square",
    "cut_target",
    "reverse_window",
]
