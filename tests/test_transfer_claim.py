"""The paper's transfer claim as a test we can fail: pretraining makes the free-running lips move.

`models/tacotron` (the paper's model, served until the phoneme model replaced it) was
pretrained on the synthetic viseme corpus, then fine-tuned on the 80 real
clips; `models/edge-scratch` is its control, the same recipe, seed and budget without the
pretraining. Both decode the 13 held-out clips from text alone (the network, no closure rule)
and are compared clip by clip: "clearly higher" means the mean per-clip difference is more
than two standard errors above zero.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from text2lips.data.dataset import load_clips
from text2lips.evaluate import evaluate
from text2lips.runtime import Synthesizer

pytestmark = pytest.mark.slow  # trained weights on the real clips

MODELS = Path(__file__).resolve().parents[1] / "models"


@pytest.fixture(scope="module")
def pair(data_dir) -> dict[str, dict]:
    clips = load_clips(data_dir, "lrs3", "trainval")
    return {
        name: evaluate(Synthesizer.load(MODELS / name), clips, with_duration=False, rule=False)
        for name in ("tacotron", "edge-scratch")
    }


def clearly_higher(pair: dict[str, dict], key: str) -> tuple[bool, float, float]:
    """(mean difference > 2 standard errors, mean, standard error) of pretrained - scratch."""
    rows = zip(pair["tacotron"]["per_clip"], pair["edge-scratch"]["per_clip"], strict=True)
    d = np.array([pre[key] - scratch[key] for pre, scratch in rows])
    se = d.std(ddof=1) / np.sqrt(len(d))
    return bool(d.mean() > 2 * se), float(d.mean()), float(se)


def test_the_control_is_the_same_network_and_recipe_without_pretraining():
    from text2lips.model.files import read_config, read_metadata

    assert read_config(MODELS / "tacotron") == read_config(MODELS / "edge-scratch")
    pre, scratch = (read_metadata(MODELS / n)["settings"] for n in ("tacotron", "edge-scratch"))
    assert pre.pop("init") and scratch.pop("init") is None
    assert {k: scratch[k] for k in pre} == pre
    # options added to train after the default was trained, all off in the control
    added = {k: scratch[k] for k in scratch.keys() - pre.keys()}
    assert added == {
        "force_attention": False,
        "guide": "diagonal",
        "motion_loss": 0.0,
        "rehearse": None,
        "rehearse_share": 1.0,
    }


def test_recorded_validation_l1_is_what_eval_gives(pair):
    # config.json's val_free_l1_mm is the figure of the one decode path (text2lips.decode):
    # training validation, `eval --no-rule` and the closure fit agree on it.
    from text2lips.model.files import read_metadata

    for name in ("tacotron", "edge-scratch"):
        recorded = read_metadata(MODELS / name)["val_free_l1_mm"]
        assert recorded == pytest.approx(pair[name]["l1_mm"], abs=5e-4), name


def test_pretraining_makes_the_lips_move_more(pair):
    higher, mean, se = clearly_higher(pair, "motion_ratio")
    assert higher, f"motion_ratio: pretrained - scratch = {mean:+.3f} ± {se:.3f}"


@pytest.mark.xfail(
    strict=True,
    reason="measured 2026-12-01: opening_r +0.035 ± 0.051; timing is not in the text "
    "(docs/transfer.md), so pretraining on espeak-timed clips does not buy it",
)
def test_pretraining_puts_the_lips_clearly_more_in_step_with_the_speaker(pair):
    higher, mean, se = clearly_higher(pair, "opening_r")
    assert higher, f"opening_r: pretrained - scratch = {mean:+.3f} ± {se:.3f}"
