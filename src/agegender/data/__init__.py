"""Datasets: importers that produce one manifest, splits, and the packed face cache."""
