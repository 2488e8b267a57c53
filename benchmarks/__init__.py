"""`make bench`: speed of text2lips against real time and against the paper's inference style,
measured pair by pair in the same run (`python -m benchmarks --profile default|edge|...`)."""
