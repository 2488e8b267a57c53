"""Blend-shape solver: constructed mouth shapes, real clips, calibration, smoothing, plots."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from text2lips import Text2LipsError
from text2lips.blendshapes import (
    ARKIT_NAMES,
    BLENDSHAPE_NAMES,
    CALIBRATION_PATH,
    VISEME_NAMES,
    BlendshapeCalibration,
    BlendshapeSmoother,
    calibrate,
    default_calibration,
    fit_default_calibration,
    solve,
)
from text2lips.data.dataset import load_clips
from text2lips.data.lips import inner_opening
from text2lips.render import plot_blendshapes

IDX = {n: i for i, n in enumerate(BLENDSHAPE_NAMES)}
LOWER_LIP = [7, 8, 9, 10, 11, 17, 18, 19]  # points 55-59 and 65-67
VISEMES = slice(len(ARKIT_NAMES), None)


@pytest.fixture(scope="module")
def lrs3(data_dir):
    return load_clips(data_dir, corpus="lrs3")


@pytest.fixture(scope="module")
def real_clips(lrs3, data_dir):
    return lrs3 + load_clips(data_dir, corpus="ravdess")


@pytest.fixture(scope="module")
def speakers(lrs3) -> dict[str, np.ndarray]:
    """LRS3 speaker -> (20, 3) neutral reference (mean shape)."""
    return {c.speaker: c.reference.astype(np.float64) for c in lrs3}


def with_gap(shape: np.ndarray, gap_mm: float) -> np.ndarray:
    """Move the lower lip vertically so that the inner opening is gap_mm, as the jaw does."""
    s = shape.copy()
    s[LOWER_LIP, 1] += gap_mm - inner_opening(s)  # y points down
    return s


def weights(shape: np.ndarray, speaker: str) -> dict[str, float]:
    return dict(zip(BLENDSHAPE_NAMES, solve(shape, default_calibration(speaker))[0].tolist(),
                    strict=True))


def top_viseme(w: dict[str, float]) -> str:
    return max(VISEME_NAMES, key=w.__getitem__)


def test_names_are_arkit_then_visemes():
    assert BLENDSHAPE_NAMES[: len(ARKIT_NAMES)] == ARKIT_NAMES
    assert len(ARKIT_NAMES) == 18 and len(VISEME_NAMES) == 15
    assert VISEME_NAMES[0] == "viseme_sil" and VISEME_NAMES[-1] == "viseme_ou"
    assert "viseme_PP" in VISEME_NAMES
    assert len(set(BLENDSHAPE_NAMES)) == len(BLENDSHAPE_NAMES)


def test_closed_mouth_is_pp(speakers):
    for spk, ref in speakers.items():
        w = weights(with_gap(ref, 0.0), spk)
        assert w["jawOpen"] < 0.05, spk
        assert top_viseme(w) == "viseme_PP" and w["viseme_PP"] > 0.4, (spk, w)


def test_wide_open_mouth_is_aa(speakers):
    for spk, ref in speakers.items():
        w = weights(with_gap(ref, 25.0), spk)
        assert w["jawOpen"] > 0.95, spk
        assert top_viseme(w) == "viseme_aa" and w["viseme_aa"] > 0.8, (spk, w)
        assert w["mouthPucker"] < 0.1


def test_pursed_lips_pucker_and_ou(speakers):
    for spk, ref in speakers.items():
        pursed = ref.copy()
        cx = ref[:, 0].mean()
        pursed[:, 0] = cx + 0.8 * (ref[:, 0] - cx)  # 20 % narrower
        reach = 1.0 - np.abs(ref[:, 0] - cx) / np.abs(ref[:, 0] - cx).max()
        pursed[:, 2] -= 6.0 * reach  # the middle of the lips comes 6 mm towards the camera
        w, w0 = weights(pursed, spk), weights(ref, spk)
        assert w["mouthPucker"] > w0["mouthPucker"] + 0.4, (spk, w["mouthPucker"])
        assert top_viseme(w) == "viseme_ou" and w["viseme_ou"] > 0.5, (spk, w)


def test_sides_follow_the_subject(speakers):
    spk, ref = next(iter(speakers.items()))
    raised = ref.copy()
    raised[6, 1] -= 4.0  # point 54, the subject's left corner (image right), 4 mm up
    w = weights(raised, spk)
    assert w["mouthSmileLeft"] > 0.8 and w["mouthSmileRight"] < 0.2
    shifted = ref.copy()
    shifted[[2, 3, 4, 8, 9, 10, 13, 14, 15, 17, 18, 19], 0] += 3.0  # lips' middle towards +x
    w = weights(shifted, spk)
    assert w["mouthLeft"] > 0.5 and w["mouthRight"] == 0.0


@settings(max_examples=20, deadline=None)
@given(offset=st.tuples(*[st.floats(-200, 200)] * 3))
def test_placement_does_not_matter(speakers, offset):
    # Absolute head-space lips and centred ones must give the same weights.
    shape = with_gap(next(iter(speakers.values())), 6.0)
    np.testing.assert_allclose(solve(shape + np.array(offset)), solve(shape), atol=1e-4)


def test_input_layouts_agree(lrs3):
    lips = lrs3[0].lips[:50]
    w = solve(lips)
    assert w.shape == (50, len(BLENDSHAPE_NAMES)) and w.dtype == np.float32
    np.testing.assert_array_equal(solve(lips.reshape(50, 60)), w)
    np.testing.assert_array_equal(solve(lips[7]), w[7:8])
    with pytest.raises(Text2LipsError):
        solve(np.zeros((5, 21, 3)))
    with pytest.raises(Text2LipsError):
        solve(np.zeros((2, 5, 20, 3)))


def test_real_clips_stay_in_range_and_jaw_follows_opening(real_clips):
    own, pooled, opening = [], [], []
    for clip in real_clips:
        w = solve(clip.lips, default_calibration(clip.speaker))
        assert np.isfinite(w).all() and w.min() >= 0.0 and w.max() <= 1.0, clip.clip_id
        np.testing.assert_allclose(w[:, VISEMES].sum(axis=1), 1.0, atol=1e-4)
        own.append(w[:, IDX["jawOpen"]])
        pooled.append(solve(clip.lips)[:, IDX["jawOpen"]])
        opening.append(inner_opening(clip.lips))
    opening = np.concatenate(opening)
    assert np.corrcoef(np.concatenate(own), opening)[0, 1] >= 0.9
    assert np.corrcoef(np.concatenate(pooled), opening)[0, 1] >= 0.9


def test_calibration_round_trips_and_validates(lrs3):
    by_speaker: dict[str, list[np.ndarray]] = {}
    for c in lrs3:
        by_speaker.setdefault(c.speaker, []).append(c.lips)
    cal = calibrate(by_speaker)
    assert BlendshapeCalibration.from_json(cal.to_json()) == cal
    one = calibrate(by_speaker[lrs3[0].speaker])
    assert one.frames == sum(len(x) for x in by_speaker[lrs3[0].speaker])
    assert one != cal
    with pytest.raises(Text2LipsError):
        calibrate([])
    broken = cal.to_dict()
    broken["measures"]["width"]["high"] = broken["measures"]["width"]["low"]
    with pytest.raises(Text2LipsError, match="low <= neutral < high"):
        BlendshapeCalibration.from_dict(broken)
    del broken["measures"]["width"]
    with pytest.raises(Text2LipsError, match="refit"):
        BlendshapeCalibration.from_dict(broken)
    with pytest.raises(Text2LipsError):
        BlendshapeCalibration.from_json('{"frames": 3}')


def test_packaged_calibration_is_up_to_date(data_dir, tmp_path):
    fresh = json.loads(fit_default_calibration(data_dir, tmp_path / "cal.json").read_text())
    shipped = json.loads(CALIBRATION_PATH.read_text())
    assert fresh == shipped, "run text2lips.blendshapes.fit_default_calibration(), commit the JSON"
    assert default_calibration("no-such-speaker") == default_calibration()
    assert default_calibration("Actor_01") != default_calibration()


# --- smoother ------------------------------------------------------------------------------


def step_lag(smoother: BlendshapeSmoother, size: float, base: float = 0.5) -> int:
    """Frames from a step of `size` until the output has covered half of it."""
    x = np.full((20, 3), base, dtype=np.float32)
    x[10:] += size
    y = np.stack([smoother(f) for f in x])[:, 0]
    crossed = np.flatnonzero((y[10:] - base) * np.sign(size) >= 0.5 * abs(size))
    return int(crossed[0]) if len(crossed) else 10


@pytest.mark.parametrize("rate", [80.0, 60.0, 30.0])
@pytest.mark.parametrize("size", [0.5, 0.1, -0.15, -0.5])
def test_smoother_lags_at_most_one_frame(rate, size):
    assert step_lag(BlendshapeSmoother(frame_rate=rate), size) <= 1


def test_smoother_damps_jitter_and_is_stateful():
    rng = np.random.default_rng(0)
    x = np.clip(0.5 + 0.03 * rng.standard_normal((400, 4)), 0, 1)
    s = BlendshapeSmoother()
    y = s(x)
    assert y.shape == x.shape and y.dtype == np.float32
    assert y[50:].std() < 0.75 * x[50:].std()
    # Chunks of any size give what one call gives: the state carries across calls.
    s.reset()
    chunked = np.concatenate([s(x[:7]), s(x[7])[None], s(x[8:])])
    np.testing.assert_allclose(chunked, y, atol=1e-6)
    s.reset()
    assert s(np.ones(4)).tolist() == [1.0] * 4  # a new utterance starts where its first frame is
    with pytest.raises(Text2LipsError):
        s(np.ones(5))
    with pytest.raises(Text2LipsError):
        BlendshapeSmoother(frame_rate=0)


def test_plot_blendshapes(tmp_path, lrs3):
    w = solve(lrs3[0].lips[:120])
    out = plot_blendshapes(w, BLENDSHAPE_NAMES, tmp_path / "bs.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(Text2LipsError):
        plot_blendshapes(w[:, :5], BLENDSHAPE_NAMES, tmp_path / "bad.png")
