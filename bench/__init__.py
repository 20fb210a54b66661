"""Benchmarks for streamer: ``python -m bench`` prints every figure next to its goal."""
