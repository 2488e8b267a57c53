"""`PhonemeTimeline`: when each phoneme is said. Every timing source produces one (espeak-ng,
real word timings, a voice's alignment, a game's TTS marks) and every timed lip model reads one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from text2lips import FRAME_RATE, Text2LipsError
from text2lips.text.phonemes import PAUSE, PhonemeTiming, Utterance, phoneme_timings, split_words

__all__ = ["PAUSE", "PhonemeTimeline", "TimedWord", "espeak_timeline", "words_timeline"]


@dataclass(frozen=True)
class TimedWord:
    """One word and when it is said, seconds from the start of the timeline."""

    word: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class PhonemeTimeline:
    """Phonemes with start and end times covering 0 .. duration_s without gaps, and the words
    they belong to. Pauses are PAUSE phonemes with word_index -1."""

    phonemes: tuple[PhonemeTiming, ...]
    """In time order; each ends where the next starts."""
    words: tuple[TimedWord, ...] = ()
    """The words, in order; PhonemeTiming.word_index points here."""
    duration_s: float = 0.0
    """End of the last phoneme, seconds."""

    def __post_init__(self) -> None:
        t = 0.0
        for p in self.phonemes:
            if not (p.end_s >= p.start_s and abs(p.start_s - t) < 1e-6):
                raise Text2LipsError(
                    f"timeline has a gap or overlap at {p.start_s:.3f} s (phoneme {p.phoneme!r})"
                )
            t = p.end_s
        if self.phonemes and abs(t - self.duration_s) > 1e-6:
            raise Text2LipsError(f"timeline ends at {t:.3f} s but says {self.duration_s:.3f} s")

    @classmethod
    def from_segments(
        cls, segments: Sequence[PhonemeTiming], words: Iterable[TimedWord] = ()
    ) -> PhonemeTimeline:
        """From phonemes that may leave gaps or start after 0: gaps become pauses."""
        out: list[PhonemeTiming] = []
        cursor = 0.0
        for p in segments:
            start = max(p.start_s, cursor)
            end = max(p.end_s, start)
            if start > cursor + 1e-9:
                _append(out, PhonemeTiming(PAUSE, cursor, start, -1))
            _append(out, replace(p, start_s=start, end_s=end))
            cursor = end
        return cls(tuple(out), tuple(words), cursor)

    @classmethod
    def from_utterance(cls, utt: Utterance) -> PhonemeTimeline:
        """espeak-ng's own timing of an utterance."""
        bounds: dict[int, list[float]] = {}
        for p in utt.phonemes:
            if p.word_index >= 0:
                b = bounds.setdefault(p.word_index, [p.start_s, p.end_s])
                b[1] = p.end_s
        words = []
        for i, w in enumerate(utt.words):
            start, end = bounds.get(i, (words[-1].end_s if words else 0.0,) * 2)
            words.append(TimedWord(w, start, end))
        tl = cls.from_segments(utt.phonemes, words)
        if tl.duration_s < utt.duration_s:
            tl = tl.padded(utt.duration_s)
        return tl

    @property
    def n_frames(self) -> int:
        """Frames at 80 fps that cover the timeline."""
        return max(int(round(self.duration_s * FRAME_RATE)), 0)

    def padded(self, duration_s: float) -> PhonemeTimeline:
        """The same timeline with a pause added (or the last pause extended) to duration_s."""
        if duration_s <= self.duration_s + 1e-9:
            return self
        out = list(self.phonemes)
        _append(out, PhonemeTiming(PAUSE, self.duration_s, duration_s, -1))
        return PhonemeTimeline(tuple(out), self.words, duration_s)

    def scaled(self, duration_s: float) -> PhonemeTimeline:
        """Every time multiplied so that the timeline lasts duration_s (a uniform time warp)."""
        if self.duration_s <= 0 or duration_s <= 0:
            return self.padded(duration_s)
        k = duration_s / self.duration_s
        phones = tuple(replace(p, start_s=p.start_s * k, end_s=p.end_s * k) for p in self.phonemes)
        words = tuple(replace(w, start_s=w.start_s * k, end_s=w.end_s * k) for w in self.words)
        return PhonemeTimeline(phones, words, phones[-1].end_s if phones else duration_s)

    def shifted(self, offset_s: float) -> PhonemeTimeline:
        """Everything later by offset_s >= 0, with a pause in front."""
        if offset_s < 0:
            raise Text2LipsError(f"offset_s={offset_s}: must be >= 0")
        if offset_s == 0:
            return self
        phones = [replace(p, start_s=p.start_s + offset_s, end_s=p.end_s + offset_s)
                  for p in self.phonemes]
        words = [replace(w, start_s=w.start_s + offset_s, end_s=w.end_s + offset_s)
                 for w in self.words]
        return PhonemeTimeline.from_segments(phones, words)

    def concat(self, other: PhonemeTimeline) -> PhonemeTimeline:
        """`other` placed after this one (its word indices renumbered)."""
        n = len(self.words)
        moved = other.shifted(self.duration_s) if self.duration_s else other
        phones = list(self.phonemes)
        for p in moved.phonemes:
            p = replace(p, word_index=p.word_index + n if p.word_index >= 0 else -1)
            if p.end_s > p.start_s or p.phoneme != PAUSE:
                _append(phones, p)
        return PhonemeTimeline(tuple(phones), self.words + moved.words, moved.duration_s)

    def frame_index(self, n_frames: int | None = None, lead_s: float = 0.0) -> np.ndarray:
        """(T,) index of the phoneme sounding at each 80 fps frame centre (shifted earlier by
        lead_s: lips run ahead of the sound); frames past the end take the last phoneme."""
        n = self.n_frames if n_frames is None else n_frames
        if not self.phonemes:
            return np.zeros(n, np.int64)
        t = np.arange(n) / FRAME_RATE + lead_s
        ends = np.array([p.end_s for p in self.phonemes])
        return np.minimum(np.searchsorted(ends, t, side="right"), len(ends) - 1)

    def speech_span(self) -> tuple[float, float]:
        """(start, end) seconds of the first and last non-pause phoneme; (0, 0) if none."""
        spoken = [p for p in self.phonemes if p.phoneme != PAUSE]
        if not spoken:
            return 0.0, 0.0
        return spoken[0].start_s, spoken[-1].end_s


