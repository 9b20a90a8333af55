"""Synthetic data with planted ground truth, for tests, trials and benchmarks."""
