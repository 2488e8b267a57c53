"""The bilabial closure rule: which letters close, what it moves, how it is stored and fitted."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from text2lips import Text2LipsError
from text2lips.closure import closures, decode_pieces, fit_pieces, fit_rule, write_rule
from text2lips.data.dataset import load_clips
from text2lips.data.lips import inner_opening
from text2lips.decode import decode_clips
from text2lips.evaluate import free_running_rows
from text2lips.runtime import ModelInfo, Synthesizer
from text2lips.runtime.closure_rule import INNER, ClosureRule, bilabial_mask
from text2lips.testing import tiny_test_model
from text2lips.text import text_to_sequence

TACOTRON = Path(__file__).resolve().parents[1] / "models" / "tacotron"


def test_mask_marks_p_b_m_but_not_the_p_of_ph():
    text = "Phil, Bob; map"
    mask = bilabial_mask(text_to_sequence(text))
    assert len(mask) == len(text)  # one symbol per character
    marked = "".join(ch for ch, m in zip(text.lower(), mask, strict=True) if m)
    assert marked == "bbmp"


def test_apply_pulls_inner_lips_in_proportion_and_saturates():
    target = np.arange(60, dtype=np.float32)
    rule = ClosureRule(2.0, target)
    frames = np.zeros((4, 60), np.float32)
    out = rule.apply(frames, np.array([0.0, 0.25, 0.5, 0.9]))
    assert not out[:, :36].any()  # outer lips untouched
    np.testing.assert_allclose(out[:, INNER], np.outer([0.0, 0.5, 1.0, 1.0], target[INNER]))
    assert not frames.any()  # the input is not changed in place
    np.testing.assert_allclose(ClosureRule(0.0, target).apply(frames + 1, 1.0), frames + 1)


def test_rule_round_trips_through_model_metadata_and_bad_ones_are_refused():
    rule = ClosureRule(3.0, np.linspace(-1, 1, 60))
    info = ModelInfo(name="m", closure=rule)
    back = ModelInfo.from_metadata(json.loads(json.dumps(info.to_metadata())), "m").closure
    assert back is not None and back.gain == 3.0
    np.testing.assert_allclose(back.target, rule.target, atol=1e-4)
    assert ModelInfo.from_metadata({}, "m").closure is None
    with pytest.raises(Text2LipsError, match="closure"):
        ModelInfo.from_metadata({"closure": {"gain": 1.0, "target": [0.0] * 59}}, "m")
    with pytest.raises(Text2LipsError, match="gain"):
        ClosureRule(-1.0, np.zeros(60))


def test_the_closure_fit_decodes_and_scores_as_eval_does(tmp_path, fixture_data):
    # One decode path: the fit's frames are eval's (network alone, to the true length), its
    # attention is what the served rule reads, and its gain-0 row is eval's metric.
    model = tiny_test_model(tmp_path / "m")  # closure rule: gain 3 toward the neutral lips
    synth = Synthesizer.load(model)
    pieces = fit_pieces(load_clips(fixture_data, "lrs3", "pretrain"))
    assert len(pieces) >= 2
    fitted = decode_pieces(synth, pieces)
    evaluated = decode_clips(synth, pieces, to_true_length=True, rule=False)
    served = decode_clips(synth, pieces, to_true_length=True, rule=True)
    rule = synth.info.closure
    assert rule is not None
    for p, (frames, align), want, shown in zip(pieces, fitted, evaluated, served, strict=True):
        np.testing.assert_array_equal(frames, want)
        assert align.shape == (p.n_frames, len(text_to_sequence(p.text)))
        np.testing.assert_allclose(align.sum(axis=1), 1.0, atol=1e-4)  # attention weights
        np.testing.assert_allclose(rule.apply(frames, align @ p.mask), shown, atol=1e-5)
    fit = fit_rule(model, fixture_data)
    assert fit.pieces == len(pieces)
    rows = free_running_rows(synth, pieces, rule=False)  # type: ignore[arg-type]
    for key in ("l1_mm", "opening_r", "motion_ratio"):
        assert fit.rows[0][key] == pytest.approx(np.mean([r[key] for r in rows]), abs=1e-4)


def test_alignment_is_refused_by_an_engine_without_attention(tmp_path):
    from text2lips.runtime import SynthesisOptions

    synth = Synthesizer.load(tiny_test_model(tmp_path / "m"))
    synth.backend.attention = None  # as the CUDA-graph engine declares
    with pytest.raises(Text2LipsError, match="does not report attention"):
        synth.batch_decoder(1).add(0, "Hi.", SynthesisOptions(alignment=True))


@pytest.mark.data  # fits on the real training split
@pytest.mark.slow  # and decodes it with the trained Tacotron
def test_fit_on_training_pieces_picks_the_smallest_gain_that_closes_like_the_truth(tmp_path):
    fit = fit_rule(TACOTRON, max_pieces=40)
    assert fit.pieces == 40 and fit.bilabials >= 40
    assert 0.5 < fit.truth_closed <= 1.0  # real speakers do close on p, b, m
    gains = [r["gain"] for r in fit.rows]
    assert gains[0] == 0.0 and gains == sorted(gains)
    enough = [r["gain"] for r in fit.rows if r["gain"] > 0 and r["closed"] >= fit.truth_closed]
    assert fit.gain == (enough[0] if enough else gains[-1])
    assert fit.rows[0]["closed"] < fit.truth_closed  # the network alone closes too rarely
    # The closed shape: inner lips nearer together than the speaker's neutral lips.
    meta = json.loads((TACOTRON / "config.json").read_text())["metadata"]
    ref = ModelInfo.from_metadata(meta, "default").reference_for(None)
    assert np.isfinite(fit.target).all()
    assert inner_opening(ref + fit.target) < 0.5 * inner_opening(ref)

    model = tmp_path / "m"
    shutil.copytree(TACOTRON, model)
    write_rule(model, ClosureRule(fit.gain, fit.target))
    stored = json.loads((model / "config.json").read_text())["metadata"]["closure"]
    assert stored["gain"] == fit.gain and len(stored["target"]) == 60


@pytest.mark.slow  # the trained Tacotron
def test_shipped_tacotron_closes_with_its_rule_and_not_without():
    assert (
        ModelInfo.from_metadata(
            json.loads((TACOTRON / "config.json").read_text())["metadata"], "default"
        ).closure
        is not None
    )
    text = "MOM PAID BOB"
    with_rule = closures(TACOTRON, text)
    alone = closures(TACOTRON, text, rule=False)
    assert [c.time_s for c in with_rule.closures] == [c.time_s for c in alone.closures]
    assert sum(c.closed for c in with_rule.closures) > sum(c.closed for c in alone.closures)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--write", "HI"], "--write"),
        (["--fit", "HI"], "no texts"),
        (["--fit", "--model", "viseme"], "neural"),
        ([], "at least one text"),
    ],
)
def test_cli_misuse_exits_2_with_one_line(args, message):
    run = subprocess.run(
        [sys.executable, "-m", "text2lips.cli", "closure", *args], capture_output=True, text=True
    )
    assert run.returncode == 2 and message in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
