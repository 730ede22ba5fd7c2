"""Sample windows cut from a store (landscape, target, contacts), augmentation and datasets.

:mod:`claster.data.windows` is the one window API used by training, prediction, perturbation and
attribution. Importing this package does not import torch (the torch-based batch cutter lives in
:mod:`claster.data.genome`).
"""

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
    "WindowSpec",
    "cut_landscape",
    "cut_pchic",
    "cut_rotated",
    "cut_square",
    "cut_target",
    "reverse_window",
]
