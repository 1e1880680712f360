"""The track program (`betpipe track`): settlements, halts, reconciliation, data/results.json."""
