"""Benchmark workloads, one module per library area; each exports WORKLOADS."""
