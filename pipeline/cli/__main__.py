"""`python -m pipeline.cli` = the `betpipe` console script."""
import sys

from pipeline.cli import main

sys.exit(main())
