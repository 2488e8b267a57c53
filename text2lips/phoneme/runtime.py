"""The phoneme model as a servable Synthesizer: each utterance's timeline is turned into frame
inputs when it joins, and frames are computed a chunk at a time from only the inputs they
depend on (history + bounded lookahead), so the first frame costs one small window."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from text2lips import FRAME_DIM, Text2LipsError
from text2lips.phoneme.features import FrameInputs, frame_inputs
from text2lips.runtime.protocol import StepResult
from text2lips.runtime.synthesizer import SynthesisOptions, Synthesizer
from text2lips.runtime.voice import ModelInfo

if TYPE_CHECKING:
    from text2lips.phoneme.model import PhonemeModelConfig

FIRST_CHUNK = 8
"""Frames computed for an utterance's first window (what the first frame waits for)."""
CHUNK = 64
"""Frames per later window (larger windows share the history/lookahead overhead)."""

Runner = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""(ids (1, T, 4) int64, continuous (1, T, 3) float32) -> (1, T, 60) float32."""


@dataclass
class PhonemeRows:
    """Per-row inputs, the frames computed so far, and the next frame each row emits."""

    inputs: list[FrameInputs]
    frames: list[np.ndarray]  # (computed, 60) each
    position: np.ndarray  # (B,) int64

    def __len__(self) -> int:
        return len(self.inputs)


class PhonemeBackend:
    """Steps rows one frame at a time, computing the next window when a row runs out."""

    def __init__(self, run: Runner, history: int, lookahead: int, name: str) -> None:
        self.run = run
        self.history = history
        self.lookahead = lookahead
        self.name = name

    def window(self, inputs: FrameInputs, start: int, stop: int) -> np.ndarray:
        """(stop - start, 60) frames [start, stop) from the inputs they depend on."""
        lo = max(start - self.history, 0)
        hi = min(stop + self.lookahead, len(inputs))
        part = inputs.slice(lo, hi)
        out = self.run(part.stacked_ids()[None], part.continuous[None])  # (1, hi - lo, 60)
        return np.asarray(out[0, start - lo : stop - lo], np.float32)

    def start(self, encoded: list[FrameInputs]) -> PhonemeRows:
        empty = [np.zeros((0, FRAME_DIM), np.float32) for _ in encoded]
        return PhonemeRows(list(encoded), empty, np.zeros(len(encoded), np.int64))

    def join(self, rows: PhonemeRows | None, new: PhonemeRows) -> PhonemeRows:
        if rows is None or len(rows) == 0:
            return new
        return PhonemeRows(rows.inputs + new.inputs, rows.frames + new.frames,
                           np.concatenate([rows.position, new.position]))

    def keep(self, rows: PhonemeRows, index: list[int]) -> PhonemeRows:
        return PhonemeRows([rows.inputs[i] for i in index], [rows.frames[i] for i in index],
                           rows.position[index])

    def step(self, rows: PhonemeRows) -> tuple[PhonemeRows, StepResult]:
        out = np.zeros((len(rows), FRAME_DIM), np.float32)  # (B, 60)
        for i, (x, pos) in enumerate(zip(rows.inputs, rows.position.tolist(), strict=True)):
            have = len(rows.frames[i])
            if pos >= have and have < len(x):
                size = FIRST_CHUNK if have == 0 else CHUNK
                new = self.window(x, have, min(have + size, len(x)))
                rows.frames[i] = np.concatenate([rows.frames[i], new])
            if pos < len(rows.frames[i]):
                out[i] = rows.frames[i][pos]
        lengths = np.array([len(x) for x in rows.inputs], np.int64)
        at_end = rows.position >= lengths - 1
        return (
            PhonemeRows(rows.inputs, rows.frames, rows.position + 1),
            StepResult(frames=out, stop_prob=at_end.astype(np.float32), at_end=at_end),
        )


class PhonemeSynthesizer(Synthesizer):
    """Renders on SynthesisOptions.timeline, or on espeak-ng's timing of the text."""

    timed = True

    def __init__(self, backend: PhonemeBackend, info: ModelInfo, config: PhonemeModelConfig,
                 *, rate_wpm: int = 175) -> None:
        super().__init__(backend, info, gate_threshold=0.5, min_frames=1)
        self.config = config
        """The model's config: its lead and input span cap say how to make its inputs."""
        self.rate_wpm = rate_wpm
        """espeak-ng speaking rate (words per minute) when no timeline is given."""

    def encode(self, text: str, options: SynthesisOptions) -> FrameInputs:  # type: ignore[override]
        if options.timeline is not None:
            tl = options.timeline
        else:
            from text2lips.text import has_speakable
            from text2lips.text.timeline import espeak_timeline

            if not has_speakable(text):
                raise Text2LipsError(f"nothing speakable in text {text[:40]!r}")
            tl = espeak_timeline(text, rate_wpm=self.rate_wpm)
        return frame_inputs(tl, max(tl.n_frames, 1), self.config.lead_s, self.config.span_cap_s)

    def encode_text(self, text: str) -> FrameInputs:  # type: ignore[override]
        return self.encode(text, SynthesisOptions())

    def max_frames_for(self, n_symbols: int) -> int:
        """The timeline's own length: `encode` returned n frames."""
        return max(int(n_symbols), 1)


def torch_runner(model, threads: int | None = None, speaker_row: int | None = None) -> Runner:
    """`speaker_row`: the row of a model with speakers to use (default the unknown speaker's,
    as served)."""
    import torch

    if threads:
        torch.set_num_threads(threads)

    def run(ids: np.ndarray, cont: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            if speaker_row is None:
                return model(torch.from_numpy(ids), torch.from_numpy(cont)).numpy()
            rows = torch.full((ids.shape[0],), speaker_row, dtype=torch.long)
            return model(torch.from_numpy(ids), torch.from_numpy(cont), rows).numpy()

    return run


def load_phoneme_synthesizer(
    path: str | Path, backend: str = "torch-cpu", *, threads: int | None = None
) -> PhonemeSynthesizer:
    """A phoneme model directory on torch-cpu or onnxruntime (MODEL/onnx/phoneme.onnx)."""
    from text2lips.model.files import read_metadata
    from text2lips.phoneme.checkpoint import read_phoneme_config

    path = Path(path)
    if backend == "onnxruntime":
        from text2lips.phoneme.onnx import onnx_runner

        config = read_phoneme_config(path, weights=False)
        run = onnx_runner(path, threads=threads)
    elif backend == "torch-cpu":
        from text2lips.phoneme.checkpoint import load_phoneme_model

        model = load_phoneme_model(path)
        config = model.config
        run = torch_runner(model, threads)
    else:
        raise Text2LipsError(
            f"backend {backend!r} does not serve phoneme models; use torch-cpu or onnxruntime"
        )
    meta = read_metadata(path, weights=False)
    info = ModelInfo.from_metadata(meta, fallback_name=path.name)
    weights = path / "model.safetensors"
    if not meta.get("version") and weights.is_file():
        info = replace(info, version=hashlib.sha256(weights.read_bytes()).hexdigest()[:12])
    synth = PhonemeSynthesizer(
        PhonemeBackend(run, config.history, config.lookahead, f"phoneme-{backend}"), info, config
    )
    synth.warmup()
    return synth
