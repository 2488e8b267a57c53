"""The phoneme-timed lip model: a small non-autoregressive network that renders lips on a
PhonemeTimeline (timing comes from outside; the network learns shapes and coarticulation)."""
