"""What the K562 CRISPRi training file supports without a K562 model: distance and an ABC-like score.

The file (EPCrisprBenchmark_combined_data.training_K562.GRCh38.tsv.gz) carries DHS and H3K27ac RPM per
tested element. activity = sqrt(DHS.RPM * H3K27ac.RPM); contact = ABC's power law at the pair's
distance (gamma 1.024, scale 5.96, flat below 5 kbp). The file lacks the other candidate elements of
each gene, so the score is not normalised over them (activity x contact, ABC's numerator). Published
anchors on this file (Gschwind et al.): distance 0.436, ABC 0.56.

    PYTHONPATH=src python bench/k562_crispr_abc_like.py [REAL_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np


def scores(real: Path) -> dict[str, float]:
    from claster.config.link import ABC_HIC_GAMMA, ABC_HIC_SCALE
    from claster.link import (
        activity_from_columns,
        average_precision,
        precision_at_recall,
        powerlaw_contact,
        read_crispr_truth,
    )

    t = read_crispr_truth(real / "crispr" / "EPCrisprBenchmark_combined_data.training_K562.GRCh38.tsv.gz")
    y = t["Regulated"].to_numpy(bool)
    dist = np.abs(t["distanceToTSS"].to_numpy(np.float64))
    act = activity_from_columns(t.fillna({"DHS.RPM": 0, "H3K27ac.RPM": 0}), "DHS.RPM", "H3K27ac.RPM")
    dhs = t["DHS.RPM"].fillna(0).to_numpy(np.float64)
    pl = powerlaw_contact(dist, ABC_HIC_GAMMA, ABC_HIC_SCALE)
    cols = {
        "distance (-|distanceToTSS|)": -dist,
        "activity x power-law contact": act * pl,
        "DHS x power-law contact (DNase-only)": dhs * pl,
        "activity alone": act,
        "power-law contact alone": pl,
    }
    out = {"n_pairs": len(t), "n_positive": int(y.sum()),
           "n_missing_DHS_or_H3K27ac": int(t[["DHS.RPM", "H3K27ac.RPM"]].isna().any(axis=1).sum())}
    for k, s in cols.items():
        out[f"{k} AUPRC"] = average_precision(y, s)
        out[f"{k} P@70%R"] = precision_at_recall(y, s, 0.7)["precision"]
    return out


if __name__ == "__main__":
    real = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared/data/real")
    for k, v in scores(real).items():
        print(f"{k}\t{v:.4f}" if isinstance(v, float) else f"{k}\t{v}")
