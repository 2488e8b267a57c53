"""Streaming runtime: frames flow one step at a time, batching changes nothing, bounds hold."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import decode_with_joins

from text2lips import Text2LipsError
from text2lips.runtime import SynthesisOptions, Synthesizer
from text2lips.testing import tiny_test_model

TEXTS = [
    "Hello there.",
    "It's not just my work, it's all of ours.",
    "Mom paid Bob.",
    "Put the book back on the map, then walk 25 miles to the north.",
]


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Synthesizer:
    # gate forced off: every utterance runs to its hard bound, so lengths are known
    return Synthesizer.load(tiny_test_model(tmp_path_factory.mktemp("tiny"), gate_bias=-10.0))


def test_stream_yields_first_frame_before_second_step(synth):
    bd_steps = []
    original = synth.backend.step

    def counting_step(rows):
        bd_steps.append(1)
        return original(rows)

    synth.backend.step = counting_step
    try:
        it = synth.stream("Hello there, how are you today?")
        first = next(it)
        assert first.index == 0 and first.time_s == 0.0
        assert len(bd_steps) == 1  # one decoder step ran, the rest has not been computed
        second = next(it)
        assert second.index == 1 and len(bd_steps) == 2
    finally:
        synth.backend.step = original


def test_frames_are_ordered_timed_and_bounded(synth):
    frames = list(synth.stream(TEXTS[1]))
    n_ids = len(synth.encode_text(TEXTS[1]))
    assert len(frames) == synth.max_frames_for(n_ids)  # gate off: exactly the hard bound
    assert [f.index for f in frames] == list(range(len(frames)))
    np.testing.assert_allclose([f.time_s for f in frames], np.arange(len(frames)) / 80.0)
    assert [f.last for f in frames] == [False] * (len(frames) - 1) + [True]
    ref = synth.info.speakers[synth.info.default_speaker]
    for f in frames[:3]:
        assert f.landmarks.shape == (60,) and f.landmarks.dtype == np.float32
        np.testing.assert_allclose(f.landmarks - f.displacement, ref, atol=1e-5)


def test_client_reference_and_speaker_errors(synth):
    ref = np.arange(60, dtype=np.float32)
    f = next(synth.stream("hello", SynthesisOptions(reference=ref)))
    np.testing.assert_allclose(f.landmarks - f.displacement, ref, atol=1e-5)
    with pytest.raises(Text2LipsError, match="unknown speaker 'nobody'"):
        next(synth.stream("hello", SynthesisOptions(speaker="nobody")))
    with pytest.raises(Text2LipsError, match="60 finite floats"):
        next(synth.stream("hello", SynthesisOptions(reference=np.zeros(59))))
    with pytest.raises(Text2LipsError, match="nothing speakable"):
        next(synth.stream("🙂 ☃ *** !!"))


def test_batched_equals_one_by_one_with_joins_and_leaves(synth):
    solo = {t: np.stack([f.displacement for f in synth.stream(t)]) for t in TEXTS}
    # utterances join at different steps; short ones leave while long ones go on
    got = decode_with_joins(synth, {0: TEXTS[:2], 5: [TEXTS[2]], 17: [TEXTS[3]]})
    for t in TEXTS:
        batched = got[t]
        assert batched.shape == solo[t].shape
        np.testing.assert_allclose(batched, solo[t], atol=1e-4)


def test_remove_frees_the_slot(synth):
    bd = synth.batch_decoder(max_batch=2)
    bd.add("a", TEXTS[1])
    bd.add("b", TEXTS[3])
    with pytest.raises(Text2LipsError, match="batch is full"):
        bd.add("c", TEXTS[0])
    bd.step()
    bd.remove("a")
    assert len(bd) == 1 and "a" not in bd
    assert {k for k, _ in bd.step()} == {"b"}
    bd.add("c", TEXTS[0])
    assert {k for k, _ in bd.step()} == {"b", "c"}


def test_gate_stops_once_attention_reaches_the_end(tmp_path):
    # gate forced on: stopping waits for the attention to reach the last symbol and min_frames
    s = Synthesizer.load(tiny_test_model(tmp_path, gate_bias=10.0))
    frames = list(s.stream(TEXTS[1]))
    n_ids = len(s.encode_text(TEXTS[1]))
    assert s.min_frames <= len(frames) <= s.max_frames_for(n_ids)


def test_int8_backend_runs_close_to_fp32(synth, tmp_path):
    path = tiny_test_model(tmp_path, gate_bias=-10.0)
    fp32 = Synthesizer.load(path).synthesize(TEXTS[0])
    int8 = Synthesizer.load(path, backend="torch-cpu-int8").synthesize(TEXTS[0])
    assert int8.shape == fp32.shape
    assert np.abs(int8 - fp32).mean() < 0.5  # random tiny weights: same trajectory, roughly


def test_unknown_backend_is_a_clear_error(tmp_path):
    with pytest.raises(Text2LipsError, match="unknown backend 'tpu'"):
        Synthesizer.load(tiny_test_model(tmp_path), backend="tpu")


def _raw_and_mass(synth: Synthesizer, text: str) -> tuple[np.ndarray, np.ndarray]:
    """The network's own frames and attention mass on bilabials, decoded to the hard bound."""
    import torch

    from text2lips.runtime.closure_rule import bilabial_mask

    ids = synth.encode_text(text)
    n = synth.max_frames_for(len(ids))
    out = synth.backend.model.infer(torch.tensor([ids]), torch.tensor([len(ids)]), n)
    return out.frames[0].numpy(), out.alignments[0].numpy() @ bilabial_mask(ids)


def test_closure_rule_moves_only_the_inner_lips_by_the_bilabial_attention(synth):
    rule = synth.info.closure
    assert rule is not None and rule.gain > 0  # the tiny model carries one
    raw, mass = _raw_and_mass(synth, "Mom paid Bob.")
    shown = np.stack([f.displacement for f in synth.stream("Mom paid Bob.")])
    alone = np.stack(
        [f.displacement for f in synth.stream("Mom paid Bob.", SynthesisOptions(closure=False))]
    )
    np.testing.assert_allclose(alone, raw, atol=1e-5)  # closure=False: the network alone
    np.testing.assert_allclose(shown, rule.apply(raw, mass), atol=1e-5)
    moved = np.abs(shown - raw).max(axis=0) > 1e-6
    assert moved[36:].any() and not moved[:36].any()  # points 60-67 only
    assert mass.max() > 0.05  # the attention did pass over the letters


def test_closure_rule_leaves_text_without_bilabials_alone(synth):
    shown = np.stack([f.displacement for f in synth.stream("Hello there.")])
    raw, mass = _raw_and_mass(synth, "Hello there.")
    assert not mass.any()
    np.testing.assert_allclose(shown, raw, atol=1e-5)
