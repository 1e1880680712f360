"""The test kit: what more than one test module needs, defined once.

- `poll`      poll(predicate, deadline_s, what): the one wait-with-a-deadline (never a bare sleep)
- `contracts` the contracts in ../shared/contracts, real data paths, free ports
- `builders`  plain documents: matches, odds-data, decisions, configs, sessions, ledger events
- `programs`  the real programs in subprocesses (start, stop, health, logs) and the CLI
- `http`      stand-in HTTP servers: the serve/reply helpers, a webhook recorder
- `pages`     odds pages in the sandbox's format and a server that answers with them
- `monitor`   the monitor program under test and its browser processes
- `bookmaker` the sandbox bookmaker: its odds page parsed, the program's home, live execute
- `replay`    a step-clock replay of the real programs

Shared fixtures (home, filled, recorder, pages, start_monitor, browser) are in tests/conftest.py;
so is the `slow` marker (set automatically; see there).
"""
