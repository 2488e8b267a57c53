"""The output stage without a server: native frames of a real clip in, what the wire and
`speak` give out (60/30 fps, time warp streamed a chunk at a time, smoothed blend shapes)."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import numpy as np
import pytest

from text2lips import Text2LipsError
from text2lips.blendshapes import BLENDSHAPE_NAMES, BlendshapeSmoother, default_calibration, solve
from text2lips.data.dataset import load_clips
from text2lips.runtime.output import WARP_CHUNK, FrameOutput, OutputOptions
from text2lips.runtime.retime import StreamResampler, time_warp
from text2lips.testing import tiny_test_model


@pytest.fixture(scope="module")
def lips(data_dir) -> np.ndarray:
    clip = load_clips(data_dir, corpus="lrs3")[0]
    return np.asarray(clip.lips, np.float32).reshape(len(clip.lips), 60)  # (T, 60) real lips


def run(lips: np.ndarray, options: OutputOptions, weights: np.ndarray | None = None):
    out = FrameOutput(options)
    frames = []
    for i, row in enumerate(lips):
        w = None if weights is None else weights[i]
        frames += list(out.push(row, i == len(lips) - 1, w))
    return frames


def test_native_passes_lips_through_and_smooths_solved_weights(lips) -> None:
    frames = run(lips, OutputOptions())
    assert [f.index for f in frames] == list(range(len(lips)))
    np.testing.assert_allclose([f.time_s for f in frames], np.arange(len(lips)) / 80.0)
    assert [f.last for f in frames] == [False] * (len(lips) - 1) + [True]
    np.testing.assert_array_equal(np.stack([f.landmarks for f in frames]), lips)
    expected = BlendshapeSmoother()(solve(lips, default_calibration()))
    np.testing.assert_allclose(np.stack([f.blendshapes for f in frames]), expected, atol=1e-6)


def test_given_weights_are_used_and_blendshapes_can_be_off(lips) -> None:
    w = solve(lips, default_calibration())
    a = run(lips, OutputOptions(), weights=w)
    np.testing.assert_allclose(np.stack([f.blendshapes for f in a]),
                               BlendshapeSmoother()(w), atol=1e-6)
    off = run(lips, OutputOptions(blendshapes=False))
    assert all(f.blendshapes is None for f in off)


@pytest.mark.parametrize("rate", [60.0, 30.0])
def test_resampled_rate_matches_the_stream_resampler(lips, rate) -> None:
    frames = run(lips, OutputOptions(frame_rate=rate))
    rs = StreamResampler(80.0, rate)
    ref = [o for i, row in enumerate(lips) for o in rs.push(row, last=i == len(lips) - 1)]
    assert [f.index for f in frames] == [o.index for o in ref]
    np.testing.assert_allclose(np.stack([f.landmarks for f in frames]),
                               np.stack([o.values for o in ref]), atol=1e-5)
    assert frames[-1].last and not any(f.last for f in frames[:-1])
    assert len(frames[0].blendshapes) == len(BLENDSHAPE_NAMES)


def test_time_warp_is_streamed_and_equals_the_whole_warp(lips) -> None:
    target = 600.0  # the longest allowed: 48,000 frames at 80 fps
    out = FrameOutput(OutputOptions(target_duration_s=target, blendshapes=False))
    for row in lips[:-1]:
        assert list(out.push(row, False)) == []
    it = out.push(lips[-1], True)
    # Lazy: taking a few frames makes one chunk, not the whole 600 s.
    head = list(itertools.islice(it, 3))
    assert [f.index for f in head] == [0, 1, 2]
    assert it.gi_frame is not None  # type: ignore[attr-defined] -- a live generator
    rest = list(it)
    frames = head + rest
    assert len(frames) == 48_000 and frames[-1].last and frames[-1].index == 47_999
    whole = time_warp(lips, target, 80.0)
    sample = np.r_[0:WARP_CHUNK + 2, 47_990:48_000]
    np.testing.assert_allclose(np.stack([frames[i].landmarks for i in sample]), whole[sample],
                               atol=1e-5)


def test_time_warp_at_30_fps_with_blendshapes(lips) -> None:
    frames = run(lips, OutputOptions(frame_rate=30.0, target_duration_s=2.0))
    assert len(frames) == 60 and frames[-1].last
    np.testing.assert_allclose([f.time_s for f in frames], np.arange(60) / 30.0)
    w = np.stack([f.blendshapes for f in frames])
    assert w.min() >= 0.0 and w.max() <= 1.0


@pytest.mark.parametrize("options, message", [
    (OutputOptions(frame_rate=25.0), "frame_rate 25.0 is not supported"),
    (OutputOptions(target_duration_s=601.0), "outside [0.1, 600]"),
    (OutputOptions(target_duration_s=float("nan")), "outside"),
])
def test_bad_options_say_which_value(options, message) -> None:
    with pytest.raises(Text2LipsError, match=message.replace("[", r"\[")):
        FrameOutput(options)


def test_speak_cli_gives_what_the_wire_gives(tmp_path) -> None:
    model = tiny_test_model(tmp_path / "m")
    r = subprocess.run(
        [sys.executable, "-m", "text2lips", "speak", "Hello there!", "--model", str(model),
         "--fps", "60", "--blendshapes", "--json"],
        capture_output=True, text=True,
    )
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["index"] for row in rows] == list(range(len(rows))) and len(rows) > 5
    np.testing.assert_allclose([row["time_s"] for row in rows], np.arange(len(rows)) / 60.0,
                               atol=1e-6)
    assert rows[-1]["last"] and not any(row["last"] for row in rows[:-1])
    assert all(len(row["landmarks"]) == 60 for row in rows)
    assert all(len(row["blendshapes"]) == len(BLENDSHAPE_NAMES) for row in rows)
    assert "at 60 fps" in r.stderr

    out = tmp_path / "x.json"
    r = subprocess.run(
        [sys.executable, "-m", "text2lips", "speak", "Hello there!", "--model", str(model),
         "--duration", "1.5", "--blendshapes", "-o", str(out)],
        capture_output=True, text=True,
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    assert len(doc["landmarks"]) == 120 and len(doc["blendshapes"]) == 120
    assert doc["blendshape_names"] == list(BLENDSHAPE_NAMES)


def test_speak_cli_rejects_a_rate_in_one_line(tmp_path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "text2lips", "speak", "Hi", "--model", "nonexistent", "--fps", "25"],
        capture_output=True, text=True,
    )
    assert r.returncode == 2 and "--fps 25" in r.stderr and len(r.stderr.splitlines()) == 1


def test_smoothing_many_utterances_at_once_equals_one_at_a_time(data_dir) -> None:
    clips = load_clips(data_dir, corpus="lrs3")[:5]
    weights = [solve(np.asarray(c.lips, np.float32).reshape(len(c.lips), 60),
                     default_calibration()) for c in clips]
    alone = [BlendshapeSmoother()(w) for w in weights]
    # Utterances join at different steps and leave when they end, as in the decode loop.
    smoothers = [BlendshapeSmoother() for _ in clips]
    got: list[list[np.ndarray]] = [[] for _ in clips]
    starts = [0, 0, 3, 10, 11]
    for t in range(max(s + len(w) for s, w in zip(starts, weights, strict=True))):
        live = [i for i, (s, w) in enumerate(zip(starts, weights, strict=True))
                if s <= t < s + len(w)]
        if not live:
            continue
        rows = np.stack([weights[i][t - starts[i]] for i in live])
        for i, row in zip(live, BlendshapeSmoother.step_many([smoothers[i] for i in live], rows),
                          strict=True):
            got[i].append(row)
    for a, g in zip(alone, got, strict=True):
        np.testing.assert_allclose(np.stack(g), a, atol=1e-6)
