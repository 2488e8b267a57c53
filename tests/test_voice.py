"""Voices: the audio and the lips are on one clock. Real voices (Piper joe, espeak-ng), the
shipped default lip model, real audio measured for energy; client marks from example files
written from each vendor's documentation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from text2lips import FRAME_RATE, Text2LipsError
from text2lips.closure import BILABIAL_PHONEMES, CLOSED_SHARE
from text2lips.data import lips as L
from text2lips.runtime import Synthesizer
from text2lips.runtime.synthesizer import Frame
from text2lips.text.phonemes import PAUSE
from text2lips.voice import VOICES, VoiceChunk, join, load_voice
from text2lips.voice.lips import speak_all, voiced
from text2lips.voice.marks import MARK_FORMATS, MarksVoice, read_marks
from text2lips.voice.piper import piper_available

ROOT = Path(__file__).resolve().parents[1]
MARKS = Path(__file__).parent / "data" / "marks"
# Unseen lines: the bench's game and talk sentences (none is in the training clips).
SENTENCES = (ROOT / "benchmarks" / "sentences.txt").read_text().splitlines()[:20]
WINDOW_FRAMES = int(0.04 * FRAME_RATE)  # +-40 ms is +-3 frames (37.5 ms)

needs_piper = pytest.mark.skipif(
    not piper_available(), reason="voice 'joe' not installed (pip install 'text2lips[voice]')"
)


@pytest.fixture(scope="module")
def synth() -> Synthesizer:
    return Synthesizer.load(ROOT / "models" / "default")


@pytest.fixture(scope="module")
def joe():
    if not piper_available():
        pytest.skip("voice 'joe' not installed (pip install 'text2lips[voice]')")
    return load_voice("joe", threads=1)


@pytest.fixture(scope="module")
def joe_lines(synth, joe):
    return [(text, *speak_all(synth, joe, text)) for text in SENTENCES]


def _energy_db(audio: np.ndarray, rate: int) -> np.ndarray:
    """(N,) level in dB below the loudest 10 ms of the line, per sample (10 ms moving RMS)."""
    x = audio.astype(np.float64) / 32768
    hop = int(0.01 * rate)
    rms = np.sqrt(np.convolve(x**2, np.ones(hop) / hop, "same"))
    return 20 * np.log10(rms + 1e-7) - 20 * np.log10(rms.max())


def test_every_bilabial_closes_on_the_audio(joe_lines):
    checked = 0
    for text, _, _, timeline, frames in joe_lines:
        opening = L.inner_opening(frames)
        lo, span = opening.min(), max(opening.max() - opening.min(), 1e-6)
        for p in timeline.phonemes:
            if p.phoneme not in BILABIAL_PHONEMES:
                continue
            c = int(round(p.start_s * FRAME_RATE))
            window = opening[max(c - WINDOW_FRAMES, 0) : c + WINDOW_FRAMES + 1]
            share = (window.min() - lo) / span
            assert share < CLOSED_SHARE, f"{text!r}: {p.phoneme} at {p.start_s:.3f} s open"
            checked += 1
    assert checked >= 40


STOPS = frozenset({"p", "b", "t", "d", "k", "g", "t#", "?"})


def test_voice_pauses_match_quiet_stretches_of_the_audio(joe_lines):
    """The voice's own alignment against its waveform: every pause of 150 ms or more lies in
    a quiet stretch (10 ms RMS below -50 dB of the line's peak), and that stretch's edges
    fall within +-30 ms of the pause's edges. An edge next to a stop is not timed: a stop's
    closure is silent and its burst is noise, so the sound itself has no edge there. Piper
    draws durations with noise, so a few edges may miss: at least 90 % must hold."""
    offsets = []
    for text, audio, rate, timeline, _ in joe_lines:
        quiet = _energy_db(audio, rate) < -50
        phones = timeline.phonemes
        for i, p in enumerate(phones):
            if p.phoneme != PAUSE or p.end_s - p.start_s < 0.15 or i == 0:
                continue
            mid = int((p.start_s + p.end_s) / 2 * rate)
            assert quiet[mid], f"{text!r}: sound in the middle of {p}"
            a = mid
            while a > 0 and quiet[a - 1]:
                a -= 1
            b = mid
            while b < len(audio) and quiet[b]:
                b += 1
            if phones[i - 1].phoneme not in STOPS:
                offsets.append(a / rate - p.start_s)
            if i + 1 < len(phones) and phones[i + 1].phoneme not in STOPS:
                offsets.append(b / rate - p.end_s)
    offsets = np.abs(offsets)
    assert len(offsets) >= 10
    assert np.mean(offsets <= 0.03) >= 0.9, np.round(np.sort(offsets) * 1000)
    assert np.median(offsets) <= 0.015


def test_audio_and_frames_start_together_and_end_within_a_frame(joe_lines):
    for text, audio, rate, timeline, frames in joe_lines:
        assert abs(len(audio) / rate - timeline.duration_s) < 1e-6
        assert abs(len(frames) / FRAME_RATE - len(audio) / rate) <= 1 / FRAME_RATE, text


def test_mouth_rests_after_long_pauses_and_at_the_end(synth, joe_lines):
    reference = synth.info.reference_for(None)
    for text, _, _, timeline, frames in joe_lines:
        away = np.abs(frames - reference).max(axis=1)  # mm from the neutral shape
        assert away[-1] < 0.5, text
        for p in timeline.phonemes:
            if p.phoneme == PAUSE and p.end_s - p.start_s >= 0.25 and p.start_s > 0:
                a = int(p.start_s * FRAME_RATE)
                b = int(min(p.start_s + 0.2, p.end_s) * FRAME_RATE)
                assert away[a : b + 1].min() < 0.5, f"{text!r}: not at rest in {p}"


def test_stream_interleaves_chunks_and_frames_in_order(synth, joe):
    text = "Listen carefully, because I am only going to explain the plan once before we go."
    items = list(voiced(synth, joe, text))
    chunks = [i for i in items if isinstance(i, VoiceChunk)]
    frames = [i for i in items if isinstance(i, Frame)]
    assert isinstance(items[0], VoiceChunk) and len(chunks) >= 2  # first clause said alone
    assert [f.index for f in frames] == list(range(len(frames)))
    assert frames[-1].last and not any(f.last for f in frames[:-1])
    # each chunk comes before the frames of its time
    t = 0.0
    for item in items:
        if isinstance(item, VoiceChunk):
            assert abs(item.start_s - t) < 1e-9
            t += len(item.audio) / item.sample_rate
        else:
            assert item.time_s < t + 1 / FRAME_RATE
    assert chunks[0].audio.dtype == np.int16 and chunks[0].sample_rate == 22050


def test_espeak_voice_gives_audio_on_its_timeline(synth):
    voice = load_voice("espeak")
    audio, rate, timeline, frames = speak_all(synth, voice, "Bob met me by the boat.")
    assert rate > 0 and len(audio) / rate == pytest.approx(timeline.duration_s)
    assert abs(len(frames) / FRAME_RATE - timeline.duration_s) <= 1 / FRAME_RATE
    assert np.abs(audio).max() > 3000  # heard, not silence


def test_none_voice_is_lips_only(synth):
    audio, rate, timeline, frames = speak_all(synth, load_voice("none"), "Hello there.")
    assert len(audio) == 0 and rate == 0 and len(frames) == timeline.n_frames


@pytest.mark.parametrize("name", ["joe", "espeak", "none"])
def test_unsayable_text_is_an_error_not_a_crash(name):
    if name == "joe" and not piper_available():
        pytest.skip("voice 'joe' not installed")
    voice = load_voice(name)
    with pytest.raises(Text2LipsError, match="nothing speakable"):
        list(voice.synthesize("🙂🙂 ✨"))


def test_unknown_voice_names_the_voices():
    with pytest.raises(Text2LipsError) as e:
        load_voice("bob")
    assert all(v in str(e.value) for v in VOICES)


def test_missing_voice_package_names_the_extra(monkeypatch):
    import importlib.util

    from text2lips.voice import piper

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda n, *a: None if n == "piper" else real(n, *a))
    with pytest.raises(Text2LipsError, match=r"piper-tts.*text2lips\[voice\]"):
        piper.PiperVoice.load()


@pytest.mark.parametrize("fmt", MARK_FORMATS)
def test_client_marks_give_lips_on_the_marks(synth, fmt):
    path = next(MARKS.glob(f"{'words.json' if fmt == 'words' else fmt + '.*'}"))
    marks = read_marks(path, fmt)
    expected = [("Bob", 0.10), ("bought", 0.32), ("a", 0.58), ("map", 0.64), ("then", 1.20),
                ("met", 1.42), ("me", 1.66)]
    assert [(w.word, round(w.start_s, 3)) for w in marks] == expected
    _, _, timeline, frames = speak_all(synth, MarksVoice(marks), "Bob bought a map, then met me.")
    assert [w.start_s for w in timeline.words] == [w.start_s for w in marks]
    assert len(frames) == timeline.n_frames
    opening = L.inner_opening(frames)
    lo, span = opening.min(), opening.max() - opening.min()
    for i, w in enumerate(timeline.words):
        first = next(p for p in timeline.phonemes if p.word_index == i)
        assert abs(first.start_s - marks[i].start_s) <= 1 / FRAME_RATE, (fmt, w)
        if first.phoneme in BILABIAL_PHONEMES:  # the lips show the onset: shut on the mark
            c = int(round(marks[i].start_s * FRAME_RATE))
            assert (opening[c - 1 : c + 2].min() - lo) / span < CLOSED_SHARE, (fmt, w)


def test_bad_marks_are_clear_errors(tmp_path):
    bad = tmp_path / "m.json"
    bad.write_text('{"nope": 1}')
    with pytest.raises(Text2LipsError, match="not azure marks"):
        read_marks(bad, "azure")
    with pytest.raises(Text2LipsError, match="unknown marks format"):
        read_marks(bad, "vtt")
    with pytest.raises(Text2LipsError, match="cannot read"):
        read_marks(tmp_path / "missing.json", "words")


def test_decoder_windows_start_small_grow_and_cover_the_sentence():
    from text2lips.voice.piper import FIRST_WINDOW, windows

    for total, before in [(10, 0), (24, 0), (47, 0), (500, 0), (300, 400), (1, 50)]:
        w = list(windows(total, before))
        assert w[0][0] == 0 and w[-1][1] == total
        assert all(a[1] == b[0] for a, b in zip(w, w[1:], strict=False))  # contiguous
        assert all(b - a >= min(FIRST_WINDOW, total) for a, b in w)  # no sliver at the end
    assert list(windows(500, 0))[:3] == [(0, 24), (24, 72), (72, 216)]


@needs_piper
def test_windowed_decoding_is_the_whole_sentence_decode():
    """The audio decoded a window at a time (with CONTEXT_FRAMES either side) is the audio
    of one pass over the sentence, to one PCM16 step: the cuts cannot be heard. On the f32
    decoder, where this is exact (bf16's rounding: tests/test_voice_backend.py)."""
    joe = load_voice("joe", threads=1, backend="onnxruntime")
    text = "Take the lantern and stay on the marked path; the marsh is deep."
    ids, _, _ = joe._ids(joe._piper.phonemize(text)[0])
    latent, _ = joe._encode(ids)
    total = latent.shape[2]
    whole = joe._run_decoder(latent, 0, total, 0, total).astype(int)  # one pass
    windows = list(joe._windows(latent, 0))  # as the voice says it: (0, 24), (24, 72), ...
    assert len(windows) >= 3
    parts = np.concatenate(windows).astype(int)
    assert len(parts) == len(whole) == total * 256
    assert np.abs(parts - whole).max() <= 1


@needs_piper
def test_join_concatenates_pieces(joe):
    chunks = list(joe.synthesize("Follow me, quickly. The bridge is out."))
    audio, rate, timeline = join(chunks)
    assert len(audio) == sum(len(c.audio) for c in chunks)
    assert timeline.duration_s == pytest.approx(len(audio) / rate)
    assert [w.word for w in timeline.words] == ["follow", "me", "quickly", "the", "bridge",
                                                "is", "out"]


def _t2l(*args: str, cwd: Path = ROOT):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "text2lips", *args], capture_output=True,
                          text=True, cwd=cwd)


