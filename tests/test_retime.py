"""Retiming: the streaming resampler matches offline interpolation, is causal, ends on the last
native frame; time_warp hits the target length and keeps the end poses."""

from __future__ import annotations

import numpy as np
import pytest

from text2lips import Text2LipsError
from text2lips.runtime.retime import StreamResampler, time_warp


def ramp(n: int, d: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)).cumsum(axis=0).astype(np.float32)  # (n, d)


def run_stream(x: np.ndarray, src: float, dst: float) -> tuple[list, list[int]]:
    """All output frames, and how many native frames had been pushed when each came out."""
    rs = StreamResampler(src, dst)
    out, pushed_at = [], []
    for i, frame in enumerate(x):
        for o in rs.push(frame, last=i == len(x) - 1):
            out.append(o)
            pushed_at.append(i + 1)
    return out, pushed_at


@pytest.mark.parametrize("dst", [60.0, 30.0, 80.0, 25.0])
@pytest.mark.parametrize("n", [1, 2, 3, 7, 41, 100])
def test_stream_matches_offline_interpolation(n: int, dst: float) -> None:
    x = ramp(n)
    out, _ = run_stream(x, 80.0, dst)
    idx = [o.index for o in out]
    assert idx == list(range(len(out)))
    times = np.array([o.time_s for o in out])
    np.testing.assert_allclose(times, np.arange(len(out)) / dst)
    # Offline reference: np.interp on the native time axis, holding the last frame beyond it.
    native_t = np.arange(n) / 80.0
    ref = np.stack([np.interp(times, native_t, x[:, j]) for j in range(x.shape[1])], axis=1)
    got = np.stack([o.values for o in out])
    np.testing.assert_allclose(got, ref, atol=1e-4)
    # Exactly one last frame, at the end, and it shows the final native frame.
    assert [o.last for o in out] == [False] * (len(out) - 1) + [True]
    np.testing.assert_allclose(out[-1].values, x[-1], atol=1e-5)
    # Long enough: the output reaches the last native instant, with less than a frame to spare.
    assert times[-1] >= native_t[-1] - 1e-9
    assert times[-1] - native_t[-1] < 1.0 / dst


def test_stream_is_causal_with_one_frame_latency() -> None:
    x = ramp(50)
    out, pushed_at = run_stream(x, 80.0, 60.0)
    for o, pushed in zip(out[:-1], pushed_at[:-1], strict=True):
        p = o.time_s * 80.0  # native position of this output frame
        # Emitted as soon as native frame ceil(p) existed, never later.
        assert pushed == int(np.ceil(p - 1e-9)) + 1


def test_stream_frame_counts() -> None:
    assert len(run_stream(ramp(41), 80.0, 30.0)[0]) == 16  # p = 0, 8/3, ..., 40 exactly
    assert len(run_stream(ramp(42), 80.0, 30.0)[0]) == 17  # 41 falls between: one held frame
    assert len(run_stream(ramp(80), 80.0, 60.0)[0]) == 61  # 0 .. 79/80 s, last held at 1.0 s


def test_stream_rejects_bad_use() -> None:
    with pytest.raises(Text2LipsError, match="output rate"):
        StreamResampler(80.0, 0.0)
    with pytest.raises(Text2LipsError, match="source rate"):
        StreamResampler(float("nan"), 30.0)
    rs = StreamResampler(80.0, 30.0)
    rs.push(np.zeros(3), last=True)
    with pytest.raises(Text2LipsError, match="after the last frame"):
        rs.push(np.zeros(3))


@pytest.mark.parametrize("n_in", [1, 2, 5, 41, 300])
@pytest.mark.parametrize(("target", "rate"), [(0.1, 30.0), (1.0, 80.0), (2.5, 60.0), (0.5, 80.0)])
def test_time_warp_length_and_ends(n_in: int, target: float, rate: float) -> None:
    x = ramp(n_in)
    y = time_warp(x, target, rate)
    assert y.shape == (round(target * rate), x.shape[1])
    assert y.dtype == np.float32
    np.testing.assert_allclose(y[0], x[0], atol=1e-5)
    if len(y) > 1:
        np.testing.assert_allclose(y[-1], x[-1], atol=1e-5)


def test_time_warp_is_linear_interpolation() -> None:
    x = np.arange(5, dtype=np.float32)[:, None]  # 0, 1, 2, 3, 4
    np.testing.assert_allclose(time_warp(x, 9 / 80, 80.0)[:, 0], np.arange(9) / 2)
    np.testing.assert_allclose(time_warp(x, 3 / 80, 80.0)[:, 0], [0, 2, 4])


def test_time_warp_rejects_bad_input() -> None:
    with pytest.raises(Text2LipsError, match="target duration"):
        time_warp(ramp(5), float("nan"), 80.0)
    with pytest.raises(Text2LipsError, match="target duration"):
        time_warp(ramp(5), -1.0, 80.0)
    with pytest.raises(Text2LipsError, match="shape"):
        time_warp(np.zeros((0, 3)), 1.0, 80.0)
