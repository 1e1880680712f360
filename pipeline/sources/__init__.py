"""Where odds and results come from: football-data CSVs, the sandbox, HKJC, replays."""
