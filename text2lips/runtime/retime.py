"""Retiming of lip frames: causal streaming resampling from the native 80 fps to an engine's
rate, and time-warping a finished utterance to a target duration (to match a TTS clip)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from text2lips import Text2LipsError


@dataclass(frozen=True)
class RetimedFrame:
    """One output frame of a retimed stream."""

    index: int
    """0, 1, 2, ... at the output rate."""
    time_s: float
    """index / output rate: when to show the frame, from the start of the utterance."""
    values: np.ndarray
    """The interpolated frame, (D,) float32 (60 landmark values in practice)."""
    last: bool
    """Set on the final frame of the utterance."""


def _rate(value: float, what: str) -> Fraction:
    if not (math.isfinite(value) and value > 0):
        raise Text2LipsError(
            f"{what} must be a positive number of frames per second, got {value!r}"
        )
    # Exact ratios (80/60 = 4/3) keep output frames on the native grid where they should be,
    # where floats would drift (k * 80 / 60 is not always exact).
    return Fraction(value).limit_denominator(1000)


class StreamResampler:
    """Causal linear resampling of a frame stream from `src_rate` to `dst_rate`.

    Output frame k (time k / dst_rate) lies at native position p = k * src_rate / dst_rate and
    is emitted as soon as native frame ceil(p) has been pushed: at most one native frame of
    latency, and only the previous native frame is kept. When the last native frame falls
    between two output instants, one extra output frame holds it, so the closing lip shape is
    always shown and the output lasts at least as long as the input.
    """

    def __init__(self, src_rate: float, dst_rate: float) -> None:
        self._step = _rate(src_rate, "source rate") / _rate(dst_rate, "output rate")
        self._dst = float(dst_rate)
        self._k = 0  # next output index
        self._n = -1  # index of the last native frame pushed
        self._prev: np.ndarray | None = None
        self._done = False

    def push(self, frame: np.ndarray, last: bool = False) -> list[RetimedFrame]:
        """Add the next native frame (D,); returns the output frames it completes, in order."""
        if self._done:
            raise Text2LipsError("StreamResampler.push after the last frame")
        cur = np.asarray(frame, dtype=np.float32)
        self._n += 1
        n = self._n
        out: list[RetimedFrame] = []
        while (p := self._k * self._step) <= n:
            frac = float(p - (n - 1))  # in (0, 1]: p lies in (n - 1, n] (earlier ones were emitted)
            if frac >= 1.0 or self._prev is None:
                values = cur.copy()
            else:
                values = ((1.0 - frac) * self._prev + frac * cur).astype(np.float32)
            out.append(RetimedFrame(self._k, self._k / self._dst, values, False))
            self._k += 1
        if last:
            self._done = True
            if not out or (self._k - 1) * self._step < n:
                # The final native frame was not sampled exactly: hold it one more output frame.
                out.append(RetimedFrame(self._k, self._k / self._dst, cur.copy(), True))
                self._k += 1
            else:
                tail = out[-1]
                out[-1] = RetimedFrame(tail.index, tail.time_s, tail.values, True)
        self._prev = cur
        return out


def time_warp(frames: np.ndarray, target_duration_s: float, rate: float) -> np.ndarray:
    """Stretch or squeeze a finished utterance (T, D) so it lasts `target_duration_s` at `rate`.

    Returns (round(target_duration_s * rate), D) frames (at least 1). The first and last input
    frames map onto the first and last output frames (the neutral start and end poses survive),
    and everything between is linearly interpolated at uniformly spaced positions.
    """
    return np.concatenate(list(time_warp_chunks(frames, target_duration_s, rate)))


def time_warp_chunks(frames: np.ndarray, target_duration_s: float, rate: float,
                     chunk: int = 256) -> Iterator[np.ndarray]:
    """`time_warp` a piece at a time: (<= chunk, D) arrays, in order, made as they are asked
    for, so a 600 s target never exists in memory at once."""
    x = np.asarray(frames, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] == 0:
        raise Text2LipsError(f"time_warp needs frames of shape (T, D) with T >= 1, got {x.shape}")
    if not (math.isfinite(target_duration_s) and target_duration_s > 0):
        raise Text2LipsError(
            f"target duration must be a positive number of seconds, got {target_duration_s!r}"
        )
    _rate(rate, "output rate")
    if chunk < 1:
        raise Text2LipsError(f"chunk={chunk}: must be >= 1")
    return _warp(x, max(1, round(target_duration_s * rate)), chunk)


def _warp(x: np.ndarray, n_out: int, chunk: int) -> Iterator[np.ndarray]:
    n_in = x.shape[0]
    for start in range(0, n_out, chunk):
        stop = min(start + chunk, n_out)
        if n_in == 1:
            yield np.repeat(x, stop - start, axis=0)
            continue
        if n_out == 1:
            yield x[:1].copy()
            return
        pos = np.arange(start, stop, dtype=np.float64) * ((n_in - 1) / (n_out - 1))  # (c,)
        i0 = np.minimum(np.floor(pos).astype(np.int64), n_in - 2)
        frac = (pos - i0)[:, None]  # (c, 1)
        yield ((1.0 - frac) * x[i0] + frac * x[i0 + 1]).astype(np.float32)  # (c, D)
