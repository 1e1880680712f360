"""The operator's web view (`betpipe dashboard`): state, config edits, metrics, the drill app."""
from pipeline.programs.dashboard.program import main

__all__ = ["main"]
