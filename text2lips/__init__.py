"""text2lips: text in, talking lips out — streaming lip-landmark synthesis for game engines."""

__version__ = "0.1.0"

FRAME_RATE = 80.0
"""Native output rate: one frame every 12.5 ms, as in the paper."""

N_LIP_POINTS = 20
"""Lip landmarks per frame: iBUG 68-point layout, points 48-67 (outer 48-59, inner 60-67)."""

FRAME_DIM = N_LIP_POINTS * 3
"""Values per frame: x, y, z of each lip landmark (mm, head space), point-major."""


class Text2LipsError(Exception):
    """An error a user can act on; the CLI prints its message on one line and exits 2."""
