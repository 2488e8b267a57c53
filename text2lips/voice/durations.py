"""Piper `joe`'s phoneme durations for a text, from its encoder alone (no waveform): a duration
predictor trained on real speech, context-dependent (stress, position, neighbours), used to
place phonemes inside word spans known from elsewhere (LRS3's word timings)."""

from __future__ import annotations

import difflib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from text2lips.text.phonemes import PAUSE, PhonemeTiming

PLACEMENT_VERSION = 1
"""Bump when what the placement computes changes: it keys cached aligned timelines."""
NOISE_W = 0.0
"""Scale of the duration predictor's noise used for placement: 0, its mean durations (the
voice's own 0.8 scored the same in docs/quality.md's fold-0 test)."""


_SHARED: PiperDurations | None = None
_SHARED_LOCK = threading.Lock()


class PiperDurations:
    """The joe voice's encoder (text encoder and duration predictor) in an onnxruntime
    session, run once per text for its phoneme widths; thread-safe, cached per text."""

    def __init__(self, piper: Any, encoder: Any, noise_w: float | None = NOISE_W) -> None:
        self._piper = piper
        self._encoder = encoder
        c = piper.config
        self.noise_w = c.noise_w_scale if noise_w is None else float(noise_w)
        """Scale of the duration predictor's noise: 0 gives its mean durations."""
        self._scales = np.array([c.noise_scale, c.length_scale, self.noise_w], np.float32)
        self._rate = c.sample_rate
        self._cache: dict[str, list[tuple[str, float]]] = {}
        self._lock = threading.Lock()
        self.words_seen = 0
        """Words with phonemes given to __call__ so far."""
        self.words_placed = 0
        """Of those, words whose every phoneme the voice said one for one (the rest are
        placed partly by espeak's lengths, see voice_lengths)."""

    @classmethod
    def load(cls, noise_w: float | None = NOISE_W, threads: int | None = 1,
             cache: Path | None = None) -> PiperDurations:
        """VoiceUnavailable (naming the extra) when the voice's packages are missing."""
        from text2lips.voice.piper import open_joe

        piper, encoder, *_ = open_joe(threads, cache)
        return cls(piper, encoder, noise_w)

    @classmethod
    def shared(cls) -> PiperDurations:
        """One instance per process (the session and the per-text cache are reused)."""
        global _SHARED
        with _SHARED_LOCK:
            if _SHARED is None:
                _SHARED = cls.load()
            return _SHARED

    def phonemes(self, text: str) -> list[tuple[str, float]]:
        """The voice's phonemes for normalised `text` (our mnemonics), each with its length in
        seconds. A stress mark's time goes to the phoneme after it, as in the voice's own
        timeline; the short silence the voice leaves between words and the pauses at
        punctuation are dropped: the word spans come from elsewhere."""
        with self._lock:
            if text in self._cache:
                return self._cache[text]
        from text2lips.voice.ipa import to_mnemonics
        from text2lips.voice.piper import HOP, encode, phoneme_ids

        out: list[tuple[str, float]] = []
        for phonemes in self._piper.phonemize(text):
            ids, symbols, counts = phoneme_ids(self._piper.config.phoneme_id_map, phonemes)
            if not symbols:
                continue
            *_, widths = encode(self._encoder, ids, self._scales)  # latent frames per id
            frames, at = [], 0
            for symbol, n in zip(symbols, counts, strict=True):
                # a symbol's width is its ids' and the pad after it; a space's is silence
                frames.append(0 if symbol == " " else int(widths[at : at + n].sum()))
                at += n
            out += [(s.phoneme, (s.end - s.start) * HOP / self._rate)
                    for s in to_mnemonics(symbols, frames) if s.phoneme != PAUSE]
        with self._lock:
            self._cache[text] = out
        return out

    def __call__(self, text: str, per_word: Sequence[Sequence[PhonemeTiming]]
                 ) -> list[np.ndarray | None]:
        """For each of espeak-ng's words of `text` (its phonemes `per_word`), the lengths the
        voice gives those phonemes (`voice_lengths`). `words_seen` / `words_placed` count the
        words, and those whose every phoneme the voice said too (the rest are placed partly
        by espeak's lengths)."""
        voice = self.phonemes(text)
        ours = [p.phoneme for w in per_word for p in w]
        espeak = np.array([p.end_s - p.start_s for w in per_word for p in w], np.float64)
        lengths, matched = voice_lengths(ours, espeak, [v[0] for v in voice],
                                         [v[1] for v in voice])
        out: list[np.ndarray | None] = []
        at, placed = 0, 0
        for w in per_word:
            n = len(w)
            out.append(lengths[at : at + n] if n else None)
            placed += bool(n) and bool(matched[at : at + n].all())
            at += n
        with self._lock:
            self.words_seen += sum(1 for w in per_word if w)
            self.words_placed += placed
        return out


def voice_lengths(ours: Sequence[str], espeak: np.ndarray, theirs: Sequence[str],
                  seconds: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """(our phonemes' lengths from the voice's reading of the same text, which of ours the
    voice said one for one), the two phoneme strings aligned by difflib, so that a word said
    differently (a number, a phrase espeak says as one word) shifts nothing after it. Where
    they differ (espeak's events write '@L' where the voice's IPA has '@ l', or a ';' the
    voice has no symbol for) a run of ours shares the voice's run's time in proportion to
    espeak's lengths; a phoneme of ours with no counterpart keeps espeak's length scaled by
    the voice/espeak ratio; one of theirs with none lengthens the phoneme of ours before it."""
    theirs_s = np.asarray(seconds, np.float64)
    if len(ours) == 0:  # nothing of ours to time (the voice may still say something)
        return np.zeros(0), np.zeros(0, bool)
    out = np.full(len(ours), np.nan)
    matched = np.zeros(len(ours), bool)
    extra = np.zeros(len(ours))
    sm = difflib.SequenceMatcher(a=list(ours), b=list(theirs), autojunk=False)
    for tag, a0, a1, b0, b1 in sm.get_opcodes():
        if tag == "equal" or (tag == "replace" and a1 - a0 == b1 - b0):
            out[a0:a1] = theirs_s[b0:b1]
            matched[a0:a1] = True
        elif tag == "replace":
            share = espeak[a0:a1] / max(espeak[a0:a1].sum(), 1e-9)
            out[a0:a1] = share * theirs_s[b0:b1].sum()
        elif tag == "insert":
            extra[max(a0 - 1, 0)] += theirs_s[b0:b1].sum()
    known = ~np.isnan(out)
    ratio = out[known].sum() / max(espeak[known].sum(), 1e-9) if known.any() else 1.0
    out[~known] = espeak[~known] * ratio
    return out + extra, matched

