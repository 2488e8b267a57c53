"""Lip geometry in the training target space: slicing, centring, opening and resampling."""

from __future__ import annotations

import numpy as np

from text2lips import FRAME_DIM, FRAME_RATE, N_LIP_POINTS

LIP_INDICES = tuple(range(48, 68))
"""iBUG 68-point indices of the lips: outer 48-59, inner 60-67."""

INNER_UPPER, INNER_LOWER = 62 - 48, 66 - 48
"""Rows of the (20, 3) lip array whose distance is the inner-lip opening."""


def as_points(x: np.ndarray) -> np.ndarray:
    """(..., 60) or (..., 20, 3) -> (..., 20, 3) view."""
    x = np.asarray(x)
    if x.shape[-1] == FRAME_DIM:
        return x.reshape(*x.shape[:-1], N_LIP_POINTS, 3)
    if x.shape[-2:] == (N_LIP_POINTS, 3):
        return x
    raise ValueError(f"expected (..., 60) or (..., 20, 3) lip frames, got shape {x.shape}")


def centre(lips: np.ndarray) -> np.ndarray:
    """Remove each frame's lip centroid: (..., 20, 3) -> (..., 20, 3)."""
    lips = as_points(lips)
    return lips - lips.mean(axis=-2, keepdims=True)


def inner_opening(x: np.ndarray) -> np.ndarray:
    """Distance between inner-lip points 62 and 66 (mm): (..., 60|20x3) -> (...)."""
    p = as_points(x)
    return np.linalg.norm(p[..., INNER_UPPER, :] - p[..., INNER_LOWER, :], axis=-1)


def shape_from_target(target: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Training target (displacement) + centred speaker reference -> centred lip shape."""
    return as_points(target) + as_points(reference)


def target_from_lips(lips: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Absolute (T, 20, 3) lips -> (T, 60) displacement from the centred reference."""
    t = centre(lips) - as_points(reference)
    return t.reshape(len(t), FRAME_DIM).astype(np.float32)


def resample(
    values: np.ndarray, times: np.ndarray, rate: float = FRAME_RATE, duration: float | None = None
) -> np.ndarray:
    """Linearly resample (N, ...) samples taken at `times` (s) onto a `rate` grid from t=0.

    The grid covers [0, duration] (default: the last sample time); gaps left by dropped
    frames are bridged linearly, and the ends hold the nearest sample.
    """
    values = np.asarray(values, dtype=np.float64)
    end = float(times[-1]) if duration is None else duration
    n_out = int(np.floor(end * rate + 1e-6)) + 1
    grid = np.arange(n_out) / rate
    flat = values.reshape(len(values), -1)
    out = np.empty((n_out, flat.shape[1]))
    for j in range(flat.shape[1]):
        out[:, j] = np.interp(grid, times, flat[:, j])
    return out.reshape(n_out, *values.shape[1:])


def resample_frames(frames: np.ndarray, src_rate: float, dst_rate: float) -> np.ndarray:
    """Resample a uniformly sampled (T, ...) sequence from src_rate to dst_rate (same span)."""
    times = np.arange(len(frames)) / src_rate
    return resample(frames, times, dst_rate)
