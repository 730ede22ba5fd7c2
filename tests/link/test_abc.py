"""The ABC score against hand-worked examples and brute-force references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from claster.config.link import AbcConfig
from claster.errors import InputError
from claster.link import (
    ABC_COLUMNS,
    ContactBand,
    abc_scores,
    add_promoter_elements,
    element_classes,
    element_signal,
    fit_powerlaw,
    powerlaw_contact,
)

BIN = 5_000


def _band_from_dense(m: np.ndarray, width: int) -> np.ndarray:
    """band[i, d] = m[i, i + d] (NaN past the end): the store's layout, built by a plain loop."""
    n = m.shape[0]
    band = np.full((n, width), np.nan, dtype=np.float32)
    for i in range(n):
        for d in range(width):
            if i + d < n:
                band[i, d] = m[i, i + d]
    return band


def _hand_example():
    """40 bins of 5 kbp; one gene at 100,000 (bin 20); four elements.

    Dense symmetric contacts: 1 everywhere, except E1-TSS (bins 4, 20) = 8, E2-TSS (12, 20) = 12,
    the TSS bin's right neighbour (20, 21) = 20, and bin 30 filtered (its row and column NaN).
    """
    n = 40
    m = np.ones((n, n))
    m[4, 20] = m[20, 4] = 8.0
    m[12, 20] = m[20, 12] = 12.0
    m[20, 21] = m[21, 20] = 20.0
    m[30, :] = np.nan
    m[:, 30] = np.nan
    elements = pd.DataFrame({
        "chrom": "chr1",
        "start_bp": [20_000, 60_000, 99_750, 150_000],
        "end_bp": [21_000, 61_000, 100_250, 151_000],
        "element_id": ["E1", "E2", "P", "E3"],
        "class": ["intergenic", "intergenic", "promoter", "intergenic"],
        # activity = sqrt(acc * k27ac): sqrt(4 * 9) = 6, sqrt(1 * 16) = 4, sqrt(25 * 4) = 10, sqrt(1 * 1) = 1
        "activity": [6.0, 4.0, 10.0, 1.0],
    })
    genes = pd.DataFrame({"chrom": ["chr1"], "tss_bp": [100_000], "gene_id": ["G1"], "gene_name": ["GENE1"]})
    return m, elements, genes


def test_abc_by_hand():
    m, elements, genes = _hand_example()
    cb = ContactBand(_band_from_dense(m, 40), BIN)
    cfg = AbcConfig(fit_powerlaw=False, hic_gamma=1.0, hic_scale=float(np.log(1e4)), scale_to_reference=False)
    table = abc_scores(elements, genes, {"chr1": cb}, config=cfg)
    assert list(table.columns[: len(ABC_COLUMNS)]) == list(ABC_COLUMNS)
    out = table.set_index("name")

    # mean row sum of the dense matrix over rows that are not filtered (NaN counts 0)
    rows = np.nansum(m, axis=1)
    mrs = rows[rows > 0].mean()
    pl = lambda d: 1e4 / (max(d, 5_000) + 1)  # noqa: E731  exp(ln 1e4 - 1 * ln(d + 1))
    pseudo_cap = 1e4 / (5_000 + 1)
    # distances |TSS - midpoint|: 79,500; 39,500; 0; 50,500
    c1 = 8 / mrs + min(pl(79_500), pseudo_cap)
    c2 = 12 / mrs + min(pl(39_500), pseudo_cap)
    cp = 20 / mrs + min(pl(0), pseudo_cap)  # diagonal -> the larger neighbour (20, 21) = 20
    c3 = pl(10 * BIN) + min(pl(50_500), pseudo_cap)  # filtered bin -> power law at 10 bins, min 1 bin
    num = {"E1": 6 * c1, "E2": 4 * c2, "P": 10 * cp, "E3": 1 * c3}
    total = sum(num.values())
    np.testing.assert_allclose(out.loc[["E1", "E2", "P", "E3"], "contact"], [c1, c2, cp, c3], rtol=1e-5)
    for k in ("E1", "E2", "E3"):
        assert out.at[k, "ABC.Score"] == pytest.approx(num[k] / total, rel=1e-5)
    assert out.at["P", "ABC.Score"] == 1.0  # the self-promoter
    assert bool(out.at["P", "isSelfPromoter"]) and not bool(out.at["E1", "isSelfPromoter"])
    assert out.at["E3", "contact_source"] == "powerlaw_filtered_bin"
    assert out.at["E1", "distance"] == 79_500


def test_abc_without_self_promoter_rule_sums_to_one():
    m, elements, genes = _hand_example()
    cb = ContactBand(_band_from_dense(m, 40), BIN)
    out = abc_scores(elements, genes, {"chr1": cb}, config=AbcConfig(self_promoter_score_one=False))
    assert out["ABC.Score"].sum() == pytest.approx(1.0)


