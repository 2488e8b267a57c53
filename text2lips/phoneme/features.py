"""PhonemeTimeline -> per-frame inputs at 80 fps (the length regulator): which phoneme sounds,
its viseme class, stress, where it sits in its word, and how far through the phoneme we are."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from text2lips import FRAME_RATE
from text2lips.text.phonemes import PAUSE
from text2lips.text.timeline import PhonemeTimeline
from text2lips.viseme.model import CLASS_NAMES, VISEME_CLASSES, phoneme_class

PHONEMES: tuple[str, ...] = ("<unk>",) + tuple(
    dict.fromkeys(p for phs in VISEME_CLASSES.values() for p in phs)
)
"""Phoneme vocabulary: every espeak-ng en-us mnemonic the viseme classes name; others map to
<unk> and are told apart by their class."""
_PHONEME_ID = {p: i for i, p in enumerate(PHONEMES)}
_CLASS_ID = {c: i for i, c in enumerate(CLASS_NAMES)}

WORD_POSITIONS = ("pause", "single", "initial", "medial", "final")
"""Where a phoneme sits in its word."""
N_CONTINUOUS = 3
"""Continuous inputs per frame: position in the phoneme (0..1), log duration of the phoneme,
log time to the phoneme's end (all in seconds)."""


@dataclass(frozen=True)
class FrameInputs:
    """Inputs of T frames; integer ids index the model's embeddings."""

    phoneme: np.ndarray
    """(T,) int64 id into PHONEMES."""
    viseme: np.ndarray
    """(T,) int64 id into CLASS_NAMES."""
    stress: np.ndarray
    """(T,) int64 0 unstressed/unknown, 1 primary, 2 secondary."""
    word_position: np.ndarray
    """(T,) int64 id into WORD_POSITIONS."""
    continuous: np.ndarray
    """(T, N_CONTINUOUS) float32."""

    def __len__(self) -> int:
        return len(self.phoneme)

    def slice(self, start: int, stop: int) -> FrameInputs:
        return FrameInputs(
            self.phoneme[start:stop], self.viseme[start:stop], self.stress[start:stop],
            self.word_position[start:stop], self.continuous[start:stop],
        )  # fmt: skip

    def stacked_ids(self) -> np.ndarray:
        """(T, 4) int64: phoneme, viseme, stress, word position."""
        return np.stack([self.phoneme, self.viseme, self.stress, self.word_position], axis=1)


def phoneme_id(phoneme: str) -> int:
    return _PHONEME_ID.get(phoneme, 0)


def frame_inputs(
    timeline: PhonemeTimeline, n_frames: int | None = None, lead_s: float = 0.0,
    span_cap_s: float = 0.0,
) -> FrameInputs:
    """Inputs for each 80 fps frame of the timeline (frames past its end rest in a pause);
    `lead_s` > 0 reads the timeline that much later at each frame (lips ahead of the sound).
    `span_cap_s` > 0 caps the durations the continuous inputs see: inside a long pause, once
    that far from both of its ends, every input is constant, so the lips rest however long the
    pause is (training clips hold few long pauses to learn that from)."""
    n = timeline.n_frames if n_frames is None else n_frames
    phones = list(timeline.phonemes)
    if not phones:
        from text2lips.text.phonemes import PhonemeTiming

        phones = [PhonemeTiming(PAUSE, 0.0, max(n, 1) / FRAME_RATE, -1)]
    k = len(phones)
    pid = np.array([phoneme_id(p.phoneme) for p in phones], np.int64)
    cid = np.array([_CLASS_ID[phoneme_class(p.phoneme)] for p in phones], np.int64)
    stress = np.array([min(max(p.stress, 0), 2) for p in phones], np.int64)
    wpos = np.zeros(k, np.int64)
    for i, p in enumerate(phones):
        if p.word_index < 0 or p.phoneme == PAUSE:
            continue
        first = i == 0 or phones[i - 1].word_index != p.word_index
        last = i == k - 1 or phones[i + 1].word_index != p.word_index
        wpos[i] = 1 if first and last else 2 if first else 4 if last else 3
    starts = np.array([p.start_s for p in phones])
    ends = np.array([p.end_s for p in phones])
    t = (np.arange(n) + 0.5) / FRAME_RATE + lead_s  # frame centres
    idx = np.minimum(np.searchsorted(ends, t, side="right"), k - 1)
    dur = np.maximum(ends[idx] - starts[idx], 1e-3)
    to_end = np.maximum(ends[idx] - t, 0.0)
    if span_cap_s > 0:
        dur = np.minimum(dur, span_cap_s)
        to_end = np.minimum(to_end, span_cap_s)
    pos = np.clip((t - starts[idx]) / dur, 0.0, 1.0)
    past_end = t >= ends[-1]
    cont = np.stack([pos, np.log(dur), np.log(to_end + 0.0125)], axis=1).astype(np.float32)
    out = FrameInputs(pid[idx], cid[idx], stress[idx], wpos[idx], cont)
    if past_end.any():  # beyond the timeline the lips rest
        out.phoneme[past_end] = _PHONEME_ID[PAUSE]
        out.viseme[past_end] = _CLASS_ID["sil"]
        out.word_position[past_end] = 0
        out.stress[past_end] = 0
    return out
