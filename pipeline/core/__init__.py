"""The core every program imports: paths, clock, match keys, file bus, ledger, config, health."""
