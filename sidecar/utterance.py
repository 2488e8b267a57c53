"""One utterance's request and output, without gRPC: validate what a client asked for, then
turn native 80 fps frames into what it gets (resampled or time-warped, with blend shapes)."""

from __future__ import annotations

import asyncio
import time
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from sidecar.prepare import Preparer
from sidecar.scheduler import Scheduler, UtteranceHandle
from text2lips import FRAME_DIM, Text2LipsError
from text2lips.blendshapes import BlendshapeSmoother, default_calibration
from text2lips.runtime import ModelInfo, SynthesisOptions
from text2lips.runtime.output import OUTPUT_RATES, FrameOutput, OutputOptions

MAX_ID_CHARS = 256
"""Longest utterance_id accepted."""
MAX_SPEAKER_CHARS = 128
"""Longest speaker name accepted."""
MAX_REFERENCE_MM = 10_000.0
"""Largest |value| of a client reference (head-space millimetres; a face is ~200 mm)."""

__all__ = ["OUTPUT_RATES", "InvalidRequest", "MonotonicClock", "OutFrame", "PacingClock",
           "SpeakSpec", "Utterance", "validate"]


class InvalidRequest(Text2LipsError):
    """A request the server will not run (INVALID_ARGUMENT); the message names the bad value."""


@dataclass(frozen=True)
class SpeakSpec:
    """A Speak request as the core sees it."""

    text: str
    """What to say."""
    utterance_id: str
    """Echoed in every frame; empty until the servicer assigns one."""
    speaker: str = ""
    """A known speaker; empty: the model's default."""
    reference: np.ndarray | None = None
    """(60,) client neutral lips, overriding `speaker`; None: not given."""
    frame_rate: float = 0.0
    """0 or 80 native, 60 or 30 resampled."""
    target_duration_s: float = 0.0
    """> 0: time-warp to this length (buffers the whole utterance first)."""
    realtime: bool = False
    """Send each frame when the pacing clock reaches its time_s, not as soon as it is decoded."""
    pacing: int = 0
    """The Pacing enum value as sent (0 as fast as possible, 1 realtime; others are refused)."""

    @property
    def output_rate(self) -> float:
        return self.frame_rate or 80.0

    def options(self) -> SynthesisOptions:
        return SynthesisOptions(speaker=self.speaker or None, reference=self.reference)

    def output(self) -> OutputOptions:
        return OutputOptions(frame_rate=self.frame_rate,
                             target_duration_s=self.target_duration_s)


def validate(spec: SpeakSpec, info: ModelInfo, max_text_chars: int) -> SpeakSpec:
    """Raise InvalidRequest naming the first problem; returns the spec unchanged when fine."""
    text = spec.text
    for name, value, limit in (("utterance_id", spec.utterance_id, MAX_ID_CHARS),
                               ("speaker", spec.speaker, MAX_SPEAKER_CHARS)):
        # Both are echoed in every frame and logged: an unbounded one multiplies output.
        if len(value) > limit:
            raise InvalidRequest(f"{name} has {len(value)} characters; the limit is {limit}")
    if spec.pacing not in (0, 1):
        raise InvalidRequest(
            f"pacing {spec.pacing} is not a Pacing value; use 0 (as fast as possible) or 1 "
            "(realtime)"
        )
    if not text.strip():
        raise InvalidRequest("text is empty (or only whitespace)")
    if len(text) > max_text_chars:
        raise InvalidRequest(f"text has {len(text)} characters; the limit is {max_text_chars}")
    for i, ch in enumerate(text):
        # Ordinary whitespace (tab, newline, carriage return) is fine; other C0/C1 controls
        # are not text, and a NUL can truncate it in C clients down the line.
        if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r":
            raise InvalidRequest(
                f"text contains control character U+{ord(ch):04X} at position {i}"
            )
    try:
        spec.output().check()
    except Text2LipsError as exc:
        raise InvalidRequest(str(exc)) from None
    if spec.reference is not None:
        ref = spec.reference
        if ref.shape != (FRAME_DIM,):
            raise InvalidRequest(
                f"reference has {ref.size} values; it needs {FRAME_DIM} (20 lip points x, y, z, mm)"
            )
        bad = np.flatnonzero(~np.isfinite(ref) | (np.abs(ref) > MAX_REFERENCE_MM))
        if bad.size:
            raise InvalidRequest(
                f"reference value {int(bad[0])} is {float(ref[bad[0]])!r}; all {FRAME_DIM} "
                f"must be finite millimetres within +-{MAX_REFERENCE_MM:g}"
            )
    elif spec.speaker and spec.speaker not in info.speakers:
        known = ", ".join(sorted(info.speakers)) or "none"
        raise InvalidRequest(f"unknown speaker {spec.speaker!r}; known speakers: {known}")
    # Whether anything is speakable is decided where the text is normalised (sidecar.prepare,
    # off the event loop): normalising a long digit string here took 0.4 s of the loop.
    return spec


