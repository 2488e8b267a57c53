"""Voices: text -> a stream of (audio chunk, PhonemeTimeline piece) on one clock, so lips can
be rendered on the timing of the audio that is played.

`load_voice(name)` gives a `Voice`; `voice.synthesize(text)` yields `VoiceChunk`s as they are
ready. Voices: `joe` (Piper en_US-joe-medium, the default where installed), `espeak`
(espeak-ng's own audio), `none` (no audio: espeak-ng timing only). Client marks (a game's own
TTS timing) are read by `text2lips.voice.marks`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from text2lips import Text2LipsError
from text2lips.text.timeline import PhonemeTimeline

__all__ = [
    "VOICES",
    "Voice",
    "VoiceChunk",
    "VoiceUnavailable",
    "available_voices",
    "default_voice",
    "join",
    "load_voice",
    "render_line",
]

VOICES = ("joe", "espeak", "none")
"""Every voice name, in order of preference."""


class VoiceUnavailable(Text2LipsError):
    """A voice's package is not installed (the message names the extra)."""


@dataclass(frozen=True)
class VoiceChunk:
    """A piece of an utterance: its audio and when its phonemes are said."""

    audio: np.ndarray
    """(N,) int16 PCM, mono; empty for voices without audio."""
    sample_rate: int
    """Samples per second of `audio` (0 without audio)."""
    start_s: float
    """Where the chunk starts on the utterance's clock, seconds."""
    timeline: PhonemeTimeline | None
    """The phonemes of the piece (a sentence or clause) this chunk starts, seconds from the
    chunk's start; it lasts as long as the piece's audio, which may come in several chunks
    (a long sentence's audio is decoded a window at a time). None on a piece's later chunks,
    so the lips of a piece can be rendered as soon as its first audio is ready."""

    @property
    def end_s(self) -> float:
        """Where the chunk's audio ends on the utterance's clock (for a voice without sound,
        where its timeline ends)."""
        if self.sample_rate:
            return self.start_s + len(self.audio) / self.sample_rate
        return self.start_s + (self.timeline.duration_s if self.timeline is not None else 0.0)


class Voice(Protocol):
    """What every voice offers."""

    name: str
    sample_rate: int
    """Output samples per second; 0 for a voice that makes no sound."""
    licence: str

    def synthesize(self, text: str) -> Iterator[VoiceChunk]:
        """Chunks in order, each as soon as it is ready. Raises Text2LipsError
        when the text has nothing speakable."""
        ...


def join(chunks: Iterable[VoiceChunk]) -> tuple[np.ndarray, int, PhonemeTimeline]:
    """The whole utterance: (N,) int16 audio, its rate, and the timeline over all of it."""
    audio: list[np.ndarray] = []
    timeline: PhonemeTimeline | None = None
    rate = 0
    for c in chunks:
        audio.append(c.audio)
        rate = c.sample_rate or rate
        if c.timeline is not None:
            timeline = c.timeline if timeline is None else timeline.concat(c.timeline)
    if timeline is None:
        raise Text2LipsError("the voice produced nothing")
    return (np.concatenate(audio) if audio else np.zeros(0, np.int16)), rate, timeline


def available_voices() -> tuple[str, ...]:
    """Voices whose packages are installed here."""
    from text2lips.voice.piper import piper_available

    return tuple(v for v in VOICES if v != "joe" or piper_available())


def default_voice() -> str:
    """`joe` where Piper and the voice are installed, else `espeak`."""
    return available_voices()[0]


def load_voice(name: str, *, threads: int | None = None, backend: str = "",
               precision: str = "") -> Voice:
    """The voice called `name` (one of VOICES); an unknown name or a missing package is a
    Text2LipsError naming what to do. `backend` / `precision`: the engine of joe's flow and
    waveform decoder (text2lips.voice.backend; empty: OpenVINO bf16 where it can)."""
    if name == "joe":
        from text2lips.voice.backend import DecoderOptions
        from text2lips.voice.piper import PiperVoice

        return PiperVoice.load(threads=threads, options=DecoderOptions(backend, precision))
    if name == "espeak":
        from text2lips.voice.espeak import EspeakVoice

        return EspeakVoice()
    if name == "none":
        from text2lips.voice.espeak import SilentVoice

        return SilentVoice()
    raise Text2LipsError(f"unknown voice {name!r}; choose one of {', '.join(VOICES)}")


@dataclass(frozen=True)
class SpokenLine:
    """A whole line as `text2lips bake` stores it."""

    audio: np.ndarray
    """(N,) int16 mono PCM; empty for voice `none`."""
    sample_rate: int
    frames: np.ndarray
    """(T, 60) landmarks at `frame_rate`, on the audio's clock."""
    frame_rate: float
    timeline: PhonemeTimeline
    weights: np.ndarray | None = None
    """Blend-shape weights; None: the caller solves them."""


def render_line(synth: object, text: str, voice: str) -> SpokenLine:
    """Audio (when the voice makes sound) and the lips on its timing, for baking."""
    from text2lips.voice.lips import speak_all

    audio, rate, timeline, frames = speak_all(synth, load_voice(voice), text)  # type: ignore[arg-type]
    return SpokenLine(audio, rate, frames, float(synth.info.frame_rate), timeline)  # type: ignore[attr-defined]
