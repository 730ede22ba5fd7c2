"""Training: the Lightning plan around ``ClasterNet`` and the ``fit`` entry point (SPEC §4)."""

from claster.train._fit import fit, fit_normalisation, store_checksum, training_samples, versions

__all__ = ["fit", "fit_normalisation", "store_checksum", "training_samples", "versions"]
