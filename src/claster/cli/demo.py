"""``claster demo``: the whole method on a simulated genome (calls :func:`claster.demo.run_demo`)."""

from __future__ import annotations

from pathlib import Path

import typer

from claster.cli._app import app


@app.command("demo")
def demo_cmd(
    out: Path = typer.Option(Path("demo_out"), "--out", "-o", help="Output directory (report.html, summary.json, every step's folder).", show_default=True),
    seed: int = typer.Option(0, "--seed", help="Seed of the simulated genome and of training.", show_default=True),
    force: bool = typer.Option(False, "--force", help="Redo every step (by default finished steps are skipped)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
) -> None:
    """Simulate, prepare, train, evaluate, perturb, link, benchmark, attribute and report (< 20 min on 2 cores)."""
    from claster.demo import DemoConfig, run_demo

    summary = run_demo(out, config=DemoConfig(seed=seed), force=force, progress=not quiet)
    ev = summary["evaluation"]
    lines = [f"{v}: bin-wise Pearson {m['binwise_pearson']:.3f}" for v, m in ev.items()]
    typer.echo("; ".join(lines) + f"\nreport: {out / 'report.html'}")
