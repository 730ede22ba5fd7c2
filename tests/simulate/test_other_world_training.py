"""Issue 10 item 4: on a world other than the demo's, a short training run beats the shuffled-target control.

The world is the second development world (``DEV_WORLDS[1]``, a ``--world random`` draw: other gene
density, lengths, enhancer grammar, contact decay, EU-seq shapes and noise than the default world) on
three shortened chromosomes, so it simulates in seconds. Both runs use the same network, recipe, seed
and steps; the control permutes the targets across training genes (``TrainConfig.shuffle_targets``),
so it can only learn the average profile.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import pearsonr

from claster.simulate.worlds import DEV_WORLDS

SIZES = {"chr1": 4_500_000, "chr4": 2_500_000, "chr17": 2_200_000}


@pytest.fixture(scope="module")
def other_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from claster.config import load_config
    from claster.config.prepare import PrepareConfig
    from claster.simulate import simulate_genome
    from claster.store import build_store

    world, seed = DEV_WORLDS[1]
    root = tmp_path_factory.mktemp("other_world")
    genome = simulate_genome(
        root / "genome", seed=seed, world=world, overrides={"chrom_sizes": SIZES}, progress=False
    )
    cfg = load_config(PrepareConfig, genome / "prepare.yaml").model_copy(update={"contacts": None})
    store = root / "store"
    build_store(cfg, store, progress=False)
    return genome, store


def _train(store: Path, out: Path, shuffle: bool) -> Path:
    from claster.config.train import TrainConfig
    from claster.train import fit

    cfg = TrainConfig(
        store=str(store),
        out=str(out),
        variant="landscape",
        context_bins=201,
        output_bins=19,
        batch_size=16,
        max_steps=32,
        lr=1e-3,
        warmup_steps=8,
        val_check_steps=16,
        shuffle_targets=shuffle,
        seed=0,
        threads=2,
    )
    fit(cfg, progress=False)
    return out


def test_beats_shuffled_targets_on_another_world(other_world, tmp_path):
    from claster.predict import Predictor
    from claster.store import open_store

    genome, store_dir = other_world
    info = json.loads((genome / "simulation.json").read_text())
    assert info["world"] == "random" and info["parameters"]["chrom_sizes"] == SIZES
    real = _train(store_dir, tmp_path / "real", shuffle=False)
    ctrl = _train(store_dir, tmp_path / "shuffled", shuffle=True)

    store = open_store(store_dir)
    genes = store.genes
    test = genes[(genes["split"] == "test") & genes["usable"].astype(bool)].reset_index(drop=True)
    assert len(test) >= 15
    scores = {}
    for name, run in (("real", real), ("shuffled", ctrl)):
        pred_obj = Predictor(run)
        windows = pred_obj.windows(store, test, with_target=True)
        import torch

        pred = pred_obj.predict_samples(windows, batch_size=64, progress=False)
        true = windows.target(torch.arange(len(test))).numpy()
        # bin-wise Pearson on log1p and the gene-level Pearson of the central 5 kbp, computed here with scipy
        binwise = pearsonr(np.log1p(pred.ravel()), np.log1p(true.ravel()))[0]
        mid = slice(pred.shape[1] // 2 - 2, pred.shape[1] // 2 + 3)
        gene = pearsonr(np.log1p(pred[:, mid].mean(1)), np.log1p(true[:, mid].mean(1)))[0]
        scores[name] = (binwise, gene)
    (real_b, real_g), (ctrl_b, ctrl_g) = scores["real"], scores["shuffled"]
    # measured: bin-wise 0.80 vs 0.20, gene-level 0.94 vs 0.84 (a barely trained control still ranks genes
    # by input strength, so the bin-wise margin is the informative one)
    assert real_b > ctrl_b + 0.3, scores
    assert real_g > ctrl_g, scores
    assert real_b > 0.6 and real_g > 0.8, scores
