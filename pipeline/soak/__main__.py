import sys

from pipeline.soak.run import main

sys.exit(main())
