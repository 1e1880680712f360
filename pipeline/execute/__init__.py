"""The executor: places standing decisions with the bookmaker (`betpipe execute`)."""
from pipeline.execute.program import main

__all__ = ["main"]
