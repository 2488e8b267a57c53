"""The shipped default model: it loads, says what it is, and int8 serving keeps its accuracy."""

from __future__ import annotations

from pathlib import Path

import pytest

from text2lips.data.dataset import load_clips
from text2lips.evaluate import evaluate
from text2lips.runtime import Synthesizer

DEFAULT = Path(__file__).resolve().parents[1] / "models" / "default"


@pytest.fixture(scope="module")
def val_clips(data_dir):
    return load_clips(data_dir, "lrs3", "trainval")


def test_default_model_is_shipped_with_card_and_speakers():
    assert (DEFAULT / "model.safetensors").is_file() and (DEFAULT / "config.json").is_file()
    card = (DEFAULT / "README.md").read_text()
    assert "non-commercial" in card.lower() and "l1_mm" in card
    synth = Synthesizer.load(DEFAULT)
    assert len(synth.info.speakers) == 4
    assert "non-commercial" in synth.info.licence.lower()
    frames = list(synth.stream("Hello there, how are you?"))
    assert frames[-1].last and len(frames) > 20


def test_int8_serving_keeps_free_running_accuracy(val_clips):
    fp32 = evaluate(Synthesizer.load(DEFAULT), val_clips, with_duration=False)
    int8 = evaluate(Synthesizer.load(DEFAULT, "torch-cpu-int8"), val_clips, with_duration=False)
    assert abs(int8["l1_mm"] - fp32["l1_mm"]) <= 0.1