@needs_piper
def test_speak_writes_audio_and_frames_beside_it(tmp_path):
    import json
    import wave

    out = tmp_path / "line.wav"
    done = _t2l("speak", "Bob bought a map.", "--voice", "joe", "-o", str(out))
    assert done.returncode == 0, done.stderr
    with wave.open(str(out)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 22050)
        seconds = w.getnframes() / w.getframerate()
    doc = json.loads((tmp_path / "line.json").read_text())
    assert abs(len(doc["landmarks"]) / 80 - seconds) <= 1 / 80
    assert len(doc["blendshapes"]) == len(doc["landmarks"])


@needs_piper
def test_render_mp4_carries_the_audio(tmp_path):
    import subprocess

    from text2lips.voice.cli import ffmpeg

    out = tmp_path / "line.mp4"
    done = _t2l("render", "Hello there.", "--voice", "joe", "-o", str(out))
    assert done.returncode == 0, done.stderr
    info = subprocess.run([ffmpeg(), "-i", str(out)], capture_output=True, text=True).stderr
    assert "Video: h264" in info and "Audio: aac" in info


def test_speak_with_marks_and_bad_options(tmp_path):
    marks = MARKS / "elevenlabs.json"
    out = tmp_path / "m.npy"
    done = _t2l("speak", "Bob bought a map, then met me.", "--marks", str(marks),
                "--marks-format", "elevenlabs", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert len(np.load(out)) == round(1.90 * FRAME_RATE)
    for args, message in [
        (["--marks", str(marks)], "--marks needs --marks-format"),
        (["--voice", "none", "-o", str(tmp_path / "x.wav")], "a .wav needs a voice"),
        (["--marks", str(marks), "--marks-format", "polly"], "not polly marks"),
    ]:
        done = _t2l("speak", "Hello.", *args)
        assert done.returncode == 2 and message in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


def test_marks_must_time_the_words_of_the_text(tmp_path):
    marks = MarksVoice(read_marks(MARKS / "words.json", "words"))
    marks.check_text("BOB bought a map -- then met me!")  # case and punctuation aside
    with pytest.raises(Text2LipsError, match="word 4: the text says 'mop', the marks 'map'"):
        marks.check_text("Bob bought a mop, then met me.")
    with pytest.raises(Text2LipsError, match="the text has 8 words and the marks 7"):
        marks.check_text("Bob bought a map, then met me again.")
    done = _t2l("speak", "Bob sold a map, then met me.", "--marks", str(MARKS / "polly.marks"),
                "--marks-format", "polly", "-o", str(tmp_path / "m.npy"))
    assert done.returncode == 2 and "word 2: the text says 'sold'" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_bake_stores_the_voice_audio_with_the_lips(synth, tmp_path):
    import wave

    from text2lips.bake import BakeLine, bake, decode

    [entry] = list(bake(synth, [BakeLine("bob", "Bob met me by the boat.", "espeak")], tmp_path))
    clip = decode((tmp_path / entry["file"]).read_bytes())
    assert clip.voice == "espeak" and clip.sample_rate == 22050 and len(clip.audio) > 0
    seconds = len(clip.audio) / clip.sample_rate
    assert abs(len(clip.times) / clip.frame_rate - seconds) <= 1 / clip.frame_rate
    assert clip.duration_s == pytest.approx(seconds)
    with wave.open(str(tmp_path / "bob.wav")) as w:
        assert w.getnframes() == len(clip.audio)
