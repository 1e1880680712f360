"""Benchmarks run by scripts/bench: each module has `run(tmp: Path, args) -> dict`."""
