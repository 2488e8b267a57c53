"""The paper's Tacotron (models/tacotron), served beside the default: it loads, says what it is,
and int8 serving keeps its accuracy."""

from __future__ import annotations

from pathlib import Path

import pytest

from text2lips.data.dataset import load_clips
from text2lips.evaluate import evaluate
from text2lips.runtime import Synthesizer

pytestmark = pytest.mark.slow  # the trained Tacotron on the real clips

TACOTRON = Path(__file__).resolve().parents[1] / "models" / "tacotron"


@pytest.fixture(scope="module")
def val_clips(data_dir):
    return load_clips(data_dir, "lrs3", "trainval")


def test_tacotron_is_shipped_with_card_and_speakers():
    assert (TACOTRON / "model.safetensors").is_file() and (TACOTRON / "config.json").is_file()
    card = (TACOTRON / "README.md").read_text()
    assert "non-commercial" in card.lower() and "l1_mm" in card
    synth = Synthesizer.load(TACOTRON)
    assert len(synth.info.speakers) == 4
    assert "non-commercial" in synth.info.licence.lower()
    frames = list(synth.stream("Hello there, how are you?"))
    assert frames[-1].last and len(frames) > 20


def test_int8_serving_keeps_free_running_accuracy(val_clips):
    fp32 = evaluate(Synthesizer.load(TACOTRON), val_clips, with_duration=False)
    int8 = evaluate(Synthesizer.load(TACOTRON, "torch-cpu-int8"), val_clips, with_duration=False)
    assert abs(int8["l1_mm"] - fp32["l1_mm"]) <= 0.1
