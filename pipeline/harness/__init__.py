"""What scripts and tests run the pipeline with (DESIGN: Layout): `supervise` (a pipeline under
supervisord), `soak` (a month in minutes), `invariants` (what must hold of a home at any time).
Only the harness and the CLI may import a program."""
