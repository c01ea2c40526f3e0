"""Benchmarks: each ``bench_*.py`` here is a script that prints its figures and never fails on time.

``python -m tests.bench`` (``make bench``) runs them all, one after another.
"""
