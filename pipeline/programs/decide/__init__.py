"""The decide program (`betpipe decide`): odds-data + config + ledger -> data/decisions.json."""
