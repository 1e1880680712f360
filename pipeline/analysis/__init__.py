"""Analysis on real history (DESIGN: backtest semantics): the backtest, factor drilling and the
download of football-data.co.uk CSVs. Everything runs the same strategy code as live
(`pipeline.strategies.engine.decide`) on a `Book` built from ledger-shaped events.

- `backtest`: matches in kickoff order → decide → BET_PLACED / BET_SETTLED / halts → figures.
- `drill`: records (matches at level stakes, or a session's backtest bets) grouped by factors.
- `fetch`: `betpipe data fetch`, resumable, checking every file with the project's parser.
- `plot`: equity curves as a hand-written SVG.
`betpipe backtest` and `betpipe drill` live in `pipeline.cli.analysis`, `betpipe data fetch` in
`pipeline.cli.fetch`.
"""
