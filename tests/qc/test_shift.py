"""The model-vs-store check: training statistics in the run, warnings for shifted tracks, --match-scale.

A tiny model is trained on the simulated store; a second store is prepared from the same genome with
H3K27ac x4 and ATAC x0.3 (the bigWigs read, scaled and rewritten). Expected values are computed
independently from the stores' arrays (promoter means by a loop over genes, numpy medians).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from shifted import shifted_genome

FACTORS = {"H3K27ac": 4.0, "ATAC": 0.3}


@pytest.fixture(scope="module")
def tiny_run(sim_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from claster.config.train import TrainConfig
    from claster.train import fit

    out = tmp_path_factory.mktemp("qc_run") / "run"
    cfg = TrainConfig(
        store=str(sim_store),
        out=str(out),
        context_bins=201,
        output_bins=19,
        batch_size=16,
        max_steps=4,
        max_train_samples=32,
        warmup_steps=2,
        val_check_steps=4,
        lr=1e-3,
        seed=1,
        threads=1,
    )
    fit(cfg, progress=False)
    return out


@pytest.fixture(scope="module")
def shifted_store(sim_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from claster.config import load_config
    from claster.config.prepare import PrepareConfig
    from claster.store import build_store

    root = tmp_path_factory.mktemp("shifted")
    cfg_path = shifted_genome(sim_dir, root / "genome", FACTORS)
    out = root / "store"
    build_store(load_config(PrepareConfig, cfg_path), out, progress=False)
    return out


def _promoter_medians(store, genes) -> dict[str, float]:
    """Median over genes of the mean of each track over the 100 bp bins of [TSS - 1 kbp, TSS + 1 kbp)."""
    vals = {t: [] for t in store.track_names}
    for g in genes.itertuples():
        arr = np.asarray(store.tracks(g.chrom))
        lo, hi = (g.tss_bp - 1000) // 100, (g.tss_bp + 1000) // 100
        for t, name in enumerate(store.track_names):
            vals[name].append(float(arr[t, lo:hi].mean()))
    return {k: float(np.median(v)) for k, v in vals.items()}


def test_the_run_carries_training_split_statistics(tiny_run, sim_store):
    from claster.store import open_store

    stats = json.loads((tiny_run / "input_stats.json").read_text())
    payload = torch.load(tiny_run / "model" / "model.pt", weights_only=True)
    assert payload["extra"]["input_stats"] == stats
    store = open_store(sim_store)
    train = store.genes[store.genes["usable"].astype(bool) & (store.genes["split"] == "train")]
    assert set(stats["chroms"]) == set(train["chrom"])  # the training chromosomes only
    want = _promoter_medians(store, train)
    for name in store.track_names:
        assert stats["tracks"][name]["promoter_median"] == pytest.approx(want[name], rel=1e-5)
    # the quantile curve of a track over the training chromosomes (every bin: the store is small)
    allv = np.concatenate([np.asarray(store.tracks(c))[1] for c in stats["chroms"]])
    lv = np.asarray(stats["levels"])
    np.testing.assert_allclose(stats["tracks"]["H3K4me3"]["quantiles"], np.quantile(allv, lv), rtol=1e-5)


def test_warning_fires_for_exactly_the_two_shifted_tracks(tiny_run, sim_store, shifted_store):
    from claster.predict import Predictor
    from claster.errors import ClasterWarning
    from claster.store import open_store

    pred = Predictor(tiny_run)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the training store itself: nothing at all
        same = pred.input_check(open_store(sim_store))
    assert same["shifted_tracks"] == []
    with pytest.warns(ClasterWarning) as rec:
        check = pred.input_check(open_store(shifted_store))
    msgs = [str(w.message) for w in rec if "training scale" in str(w.message)]
    assert len(msgs) == 2
    assert sorted(check["shifted_tracks"]) == sorted(FACTORS)
    for name, f in FACTORS.items():
        (m,) = [m for m in msgs if m.startswith(f"{name} in ")]
        row = next(r for r in check["tracks"] if r["track"] == name)
        assert (
            f"is {row['promoter_ratio']:.2g}x the training scale at promoters" in m and "--match-scale" in m
        )
        # ratio to the training split ~ the factor (chromosome-to-chromosome variation is small)
        assert row["promoter_ratio"] == pytest.approx(f, rel=0.15)


@pytest.mark.parametrize("method", ["promoter-median", "quantile"])
def test_match_scale_restores_the_training_scale(tiny_run, sim_store, shifted_store, method):
    from claster.predict import Predictor
    from claster.store import open_store

    base, shifted = open_store(sim_store), open_store(shifted_store)
    pred = Predictor(tiny_run, match_scale=method)
    rec = pred.input_check(shifted)
    assert rec["match_scale"]["method"] == method
    genes = shifted.genes[shifted.genes["usable"].astype(bool)].head(40).reset_index(drop=True)
    w_shift = pred.windows(shifted, genes)
    w_base = pred.windows(base, genes)
    idx = torch.arange(len(genes))
    x_shift, x_base = w_shift.landscape(idx).numpy(), w_base.landscape(idx).numpy()
    # scale matching is scale-equivariant: the x4 / x0.3 store lands where the original store lands
    np.testing.assert_allclose(x_shift, x_base, rtol=2e-3, atol=1e-4)
    if method == "promoter-median":
        f = rec["match_scale"]["factors"]
        train = pred.input_stats["tracks"]
        usable = shifted.genes[shifted.genes["usable"].astype(bool)]
        med = _promoter_medians(shifted, usable)
        for name in shifted.track_names:  # rescaled promoter medians equal the training ones
            assert med[name] * f[name] == pytest.approx(train[name]["promoter_median"], rel=1e-5)
        assert f["H3K27ac"] == pytest.approx(1 / 4, rel=0.15) and f["ATAC"] == pytest.approx(
            1 / 0.3, rel=0.15
        )


def test_evaluate_cli_warns_once_per_shifted_track_and_records_match_scale(
    cli, tiny_run, shifted_store, tmp_path
):
    code, _, err = cli(
        ["evaluate", "--run", tiny_run, "--store", shifted_store, "--out", tmp_path / "e", "-q"]
    )
    assert code == 0, err
    lines = [ln for ln in err.splitlines() if ln.startswith("warning: ") and "training scale" in ln]
    assert len(lines) == 2 and {ln.split()[1] for ln in lines} == set(FACTORS)
    code, _, err = cli(
        [
            "evaluate",
            "--run",
            tiny_run,
            "--store",
            shifted_store,
            "--out",
            tmp_path / "m",
            "-q",
            "--match-scale",
            "promoter-median",
        ]
    )
    assert code == 0, err
    assert "training scale" not in err
    m = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert m["input_check"]["match_scale"]["method"] == "promoter-median"
    assert set(m["input_check"]["match_scale"]["factors"]) == {"ATAC", "H3K4me3", "H3K27ac", "H3K27me3"}


def test_an_older_run_warns_that_the_check_is_unavailable(cli, tiny_run, sim_store, tmp_path):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(tiny_run / "model", old / "model")
    payload = torch.load(old / "model" / "model.pt", weights_only=True)
    del payload["extra"]["input_stats"]
    torch.save(payload, old / "model" / "model.pt")
    code, _, err = cli(
        [
            "predict",
            "--run",
            old,
            "--store",
            sim_store,
            "--chrom",
            "chr4",
            "--out",
            tmp_path / "p",
            "-q",
            "--no-bigwig",
        ]
    )
    assert code == 0, err
    assert "distribution-shift check is unavailable" in err
    code, _, err = cli(["qc", sim_store, "--run", old, "--out", tmp_path / "q"])
    assert code == 0 and "unavailable" in err
    code, _, err = cli(
        [
            "predict",
            "--run",
            old,
            "--store",
            sim_store,
            "--chrom",
            "chr4",
            "--out",
            tmp_path / "p2",
            "-q",
            "--match-scale",
            "quantile",
        ]
    )
    assert code == 1 and err.startswith("error: ") and "--match-scale none" in err


def test_qc_against_the_run_reports_the_shift(cli, tiny_run, shifted_store, tmp_path):
    code, out, err = cli(["qc", shifted_store, "--run", tiny_run, "--out", tmp_path / "q"])
    assert code == 0, err
    q = json.loads((tmp_path / "q" / "qc.json").read_text())
    assert sorted(r["track"] for r in q["shift"] if r["shifted"]) == sorted(FACTORS)
    assert q["verdict"]["ok"] is False and out.count("action: ") == 2
