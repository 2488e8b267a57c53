"""The viseme baseline as a servable voice: `Synthesizer.load("viseme")` streams its frames
through the same batch decoder, backend protocol and speakers as the neural models."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from text2lips import FRAME_DIM, Text2LipsError
from text2lips.runtime.protocol import StepResult
from text2lips.runtime.synthesizer import SynthesisOptions, Synthesizer
from text2lips.runtime.voice import ModelInfo
from text2lips.viseme.model import LICENCE, VisemeModel

MODEL_FILE = "viseme.json"
"""The fitted model inside a viseme model directory (its config.json says `kind: viseme`)."""

VISEME_LICENCE = f"CC BY-NC 4.0. {LICENCE}"

# Mean head-space lip centroid (mm) of the four LRS3 training speakers, measured with
# `speakers_from_data()`; it places the neutral speaker where a real mouth sits when the
# data folder is absent (an installed sidecar).
NEUTRAL_CENTROID = np.array([0.0, 29.6, -27.2], np.float32)


@dataclass
class VisemeRows:
    """Per-row precomputed tracks and the next frame each row emits."""

    tracks: list[np.ndarray]  # (T_i, 60) float32 each
    position: np.ndarray  # (B,) int64

    def __len__(self) -> int:
        return len(self.tracks)


class VisemeBackend:
    """Replays tracks rendered at `encode_text` time one frame per step; a row past its end
    (a caller asked for more frames than espeak's length) holds the neutral shape."""

    name = "viseme"

    def start(self, texts: list[np.ndarray]) -> VisemeRows:
        tracks = [np.asarray(t, np.float32).reshape(-1, FRAME_DIM) for t in texts]
        return VisemeRows(tracks, np.zeros(len(tracks), np.int64))

    def join(self, rows: VisemeRows | None, new: VisemeRows) -> VisemeRows:
        if rows is None or len(rows) == 0:
            return new
        return VisemeRows(rows.tracks + new.tracks, np.concatenate([rows.position, new.position]))

    def keep(self, rows: VisemeRows, index: list[int]) -> VisemeRows:
        return VisemeRows([rows.tracks[i] for i in index], rows.position[index])

    def step(self, rows: VisemeRows) -> tuple[VisemeRows, StepResult]:
        frames = np.zeros((len(rows), FRAME_DIM), np.float32)  # (B, 60)
        for i, (track, pos) in enumerate(zip(rows.tracks, rows.position.tolist(), strict=True)):
            if pos < len(track):
                frames[i] = track[pos]
        lengths = np.array([len(t) for t in rows.tracks], np.int64)
        at_end = rows.position >= lengths - 1  # on the last frame or past it
        return (
            VisemeRows(rows.tracks, rows.position + 1),
            StepResult(frames=frames, stop_prob=at_end.astype(np.float32), at_end=at_end),
        )


class VisemeSynthesizer(Synthesizer):
    """A Synthesizer whose "symbol ids" are the whole (T, 60) track, so its natural length is
    espeak-ng's and the decode loop only paces it out."""

    def __init__(self, model: VisemeModel, info: ModelInfo, *, rate_wpm: int = 175,
                 strength: float = 1.0) -> None:
        super().__init__(VisemeBackend(), info, gate_threshold=0.5, min_frames=1)
        self.model = model
        self.rate_wpm = rate_wpm
        """espeak speaking rate, words per minute."""
        self.strength = strength
        """Movement scale (1 = as fitted, which has the lowest error on held-out speakers)."""

    timed = True

    def encode(self, text: str, options: SynthesisOptions) -> np.ndarray:  # type: ignore[override]
        """(T, 60) track on `options.timeline` when one is given, else as espeak-ng times text."""
        if options.timeline is None:
            return self.encode_text(text)
        tl = options.timeline
        track = self.model.render(tl.phonemes, tl.n_frames) * np.float32(self.strength)
        return track if len(track) else np.zeros((1, FRAME_DIM), np.float32)

    def encode_text(self, text: str) -> np.ndarray:  # type: ignore[override]
        """(T, 60) float32 displacement track of `text`; an error when nothing is speakable."""
        from text2lips.text import has_speakable

        if not has_speakable(text):
            raise Text2LipsError(f"nothing speakable in text {text[:40]!r}")
        track = self.model.synthesize(text, rate_wpm=self.rate_wpm, strength=self.strength)
        # espeak always says something for speakable text; one neutral frame guards the bound.
        return track if len(track) else np.zeros((1, FRAME_DIM), np.float32)

    def max_frames_for(self, n_symbols: int) -> int:
        """The track's own length: `encode_text` returned n frames."""
        return max(int(n_symbols), 1)


def _speakers(model: VisemeModel) -> dict[str, np.ndarray]:
    from text2lips.data.dataset import default_data_dir
    from text2lips.runtime.voice import speakers_from_data

    if (default_data_dir() / "lrs3_ted93").is_dir():
        return speakers_from_data()
    return {"neutral": (model.reference + NEUTRAL_CENTROID).reshape(FRAME_DIM).astype(np.float32)}


def default_model_file() -> Path:
    """viseme.json of the model named `viseme`, found as every model is (`resolve_model`:
    $TEXT2LIPS_MODELS, then the checkout), so an installed package finds it too."""
    from text2lips.runtime.locate import resolve_model

    return resolve_model("viseme") / MODEL_FILE


def load_viseme_synthesizer(path: str | Path | None = None) -> Synthesizer:
    """The viseme baseline from its JSON (default: the repository's models/viseme/viseme.json),
    with the real training speakers when the data folder is present, else one neutral one."""
    path = Path(path) if path is not None else default_model_file()
    if not path.is_file():
        raise Text2LipsError(
            f"no viseme model at {path}; fit one with `python -m text2lips.viseme --out {path}`"
        )
    model = VisemeModel.load(path)
    speakers = _speakers(model)
    info = ModelInfo(
        name="viseme", version=hashlib.sha256(path.read_bytes()).hexdigest()[:12],
        licence=VISEME_LICENCE, speakers=speakers, default_speaker=sorted(speakers)[0],
        kind="viseme",
    )
    synth = VisemeSynthesizer(model, info)
    synth.warmup()
    return synth


def load_viseme_dir(model_dir: str | Path) -> Synthesizer:
    """A viseme model directory: config.json (`kind: viseme`, `model.file`) beside the JSON
    model it names (default viseme.json)."""
    import json

    model_dir = Path(model_dir)
    doc = json.loads((model_dir / "config.json").read_text())
    name = (doc.get("model") or {}).get("file", MODEL_FILE)
    return load_viseme_synthesizer(model_dir / name)


__all__ = ["MODEL_FILE", "VisemeBackend", "VisemeSynthesizer",
           "default_model_file",
           "load_viseme_dir", "load_viseme_synthesizer"]
