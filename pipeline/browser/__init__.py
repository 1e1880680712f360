"""Chromium launch, isolated profiles and page pools, for sources and bookmakers (DESIGN: Layout):
`launch` (the executable search, one persistent page, orphan clean-up) and `pool` (pages for
several threads at once)."""
