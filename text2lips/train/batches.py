"""Training batches and alignment: clips to examples (symbol ids, target frames, the
symbol said at each frame), segments, collation, teacher-input corruption and batching."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import numpy as np
import torch

from text2lips import Text2LipsError
from text2lips.text import text_to_sequence
from text2lips.train.settings import (
    TrainSettings,
)

# --- data ----------------------------------------------------------------------------------


class ClipLike(Protocol):
    clip_id: str
    text: str

    @property
    def target(self) -> np.ndarray: ...


class Example(NamedTuple):
    """One training pair: symbol ids and the (T, 60) displacement frames to predict."""

    clip_id: str
    ids: torch.Tensor  # (L,) int64
    target: torch.Tensor  # (T, 60) float32
    positions: torch.Tensor | None = None
    """(T,) float32: the symbol being said at each frame, from word timings (None: unknown)."""


class Batch(NamedTuple):
    """Padded examples, ready for `LipDecoder.forward`."""

    text: torch.Tensor  # (B, L) int64, 0 (the pad symbol) past each text
    text_lengths: torch.Tensor  # (B,) int64
    targets: torch.Tensor  # (B, T, 60), zero past each clip
    frame_lengths: torch.Tensor  # (B,) int64
    gate_targets: torch.Tensor  # (B, T): 0 before each clip's last frame, 1 at and after it
    positions: torch.Tensor  # (B, T) float32 symbol said at each frame; NaN rows: unknown

    def to(self, device: torch.device) -> Batch:
        return Batch(*(t.to(device, non_blocking=True) for t in self))


LIP_LEAD_S = 0.0375
"""How far the lips run ahead of the word timings (s): the viseme fit's median lead."""


def symbol_positions(
    ids: Sequence[int], words: Sequence[Any], n_frames: int, lead_s: float = LIP_LEAD_S
) -> np.ndarray | None:
    """(n_frames,) the symbol being said at each frame, from word timings.

    Each word's symbols are found in `ids` in order (punctuation between words is skipped)
    and spread evenly over the word's time; before the first word attention rests on the
    first symbol, between words on the symbol after the earlier word (the space), after the
    last word on its last symbol. Frame t shows the lips at t/80 s, which already shape the
    sound due `lead_s` later. None when a word's symbols are not found in order (the caller
    falls back to the diagonal).
    """
    from text2lips import FRAME_RATE

    if not words or n_frames < 1:
        return None
    ids = list(ids)
    spans: list[tuple[int, int]] = []
    cursor = 0
    for w in words:
        part = text_to_sequence(w.word)
        if not part:
            return None
        k = next(
            (k for k in range(cursor, len(ids) - len(part) + 1) if ids[k : k + len(part)] == part),
            None,
        )
        if k is None:
            return None
        spans.append((k, k + len(part)))
        cursor = k + len(part)
    starts = np.array([w.start_s for w in words])
    ends = np.maximum(np.array([w.end_s for w in words]), starts)
    t = np.arange(n_frames) / FRAME_RATE + lead_s
    pos = np.zeros(n_frames)
    for i, ((a, b), s0, e0) in enumerate(zip(spans, starts, ends, strict=True)):
        inside = (t >= s0) & (t < e0)
        pos[inside] = a + (t[inside] - s0) / max(e0 - s0, 1e-6) * (b - a - 1)
        last = i + 1 == len(words)
        after = (t >= e0) & (t < (np.inf if last else starts[i + 1]))
        pos[after] = b - 1 if last else min(b, len(ids) - 1)
    return pos.astype(np.float32)


def to_example(clip: ClipLike, *, timings: bool = True) -> Example:
    """Clip -> symbol ids (NVIDIA tacotron2 table, english cleaners) and target frames, with
    the symbol said at each frame when the clip has word timings. With `timings`, a
    synthetic clip (no `words`, a `word_timings()` method) is timed by espeak-ng again."""
    ids = text_to_sequence(clip.text)
    if not ids:
        raise Text2LipsError(f"clip {clip.clip_id}: transcript {clip.text!r} has no symbols")
    target = clip.target
    words = getattr(clip, "words", ())
    if not words and timings and hasattr(clip, "word_timings"):
        words = clip.word_timings()
    pos = symbol_positions(ids, words, len(target))
    return Example(
        clip.clip_id,
        torch.tensor(ids, dtype=torch.int64),
        torch.from_numpy(target),
        None if pos is None else torch.from_numpy(pos),
    )


