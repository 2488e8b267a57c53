"""Free-running evaluation: the JSON a user gets, and metrics that mean what they say."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from text2lips.data.dataset import load_clips
from text2lips.evaluate import clip_metrics, pearson
from text2lips.testing import tiny_test_model

KEYS = {
    "l1_mm",
    "l1_centred_mm",
    "opening_r",
    "motion_ratio",
    "duration_ratio",
    "teacher_forced_loss",
    "zero_motion",
    "clip_mean",
    "clips",
    "model",
    "split",
}


def test_eval_cli_json_keys(tmp_path, data_dir):
    model = tiny_test_model(tmp_path / "m")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "text2lips.cli",
            "eval",
            "--model",
            str(model),
            "--data",
            str(data_dir),
            "--split",
            "trainval",
            "--max-clips",
            "3",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout)
    assert KEYS <= set(result)
    assert result["clips"] == 3
    assert result["zero_motion"]["l1_mm"] > 1.0
    # knowing each clip's own mean shape (the oracle) beats the speaker's reference shape
    assert result["clip_mean"]["l1_mm"] < result["zero_motion"]["l1_mm"]
    assert result["clip_mean"]["l1_centred_mm"] == pytest.approx(
        result["zero_motion"]["l1_centred_mm"], rel=1e-5
    )
    assert result["teacher_forced_loss"] > 0
    assert 0 < result["duration_ratio"]


def test_metrics_on_truth_and_on_zero_motion(data_dir):
    clip = load_clips(data_dir, "lrs3", "trainval")[1]
    perfect = clip_metrics(clip.target, clip)
    assert perfect["l1_mm"] == pytest.approx(0, abs=1e-6)
    assert perfect["l1_centred_mm"] == pytest.approx(0, abs=1e-6)
    assert perfect["opening_r"] == pytest.approx(1.0)
    assert perfect["motion_ratio"] == pytest.approx(1.0)
    zero = clip_metrics(np.zeros_like(clip.target), clip)
    assert zero["l1_mm"] > 1.0 and zero["opening_r"] == 0.0
    assert zero["motion_ratio"] == pytest.approx(0.0, abs=1e-5)
    # the centred L1 forgives a constant offset and nothing else
    shifted = clip_metrics(clip.target + 1.5, clip)
    assert shifted["l1_mm"] == pytest.approx(4.5, rel=1e-4)
    assert shifted["l1_centred_mm"] == pytest.approx(0, abs=1e-5)
    assert zero["l1_centred_mm"] == pytest.approx(
        clip_metrics(np.broadcast_to(clip.target.mean(0), clip.target.shape), clip)["l1_mm"],
        rel=1e-5,
    )
    # a delayed copy of the truth keeps its motion but loses correlation
    late = np.roll(clip.target, 20, axis=0)
    m = clip_metrics(late, clip)
    assert m["motion_ratio"] == pytest.approx(1.0, abs=0.05) and m["opening_r"] < 0.9


def test_pearson_of_flat_signal_is_zero():
    assert pearson(np.ones(10), np.arange(10.0)) == 0.0
    assert pearson(np.arange(10.0), 2 * np.arange(10.0) + 1) == pytest.approx(1.0)


def test_viseme_at_real_word_timings_beats_holding_still_and_espeak_timing(data_dir):
    """The timing bound: with each speaker's own word timings the viseme shapes beat the rest
    shape and correlate with the real opening; with espeak's timing they do neither."""
    from text2lips.evaluate import evaluate_timed_viseme

    clips = load_clips(data_dir, "lrs3", "pretrain")[:12]
    timed = evaluate_timed_viseme(clips)
    assert KEYS - {"split"} <= set(timed)
    assert timed["l1_mm"] < timed["zero_motion"]["l1_mm"]
    assert timed["opening_r"] > 0.25
    run = lambda *a: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "text2lips.cli", "eval", "--data", str(data_dir), *a],
        capture_output=True,
        text=True,
    )
    untimed = run("--model", "viseme", "--split", "pretrain", "--max-clips", "12", "--json")
    assert json.loads(untimed.stdout)["opening_r"] < timed["opening_r"] - 0.2
    for bad in (("--model", "viseme"), ("--model", "models/default", "--split", "pretrain")):
        out = run(*bad, "--word-timings")
        assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    none = run("--model", "viseme", "--max-clips", "0")
    assert none.returncode == 2 and "--max-clips 0" in none.stderr and "nan" not in none.stdout
