"""Benchmarks for issue 6: `bash bench/run` or `python -m bench` (see bench/README.md)."""
