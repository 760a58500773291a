"""Benchmarks: throughput and latency on the real local stack (see bench/README.md)."""
