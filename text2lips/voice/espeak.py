"""espeak-ng as a voice (robotic, but always there) and `none`: espeak-ng's timing, no sound."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from text2lips import Text2LipsError
from text2lips.text.timeline import PhonemeTimeline
from text2lips.voice import VoiceChunk

LICENCE = "espeak-ng (GPL-3.0-or-later)"


def _check(text: str) -> None:
    from text2lips.text import has_speakable

    if not has_speakable(text):
        raise Text2LipsError(f"nothing speakable in text {text[:40]!r}")


class EspeakVoice:
    """espeak-ng's audio with the phoneme events of the same synthesis (one pass, one clock)."""

    name = "espeak"
    licence = LICENCE

    def __init__(self, rate_wpm: int = 175) -> None:
        from text2lips.text.phonemes import _espeak

        self.rate_wpm = rate_wpm
        self.sample_rate: int = _espeak().sample_rate

    def synthesize(self, text: str) -> Iterator[VoiceChunk]:
        from text2lips.text.phonemes import speak

        _check(text)
        utt, pcm, rate = speak(text, rate_wpm=self.rate_wpm)
        audio = np.frombuffer(pcm, np.int16)
        timeline = PhonemeTimeline.from_utterance(utt).padded(len(audio) / rate)
        yield VoiceChunk(audio, rate, 0.0, timeline)


class SilentVoice:
    """No audio: lips timed by espeak-ng (a model that times itself ignores the timeline)."""

    name = "none"
    licence = LICENCE
    sample_rate = 0

    def synthesize(self, text: str) -> Iterator[VoiceChunk]:
        from text2lips.text.timeline import espeak_timeline

        _check(text)
        yield VoiceChunk(np.zeros(0, np.int16), 0, 0.0, espeak_timeline(text))
