"""Operational entry points: the ``landplan`` CLI, the local cluster, demo data, benchmarks."""
