"""Tests of the executor (builders, poll and program helpers live in tests/kit)."""
