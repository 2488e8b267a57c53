"""Causal One-Euro smoothing of blend-shape weights: one filter per utterance, and a step that
advances many utterances' filters at once (the sidecar's decode loop, one call per step)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from text2lips import FRAME_RATE, Text2LipsError

__all__ = ["BlendshapeSmoother"]


class BlendshapeSmoother:
    """Causal One-Euro filter over weight vectors; one instance per utterance (or `reset()`).

    It adds no frame of delay: fast moves (speech onsets, closures) pass with a high cutoff
    while slow jitter is damped by `min_cutoff`. The default cutoff keeps a step's lag within
    one frame at 80 fps, whatever its size. Casiez et al., CHI 2012.
    """

    def __init__(
        self, frame_rate: float = FRAME_RATE, min_cutoff: float = 6.0, beta: float = 0.5,
        d_cutoff: float = 5.0,
    ) -> None:
        if not (frame_rate > 0 and min_cutoff > 0 and d_cutoff > 0 and beta >= 0):
            raise Text2LipsError(
                f"smoother needs frame_rate, min_cutoff, d_cutoff > 0 and beta >= 0, got "
                f"{frame_rate=}, {min_cutoff=}, {d_cutoff=}, {beta=}"
            )
        self.frame_rate, self.min_cutoff = frame_rate, min_cutoff
        self.beta, self.d_cutoff = beta, d_cutoff
        self.reset()

    def reset(self) -> None:
        """Forget the previous utterance."""
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None

    def _alpha(self, cutoff: np.ndarray | float) -> np.ndarray | float:
        tau = 1.0 / (2.0 * math.pi * cutoff)
        return 1.0 / (1.0 + tau * self.frame_rate)

    def __call__(self, weights: np.ndarray) -> np.ndarray:
        """(K,) one frame or (T, K) consecutive frames -> smoothed, same shape, in [0, 1]."""
        w = np.asarray(weights, dtype=np.float64)
        frames = w[None] if w.ndim == 1 else w
        if frames.ndim != 2:
            raise Text2LipsError(f"smoother expects (K,) or (T, K) weights, got shape {w.shape}")
        out = np.empty_like(frames)
        a_d = self._alpha(self.d_cutoff)
        for t, x in enumerate(frames):
            if self._x is None:
                self._x, self._dx = x.copy(), np.zeros_like(x)
            else:
                if x.shape != self._x.shape:
                    raise Text2LipsError(
                        f"smoother got {x.shape[0]} weights, expected {self._x.shape[0]}"
                    )
                self._dx = self._dx + a_d * ((x - self._x) * self.frame_rate - self._dx)
                a = self._alpha(self.min_cutoff + self.beta * np.abs(self._dx))
                self._x = self._x + a * (x - self._x)
            out[t] = self._x
        out = np.clip(out, 0.0, 1.0).astype(np.float32)
        return out[0] if w.ndim == 1 else out

    @staticmethod
    def step_many(smoothers: Sequence[BlendshapeSmoother], weights: np.ndarray) -> np.ndarray:
        """Advance each smoother by one frame, row i of `weights` (n, K) into smoothers[i],
        in one set of array operations; the same values as calling each on its row. All must
        share their settings (frame rate and cutoffs)."""
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 2 or len(w) != len(smoothers):
            raise Text2LipsError(
                f"step_many needs one row per smoother, got {w.shape} for {len(smoothers)}"
            )
        if not smoothers:
            return np.zeros(w.shape, np.float32)
        first = smoothers[0]
        key = (first.frame_rate, first.min_cutoff, first.beta, first.d_cutoff)
        fresh = np.array([s._x is None for s in smoothers])  # (n,)
        x_prev = np.stack([w[i] if s._x is None else s._x for i, s in enumerate(smoothers)])
        dx_prev = np.stack([np.zeros_like(w[i]) if s._dx is None else s._dx
                            for i, s in enumerate(smoothers)])  # (n, K)
        for s in smoothers:
            if (s.frame_rate, s.min_cutoff, s.beta, s.d_cutoff) != key:
                raise Text2LipsError("step_many needs smoothers with the same settings")
        a_d = first._alpha(first.d_cutoff)
        dx = dx_prev + a_d * ((w - x_prev) * first.frame_rate - dx_prev)
        a = first._alpha(first.min_cutoff + first.beta * np.abs(dx))
        x = x_prev + a * (w - x_prev)
        x[fresh] = w[fresh]
        dx[fresh] = 0.0
        for i, s in enumerate(smoothers):
            s._x, s._dx = x[i], dx[i]
        return np.clip(x, 0.0, 1.0).astype(np.float32)
