"""The one free-running decode path of evaluation: many texts at once through the serving
BatchDecoder, so `eval`, training validation and the closure fit see what a user is served.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from text2lips import FRAME_DIM
from text2lips.runtime import SynthesisOptions, Synthesizer


class Spoken(Protocol):
    """What decode_clips needs of a clip (a data.Clip, a closure-fit piece)."""

    text: str

    @property
    def n_frames(self) -> int: ...


def _decode(
    synth: Synthesizer, jobs: list[tuple[str, SynthesisOptions]], max_batch: int
) -> list[list[Any]]:
    """Each job's Frames in order, continuously batched (a job joins as another leaves)."""
    out: list[list[Any]] = [[] for _ in jobs]
    todo = list(range(len(jobs)))
    bd = synth.batch_decoder(max_batch)
    while todo or len(bd):
        while todo and len(bd) < max_batch:
            i = todo.pop(0)
            bd.add(i, *jobs[i])
        for i, frame in bd.step():
            out[i].append(frame)
    return out


def decode_jobs(
    synth: Synthesizer, jobs: list[tuple[str, SynthesisOptions]], *, max_batch: int = 16
) -> list[np.ndarray]:
    """(T, 60) displacements of each (text, options)."""
    decoded = _decode(synth, jobs, max_batch)
    return [np.stack([f.displacement for f in frames]) for frames in decoded]


def decode_aligned(
    synth: Synthesizer, jobs: list[tuple[str, SynthesisOptions]], *, max_batch: int = 16
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(T, 60) displacements and (T, L) attention over the text's L symbols of each job (the
    closure check and fit place letters by it); the same frames as `decode_jobs`."""
    from dataclasses import replace

    jobs = [(text, replace(opts, alignment=True)) for text, opts in jobs]
    return [
        (np.stack([f.displacement for f in frames]), np.stack([f.attention for f in frames]))
        for frames in _decode(synth, jobs, max_batch)
    ]


def clip_options(n_frames: int | None, *, rule: bool = True) -> SynthesisOptions:
    """How a clip is decoded for evaluation: from its text alone, to its true length
    `n_frames` (gate off) or, with None, gate-stopped; `rule`: with the model's closure rule."""
    # Displacements are compared, so the reference added to them does not matter.
    return SynthesisOptions(
        reference=np.zeros(FRAME_DIM, np.float32),
        max_frames=n_frames,
        stop=n_frames is None,
        closure=rule,
    )


def decode_clips(
    synth: Synthesizer,
    clips: Sequence[Spoken],
    *,
    to_true_length: bool,
    max_batch: int = 16,
    rule: bool = True,
) -> list[np.ndarray]:
    """Free-running (T, 60) displacements for each clip (anything with `text` and `n_frames`),
    to its true length or gate-stopped (see `clip_options`)."""
    jobs = [(c.text, clip_options(c.n_frames if to_true_length else None, rule=rule))
            for c in clips]
    return decode_jobs(synth, jobs, max_batch=max_batch)


def network_synthesizer(net: Any, device: str = "cpu") -> Synthesizer:
    """A Synthesizer around an in-memory LipDecoder (a model being trained or fitted), served
    as `Synthesizer.load` serves its checkpoint on torch-cpu, without a closure rule. It puts
    the network in eval mode; a caller that goes on training switches it back."""
    from text2lips.runtime.backend import TorchBackend
    from text2lips.runtime.voice import ModelInfo

    cfg = net.config
    return Synthesizer(
        TorchBackend(net, device),
        ModelInfo(name="in-memory"),
        gate_threshold=cfg.gate_threshold,
        max_frames_per_symbol=cfg.max_frames_per_symbol,
        min_frames=cfg.min_frames,
    )
