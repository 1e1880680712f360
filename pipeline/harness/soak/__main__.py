import sys

from pipeline.harness.soak.run import main

sys.exit(main())
