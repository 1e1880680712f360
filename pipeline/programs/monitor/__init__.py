"""The monitor program (`betpipe monitor`): the odds source -> data/odds-data.json."""
