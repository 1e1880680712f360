"""Chat notifications (`betpipe notify`): messages, webhook delivery, the program."""
from pipeline.notify.program import main

__all__ = ["main"]
