"""Tests of pipeline.sources."""
