"""Evaluation: predictions over a cache, metrics, plots and the side-by-side report."""
