"""Tests of the bookmakers the executor places bets with."""
