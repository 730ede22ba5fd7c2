"""The fused link score (logistic fusion) and the linear promoter baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from claster.evaluate import fit_ridge
from claster.link import fit_fused_score, link_features
from claster.errors import InputError


def test_ridge_matches_numpy_least_squares_when_unpenalised():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = x @ np.array([[1.0, -2.0], [0.5, 0.0], [0.0, 3.0]]) + np.array([4.0, -1.0])
    coef, icpt = fit_ridge(x, y, alpha=0.0)
    design = np.column_stack([x, np.ones(len(x))])
    ref = np.linalg.lstsq(design, y, rcond=None)[0]
    np.testing.assert_allclose(coef, ref[:3], atol=1e-10)
    np.testing.assert_allclose(icpt, ref[3], atol=1e-10)


def test_link_features_by_hand():
    f = link_features(np.array([0.5, np.nan]), np.array([9_000, -99_000]))
    np.testing.assert_allclose(f, [[0.5, 4.0], [0.0, 5.0]])


def test_fusion_learns_both_inputs_and_beats_each():
    """Labels depend on score and distance: the fit gives a positive score weight and a negative
    distance weight, and its average precision beats either input alone."""
    from claster.link import average_precision

    rng = np.random.default_rng(1)
    n = 4000
    score = rng.uniform(0, 1, n)
    dist = 10 ** rng.uniform(3, 5.3, n)
    logit = 4 * score - 3 * (np.log10(dist + 1000) - 4)
    y = rng.uniform(size=n) < 1 / (1 + np.exp(-logit))
    model = fit_fused_score(score[:2000], dist[:2000], y[:2000])
    assert model.coef[0] > 0 and model.coef[1] < 0
    fused = model(score[2000:], dist[2000:])
    ap_fused = average_precision(y[2000:], fused)
    assert ap_fused > average_precision(y[2000:], score[2000:])
    assert ap_fused > average_precision(y[2000:], -dist[2000:])
    links = pd.DataFrame({"score": score[:3], "distance": dist[:3]})
    np.testing.assert_allclose(model.apply(links)["fused_score"], model(score[:3], dist[:3]))


def test_fusion_needs_both_classes():
    with pytest.raises(InputError, match="all positive or all negative"):
        fit_fused_score(np.ones(5), np.ones(5) * 1e4, np.zeros(5, bool))
