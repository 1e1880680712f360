"""History (DESIGN: Layout): football-data CSVs (`football_data`) and the simulated price paths
(`prices`) that the sandbox bookmaker and the replay source share."""
