"""claster.data.transforms against numpy references and hand-worked values (SPEC §4, §10)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from claster.data.transforms import PerBinStandardizer, ScalarStandardizer
from claster.errors import InputError


def test_scalar_hand_worked():
    # values 1, 2, 3, 4: mean 2.5, population variance 1.25
    s = ScalarStandardizer("landscape").fit(np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32))
    assert s.mean == 2.5
    assert s.std == pytest.approx(np.sqrt(1.25), rel=1e-15)
    out = s.transform(np.array([2.5, 2.5 + np.sqrt(1.25)], dtype=np.float32))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [0.0, 1.0], atol=1e-7)


def test_scalar_streaming_equals_one_shot():
    rng = np.random.default_rng(0)
    windows = [rng.normal(3.0, 2.0, size=(k, 4, 50)).astype(np.float32) for k in (1, 5, 2, 7)]
    s = ScalarStandardizer("landscape")
    for w in windows:
        s.partial_fit(w)
    s.finalize()
    allv = np.concatenate([w.ravel() for w in windows]).astype(np.float64)
    assert s.count == allv.size
    assert s.mean == pytest.approx(allv.mean(), rel=1e-12)
    assert s.std == pytest.approx(allv.std(), rel=1e-12)
    one = ScalarStandardizer("landscape").fit(allv)
    assert one.mean == pytest.approx(s.mean, rel=1e-12) and one.std == pytest.approx(s.std, rel=1e-12)


def test_scalar_large_offset_is_stable():
    # naive sum / sum of squares loses all precision here; the pairwise update does not
    rng = np.random.default_rng(1)
    x = 1e8 + rng.normal(0.0, 1.0, size=(20, 1000))
    s = ScalarStandardizer()
    for row in x:
        s.partial_fit(row)
    s.finalize()
    assert s.std == pytest.approx(x.std(), rel=1e-6)


def test_scalar_torch_and_inverse_and_dict():
    rng = np.random.default_rng(2)
    x = rng.normal(-5.0, 3.0, size=(3, 129, 20)).astype(np.float32)
    s = ScalarStandardizer("contacts_rotated").fit(torch.from_numpy(x))
    t = s.transform(torch.from_numpy(x))
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float32
    np.testing.assert_allclose(t.numpy(), (x - x.astype(np.float64).mean()) / x.astype(np.float64).std(), atol=1e-5)
    t64 = s.transform(torch.from_numpy(x).double())
    assert t64.dtype == torch.float64
    np.testing.assert_allclose(s.inverse_transform(t).numpy(), x, atol=1e-5)
    d = json.loads(json.dumps(s.to_dict()))
    s2 = ScalarStandardizer.from_dict(d)
    assert s2.name == "contacts_rotated" and s2.mean == s.mean and s2.std == s.std
    np.testing.assert_array_equal(s2.transform(x), s.transform(x))
    # streaming continues exactly after a round trip
    extra = rng.normal(size=(50,))
    s.partial_fit(extra).finalize()
    s2.partial_fit(extra).finalize()
    assert s2.mean == pytest.approx(s.mean, rel=1e-12) and s2.std == pytest.approx(s.std, rel=1e-12)


def test_scalar_constant_and_errors():
    s = ScalarStandardizer("pchic").fit(np.full((4, 4), -14.0))
    assert s.mean == -14.0 and s.std == 1.0
    np.testing.assert_array_equal(s.transform(np.array([-14.0, -13.0])), [0.0, 1.0])
    with pytest.raises(InputError, match="no values were accumulated"):
        ScalarStandardizer("landscape").finalize()
    with pytest.raises(InputError, match="NaN or infinite"):
        ScalarStandardizer().partial_fit(np.array([1.0, np.nan]))
    with pytest.raises(InputError, match="not a scalar standardiser"):
        ScalarStandardizer.from_dict({"kind": "per_bin"})
    with pytest.raises(InputError, match="std must be finite"):
        ScalarStandardizer.from_dict({"kind": "scalar", "mean": 0.0, "std": 0.0, "count": 3})
    with pytest.raises(RuntimeError, match="before finalize"):
        ScalarStandardizer().transform(np.zeros(3))


def test_per_bin_hand_worked_and_zero_variance():
    y = np.array([[1.0, 5.0, 2.0], [3.0, 5.0, 4.0], [5.0, 5.0, 9.0]], dtype=np.float32)
    s = PerBinStandardizer().fit(y)
    np.testing.assert_allclose(s.mean, [3.0, 5.0, 5.0])
    # bin 0: deviations -2, 0, 2 -> var 8/3; bin 1 constant -> std 1; bin 2: -3, -1, 4 -> var 26/3
    np.testing.assert_allclose(s.std, [np.sqrt(8 / 3), 1.0, np.sqrt(26 / 3)], rtol=1e-15)
    z = s.transform(y)
    assert z.dtype == np.float32
    np.testing.assert_allclose(z[:, 1], 0.0)
    np.testing.assert_allclose(z[:, 0], [-2 / np.sqrt(8 / 3), 0.0, 2 / np.sqrt(8 / 3)], rtol=1e-6)
    np.testing.assert_allclose(s.inverse_transform(z), y, rtol=1e-6)


def test_per_bin_matches_standard_scaler_reference_and_streaming():
    rng = np.random.default_rng(5)
    y = rng.gamma(0.5, 4.0, size=(300, 401)) * rng.uniform(0.1, 10.0, size=401)
    y[:, 7] = 0.3  # a constant bin with a non-representable value
    s = PerBinStandardizer()
    for lo in range(0, 300, 64):
        s.partial_fit(torch.from_numpy(y[lo : lo + 64]).float())
    s.finalize()
    yf = y.astype(np.float32).astype(np.float64)
    np.testing.assert_allclose(s.mean, yf.mean(axis=0), rtol=1e-12, atol=1e-12)
    ref_std = yf.std(axis=0)
    ref_std[7] = 1.0
    np.testing.assert_allclose(s.std, ref_std, rtol=1e-10)
    one = PerBinStandardizer().fit(yf)
    np.testing.assert_allclose(one.mean, s.mean, rtol=1e-12)
    np.testing.assert_allclose(one.std, s.std, rtol=1e-12)
    z = s.transform(torch.from_numpy(y[:5]))
    assert isinstance(z, torch.Tensor) and z.dtype == torch.float64
    np.testing.assert_allclose(z.numpy(), (y[:5] - s.mean) / s.std)
    # any leading shape, bins on the last axis
    zz = s.transform(y[:6].reshape(2, 3, 401).astype(np.float32))
    assert zz.shape == (2, 3, 401) and zz.dtype == np.float32


def test_per_bin_dict_round_trip_and_errors():
    rng = np.random.default_rng(6)
    y = rng.normal(size=(40, 11))
    s = PerBinStandardizer().fit(y)
    d = json.loads(json.dumps(s.to_dict()))
    s2 = PerBinStandardizer.from_dict(d)
    np.testing.assert_array_equal(s2.mean, s.mean)
    np.testing.assert_array_equal(s2.std, s.std)
    np.testing.assert_array_equal(s2.inverse_transform(s2.transform(y)), s.inverse_transform(s.transform(y)))
    with pytest.raises(InputError, match="fitted on 11"):
        s.transform(np.zeros((2, 12)))
    with pytest.raises(InputError, match="earlier batches had 11"):
        PerBinStandardizer().partial_fit(y).partial_fit(np.zeros((2, 12)))
    with pytest.raises(InputError, match="\\(N, n_bins\\)"):
        PerBinStandardizer().fit(np.zeros(5))
    with pytest.raises(InputError, match="no target samples"):
        PerBinStandardizer().finalize()
    with pytest.raises(InputError, match="not a per-bin standardiser"):
        PerBinStandardizer.from_dict(ScalarStandardizer().fit(np.arange(3.0)).to_dict())
    bad = dict(d, std=d["std"][:-1])
    with pytest.raises(InputError, match="equal-length"):
        PerBinStandardizer.from_dict(bad)


# ------------------------------------------------------------------ value transforms (issue 10)


def test_log1p_transform_matches_math_and_round_trips():
    import math

    from claster.data.transforms import inverse_value_transform, value_transform

    x = np.array([0.0, 0.5, 3.0, 250.0, 1e4], dtype=np.float64)
    y = value_transform(x, "log1p")
    assert np.allclose(y, [math.log1p(v) for v in x], rtol=0, atol=1e-12)  # independent: math.log1p
    assert np.allclose(inverse_value_transform(y, "log1p"), x, rtol=1e-12, atol=1e-12)
    xt = torch.tensor([[0.0, 2.0, 80.0], [7.0, 0.25, 1e3]], dtype=torch.float32)
    yt = value_transform(xt, "log1p")
    assert yt.dtype == torch.float32 and torch.allclose(inverse_value_transform(yt, "log1p"), xt, rtol=1e-6)
    assert value_transform(x, "none") is x and inverse_value_transform(xt, "none") is xt
    with pytest.raises(InputError, match="log1p"):
        value_transform(x, "sqrt")


def test_transformed_standardizer_round_trips_and_standardises_the_transformed_values():
    from claster.data.transforms import TransformedStandardizer

    rng = np.random.default_rng(4)
    y = rng.lognormal(1.0, 2.0, size=(50, 7)).astype(np.float64)  # heavy-tailed, like EU-seq
    logs = np.log1p(y)
    norm = TransformedStandardizer(PerBinStandardizer().fit(logs), "log1p")
    z = norm.transform(y)
    # independent: standardise log1p(y) per column with numpy (population std)
    assert np.allclose(z, (logs - logs.mean(0)) / logs.std(0), atol=1e-10)
    assert np.allclose(norm.inverse_transform(z), y, rtol=1e-9)


def test_normalisers_from_dict_reads_the_transforms_and_defaults_to_none():
    from claster.data.transforms import normalisers_from_dict

    land = ScalarStandardizer("landscape").fit(np.log1p(np.arange(10.0)))
    target = PerBinStandardizer().fit(np.log1p(np.arange(12.0).reshape(4, 3)))
    saved = json.loads(json.dumps({"landscape": land.to_dict(), "structure": None, "target": target.to_dict(),
                                   "transforms": {"landscape": "log1p", "target": "log1p"}}))
    norms = normalisers_from_dict(saved)
    assert norms["structure"] is None and norms["landscape"].name == norms["target"].name == "log1p"
    assert np.allclose(norms["landscape"].transform(np.array([3.0])), (np.log(4.0) - land.mean) / land.std)
    del saved["transforms"]  # a model saved before transforms existed: SPEC §4, no transform
    old = normalisers_from_dict(saved)
    assert old["landscape"].name == old["target"].name == "none"
    assert np.allclose(old["landscape"].transform(np.array([3.0])), (3.0 - land.mean) / land.std)
