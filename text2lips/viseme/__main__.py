"""`python -m text2lips.viseme`: fit the viseme baseline on the LRS3 training split."""

import argparse

from text2lips.viseme.model import add_arguments, run

parser = argparse.ArgumentParser(prog="python -m text2lips.viseme", description=run.__doc__)
add_arguments(parser)
raise SystemExit(run(parser.parse_args()))
