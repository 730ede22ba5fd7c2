"""Genome-wide prediction cuts windows one chromosome at a time (memory bounded by one chromosome).

Reference: each window sliced by hand from the store's per-chromosome track arrays (numpy, no
GenomeWindows) and passed through the model one at a time.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))
import claster_store_kit as kit  # noqa: E402


@pytest.fixture(scope="module")
def store_and_run(tmp_path_factory):
    from claster.config.model import ModelConfig
    from claster.config.prepare import PrepareConfig
    from claster.config.train import TrainConfig
    from claster.model import ClasterNet
    from claster.model.checkpoint import save_model
    from claster.store import build_store, open_store

    d = tmp_path_factory.mktemp("predict_by_chrom")
    cfg = PrepareConfig(**kit.make_inputs(d / "in"), test_chroms=["chr4"], val_chroms=["chr17"])
    store = open_store(build_store(cfg, d / "store", progress=False))
    torch.manual_seed(0)
    ctx, out_bins = 201, 11
    mc = ModelConfig.for_variant("landscape", context_bins=ctx, output_bins=out_bins, landscape_layers=(1, 1),
                                 fusion_blocks=1)
    tc = TrainConfig(store=str(store.path), out=str(d / "run"), variant="landscape", context_bins=ctx,
                     output_bins=out_bins)
    from claster.data.transforms import PerBinStandardizer, ScalarStandardizer

    gen = torch.Generator().manual_seed(0)
    land = ScalarStandardizer()
    land.partial_fit(torch.rand(8, 4, ctx, generator=gen) * 3)
    land.finalize()
    target = PerBinStandardizer()
    target.fit((torch.rand(8, out_bins, generator=gen) * 5).numpy())
    norm = {"landscape": land.to_dict(), "structure": None, "target": target.to_dict()}
    extra = {"train_config": tc.model_dump(mode="json"), "normalisation": norm,
             "track_names": list(store.track_names), "structure": None}
    save_model(d / "run" / "model", ClasterNet(mc).eval(), mc, extra)
    return store, d / "run", ctx


# the hand-built run carries no training-input statistics: the shift check says so, as for an older run
@pytest.mark.filterwarnings("ignore:.*carries no training-input statistics.*")
def test_all_genes_predicted_one_chromosome_at_a_time(store_and_run, monkeypatch):
    from claster.predict import predict_profiles, select_windows
    from claster.predict import Predictor
    from claster.data import genome

    store, run, ctx = store_and_run
    predictor = Predictor(run)
    samples = select_windows(store, all_genes=True)
    assert len(samples) == len(store.genes)
    assert samples["chrom"].nunique() >= 3
    samples = samples.sample(frac=1.0, random_state=1).reset_index(drop=True)  # chromosomes interleaved

    seen: list[set] = []
    real_init = genome.GenomeWindows.__init__

    def spy(self, store_, samples_, **kw):
        seen.append(set(samples_["chrom"]))
        real_init(self, store_, samples_, **kw)

    monkeypatch.setattr(genome.GenomeWindows, "__init__", spy)
    got = predict_profiles(predictor, store, samples, batch_size=2, progress=False)
    assert seen and all(len(s) == 1 for s in seen), seen  # never several chromosomes at once

    half = ctx // 2
    for i, r in samples.iterrows():
        tracks = np.asarray(store.tracks(r.chrom), dtype=np.float32)
        lo = int(r.tss_bp) // 100 - half
        x = np.zeros((tracks.shape[0], ctx), dtype=np.float32)  # zeros beyond the chromosome ends
        a, b = max(lo, 0), min(lo + ctx, tracks.shape[1])
        x[:, a - lo : b - lo] = tracks[:, a:b]
        want = predictor.predict_raw(torch.from_numpy(x)[None]).numpy()[0]
        np.testing.assert_allclose(got[i], want, rtol=1e-5, atol=1e-5)


def test_all_genes_excludes_other_selections(store_and_run):
    from claster.predict import select_windows
    from claster.errors import InputError

    store, _, _ = store_and_run
    with pytest.raises(InputError, match="exactly one"):
        select_windows(store, all_genes=True, chrom="chr1")
