"""Phonemes with start and end times for any text, from libespeak-ng's phoneme and word events
(synchronous synthesis through ctypes; the audio itself is discarded)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import sys
import threading
from dataclasses import dataclass

from text2lips import Text2LipsError
from text2lips.text.normalize import normalize

ESPEAK_LIBRARY: str | None = None
"""Shared library to load instead of the platform default; the environment variable
TEXT2LIPS_ESPEAK_LIB overrides both."""

PAUSE = "_"
"""Phoneme name of a silence between words or sentences (espeak's '_', '_:' and '_!' merged)."""

RATE_MIN_WPM, RATE_MAX_WPM = 80, 450  # espeakRATE_MINIMUM / espeakRATE_MAXIMUM

# speak_lib.h constants.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_INITIALIZE_DONT_EXIT = 0x8000  # without it a failed init calls exit() in our process
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PARAMETER_RATE = 1
_EVENT_LIST_TERMINATED, _EVENT_WORD, _EVENT_PHONEME = 0, 1, 7
_EE_OK = 0

# A word: letters and digits, joined by apostrophes or hyphens ("don't", "well-known"), the
# unit espeak reports with one word event.
_WORD = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*'?")
# espeak ends a sentence at "." only before a capital; normalize() lower-cases, so restore it.
_SENTENCE_START = re.compile(r"(^|[.!?]\s+)([a-z])")


@dataclass(frozen=True)
class PhonemeTiming:
    """One phoneme of an utterance, timed on espeak's audio."""

    phoneme: str
    """espeak-ng mnemonic, as `espeak-ng -x` prints it without stress marks ('h', '@', 'oU');
    PAUSE for silence."""
    start_s: float
    """Start, seconds from the start of the utterance."""
    end_s: float
    """End, seconds; equal to the next phoneme's start (the timeline has no gaps)."""
    word_index: int
    """Index into `Utterance.words` of the word this phoneme is part of; -1 for pauses. espeak
    says a few common phrases as one word ("so much"): their phonemes all carry the phrase's
    first word."""
    stress: int = 0
    """Lexical stress of the syllable the phoneme is in, where the source knows it: 1 primary,
    2 secondary, 0 unstressed or unknown."""


@dataclass(frozen=True)
class Utterance:
    """A text as espeak-ng speaks it."""

    text: str
    """The normalised text that was spoken."""
    words: tuple[str, ...]
    """Words of `text` in order."""
    phonemes: tuple[PhonemeTiming, ...]
    """Phonemes in time order, covering 0 .. duration_s without gaps."""
    duration_s: float
    """Length of the synthesised audio, seconds (espeak's trailing silence, and sometimes a
    word boundary, can differ by about 10 ms from one call to the next)."""


class EspeakUnavailable(Text2LipsError):
    """libespeak-ng could not be loaded or initialised."""


class _Event(ctypes.Structure):
    class _Id(ctypes.Union):
        _fields_ = [
            ("number", ctypes.c_int),
            ("name", ctypes.c_char_p),
            ("string", ctypes.c_char * 8),
        ]

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # 1-based character position
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # ms
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _Id),
    ]


_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


class _Espeak:
    """The loaded library. espeak-ng keeps global state, so every call holds `_LOCK`."""

    def __init__(self, name: str) -> None:
        self.name = name
        try:
            lib = ctypes.CDLL(name)
        except OSError as e:
            raise EspeakUnavailable(
                f"cannot load the espeak-ng library {name!r} ({e}); install the Debian package "
                "espeak-ng (apt-get install espeak-ng), or set TEXT2LIPS_ESPEAK_LIB to the path "
                "of libespeak-ng"
            ) from e
        try:
            lib.espeak_Initialize.argtypes = [
                ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
            ]  # fmt: skip
            lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
            lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
            lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
            lib.espeak_Synth.argtypes = [
                ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
            ]  # fmt: skip
        except AttributeError as e:
            raise EspeakUnavailable(
                f"{name!r} is not libespeak-ng ({e}); install the Debian package espeak-ng "
                "(apt-get install espeak-ng)"
            ) from e
        self.sample_rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, None, _INITIALIZE_PHONEME_EVENTS | _INITIALIZE_DONT_EXIT
        )
        if self.sample_rate <= 0:
            raise EspeakUnavailable(
                f"espeak-ng library {name!r} loaded but found no voice data; install the Debian "
                "package espeak-ng (apt-get install espeak-ng) or set ESPEAK_DATA_PATH"
            )
        self.lib = lib
        self.voice: str | None = None
        self.events: list[tuple[int, int, int, str]] = []  # (type, text pos, ms, phoneme)
        self.samples = 0
        self.audio: list[bytes] | None = None  # PCM16 pieces, kept only when asked for
        self._callback = _SynthCallback(self._on_synth)  # kept alive as long as the library
        lib.espeak_SetSynthCallback(self._callback)

    def _on_synth(self, wav: object, n_samples: int, events: ctypes.Array[_Event]) -> int:
        self.samples += n_samples
        if self.audio is not None and n_samples > 0:
            self.audio.append(ctypes.string_at(wav, n_samples * 2))
        i = 0
        while (event := events[i]).type != _EVENT_LIST_TERMINATED:
            if event.type == _EVENT_PHONEME:
                name = event.id.string.decode("utf-8", "replace")
                self.events.append((event.type, event.text_position, event.audio_position, name))
            elif event.type == _EVENT_WORD:
                self.events.append((event.type, event.text_position, event.audio_position, ""))
            i += 1
        return 0  # carry on synthesising

    def synthesize(
        self, text: str, rate_wpm: int, voice: str, keep_audio: bool = False
    ) -> tuple[list[tuple[int, int, int, str]], float]:
        """Events and audio duration (s) of `text`; the audio stays in `self.audio` when
        keep_audio."""
        if voice != self.voice:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != _EE_OK:
                raise Text2LipsError(
                    f"espeak-ng has no voice {voice!r}; `espeak-ng --voices` lists them"
                )
            self.voice = voice
        self.lib.espeak_SetParameter(_PARAMETER_RATE, rate_wpm, 0)
        self.events, self.samples = [], 0
        self.audio = [] if keep_audio else None
        data = text.encode("utf-8")
        self.lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        return self.events, self.samples / self.sample_rate


