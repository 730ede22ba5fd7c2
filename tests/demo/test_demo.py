"""`claster demo` end to end with tiny budgets: every step's output, the summary, the report, and a
rerun that skips finished steps."""

from __future__ import annotations

import json
from pathlib import Path


def test_demo_runs_every_step_and_reruns_instantly(tmp_path: Path, capsys):
    from claster.config.demo import DemoConfig
    from claster.demo import run_demo

    cfg = DemoConfig(train_minutes={"landscape": 0.05, "microc_rotated": 0.05}, attribution_samples=1,
                     attribution_bins="200:201", attribution_steps=2, batch_size=16)
    out = tmp_path / "demo"
    summary = run_demo(out, config=cfg, progress=False)
    for rel in ("genome/simulation.json", "store/genes.tsv", "runs/landscape/model/model.pt",
                "runs/microc_rotated/model/model.pt", "eval/landscape/metrics.json", "eval/comparison.png",
                "perturb/landscape/effects.tsv", "links/landscape.tsv", "links/landscape.bedpe",
                "benchmark/microc_rotated/metrics.json", "attribution/landscape/locality.tsv", "report.html"):
        assert (out / rel).is_file(), rel
    saved = json.loads((out / "summary.json").read_text())
    assert saved["evaluation"]["landscape"]["n_samples"] == 91  # usable chr4 genes of the seed-0 genome
    assert set(saved["benchmark"]) == {"landscape", "microc_rotated"}
    assert set(summary["timings_seconds"]) >= {"simulate", "prepare", "train landscape"}
    mtime = (out / "runs" / "landscape" / "model" / "model.pt").stat().st_mtime
    again = run_demo(out, config=cfg, progress=True)
    assert "done before, skipped" in capsys.readouterr().out
    assert (out / "runs" / "landscape" / "model" / "model.pt").stat().st_mtime == mtime
    assert again["timings_seconds"] == summary["timings_seconds"]
