"""Benchmarks: a province-scale synthetic dataset, this API against tipg, the database floor.

Results go to docs/benchmarks.md. Run with ``make bench``.
"""
