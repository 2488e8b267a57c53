"""A real clip's timing as a PhonemeTimeline, and where speech is in a clip that has none."""

from __future__ import annotations

import numpy as np

from text2lips import FRAME_RATE, Text2LipsError
from text2lips.data import lips as L
from text2lips.data.dataset import Clip
from text2lips.text.timeline import PhonemeTimeline, Placement, TimedWord, words_timeline

PLACEMENTS = ("espeak", "piper")
"""Where phonemes sit inside a real word's span: in proportion to espeak-ng's durations, or
to those of the Piper voice joe's duration predictor (text2lips.voice.durations)."""

SPEECH_PAD_S = 0.1
"""Margin kept either side of the detected speech span."""


def clip_timeline(clip: Clip, lead_s: float = 0.0, placement: Placement | None = None
                  ) -> PhonemeTimeline:
    """The clip's phonemes at its real word timings (espeak-ng's phonemes spread inside each
    LRS3 word in proportion to espeak's durations, or to `placement`'s: see words_timeline),
    `lead_s` earlier, covering the clip."""
    if not clip.words:
        raise Text2LipsError(
            f"{clip.clip_id}: no word timings (of the real data, only the LRS3 pretrain split "
            "has them)"
        )
    words = [
        TimedWord(w.word, max(w.start_s - lead_s, 0.0), max(w.end_s - lead_s, 0.0))
        for w in clip.words
    ]
    return words_timeline(words, clip.duration_s, placement)


def placement_named(name: str) -> Placement | None:
    """The placement called `name` (PLACEMENTS); None means espeak's, words_timeline's own.
    'piper' needs the voice extra (VoiceUnavailable names it)."""
    if name == "espeak":
        return None
    if name == "piper":
        from text2lips.voice.durations import PiperDurations

        return PiperDurations.shared()
    raise Text2LipsError(f"unknown placement {name!r}; choose one of {', '.join(PLACEMENTS)}")


def speech_span(clip: Clip, threshold: float = 0.15) -> tuple[int, int]:
    """[start, stop) frames where the lips move for speech, found from the landmarks alone:
    the first and last frame whose opening speed (low-passed at 6 Hz) exceeds `threshold` of
    its 95th percentile, padded by SPEECH_PAD_S. RAVDESS clips hold about a second of still
    face either side of the sentence; LRS3 clips are speech throughout."""
    from text2lips.articulation import lowpass

    op = lowpass(L.inner_opening(clip.lips), cutoff_hz=6.0)
    speed = np.abs(np.diff(op)) * FRAME_RATE
    if len(speed) == 0:
        return 0, clip.n_frames
    active = np.flatnonzero(speed > threshold * np.percentile(speed, 95))
    if len(active) == 0:
        return 0, clip.n_frames
    pad = int(round(SPEECH_PAD_S * FRAME_RATE))
    return max(int(active[0]) - pad, 0), min(int(active[-1]) + 2 + pad, clip.n_frames)


def neutral_shapes(clips: list[Clip]) -> dict[str, np.ndarray]:
    """Speaker -> (20, 3) centred neutral shape from the frames outside each clip's speech
    span (the still face before and after the sentence), falling back to all frames."""
    rest: dict[str, list[np.ndarray]] = {}
    for c in clips:
        a, b = speech_span(c)
        frames = np.concatenate([c.lips[:a], c.lips[b:]])
        rest.setdefault(c.speaker, []).append(L.centre(frames if len(frames) else c.lips))
    return {s: np.concatenate(v).mean(axis=0).astype(np.float32) for s, v in rest.items()}
