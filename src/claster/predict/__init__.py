"""Predict: a trained run loaded for inference on any device (:class:`Predictor`), and predicted
profiles for genes, chromosomes, BED loci or tiles written as TSV and bigWig (``claster predict``).
"""
from __future__ import annotations

from claster.predict.predictor import (
    Predictor,
    resolve_model_dir,
)
from claster.predict.profiles import (
    select_windows,
    padded_fraction,
    off_chromosome_windows,
    predict_profiles,
    profiles_frame,
    write_prediction_bigwig,
    predict,
)

__all__ = [
    "Predictor",
    "resolve_model_dir",
    "select_windows",
    "padded_fraction",
    "off_chromosome_windows",
    "predict_profiles",
    "profiles_frame",
    "write_prediction_bigwig",
    "predict",
]