@dataclass(frozen=True)
class Segment:
    """A word-aligned piece of a real clip, used like a clip in training."""

    clip_id: str
    text: str
    target: np.ndarray  # (T, 60)
    words: tuple = ()
    """The piece's word timings, from the piece's first frame."""


def segment_clips(clips: Sequence[Any], max_seconds: float, margin_s: float = 0.1) -> list[Any]:
    """Cut clips with word timings at word boundaries into pieces of <= max_seconds.

    Each piece spans its words plus `margin_s` either side (lips move before the sound);
    clips without word timings, or already short enough, are kept whole.
    """
    from text2lips import FRAME_RATE

    out: list[Any] = []
    for clip in clips:
        words = getattr(clip, "words", ())
        if not words or clip.duration_s <= max_seconds:
            out.append(clip)
            continue
        target = clip.target
        group: list[Any] = []
        for w in [*words, None]:
            if w is not None and (not group or w.end_s - group[0].start_s <= max_seconds):
                group.append(w)
                continue
            start = max(0.0, group[0].start_s - margin_s)
            end = min(clip.duration_s, group[-1].end_s + margin_s)
            a, b = int(round(start * FRAME_RATE)), int(round(end * FRAME_RATE))
            if b - a >= 8:
                shift = a / FRAME_RATE
                timed = tuple(
                    dataclasses.replace(g, start_s=g.start_s - shift, end_s=g.end_s - shift)
                    for g in group
                )
                out.append(
                    Segment(
                        f"{clip.clip_id}@{a}", " ".join(g.word for g in group), target[a:b], timed
                    )
                )
            group = [w] if w is not None else []
    return out


def corrupt_teacher(targets: torch.Tensor, settings: TrainSettings) -> torch.Tensor | None:
    """The frames fed back in teacher forcing, with noise and frame dropout (or None)."""
    if settings.teacher_noise <= 0 and settings.teacher_dropout <= 0:
        return None
    teacher = targets + settings.teacher_noise * torch.randn_like(targets)
    keep = torch.rand(targets.shape[:2], device=targets.device) >= settings.teacher_dropout
    return teacher * keep.unsqueeze(-1)


def own_input_mask(
    targets: torch.Tensor, settings: TrainSettings, epoch: int
) -> torch.Tensor | None:
    """(B, T) steps fed the model's own prediction (scheduled sampling), or None."""
    if settings.free_running <= 0:
        return None
    ramp = min(1.0, epoch / max(1.0, settings.epochs / 2))
    return torch.rand(targets.shape[:2], device=targets.device) < settings.free_running * ramp


def gate_targets(frame_lengths: torch.Tensor, n_frames: int) -> torch.Tensor:
    """(B, T) stop targets: 1 from each item's last valid frame on, as in Tacotron 2."""
    t = torch.arange(n_frames).unsqueeze(0)
    return (t >= frame_lengths.unsqueeze(1) - 1).float()


def collate(examples: Sequence[Example]) -> Batch:
    """Pad a list of examples into one batch."""
    text_lengths = torch.tensor([len(e.ids) for e in examples])
    frame_lengths = torch.tensor([len(e.target) for e in examples])
    text = torch.zeros(len(examples), int(text_lengths.max()), dtype=torch.int64)
    targets = torch.zeros(len(examples), int(frame_lengths.max()), examples[0].target.shape[1])
    positions = torch.full(targets.shape[:2], math.nan)
    for i, e in enumerate(examples):
        text[i, : len(e.ids)] = e.ids
        targets[i, : len(e.target)] = e.target
        if e.positions is not None:
            positions[i, : len(e.target)] = e.positions
            positions[i, len(e.target) :] = e.positions[-1]  # past the end: not NaN
    return Batch(
        text,
        text_lengths,
        targets,
        frame_lengths,
        gate_targets(frame_lengths, targets.shape[1]),
        positions,
    )


def make_batches(
    lengths: Sequence[int], batch_size: int, generator: torch.Generator
) -> list[list[int]]:
    """Shuffled batches of indices grouping clips of similar length (little padding).

    Clips are shuffled, sorted by length within pools of 4 batches (so batches still vary
    from epoch to epoch), cut into batches, and the batches shuffled.
    """
    order = torch.randperm(len(lengths), generator=generator).tolist()
    pool = 4 * batch_size
    batches = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: lengths[i])
        batches += [chunk[j : j + batch_size] for j in range(0, len(chunk), batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]
