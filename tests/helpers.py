"""Test helpers shared by several test files (pytest puts tests/ on the import path)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import numpy as np

from text2lips.runtime import SynthesisOptions, Synthesizer

WAIT_S = 10.0
"""Upper bound for any single wait on a test server; tests normally take milliseconds."""


def wait_until(cond: Callable[[], bool], what: str) -> None:
    """Poll `cond` until it holds; fail naming `what` after WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


class StepClock:
    """A pacing clock (sidecar.utterance.PacingClock) that moves only when slept on or told:
    tests drive realtime pacing without waiting, and read back every wait."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds
        await asyncio.sleep(0)  # a real await point, as the wall clock's sleep is


def decode_with_joins(
    synth: Synthesizer, joins: dict[int, list[str]], max_frames: dict[str, int] | None = None
) -> dict[str, np.ndarray]:
    """Drive a BatchDecoder: texts join at the given steps (and leave when done); returns
    each text's (T, 60) displacements. `max_frames` fixes lengths (gate off) per text."""
    bd = synth.batch_decoder(max_batch=8)
    got: dict[str, list[np.ndarray]] = {}
    step = 0
    while step == 0 or len(bd):
        for t in joins.get(step, []):
            opts = (SynthesisOptions(max_frames=max_frames[t], stop=False) if max_frames
                    else SynthesisOptions())
            bd.add(t, t, opts)
        for key, frame in bd.step():
            got.setdefault(key, []).append(frame.displacement)
        step += 1
    return {k: np.stack(v) for k, v in got.items()}
