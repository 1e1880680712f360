"""betpipe: a pre-match football betting pipeline of small programs that talk through files."""
