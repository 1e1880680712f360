"""The bad-input corpus (issue 8): corpus.py makes the bad files; the tests run them through
the parse functions and the real programs."""
