"""PhonemeTimeline: one gap-free timing type from espeak-ng and from known word times."""

from __future__ import annotations

import numpy as np
import pytest

from text2lips import FRAME_RATE, Text2LipsError
from text2lips.text.phonemes import PAUSE, PhonemeTiming
from text2lips.text.timeline import PhonemeTimeline, TimedWord, espeak_timeline, words_timeline


def test_espeak_timeline_covers_the_audio_without_gaps():
    tl = espeak_timeline("Hello there, my friend.")
    assert [w.word for w in tl.words] == ["hello", "there", "my", "friend"]
    assert tl.phonemes[0].start_s == 0.0 and tl.phonemes[-1].end_s == pytest.approx(tl.duration_s)
    for a, b in zip(tl.phonemes, tl.phonemes[1:], strict=False):
        assert a.end_s == pytest.approx(b.start_s)
    for w in tl.words:  # each word's phonemes sit inside its span
        own = [p for p in tl.phonemes if p.word_index == tl.words.index(w)]
        assert own and own[0].start_s == pytest.approx(w.start_s)


def test_words_timeline_puts_phonemes_inside_the_given_words():
    words = [TimedWord("HELLO", 0.2, 0.5), TimedWord("THERE", 0.6, 0.9)]
    tl = words_timeline(words, duration_s=1.2)
    assert tl.duration_s == pytest.approx(1.2)
    assert tl.phonemes[0] == PhonemeTiming(PAUSE, 0.0, 0.2, -1)
    hello = [p for p in tl.phonemes if p.word_index == 0]
    there = [p for p in tl.phonemes if p.word_index == 1]
    assert hello[0].start_s == pytest.approx(0.2) and hello[-1].end_s == pytest.approx(0.5)
    assert there[0].start_s == pytest.approx(0.6) and there[-1].end_s == pytest.approx(0.9)
    assert [p.phoneme for p in there][:1] == ["D"]
    gap = [p for p in tl.phonemes if 0.5 <= p.start_s < 0.6]
    assert [p.phoneme for p in gap] == [PAUSE]


def test_a_gap_or_overlap_is_refused():
    with pytest.raises(Text2LipsError, match="gap or overlap"):
        PhonemeTimeline((PhonemeTiming("a", 0.0, 0.1, 0), PhonemeTiming("b", 0.2, 0.3, 0)),
                        duration_s=0.3)


def test_shift_scale_concat_and_frame_index():
    tl = espeak_timeline("Mom")
    later = tl.shifted(0.5)
    assert later.duration_s == pytest.approx(tl.duration_s + 0.5)
    assert later.phonemes[0].phoneme == PAUSE and later.phonemes[0].end_s >= 0.5
    assert tl.scaled(2 * tl.duration_s).duration_s == pytest.approx(2 * tl.duration_s)
    both = tl.concat(espeak_timeline("Bob"))
    assert [w.word for w in both.words] == ["mom", "bob"]
    assert {p.word_index for p in both.phonemes if p.phoneme == "b"} == {1}
    idx = both.frame_index()
    assert len(idx) == both.n_frames == round(both.duration_s * FRAME_RATE)
    assert np.all(np.diff(idx) >= 0)
    m = [i for i, p in enumerate(both.phonemes) if p.phoneme == "m"][0]
    t = (both.phonemes[m].start_s + both.phonemes[m].end_s) / 2
    assert idx[int(t * FRAME_RATE)] == m
