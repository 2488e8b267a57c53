"""Streaming synthesis: one interface (`Synthesizer`) over several backends."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from text2lips import FRAME_DIM
from text2lips.runtime.closure_rule import ClosureRule
from text2lips.runtime.kinds import LoadOptions, register_kind
from text2lips.runtime.locate import ModelNotFound, resolve_model
from text2lips.runtime.synthesizer import (
    BACKENDS,
    BatchDecoder,
    Frame,
    SynthesisOptions,
    Synthesizer,
    load_tacotron,
)
from text2lips.runtime.voice import ModelInfo


def _load_viseme(path: Path, options: LoadOptions) -> Synthesizer:
    from text2lips.viseme.runtime import load_viseme_dir

    return load_viseme_dir(path)


def _load_phoneme(path: Path, options: LoadOptions) -> Synthesizer:
    from text2lips.phoneme.runtime import load_phoneme_synthesizer

    return load_phoneme_synthesizer(path, options.backend, threads=options.threads)


register_kind("tacotron", load_tacotron)
register_kind("viseme", _load_viseme)
register_kind("phoneme", _load_phoneme)

__all__ = [
    "BACKENDS",
    "BatchDecoder",
    "ClosureRule",
    "Frame",
    "LoadOptions",
    "ModelInfo",
    "ModelNotFound",
    "SynthesisOptions",
    "Synthesizer",
    "placeholder_lips",
    "register_kind",
    "resolve_model",
    "tiny_test_model",
]


def placeholder_lips(
    width: float = 50.0, height: float = 14.0, centre=(0.0, 40.0, -10.0)
) -> np.ndarray:
    """A plausible neutral mouth (60,) for untrained test models: outer and inner ellipses."""
    outer = np.linspace(np.pi, -np.pi, 12, endpoint=False)  # 48 at one corner, round the lip
    inner = np.linspace(np.pi, -np.pi, 8, endpoint=False)
    pts = [(width / 2 * np.cos(a), height / 2 * np.sin(a), 0.0) for a in outer]
    pts += [(width / 2.6 * np.cos(a), height / 6 * np.sin(a), 1.0) for a in inner]
    return (np.array(pts) + centre).astype(np.float32).reshape(-1)


def tiny_test_model(
    out_dir: str | Path,
    *,
    seed: int = 0,
    gate_bias: float | None = None,
    closure_gain: float | None = 3.0,
) -> Path:
    """Write a small random-weight model directory that `Synthesizer.load` can serve.

    For tests and for `make run` before a trained model exists; it is labelled UNTRAINED.
    `gate_bias` forces the stop gate (e.g. -10: never stop before the hard bound).
    `closure_gain` gives it a closure rule toward the neutral lips (None: no rule), so every
    backend's closure path is exercised by the tests that use it.
    """
    import torch

    from text2lips.model import LipDecoder, ModelConfig, save_model

    torch.manual_seed(seed)
    cfg = ModelConfig(
        symbols_embedding_dim=32,
        encoder_embedding_dim=32,
        attention_rnn_dim=32,
        decoder_rnn_dim=32,
        attention_dim=16,
        attention_location_n_filters=4,
        attention_location_kernel_size=7,
        max_frames_per_symbol=3.0,
        min_frames=8,
    )
    model = LipDecoder(cfg)
    if gate_bias is not None:
        with torch.no_grad():
            model.decoder.gate_layer.linear_layer.weight.zero_()
            model.decoder.gate_layer.linear_layer.bias.fill_(gate_bias)
    info = ModelInfo(
        name="untrained-tiny",
        version="0",
        licence="test model, random weights",
        speakers={"neutral": placeholder_lips()},
        default_speaker="neutral",
        closure=None if closure_gain is None else ClosureRule(closure_gain, np.zeros(FRAME_DIM)),
    )
    out = Path(out_dir)
    save_model(model, out, metadata=info.to_metadata())
    return out
