"""Test models: a random-weight tiny model directory (the `tiny` preset) and a plausible
neutral mouth for it. For tests, benchmark smoke runs and wiring checks, never for serving."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from text2lips import FRAME_DIM
from text2lips.runtime.closure_rule import ClosureRule
from text2lips.runtime.voice import ModelInfo


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

    For tests, benchmarks' smoke runs and wiring checks; its name says `untrained-tiny`.
    `gate_bias` forces the stop gate (e.g. -10: never stop before the hard bound).
    `closure_gain` gives it a closure rule toward the neutral lips (None: no rule), so every
    backend's closure path is exercised by the tests that use it.
    """
    import torch

    from text2lips.model import LipDecoder, get_config, save_model

    torch.manual_seed(seed)
    model = LipDecoder(get_config("tiny"))
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
