"""Client marks: the timing a game already has from its own TTS, read into a PhonemeTimeline
(no audio). Four formats, as the vendors write them:

- `azure`: Speech SDK WordBoundary events, a JSON list; AudioOffset and Duration in 100 ns ticks.
- `polly`: Amazon Polly speech marks, JSON lines; `time` in ms, `type` word (and viseme, sil).
- `elevenlabs`: character alignment (`characters`, `character_start_times_seconds`,
  `character_end_times_seconds`), bare or inside a response's `alignment`.
- `words`: a JSON list of {"word", "start", "end"} in seconds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from text2lips import Text2LipsError
from text2lips.text.timeline import PhonemeTimeline, TimedWord, words_timeline
from text2lips.voice import VoiceChunk

MARK_FORMATS = ("azure", "polly", "elevenlabs", "words")
TICKS_PER_S = 10_000_000
POLLY_LAST_WORD_S = 0.3
"""Polly gives word starts only; the last word ends at its last viseme plus this (or here)."""


def read_marks(path: str | Path, fmt: str) -> list[TimedWord]:
    """Words with start/end seconds from a marks file in `fmt` (one of MARK_FORMATS)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise Text2LipsError(f"cannot read marks file {path}: {e.strerror}") from e
    return parse_marks(text, fmt, source=str(path))


def parse_marks(text: str, fmt: str, source: str = "marks") -> list[TimedWord]:
    """Words from the marks in `text` (see read_marks)."""
    parsers = {"azure": _azure, "polly": _polly, "elevenlabs": _elevenlabs, "words": _words}
    if fmt not in parsers:
        raise Text2LipsError(f"unknown marks format {fmt!r}; choose one of "
                             f"{', '.join(MARK_FORMATS)}")
    try:
        words = parsers[fmt](text)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as e:
        raise Text2LipsError(f"{source}: not {fmt} marks ({type(e).__name__}: {e})") from e
    words = [w for w in words if w.word.strip()]
    if not words:
        raise Text2LipsError(f"{source}: no words in the {fmt} marks")
    for a, b in zip(words, words[1:], strict=False):
        if b.start_s < a.start_s:
            raise Text2LipsError(f"{source}: word {b.word!r} at {b.start_s:.3f} s starts "
                                 f"before {a.word!r} at {a.start_s:.3f} s")
    for w in words:
        if not (0 <= w.start_s <= w.end_s):
            raise Text2LipsError(f"{source}: word {w.word!r} has start {w.start_s} s and end "
                                 f"{w.end_s} s")
    return words


def marks_timeline(words: list[TimedWord]) -> PhonemeTimeline:
    """The phonemes of the marked words placed inside the marks."""
    return words_timeline(words)


def _azure_time(v: Any) -> float:
    if isinstance(v, str):  # a .NET TimeSpan, "00:00:00.3250000"
        h, m, s = v.split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)
    return float(v) / TICKS_PER_S


def _azure(text: str) -> list[TimedWord]:
    events = json.loads(text)
    if isinstance(events, dict):
        events = events.get("words") or events.get("WordBoundaries") or events["events"]
    out = []
    for e in events:
        e = {k.lower(): v for k, v in e.items()}
        kind = str(e.get("boundarytype", "word")).lower()
        if "punctuation" in kind or "sentence" in kind:
            continue
        start = _azure_time(e["audiooffset"])
        out.append(TimedWord(str(e["text"]), start, start + _azure_time(e["duration"])))
    return out


def _polly(text: str) -> list[TimedWord]:
    marks = [json.loads(line) for line in text.splitlines() if line.strip()]
    starts = [(m["time"] / 1000.0, str(m["value"])) for m in marks if m["type"] == "word"]
    # A word ends where the next word starts, or at a silence viseme before that.
    sils = sorted(m["time"] / 1000.0 for m in marks
                  if m["type"] == "viseme" and m["value"] == "sil")
    last_mark = max((m["time"] / 1000.0 for m in marks), default=0.0)
    out = []
    for i, (start, word) in enumerate(starts):
        nxt = starts[i + 1][0] if i + 1 < len(starts) else last_mark + POLLY_LAST_WORD_S
        end = min([s for s in sils if start < s < nxt] + [nxt])
        out.append(TimedWord(word, start, end))
    return out


def _elevenlabs(text: str) -> list[TimedWord]:
    doc = json.loads(text)
    if "characters" not in doc:
        doc = doc.get("alignment") or doc["normalized_alignment"]
    chars = doc["characters"]
    starts, ends = doc["character_start_times_seconds"], doc["character_end_times_seconds"]
    if not len(chars) == len(starts) == len(ends):
        raise ValueError("characters and their times differ in length")
    out, word, t0, t1 = [], "", 0.0, 0.0
    for c, a, b in zip(chars, starts, ends, strict=True):
        if c.isspace():
            if word:
                out.append(TimedWord(word, t0, t1))
            word = ""
            continue
        if not word:
            t0 = float(a)
        word += c
        if c.isalnum() or c == "'":  # trailing punctuation is not said
            t1 = float(b)
    if word:
        out.append(TimedWord(word, t0, t1))
    return [TimedWord(_strip(w.word), w.start_s, w.end_s) for w in out]


def _words(text: str) -> list[TimedWord]:
    doc = json.loads(text)
    if isinstance(doc, dict):
        doc = doc["words"]
    return [TimedWord(str(w["word"]), float(w["start"]), float(w["end"])) for w in doc]


def _strip(word: str) -> str:
    return re.sub(r"^[^\w']+|[^\w']+$", "", word)


class MarksVoice:
    """A game's marks as a voice without sound: lips follow the marks, the game plays its own
    audio. The words come from the marks; the text must say the same words (`check_text`)."""

    name = "marks"
    licence = ""
    sample_rate = 0

    def __init__(self, words: list[TimedWord]) -> None:
        self.words = words
        self.timeline = marks_timeline(words)

    def check_text(self, text: str) -> None:
        """Text2LipsError naming the first word where `text` and the marks disagree. Words are
        compared as the marks write them (case and punctuation aside, hyphens splitting), so
        the text to give is the one the game's TTS said."""
        said, marked = _tokens(text), _tokens(" ".join(w.word for w in self.words))
        for i, (a, b) in enumerate(zip(said, marked, strict=False)):
            if a != b:
                raise Text2LipsError(f"the text and the marks differ at word {i + 1}: the text "
                                     f"says {a!r}, the marks {b!r}; give the text the marks "
                                     "were made from")
        if len(said) != len(marked):
            raise Text2LipsError(f"the text has {len(said)} words and the marks {len(marked)}; "
                                 "give the text the marks were made from")

    def synthesize(self, text: str) -> Iterator[VoiceChunk]:
        import numpy as np

        self.check_text(text)
        yield VoiceChunk(np.zeros(0, np.int16), 0, 0.0, self.timeline)


def _tokens(text: str) -> list[str]:
    words = re.findall(r"[\w']+", text.casefold().replace("\u2019", "'"))
    return [w.strip("'") for w in words if w.strip("'")]  # quotes around a word are not said
