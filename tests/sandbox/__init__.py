"""Tests of the sandbox bookmaker."""
