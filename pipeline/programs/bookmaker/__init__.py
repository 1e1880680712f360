"""The sandbox bookmaker: a local web bookmaker built from football-data CSVs on the home's clock."""
