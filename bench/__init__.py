"""Benchmarks: realistic, province-sized workloads for the parts that must be fast."""
