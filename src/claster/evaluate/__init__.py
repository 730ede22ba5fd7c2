"""Evaluate: the SPEC §5 metrics (bin-wise and gene-level), ``claster evaluate`` over a split, and the
promoter-mark ridge baseline (``claster baseline linear``).
"""
from __future__ import annotations

from claster.evaluate.metrics import (
    StreamingPearson,
    binwise_correlations,
    log2p1,
    gene_level_correlations,
    profile_correlations,
    evaluation_table,
    summarise,
)
from claster.evaluate.evaluation import (
    evaluate,
    evaluate_arrays,
    PAPER_BINWISE,
    compare_runs,
)
from claster.evaluate.baselines import (
    promoter_features,
    fit_ridge,
    linear_baseline,
)

__all__ = [
    "StreamingPearson",
    "binwise_correlations",
    "log2p1",
    "gene_level_correlations",
    "profile_correlations",
    "evaluation_table",
    "summarise",
    "evaluate",
    "evaluate_arrays",
    "PAPER_BINWISE",
    "compare_runs",
    "promoter_features",
    "fit_ridge",
    "linear_baseline",
]
