"""``claster report``: one self-contained HTML report of a run directory (calls :func:`claster.report.build_report`)."""

from __future__ import annotations

from pathlib import Path

import typer

from claster.cli._app import app


@app.command("report")
def report_cmd(
    run_dir: Path = typer.Argument(
        ..., help="Run directory: the output of `claster demo --out DIR` or one `claster train` run.",
        show_default=False,
    ),
    out: Path = typer.Option(
        None, "--out", "-o",
        help="Output HTML file. Default: RUN_DIR/report.html.", show_default=False,
    ),
    title: str = typer.Option(None, "--title", help="Page title. Default: 'claster report: <RUN_DIR name>'.",
                              show_default=False),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output file.", show_default=True),
) -> None:
    """Write one self-contained HTML report (figures embedded, no network) of a run directory."""
    from claster.errors import InputError
    from claster.report import build_report

    out = out if out is not None else run_dir / "report.html"
    if out.exists() and not force:
        raise InputError(f"{out} already exists; pass --force to overwrite it or choose another --out")
    path = build_report(run_dir, out, title=title)
    typer.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
