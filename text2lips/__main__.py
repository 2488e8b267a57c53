"""`python -m text2lips` runs the command line, as the `text2lips` script does."""

import sys

from text2lips.cli import main

sys.exit(main())
