"""``claster train``: the SPEC §4 recipe on a store (calls :func:`claster.train.fit`)."""

from __future__ import annotations

from pathlib import Path

import typer

from claster.cli._app import app


@app.command("train")
def train_cmd(
    store: Path = typer.Option(None, "--store", help="Store directory from `claster prepare`."),
    variant: str = typer.Option(None, "--variant", help="landscape | landscape_attention | microc_rotated | microc_square | promchic. [default: landscape]"),
    out: Path = typer.Option(None, "--out", "-o", help="Run directory to create (checkpoints, logs, model/)."),
    config: Path = typer.Option(None, "--config", help="YAML with TrainConfig keys; flags override it."),
    recipe: str = typer.Option(None, "--recipe", help="Named defaults for every recipe option left unset: paper (SPEC §4 exactly: lr 1e-4, 2,000 warm-up steps, batch 64, raw inputs) or cpu (the short-CPU recipe of docs/results.md: lr 5e-4, 100 warm-up steps, batch 32, log1p inputs and targets, early stopping after 20 validations). [default: cpu]"),
    epochs: int = typer.Option(None, "--epochs", help="Maximum epochs. [default: recipe's, 120]"),
    max_steps: int = typer.Option(None, "--max-steps", help="Stop after this many optimiser steps."),
    max_minutes: float = typer.Option(None, "--max-minutes", help="Stop after this many minutes of training."),
    batch_size: int = typer.Option(None, "--batch-size", help="Samples per step. [default: recipe's; paper 64, cpu 32]"),
    lr: float = typer.Option(None, "--lr", help="AdamW learning rate after warm-up. [default: recipe's; paper 1e-4, cpu 5e-4]"),
    weight_decay: float = typer.Option(None, "--weight-decay", help="AdamW weight decay (none on Swish beta). [default: recipe's; paper 1e-4]"),
    warmup_steps: int = typer.Option(None, "--warmup-steps", help="Linear warm-up, optimiser steps. [default: recipe's; paper 2000, cpu 100]"),
    input_transform: str = typer.Option(None, "--input-transform", help="none | log1p: transform of the landscape before its standardisation, saved with the model. [default: recipe's; paper none]"),
    target_transform: str = typer.Option(None, "--target-transform", help="none | log1p: transform of the target before its per-bin standardisation; loss on that scale, predictions inverse-transformed. [default: recipe's; paper none]"),
    shift_bp: int = typer.Option(None, "--shift-bp", help="Shift augmentation: move each training window's centre by a uniform random offset in +-N bp (multiple of 100; landscape and target cut at the shifted centre; landscape-only variants). [default: recipe's; paper 0 = off]"),
    fc_dropout: float = typer.Option(None, "--fc-dropout", help="Dropout before each branch's flatten->Linear layer, probability. [default: recipe's; paper 0]"),
    fc_width: int = typer.Option(None, "--fc-width", help="Width of each branch's flatten->Linear layer, features. [default: recipe's; paper 512]"),
    head: str = typer.Option(None, "--head", help="dense | conv: 'conv' adds a translation-equivariant convolutional profile head on the landscape to the paper's dense head (docs/results.md). [default: recipe's; paper dense, cpu conv]"),
    context_bins: int = typer.Option(None, "--context-bins", help="Landscape window in 100 bp bins (odd). [default: 10001]"),
    output_bins: int = typer.Option(None, "--output-bins", help="Output bins of 1 kbp (odd). [default: 401]"),
    val_check_steps: int = typer.Option(None, "--val-check-steps", help="Validate every N steps (default: every epoch)."),
    early_stopping: int = typer.Option(None, "--early-stopping", help="Stop after N validations without improvement; 0 = never. The best checkpoint is exported either way. [default: recipe's; paper never]"),
    max_train_samples: int = typer.Option(None, "--max-train-samples", help="Use a seeded subset of N training genes."),
    shuffle_targets: bool = typer.Option(None, "--shuffle-targets/--no-shuffle-targets", help="Control run: permute targets across training genes. [default: off]"),
    strand_oriented: bool = typer.Option(None, "--strand-oriented/--genomic-orientation", help="Present minus-strand genes reversed (SPEC §10 option). [default: genomic]"),
    no_rev: bool = typer.Option(False, "--no-rev", help="Disable the reversed-copy augmentation."),
    seed: int = typer.Option(None, "--seed", help="Seed of weights, sample order and subsets. [default: 0]"),
    accelerator: str = typer.Option(None, "--accelerator", help="auto | cpu | gpu. [default: auto]"),
    devices: str = typer.Option(None, "--devices", help="Number of devices or a list like 0,1. [default: auto]"),
    strategy: str = typer.Option(None, "--strategy", help="Lightning strategy, e.g. ddp. [default: auto]"),
    num_nodes: int = typer.Option(None, "--num-nodes", help="Nodes for multi-node DDP. [default: 1]"),
    precision: str = typer.Option(None, "--precision", help="32-true | bf16-mixed | 16-mixed. [default: 32-true]"),
    threads: int = typer.Option(None, "--threads", help="CPU threads for torch."),
    checkpoint_every: int = typer.Option(None, "--checkpoint-every", help="Write last.ckpt every N steps. [default: 200]"),
    resume: bool = typer.Option(False, "--resume", help="Continue a stopped run from OUT/checkpoints/last.ckpt."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing run in OUT."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Train a CLASTER network (SPEC §4) and export the best model to OUT/model."""
    from claster.config import load_config
    from claster.config.train import TrainConfig
    from claster.train import fit

    cfg = load_config(
        TrainConfig, config,
        store=str(store) if store else None, variant=variant, out=str(out) if out else None, recipe=recipe,
        epochs=epochs, max_steps=max_steps, max_minutes=max_minutes, batch_size=batch_size, lr=lr,
        weight_decay=weight_decay, warmup_steps=warmup_steps, input_transform=input_transform,
        target_transform=target_transform, shift_bp=shift_bp, fc_dropout=fc_dropout, fc_width=fc_width, head=head,
        context_bins=context_bins, output_bins=output_bins, val_check_steps=val_check_steps,
        early_stopping_patience=early_stopping, max_train_samples=max_train_samples,
        shuffle_targets=shuffle_targets, strand_oriented=strand_oriented, augment_rev=False if no_rev else None,
        seed=seed, accelerator=accelerator, devices=devices, strategy=strategy, num_nodes=num_nodes,
        precision=precision, threads=threads, checkpoint_every_steps=checkpoint_every,
    )
    run = fit(cfg, resume=resume, force=force, progress=not quiet)
    typer.echo(f"model written to {run / 'model'}")