def _append(out: list[PhonemeTiming], p: PhonemeTiming) -> None:
    """Append, merging adjacent pauses and dropping empty pauses."""
    if p.phoneme == PAUSE:
        if p.end_s <= p.start_s:
            return
        if out and out[-1].phoneme == PAUSE:
            out[-1] = replace(out[-1], end_s=p.end_s)
            return
    out.append(p)


def espeak_timeline(text: str, *, rate_wpm: int = 175, voice: str = "en-us") -> PhonemeTimeline:
    """espeak-ng's phonemes and timing for `text` (normalised first)."""
    return PhonemeTimeline.from_utterance(phoneme_timings(text, rate_wpm=rate_wpm, voice=voice))


Placement = Callable[[str, list[list[PhonemeTiming]]], list["np.ndarray | None"]]
"""(normalised text, espeak-ng's phonemes per word) -> relative lengths of each word's phonemes,
or None for a word to keep espeak's own (text2lips.voice.durations.PiperDurations is one)."""


def words_timeline(
    words: Sequence[TimedWord], duration_s: float | None = None,
    placement: Placement | None = None,
) -> PhonemeTimeline:
    """Phonemes placed inside known word times: espeak-ng phonemises the words (in one call,
    so cross-word context is kept) and each word's phonemes are stretched over its span in
    proportion to espeak's own durations, or to `placement`'s where it gives them. Gaps
    between words become pauses. `words` are as given (a vendor's marks or LRS3's table); a
    word that says nothing (a noise mark) rests.
    """
    from text2lips.text.normalize import normalize

    words = [w for w in words if w.end_s >= w.start_s]
    spoken = [normalize(w.word) for w in words]
    utt = phoneme_timings(" ".join(s for s in spoken if s))
    owner: list[int] = []  # espeak word index -> our word index
    for i, s in enumerate(spoken):
        owner.extend([i] * len(split_words(s)))
    per_word: list[list[PhonemeTiming]] = [[] for _ in words]
    if len(owner) == len(utt.words):
        for p in utt.phonemes:
            if p.word_index >= 0:
                per_word[owner[p.word_index]].append(p)
    else:  # tokenisation disagreed: say each word alone
        for i, s in enumerate(spoken):
            if s:
                per_word[i] = [p for p in phoneme_timings(s).phonemes if p.word_index >= 0]

    lengths_of: list[np.ndarray | None] = [None] * len(words)
    if placement is not None:
        lengths_of = placement(" ".join(s for s in spoken if s), per_word)

    # espeak says some phrases as one word ("so much"): the phrase's phonemes come with its
    # first word and span the words that got none.
    groups: list[tuple[int, int]] = []
    for i, phones in enumerate(per_word):
        if not phones and spoken[i] and groups and per_word[groups[-1][0]]:
            groups[-1] = (groups[-1][0], i)
        else:
            groups.append((i, i))

    out: list[PhonemeTiming] = []
    cursor = 0.0
    for first, last in groups:
        phones = per_word[first]
        start = max(words[first].start_s, cursor)
        end = max(words[last].end_s, start)
        if start > cursor:
            _append(out, PhonemeTiming(PAUSE, cursor, start, -1))
        if not phones:
            _append(out, PhonemeTiming(PAUSE, start, end, -1))
        else:
            lengths = lengths_of[first]
            if lengths is None or len(lengths) != len(phones) or lengths.sum() <= 0:
                lengths = np.array([p.end_s - p.start_s for p in phones])
            edges = np.concatenate([[0.0], np.cumsum(lengths)]) / max(lengths.sum(), 1e-9)
            edges = start + edges * (end - start)
            for p, a, b in zip(phones, edges[:-1], edges[1:], strict=True):
                out.append(replace(p, start_s=float(a), end_s=float(b), word_index=first))
        cursor = end
    tl = PhonemeTimeline(tuple(out), tuple(words), cursor)
    return tl.padded(duration_s) if duration_s is not None else tl
