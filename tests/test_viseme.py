"""Viseme baseline fitted on the real LRS3 training clips, synthesised through espeak-ng."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from text2lips import FRAME_DIM, FRAME_RATE, Text2LipsError
from text2lips.data import lips as L
from text2lips.data.dataset import load_clips
from text2lips.text.phonemes import PAUSE, phoneme_timings
from text2lips.viseme import FitGrid, VisemeModel, align_clip, phoneme_class

# One candidate per constant keeps the shared fixture to an alignment and a solve.
ONE_POINT = FitGrid(tau_s=(0.05,), lead_s=(0.05,), labial_dominance=(4.0,))


@pytest.fixture(scope="module")
def train_clips(data_dir: Path) -> list:
    return load_clips(data_dir, corpus="lrs3", split="pretrain")


@pytest.fixture(scope="module")
def model(train_clips: list) -> VisemeModel:
    return VisemeModel.fit(train_clips, grid=ONE_POINT)


def test_phoneme_classes() -> None:
    assert {phoneme_class(p) for p in ("p", "b", "m")} == {"bilabial"}
    assert phoneme_class("f") == phoneme_class("v") == "labiodental"
    assert phoneme_class(PAUSE) == "sil"
    assert phoneme_class("t#") == "alveolar"
    assert phoneme_class("aI") == "open"
    assert phoneme_class("\u00a7") == "central"  # unknown: a schwa does least harm


def test_alignment_stretches_phonemes_into_word_timings(train_clips: list) -> None:
    clip = train_clips[0]
    segs = align_clip(clip)
    assert segs[0].start_s == 0.0
    assert segs[-1].end_s == pytest.approx(clip.duration_s)
    for prev, cur in zip(segs, segs[1:], strict=False):
        assert cur.start_s == pytest.approx(prev.end_s)
    spans = [(w.start_s, w.end_s) for w in clip.words]
    for seg in segs:
        if seg.phoneme == PAUSE:  # pauses only between words
            assert not any(seg.start_s < b - 1e-6 and seg.end_s > a + 1e-6 for a, b in spans)
        else:
            first = clip.words[seg.word_index]
            assert seg.start_s >= first.start_s - 1e-6
    firsts = {s.word_index: s for s in reversed(segs) if s.word_index >= 0}
    for i, seg in firsts.items():
        assert seg.start_s == pytest.approx(clip.words[i].start_s)
    # espeak says "so much" as one word: its phonemes span both words' timings.
    so = [i for i, w in enumerate(clip.words) if w.word == "SO"][0]
    assert clip.words[so + 1].word == "MUCH"
    so_phones = [s for s in segs if s.word_index == so]
    assert so_phones[-1].end_s == pytest.approx(clip.words[so + 1].end_s)
    # "PROBLEM" starts with a p closure.
    assert clip.words[0].word == "PROBLEM" and segs[1].phoneme == "p"


def test_fit_on_a_handful_of_clips(train_clips: list, tmp_path: Path) -> None:
    by_speaker: dict[str, list] = {}
    for c in train_clips:
        by_speaker.setdefault(c.speaker, []).append(c)
    handful = [c for clips in list(by_speaker.values())[:2] for c in clips[:3]]
    grid = FitGrid(tau_s=(0.03, 0.06), lead_s=(0.0, 0.05, 0.1), labial_dominance=(1.0, 4.0))
    m = VisemeModel.fit(handful, grid=grid)
    report = m.fit_report
    assert report["clips"] == 6 and report["speakers"] == 2
    assert m.coarticulation.tau_s in grid.tau_s
    assert set(report["speaker_lead_s"].values()) <= set(grid.lead_s)
    assert np.isfinite(report["heldout_rmse_mm"])
    assert m.synthesize("hello there").shape[1] == FRAME_DIM

    path = tmp_path / "viseme.json"
    m.save(path)
    data = json.loads(path.read_text())
    assert "non-commercial" in data["licence"]
    again = VisemeModel.load(path)
    utt = phoneme_timings("mom paid bob")  # one timing: espeak varies by a few ms per call
    np.testing.assert_allclose(again.from_utterance(utt), m.from_utterance(utt), atol=2e-3)


def test_fit_needs_word_timings() -> None:
    with pytest.raises(Text2LipsError, match="word timings"):
        VisemeModel.fit([])


def test_fitted_targets_are_phonetic(model: VisemeModel) -> None:
    ref = model.reference.reshape(-1)

    def opening(cls: str) -> float:
        return float(L.inner_opening(model.class_targets[cls] + ref))

    # Better than the rest shape on held-out speakers.
    assert model.fit_report["heldout_rmse_mm"] < model.fit_report["rest_shape_rmse_mm"]
    assert model.fit_report["heldout_opening_corr"] > 0.15
    assert opening("bilabial") < opening("open") - 3.0
    assert opening("bilabial") < opening("mid_front") - 2.0


def test_mom_paid_bob_closes_the_lips(model: VisemeModel) -> None:
    frames = model.synthesize("mom paid bob")
    utt = phoneme_timings("mom paid bob")
    opening = L.inner_opening(frames + model.reference.reshape(-1))  # (T,) mm
    widest = float(opening.max())
    rest = float(L.inner_opening(model.reference))
    lead = model.coarticulation.lead_s
    bilabials = [p for p in utt.phonemes if p.phoneme in ("m", "p", "b")]
    assert [p.phoneme for p in bilabials] == ["m", "m", "p", "b", "b"]
    for p in bilabials:
        # The lips run `lead` ahead of the sound; look around the phoneme's own span.
        lo = max(int((p.start_s - lead) * FRAME_RATE) - 3, 0)
        hi = int((p.end_s - lead) * FRAME_RATE) + 4
        closest = float(opening[lo:hi].min())
        assert closest < widest - 1.0, (p, closest, widest)
        assert closest < rest - 1.0, (p, closest, rest)


def test_output_length_follows_espeak(model: VisemeModel) -> None:
    for rate in (120, 175, 300):
        utt = phoneme_timings("the quick brown fox", rate_wpm=rate)
        frames = model.synthesize("the quick brown fox", rate_wpm=rate)
        assert frames.dtype == np.float32 and frames.shape[1] == FRAME_DIM
        assert abs(len(frames) - utt.duration_s * FRAME_RATE) <= 1.0
    assert len(model.synthesize("the quick brown fox", rate_wpm=120)) > len(
        model.synthesize("the quick brown fox", rate_wpm=300)
    )
    assert model.synthesize("😀").shape == (0, FRAME_DIM)


def test_strength_scales_movement(model: VisemeModel) -> None:
    utt = phoneme_timings("hello world")
    base = model.from_utterance(utt)
    np.testing.assert_allclose(model.from_utterance(utt, strength=0.5), base * 0.5, atol=1e-6)
    assert not model.from_utterance(utt, strength=0.0).any()
    with pytest.raises(Text2LipsError, match="strength=-1"):
        model.synthesize("hello", strength=-1.0)


def test_load_rejects_bad_files(tmp_path: Path, model: VisemeModel) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(Text2LipsError, match="nope.json"):
        VisemeModel.load(missing)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(Text2LipsError, match="not a viseme model"):
        VisemeModel.load(other)
    broken = tmp_path / "broken.json"
    data = model.to_json()
    data["phonemes"]["m"] = [0.0] * 59
    broken.write_text(json.dumps(data))
    with pytest.raises(Text2LipsError, match="phoneme m"):
        VisemeModel.load(broken)
