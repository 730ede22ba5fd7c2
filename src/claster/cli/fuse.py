"""``claster fuse``: a fused link score (model effect + ABC features + distance), fitted on training chromosomes."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from claster.cli._app import app


@app.command("fuse")
def fuse_cmd(
    train_links: list[Path] = typer.Option(..., "--train-links", help="Links TSV(s) of the training chromosomes (`claster link`, best with --store); repeat to concatenate several."),
    links: list[Path] = typer.Option(..., "--links", help="Links TSV(s) to score with the fitted fusion (other chromosomes); repeat to concatenate several."),
    out: Path = typer.Option(..., "--out", "-o", help="Output links TSV with a fused_score column (0..1); the fitted coefficients go to OUT with suffix .fusion.json."),
    truth: Path = typer.Option(None, "--truth", help="EPCrisprBenchmark-format truth for the training links."),
    truth_from_simulation: Path = typer.Option(None, "--truth-from-simulation", help="A simulated genome's folder (truth/pairs.tsv) instead of --truth."),
    features: str = typer.Option(None, "--features", help="Comma-separated link columns to fuse, from delta, score, ABC.Score, contact, activity, activity_x_contact, distance. [default: those of delta, score, ABC.Score, contact, activity, distance present]"),
    l2: float = typer.Option(1e-2, "--l2", help="L2 penalty on the standardised coefficients.", show_default=True),
    force: bool = typer.Option(False, "--force", help="Overwrite OUT."),
) -> None:
    """Fit a logistic fusion of model Δ, ratio-to-max, ABC score, contact, activity and log distance on the
    truth pairs of the training links; apply it to --links (chromosomes the fit did not see)."""
    import warnings

    import pandas as pd

    from claster.errors import ClasterWarning, InputError
    from claster.io.writers import atomic_path
    from claster.link import check_truth, fit_link_fusion, read_crispr_truth, read_links_tsv, write_links_tsv
    from claster.link import truth_from_simulation as sim_truth

    if (truth is None) == (truth_from_simulation is None):
        raise InputError("give exactly one of --truth FILE or --truth-from-simulation SIMDIR")
    coef_path = out.with_suffix(".fusion.json")
    for p in (out, coef_path):
        if p.exists() and not force:
            raise InputError(f"{p} exists; pass --force to overwrite it")
    truth_df = check_truth(read_crispr_truth(truth) if truth is not None else sim_truth(truth_from_simulation))
    train = pd.concat([read_links_tsv(p) for p in train_links], ignore_index=True)
    apply_to = pd.concat([read_links_tsv(p) for p in links], ignore_index=True)
    train_chroms = set(train["chr"].astype(str))
    shared = sorted(train_chroms & set(apply_to["chr"].astype(str)))
    if shared:
        warnings.warn(f"--links share chromosome(s) {', '.join(shared)} with --train-links: their fused scores "
                      "are not held out", ClasterWarning, stacklevel=1)
    truth_df = truth_df[truth_df["chrom"].astype(str).isin(train_chroms)].reset_index(drop=True)
    if truth_df.empty:
        raise InputError("no truth pair on the chromosomes of --train-links")
    feats = [f.strip() for f in features.split(",") if f.strip()] if features else None
    model = fit_link_fusion(train, truth_df, features=feats, l2=l2)
    fused = model.apply(apply_to)
    write_links_tsv(fused, out)
    info = {**model.to_dict(), "train_links": [str(p) for p in train_links], "links": [str(p) for p in links],
            "shared_chroms": shared}
    with atomic_path(coef_path) as tmp:
        tmp.write_text(json.dumps(info, indent=2) + "\n")
    coefs = ", ".join(f"{k} {v:+.2f}" for k, v in model.to_dict()["coef"].items())
    typer.echo(f"fused scores for {len(fused):,} links written to {out}; fitted on {model.info['n_matched']:,} "
               f"truth pairs ({model.info['n_unmatched']:,} unmatched); coefficients ({coefs}) in {coef_path}")
