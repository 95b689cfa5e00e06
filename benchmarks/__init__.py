"""Benchmarks (measurements, not tests)."""
