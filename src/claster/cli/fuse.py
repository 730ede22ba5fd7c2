"""``claster fuse``: a fused link score (model ratio-to-max + distance prior), fitted on training chromosomes."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from claster.cli._app import app


@app.command("fuse")
def fuse_cmd(
    train_links: Path = typer.Option(..., "--train-links", help="Links (`claster link` TSV) of the training chromosomes."),
    links: Path = typer.Option(..., "--links", help="Links to score with the fitted fusion (e.g. the test chromosome)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output links TSV with a fused_score column."),
    truth: Path = typer.Option(None, "--truth", help="EPCrisprBenchmark-format truth for the training links."),
    truth_from_simulation: Path = typer.Option(None, "--truth-from-simulation", help="A simulated genome's folder (truth/pairs.tsv) instead of --truth."),
    score_col: str = typer.Option("score", "--score-col", help="Model score column of the links.", show_default=True),
    force: bool = typer.Option(False, "--force", help="Overwrite OUT."),
) -> None:
    """Fit a logistic fusion of the model score and log10 distance on training-chromosome links;
    apply it to --links."""
    from claster.link import check_links, check_truth, read_crispr_truth, read_links, score_truth_pairs
    from claster.link import truth_from_simulation as sim_truth
    from claster.link import fit_fused_score
    from claster.link import read_links_tsv, write_links_tsv
    from claster.errors import InputError

    if (truth is None) == (truth_from_simulation is None):
        raise InputError("give exactly one of --truth FILE or --truth-from-simulation SIMDIR")
    if out.exists() and not force:
        raise InputError(f"{out} exists; pass --force to overwrite it")
    truth_df = check_truth(read_crispr_truth(truth) if truth is not None else sim_truth(truth_from_simulation))
    train = check_links(read_links(train_links, score_col=score_col, gene_col="TargetGene"), score_col=score_col)
    truth_df = truth_df[truth_df["chrom"].astype(str).isin(set(train["chr"].astype(str)))].reset_index(drop=True)
    if truth_df.empty:
        raise InputError("no truth pair on the chromosomes of --train-links")
    scores, _, _ = score_truth_pairs(truth_df, train, score_col=score_col)
    model = fit_fused_score(scores, truth_df["distanceToTSS"].to_numpy(), truth_df["Regulated"].to_numpy(bool))
    fused = model.apply(read_links_tsv(links), score_col=score_col)
    write_links_tsv(fused, out)
    out.with_suffix(".fusion.json").write_text(json.dumps(model.to_dict(), indent=2))
    typer.echo(f"fused scores for {len(fused)} links written to {out} (weights in {out.with_suffix('.fusion.json')})")
