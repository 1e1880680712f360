"""Chat notifications (`betpipe notify`): messages, webhook delivery, the program."""
from pipeline.programs.notify.program import main

__all__ = ["main"]
