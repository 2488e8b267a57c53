"""The shipped default (the phoneme-timed model): it loads by its kind, says what it is, moves
its lips like the speakers on held-out clips at its own timing, and closes them on p/b/m."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from text2lips.data.dataset import load_clips
from text2lips.evaluate import articulation_failures, articulation_rows, articulation_summary
from text2lips.runtime import Synthesizer

pytestmark = pytest.mark.slow  # the trained default model on the real clips

DEFAULT = Path(__file__).resolve().parents[1] / "models" / "default"


def test_default_is_the_phoneme_model_with_card_crossval_and_speakers():
    meta = json.loads((DEFAULT / "config.json").read_text())["metadata"]
    assert meta["kind"] == "phoneme" and meta["parameters"] <= 1_000_000
    assert meta["crossval"]["folds"] == 5  # the figures its card quotes
    card = (DEFAULT / "README.md").read_text()
    assert "non-commercial" in card.lower() and "docs/quality.md" in card
    synth = Synthesizer.load(DEFAULT)
    assert synth.timed and len(synth.info.speakers) == 4
    assert "non-commercial" in synth.info.licence.lower()
    frames = list(synth.stream("Hello there, how are you?"))
    assert frames[-1].last and len(frames) > 40


def test_default_articulates_on_held_out_clips_at_its_own_timing(data_dir):
    # trainval is never trained on; the same check catches a still mouth (test_phoneme_model)
    clips = load_clips(data_dir, "lrs3", "trainval")[:4]
    summary = articulation_summary(articulation_rows(Synthesizer.load(DEFAULT), clips))
    assert articulation_failures(summary) == [], summary
    assert summary["velocity_ratio"] >= 0.7 and summary["opening_r_dtw"] >= 0.5, summary


def test_default_closes_on_bilabials_at_true_timing(data_dir):
    clips = load_clips(data_dir, "lrs3", "pretrain")[:4]
    summary = articulation_summary(
        articulation_rows(Synthesizer.load(DEFAULT), clips, timing="true"))
    assert summary["closure_recall"] >= 0.9, summary
