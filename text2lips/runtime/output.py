"""What a caller gets from native 80 fps frames: the same frames, resampled to 60 or 30 fps, or
time-warped to a target length, with smoothed blend-shape weights. One path for the sidecar's
wire and for `text2lips speak`."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from text2lips import FRAME_DIM, FRAME_RATE, Text2LipsError
from text2lips.blendshapes import (
    BlendshapeCalibration,
    BlendshapeSmoother,
    default_calibration,
    solve,
)
from text2lips.runtime.retime import StreamResampler, time_warp_chunks

OUTPUT_RATES = (80.0, 60.0, 30.0)
"""Output frame rates besides 0 (= native 80)."""
MIN_TARGET_S, MAX_TARGET_S = 0.1, 600.0
"""Accepted range of a target duration (0 = off)."""
WARP_CHUNK = 64
"""Time-warped frames made at a time: output is streamed, never built whole."""
_F32_SLACK = 1e-6  # 0.1 sent as a float32 arrives as 0.10000000149


@dataclass(frozen=True)
class OutputOptions:
    """How native frames are turned into output frames."""

    frame_rate: float = 0.0
    """0 or 80: native; 60 or 30: causally resampled."""
    target_duration_s: float = 0.0
    """> 0: time-warp the utterance to last this long (output starts once it is decoded)."""
    blendshapes: bool = True
    """Solve and smooth blend-shape weights for every frame."""

    @property
    def rate(self) -> float:
        """The output frame rate (frames per second)."""
        return self.frame_rate or FRAME_RATE

    def check(self) -> OutputOptions:
        """Raise Text2LipsError naming the bad value; returns self when fine."""
        if not (self.frame_rate == 0 or self.frame_rate in OUTPUT_RATES):
            raise Text2LipsError(
                f"frame_rate {self.frame_rate!r} is not supported; use 0 (native 80), 80, 60 "
                "or 30"
            )
        t = self.target_duration_s
        if not (t == 0 or (math.isfinite(t)
                           and MIN_TARGET_S - _F32_SLACK <= t <= MAX_TARGET_S + _F32_SLACK)):
            raise Text2LipsError(
                f"target_duration_s {t!r} is outside [{MIN_TARGET_S}, {MAX_TARGET_S:g}] (0 = off)"
            )
        return self


@dataclass(frozen=True)
class OutputFrame:
    """One frame as a caller receives it."""

    index: int
    """0, 1, 2, ... at the output rate."""
    time_s: float
    """When to show it, from the start of the utterance."""
    landmarks: np.ndarray
    """(60,) float32 head space, mm."""
    blendshapes: np.ndarray | None
    """(len(BLENDSHAPE_NAMES),) float32 in [0, 1], smoothed over the utterance; None when
    OutputOptions.blendshapes is off."""
    last: bool


class FrameOutput:
    """Native frames in, output frames out: rate conversion or time warp, then smoothing.

    At the native rate and with no target duration every frame passes straight through. At 60
    or 30 fps a causal resampler holds at most one native frame. A target duration is only
    reachable once the utterance's length is known, so warping keeps the native frames (one
    compact row each) and, at the last one, yields the warped frames a chunk at a time as the
    caller iterates. Blend-shape weights (given per native frame, or solved here) are retimed
    with the landmarks, then smoothed at the output rate.
    """

    def __init__(self, options: OutputOptions, native_rate: float = FRAME_RATE,
                 calibration: BlendshapeCalibration | None = None) -> None:
        self.options = options.check()
        rate = options.rate
        self._calibration = calibration
        self._resampler = (
            StreamResampler(native_rate, rate)
            if rate != native_rate and not options.target_duration_s else None
        )
        self._buffer: list[np.ndarray] | None = [] if options.target_duration_s else None
        self._smoother = BlendshapeSmoother(frame_rate=rate) if options.blendshapes else None
        self._pushed = 0  # native frames so far

    def push(self, landmarks: np.ndarray, last: bool, weights: np.ndarray | None = None,
             index: int | None = None, time_s: float | None = None) -> Iterator[OutputFrame]:
        """Frames completed by this native frame (60,), lazily (often one; none while
        buffering). `weights` are its blend-shape weights; None: solved here when wanted.
        `index`/`time_s` are the native frame's own, passed through at the native rate."""
        if self._smoother is not None and weights is None:
            weights = solve(np.asarray(landmarks, np.float32)[None],
                            self._calibration or default_calibration())[0]
        if weights is None or self._smoother is None:
            weights = np.zeros(0, np.float32)
        native, self._pushed = self._pushed, self._pushed + 1
        both = np.concatenate([np.asarray(landmarks, np.float32), weights])  # (60 + K,)
        if self._buffer is not None:
            self._buffer.append(both)
            if not last:
                return iter(())
            buffered, self._buffer = np.stack(self._buffer), []  # (T, 60 + K)
            return self._warped(buffered)
        if self._resampler is None:
            index = native if index is None else index
            t = index / self.options.rate if time_s is None else time_s
            return iter(self._finish(both[None], [(index, t, last)]))
        out = self._resampler.push(both, last=last)
        if not out:
            return iter(())
        values = np.stack([o.values for o in out])  # (n, 60 + K)
        return iter(self._finish(values, [(o.index, o.time_s, o.last) for o in out]))

    def _warped(self, buffered: np.ndarray) -> Iterator[OutputFrame]:
        rate = self.options.rate
        n = max(1, round(self.options.target_duration_s * rate))
        k = 0
        for part in time_warp_chunks(buffered, self.options.target_duration_s, rate,
                                     chunk=WARP_CHUNK):
            timing = [(i, i / rate, i == n - 1) for i in range(k, k + len(part))]
            k += len(part)
            yield from self._finish(part, timing)

    def _finish(self, values: np.ndarray,
                timing: list[tuple[int, float, bool]]) -> list[OutputFrame]:
        lips = values[:, :FRAME_DIM]
        smoothed = self._smoother(values[:, FRAME_DIM:]) if self._smoother is not None else None
        return [
            OutputFrame(index, time_s, lips[i].astype(np.float32, copy=False),
                        None if smoothed is None else smoothed[i], last)
            for i, (index, time_s, last) in enumerate(timing)
        ]


def output_frames(frames: Iterable[object], options: OutputOptions,
                  native_rate: float = FRAME_RATE,
                  calibration: BlendshapeCalibration | None = None) -> Iterator[OutputFrame]:
    """Output frames for a stream of native `Frame`s (Synthesizer.stream), as they come."""
    out = FrameOutput(options, native_rate, calibration)
    for f in frames:
        yield from out.push(f.landmarks, f.last, index=f.index, time_s=f.time_s)  # type: ignore[attr-defined]


__all__ = ["MAX_TARGET_S", "MIN_TARGET_S", "OUTPUT_RATES", "FrameOutput", "OutputFrame",
           "OutputOptions", "output_frames"]