def test_abc_beyond_the_band_and_without_a_map_use_the_power_law():
    m, elements, genes = _hand_example()
    cb = ContactBand(_band_from_dense(m, 10), BIN)  # keeps 10 bins (50 kbp): E1 (16 bins) is beyond
    cfg = AbcConfig(fit_powerlaw=False, hic_gamma=1.0, hic_scale=float(np.log(1e4)), scale_to_reference=False)
    out = abc_scores(elements, genes, {"chr1": cb}, config=cfg).set_index("name")
    pl = 1e4 / (79_500 + 1)
    assert out.at["E1", "contact_source"] == "powerlaw_beyond_map"
    assert out.at["E1", "contact"] == pytest.approx(pl + pl)  # power law + pseudocount min(pl, cap) = pl
    nomap = abc_scores(elements, genes, None, config=cfg).set_index("name")
    assert set(nomap["contact_source"]) == {"powerlaw_no_map"}
    assert nomap.at["E2", "contact"] == pytest.approx(1e4 / 39_501)


def test_scale_to_reference_by_hand():
    m, elements, genes = _hand_example()
    cb = ContactBand(_band_from_dense(m, 40), BIN)
    cfg = AbcConfig(fit_powerlaw=False, hic_gamma=1.0, hic_scale=float(np.log(1e4)))
    out = abc_scores(elements, genes, {"chr1": cb}, config=cfg).set_index("name")
    rows = np.nansum(m, axis=1)
    mrs = rows[rows > 0].mean()
    d = 39_500.0
    ref = np.exp(-4.80 + 11.63 * 0.87 - 0.87 * np.log(d + 1))
    pl = 1e4 / (d + 1)
    assert out.at["E2", "contact"] == pytest.approx(12 / mrs * ref / pl + pl, rel=1e-5)


def test_fit_powerlaw_recovers_the_generating_law():
    n, gamma, c = 300, 1.1, 50.0
    i, j = np.indices((n, n))
    d_bp = np.abs(i - j) * BIN
    m = np.where(d_bp > 0, c * np.maximum(d_bp, 1) ** -gamma, 1.0)
    cb = ContactBand(_band_from_dense(m, 300), BIN)
    fit = fit_powerlaw(cb, min_bp=5_000, max_bp=1_000_000)
    assert fit["gamma"] == pytest.approx(gamma, abs=1e-3)
    # the scale is that of the normalised map: ln(c / mean row sum)
    assert fit["scale"] == pytest.approx(np.log(c / m.sum(1).mean()), abs=1e-3)


def test_powerlaw_is_flat_below_min_distance():
    v = powerlaw_contact([0, 1_000, 5_000, 10_000], 1.0, 0.0)
    np.testing.assert_allclose(v, [1 / 5_001, 1 / 5_001, 1 / 5_001, 1 / 10_001])


def test_element_signal_matches_a_per_base_expansion():
    rng = np.random.default_rng(0)
    row = rng.uniform(0, 5, 50).astype(np.float32)
    per_base = np.repeat(row.astype(np.float64), 100)
    starts = np.array([0, 130, 999, 4_950, 2_000])
    ends = np.array([100, 377, 1_001, 5_000, 2_001])
    got = element_signal(row, 100, starts, ends, how="sum")
    want = [per_base[s:e].sum() for s, e in zip(starts, ends, strict=True)]
    np.testing.assert_allclose(got, want, rtol=1e-9)
    np.testing.assert_allclose(element_signal(row, 100, starts, ends, how="mean"),
                               np.array(want) / (ends - starts), rtol=1e-9)
    # past the chromosome end counts 0
    assert element_signal(row, 100, [4_990], [6_000])[0] == pytest.approx(per_base[4_990:].sum())


def test_classes_and_added_promoters():
    genes = pd.DataFrame({"chrom": ["chr1", "chr1"], "tss_bp": [10_000, 50_000], "gene_id": ["A", "B"],
                          "gene_name": ["GA", "GB"], "start_bp": [10_000, 40_000], "end_bp": [20_000, 50_001]})
    els = pd.DataFrame({"chrom": "chr1", "start_bp": [9_800, 15_000, 30_000], "end_bp": [9_900, 15_500, 30_500],
                        "element_id": ["p", "g", "i"]})
    assert list(element_classes(els, genes)) == ["promoter", "genic", "intergenic"]
    added = add_promoter_elements(els, genes)
    new = added[added["added_promoter"]]
    assert list(new["element_id"]) == ["promoter|GB"]  # GA's TSS +- 250 is covered by element p
    assert (new["start_bp"].iloc[0], new["end_bp"].iloc[0]) == (49_750, 50_250)


def test_bad_activity_is_one_line_error():
    _, elements, genes = _hand_example()
    with pytest.raises(InputError, match="activity"):
        abc_scores(elements.assign(activity=-1.0), genes)
