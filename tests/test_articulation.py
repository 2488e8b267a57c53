"""Articulation metrics on curves whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from text2lips import FRAME_RATE
from text2lips import articulation as A
from text2lips.text.phonemes import PAUSE, PhonemeTiming

T = np.arange(400) / FRAME_RATE


def syllables(hz: float = 4.0, shift_s: float = 0.0, amp: float = 4.0) -> np.ndarray:
    return 6.0 + amp * np.sin(2 * np.pi * hz * (T - shift_s))


def test_ratios_scale_with_amplitude_and_ignore_jitter():
    true = syllables()
    half = syllables(amp=2.0)
    m = A.opening_metrics(half, true, same_timing=True)
    assert m["motion_ratio"] == pytest.approx(0.5, abs=0.01)
    assert m["velocity_ratio"] == pytest.approx(0.5, abs=0.02)
    assert m["band_ratio"] == pytest.approx(0.25, abs=0.02)
    assert m["opening_r"] == pytest.approx(1.0, abs=1e-6)
    # 30 Hz tracking jitter adds std but no velocity or band power after the 10 Hz low-pass
    jitter = true + 0.8 * np.sin(2 * np.pi * 30 * T)
    j = A.opening_metrics(jitter, true, same_timing=True)
    assert j["velocity_ratio"] == pytest.approx(1.0, abs=0.05)
    assert j["band_ratio"] == pytest.approx(1.0, abs=0.05)


def test_a_still_mouth_scores_zero():
    m = A.opening_metrics(np.full_like(T, 6.0), syllables(), same_timing=True)
    assert m["velocity_ratio"] == pytest.approx(0, abs=1e-9)
    assert m["band_ratio"] == pytest.approx(0, abs=1e-9) and m["opening_r"] == 0


def test_dtw_forgives_a_small_delay_but_not_other_content():
    true = syllables()
    late = syllables(shift_s=0.06)
    assert A.pearson(late, true) < 0.2
    assert A.dtw_r(late, true) > 0.95
    other = 6.0 + 4.0 * np.sin(2 * np.pi * 1.3 * T)
    assert A.dtw_r(other, true) < 0.8
    # a prediction at another length is aligned along the scaled diagonal
    assert A.dtw_r(true[::2].repeat(1), true) > 0.9


def test_closures_count_bilabials_and_false_closures():
    op = np.full(160, 8.0)
    op[38:44] = 0.5  # lips meet around 0.5 s
    ph = [
        PhonemeTiming(PAUSE, 0.0, 0.45, -1), PhonemeTiming("m", 0.45, 0.55, 0),
        PhonemeTiming("aa", 0.55, 1.0, 0), PhonemeTiming("b", 1.0, 1.1, 0),
        PhonemeTiming(PAUSE, 1.1, 2.0, -1),
    ]  # fmt: skip
    c = A.closures(op, ph)
    assert c == {"bilabials": 2, "closed": 1, "open_vowels": 1, "false_closures": 0}
    op[60:64] = 0.5  # closed in the middle of the open vowel
    assert A.closures(op, ph)["false_closures"] == 1
    assert A.closures(np.full(160, 8.0), ph)["closed"] == 0  # a still mouth never closes