@dataclass(frozen=True)
class OutFrame:
    """One frame as a client receives it."""

    utterance_id: str
    index: int
    """0, 1, 2, ... at the output rate."""
    time_s: float
    """When to show it, from the start of the utterance."""
    landmarks: np.ndarray
    """(60,) float32 head space, mm."""
    blendshapes: np.ndarray
    """(len(BLENDSHAPE_NAMES),) float32 in [0, 1], smoothed over the utterance."""
    last: bool


class PacingClock(Protocol):
    """What realtime pacing reads and waits on: the wall clock when serving, a test's clock
    that moves only when told (so tests drive pacing without sleeping)."""

    def now(self) -> float:
        """Seconds on a clock that never goes back."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return once `seconds` have passed on this clock."""
        ...


class MonotonicClock:
    """The server's pacing clock: time.monotonic, waited on with asyncio.sleep."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class Pacer:
    """Realtime pacing: wait until `time_s` after the first frame was sent, on `clock`."""

    def __init__(self, realtime: bool, clock: PacingClock | None = None) -> None:
        self.realtime = realtime
        self.clock = clock or MonotonicClock()
        self._t0: float | None = None

    async def wait(self, time_s: float) -> None:
        if not self.realtime:
            return
        now = self.clock.now()
        if self._t0 is None:
            self._t0 = now
            return
        delay = self._t0 + time_s - now
        if delay > 0:
            await self.clock.sleep(delay)


class Utterance:
    """One running utterance: submitted to the scheduler, iterated for client frames.

    Made by `Utterance.start`. The caller must `cancel()` it in a finally (it gives the
    capacity back, and leaves the batch when not finished): a call that ends early (client
    cancel, deadline, Converse cancel) thereby frees its batch slot before the next step.
    """

    def __init__(self, spec: SpeakSpec, handle: UtteranceHandle, native_rate: float,
                 clock: PacingClock | None = None) -> None:
        self.spec = spec
        self.handle = handle
        options = spec.output()
        # At the native rate frames pass straight through and their weights arrive smoothed
        # (the handle's smoother, stepped on the decode thread); otherwise FrameOutput retimes
        # and smooths them here.
        self._native = options.rate == native_rate and not options.target_duration_s
        self._output = FrameOutput(options, native_rate)
        self._pacer = Pacer(spec.realtime, clock)
        self.sent = 0
        """Frames handed to the client so far."""
        self.finished = False
        """The last frame was sent."""

    @classmethod
    async def start(cls, spec: SpeakSpec, scheduler: Scheduler, native_rate: float,
                    preparer: Preparer | None = None,
                    clock: PacingClock | None = None) -> Utterance:
        """Take capacity, prepare the text off the event loop (normalised once, held to the
        work budget, timed by espeak-ng for timed models), then submit it. A realtime
        utterance is paced on `clock` (default: the wall clock).

        Raises CapacityError, SchedulerClosed, BudgetExceeded or Text2LipsError."""
        reservation = scheduler.reserve()
        try:
            text, options = spec.text, spec.options()
            if preparer is not None:
                prepared = await preparer.prepare(spec.text)
                text = prepared.text
                if prepared.timeline is not None:
                    options = replace(options, timeline=prepared.timeline)
                else:  # a model that times itself: cap its length bound
                    bound = scheduler.synth.max_frames_for(len(text))
                    options = replace(options,
                                      max_frames=min(bound, preparer.budget.max_frames))
            # A client reference is no known speaker: the average calibration fits it best.
            calibration = default_calibration(
                None if spec.reference is not None else (spec.speaker or None)
            )
            output = spec.output()
            native = output.rate == native_rate and not output.target_duration_s
            handle = scheduler.submit(
                text, options, calibration, reservation=reservation,
                smoother=BlendshapeSmoother(frame_rate=native_rate) if native else None,
            )
        except BaseException:
            reservation.release()
            raise
        return cls(spec, handle, native_rate, clock)

    async def frames(self) -> AsyncIterator[OutFrame]:
        """Client frames in order; raises the decoder's error (Text2LipsError, DecodeFailure)."""
        uid = self.spec.utterance_id
        async for decoded in self.handle:
            f = decoded.frame
            if self._native:
                if self.handle.cancelled:
                    return
                await self._pacer.wait(f.time_s)
                if self.handle.cancelled:  # cancelled while pacing: send nothing more
                    return
                self.sent += 1
                self.finished = f.last
                yield OutFrame(uid, f.index, f.time_s, f.landmarks, decoded.blendshapes, f.last)
                continue
            # Blend shapes were solved on the decode thread, a whole step at once.
            for out in self._output.push(f.landmarks, f.last, decoded.blendshapes,
                                         index=f.index, time_s=f.time_s):
                await self._pacer.wait(out.time_s)
                if self.handle.cancelled:  # cancelled while pacing: send nothing more
                    return
                self.sent += 1
                self.finished = out.last
                assert out.blendshapes is not None
                yield OutFrame(uid, out.index, out.time_s, out.landmarks, out.blendshapes,
                               out.last)

    def cancel(self) -> None:
        """Give the capacity back; leave the batch now when not finished."""
        if self.finished:
            self.handle.release()
        else:
            self.handle.cancel()