_LOCK = threading.RLock()
_engine: _Espeak | None = None


def _library_name() -> str:
    configured = os.environ.get("TEXT2LIPS_ESPEAK_LIB") or ESPEAK_LIBRARY
    if configured:
        return configured
    if sys.platform.startswith("linux"):
        return "libespeak-ng.so.1"
    return ctypes.util.find_library("espeak-ng") or "libespeak-ng"


def _espeak() -> _Espeak:
    """The engine for the configured library; loaded once, reloaded when the setting changes."""
    global _engine
    name = _library_name()
    if _engine is None or _engine.name != name:
        _engine = _Espeak(name)
    return _engine


def _word_spans(text: str) -> list[tuple[str, int, int]]:
    return [(m[0], m.start(), m.end()) for m in _WORD.finditer(text)]


def split_words(text: str) -> tuple[str, ...]:
    """The words `phoneme_timings` reports for already normalised `text`, in order."""
    return tuple(m[0] for m in _WORD.finditer(text))


def _word_at(spans: list[tuple[str, int, int]], position: int) -> int:
    """Index of the word at or after 0-based character `position`. espeak sometimes reports
    the space before a word after a sentence end."""
    for i, (_, _, end) in enumerate(spans):
        if end > position:
            return i
    return len(spans) - 1


END_PAUSE_S = 0.0125
"""Silence after the last phoneme of an utterance timed without audio (one 80 fps frame)."""


def phoneme_timings(text: str, *, rate_wpm: int = 175, voice: str = "en-us") -> Utterance:
    """Phonemes of `text` (normalised first, so "$5" is spoken) with times and their words,
    as espeak-ng would say them at `rate_wpm` words per minute."""
    return _timings(text, rate_wpm, voice, None)


def speak(
    text: str, *, rate_wpm: int = 175, voice: str = "en-us"
) -> tuple[Utterance, bytes, int]:
    """`phoneme_timings` plus the audio espeak-ng made: (utterance, PCM16 mono bytes, rate)."""
    audio: list[bytes] = []
    utt = _timings(text, rate_wpm, voice, audio)
    return utt, b"".join(audio), _espeak().sample_rate


def _timings(text: str, rate_wpm: int, voice: str, audio: list[bytes] | None) -> Utterance:
    if not RATE_MIN_WPM <= rate_wpm <= RATE_MAX_WPM:
        raise Text2LipsError(
            f"rate_wpm={rate_wpm} is outside espeak-ng's {RATE_MIN_WPM}..{RATE_MAX_WPM}"
        )
    spoken = normalize(text)
    spans = _word_spans(spoken)
    words = tuple(w for w, _, _ in spans)
    if not spans:
        return Utterance(text=spoken, words=words, phonemes=(), duration_s=0.0)
    to_espeak = _SENTENCE_START.sub(lambda m: m[1] + m[2].upper(), spoken)
    with _LOCK:
        engine = _espeak()
        events, duration = engine.synthesize(to_espeak, rate_wpm, voice, audio is not None)
        if audio is not None:
            audio.extend(engine.audio or ())
            engine.audio = None

    # Raw (name, start, word) in time order; a word event opens a word until the next pause.
    raw: list[tuple[str, float, int]] = []
    word = -1
    for kind, position, ms, name in events:
        if kind == _EVENT_WORD:
            word = _word_at(spans, position - 1)
        elif name.startswith("_"):
            raw.append((PAUSE, ms / 1000.0, -1))
            word = -1
        else:
            raw.append((name, ms / 1000.0, word))
    if raw and raw[0][1] > 0.0:
        raw.insert(0, (PAUSE, 0.0, -1))  # espeak's lead-in silence
    if audio is None and raw and raw[-1][0] == PAUSE:
        # How much silence espeak-ng renders after the last phoneme depends on what it said
        # before (0.007-0.046 s): timing alone ends a fixed tail after the last phoneme, so one
        # caller's text never changes another's length. With audio, the audio rules.
        last = len(raw) - 1
        while last > 0 and raw[last - 1][0] == PAUSE:
            last -= 1
        duration = raw[last][1] + END_PAUSE_S
        del raw[last + 1:]

    phonemes: list[PhonemeTiming] = []
    for i, (name, start, index) in enumerate(raw):
        end = raw[i + 1][1] if i + 1 < len(raw) else duration
        start = min(start, duration)
        end = max(min(end, duration), start)
        if name == PAUSE and phonemes and phonemes[-1].phoneme == PAUSE:
            phonemes[-1] = PhonemeTiming(PAUSE, phonemes[-1].start_s, end, -1)  # '_:' then '_'
            continue
        phonemes.append(PhonemeTiming(name, start, end, index))
    return Utterance(text=spoken, words=words, phonemes=tuple(phonemes), duration_s=duration)
