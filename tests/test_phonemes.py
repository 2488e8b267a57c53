"""Phoneme timing from libespeak-ng (the real library; it is a Debian package on this machine)."""

from __future__ import annotations

import concurrent.futures

import pytest

from text2lips import Text2LipsError
from text2lips.text import phonemes
from text2lips.text.phonemes import PAUSE, EspeakUnavailable, Utterance, phoneme_timings


def _check_timeline(u: Utterance) -> None:
    assert u.phonemes, u
    assert u.phonemes[0].start_s == pytest.approx(0.0)
    for prev, cur in zip(u.phonemes, u.phonemes[1:], strict=False):
        assert cur.start_s == pytest.approx(prev.end_s)
    for p in u.phonemes:
        assert p.end_s >= p.start_s
        assert (p.word_index == -1) == (p.phoneme == PAUSE), p
        assert -1 <= p.word_index < len(u.words)
    assert u.phonemes[-1].end_s == pytest.approx(u.duration_s, abs=1e-3)


def test_hello_world() -> None:
    u = phoneme_timings("hello world")
    _check_timeline(u)
    assert u.words == ("hello", "world")
    spoken = [p for p in u.phonemes if p.phoneme != PAUSE]
    assert [p.phoneme for p in spoken] == ["h", "@", "l", "oU", "w", "3:", "l", "d"]
    assert [p.word_index for p in spoken] == [0, 0, 0, 0, 1, 1, 1, 1]
    starts = [p.start_s for p in spoken]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    assert 0.3 < u.duration_s < 2.0


def test_faster_rate_is_shorter() -> None:
    slow = phoneme_timings("the quick brown fox", rate_wpm=120)
    fast = phoneme_timings("the quick brown fox", rate_wpm=300)
    assert fast.duration_s < 0.7 * slow.duration_s
    assert [p.phoneme for p in fast.phonemes if p.phoneme != PAUSE] == [
        p.phoneme for p in slow.phonemes if p.phoneme != PAUSE
    ]


def test_bilabials_attach_to_their_words() -> None:
    u = phoneme_timings("mom paid bob")
    _check_timeline(u)
    assert u.words == ("mom", "paid", "bob")
    by_word = {
        w: [p.phoneme for p in u.phonemes if p.word_index == i] for i, w in enumerate(u.words)
    }
    assert by_word["mom"][0] == "m" and by_word["mom"][-1] == "m"
    assert by_word["paid"][0] == "p"
    assert by_word["bob"][0] == "b" and by_word["bob"][-1] == "b"


def test_sentences_are_separated_by_a_pause() -> None:
    # normalize() lower-cases; the sentence break must still reach espeak as a pause.
    u = phoneme_timings("Hello world. Mom paid Bob.")
    _check_timeline(u)
    world_end = max(p.end_s for p in u.phonemes if p.word_index == 1)
    gap = [p for p in u.phonemes if p.phoneme == PAUSE and p.start_s == pytest.approx(world_end)]
    assert gap and gap[0].end_s - gap[0].start_s > 0.1


def test_text_is_normalised_first() -> None:
    u = phoneme_timings("$5")
    assert u.text == "five dollars"
    assert u.words == ("five", "dollars")
    assert {p.word_index for p in u.phonemes} == {-1, 0, 1}


def test_unspeakable_text_is_empty() -> None:
    u = phoneme_timings("😀 !!")
    assert u.phonemes == () and u.words == () and u.duration_s == 0.0


def test_bad_rate_and_voice_are_named() -> None:
    with pytest.raises(Text2LipsError, match="rate_wpm=5"):
        phoneme_timings("hi", rate_wpm=5)
    with pytest.raises(Text2LipsError, match="no-such-voice"):
        phoneme_timings("hi", voice="no-such-voice")
    assert phoneme_timings("hi").phonemes  # the engine still works afterwards


def test_missing_library_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXT2LIPS_ESPEAK_LIB", "libespeak-ng-does-not-exist.so.9")
    with pytest.raises(EspeakUnavailable, match=r"apt-get install espeak-ng") as info:
        phoneme_timings("hello")
    assert "libespeak-ng-does-not-exist.so.9" in str(info.value)
    assert isinstance(info.value, Text2LipsError)


def test_module_setting_selects_the_library(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEXT2LIPS_ESPEAK_LIB", raising=False)
    monkeypatch.setattr(phonemes, "ESPEAK_LIBRARY", "libm.so.6")  # loads, but is not espeak
    with pytest.raises(EspeakUnavailable, match="libm.so.6"):
        phoneme_timings("hello")


def test_concurrent_calls_match_sequential() -> None:
    texts = ["hello world", "mom paid bob", "the quick brown fox", "one two three"] * 3
    expected = [phoneme_timings(t) for t in texts]
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(phoneme_timings, texts))
    for e, g in zip(expected, got, strict=True):
        assert [p.phoneme for p in g.phonemes] == [p.phoneme for p in e.phonemes]
        assert [p.word_index for p in g.phonemes] == [p.word_index for p in e.phonemes]
        assert [p.start_s for p in g.phonemes] == pytest.approx(
            [p.start_s for p in e.phonemes], abs=0.02
        )
        # espeak's trailing silence varies by a few ms from call to call, threads or not.
        assert g.duration_s == pytest.approx(e.duration_s, abs=0.05)


def test_length_does_not_depend_on_what_was_said_before():
    # espeak-ng renders a trailing silence whose length carries over from the previous text;
    # timing alone ends one fixed tail after the last phoneme, so callers cannot affect each other
    from text2lips.text.phonemes import END_PAUSE_S, phoneme_timings

    alone = phoneme_timings("Hello")
    phoneme_timings("Hello there, how are you today? I am fine, thank you.")
    after = phoneme_timings("Hello")
    assert abs(after.duration_s - alone.duration_s) <= 0.002  # espeak's events: whole ms
    spoken = [p for p in after.phonemes if p.phoneme != "_"]
    assert after.duration_s == pytest.approx(spoken[-1].end_s + END_PAUSE_S, abs=1e-9)
