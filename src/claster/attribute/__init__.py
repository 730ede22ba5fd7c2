"""Attribute: integrated gradients (SPEC §8), the landscape locality and contact maps built from them,
attribution bigWigs, and ``claster attribute``.
"""
from __future__ import annotations

from claster.attribute.ig import (
    MODALITIES,
    baseline_from_windows,
    integrated_gradients,
    mean_attributions,
    is_out_of_memory,
)
from claster.attribute.maps import (
    ROTATED_LAMBDA,
    ContactAttributionMap,
    landscape_locality_map,
    distance_axis_bp,
    locality_stats,
    structure_map,
    square_map,
    reduce_output_bins,
    attribution_to_bigwig,
)
from claster.attribute.run import (
    attribute,
)

__all__ = [
    "MODALITIES",
    "baseline_from_windows",
    "integrated_gradients",
    "mean_attributions",
    "is_out_of_memory",
    "ROTATED_LAMBDA",
    "ContactAttributionMap",
    "landscape_locality_map",
    "distance_axis_bp",
    "locality_stats",
    "structure_map",
    "square_map",
    "reduce_output_bins",
    "attribution_to_bigwig",
    "attribute",
]
