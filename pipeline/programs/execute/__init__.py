"""The executor: places standing decisions with the bookmaker (`betpipe execute`)."""


def main(home=None) -> int:
    """`betpipe execute`. Imported on call: the engine (which track and decide
    import) stay free of the program's heavy imports (the browser bookmaker)."""
    from pipeline.programs.execute.program import main as run

    return run(home)


__all__ = ["main"]
