"""Analyses of predictions: metrics (SPEC §5), perturbations (§6), linking and the CRISPRi benchmark
(§7), attribution (§8).

Import the submodules directly (``from claster.analysis.metrics import binwise_correlations``); this
package file stays free of imports so that importing one analysis never pulls in torch or captum.
"""
