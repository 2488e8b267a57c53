"""A phoneme model directory: config.json ({"model": PhonemeModelConfig, "metadata": {...,
"kind": "phoneme"}}) beside model.safetensors, as the Tacotron checkpoints are laid out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from text2lips.model.checkpoint import _atomic_write
from text2lips.model.files import CONFIG_NAME, WEIGHTS_NAME, CheckpointError, read_config_doc
from text2lips.model.files import model_dir as _model_dir
from text2lips.phoneme.model import KIND, PhonemeLipModel, PhonemeModelConfig


def save_phoneme_model(
    model: PhonemeLipModel, out_dir: str | Path, metadata: dict[str, Any]
) -> None:
    """Write out_dir/model.safetensors (fp32) and out_dir/config.json, weights first."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    doc = {"model": model.config.to_dict(), "metadata": dict(metadata) | {"kind": KIND}}
    text = json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n"
    _atomic_write(out_dir / WEIGHTS_NAME, lambda tmp: save_file(tensors, tmp))
    _atomic_write(out_dir / CONFIG_NAME, lambda tmp: Path(tmp).write_text(text))


def read_phoneme_config(path: str | Path, *, weights: bool = True) -> PhonemeModelConfig:
    return PhonemeModelConfig.from_dict(read_config_doc(path, weights=weights)["model"])


def load_phoneme_model(path: str | Path) -> PhonemeLipModel:
    """The exact model saved in directory `path`, in eval() mode."""
    path = _model_dir(path)
    config = read_phoneme_config(path)
    try:
        state = load_file(path / WEIGHTS_NAME)
    except (SafetensorError, OSError, ValueError) as exc:
        file = str(path / WEIGHTS_NAME)
        raise CheckpointError(f"corrupt model weights {file!r}: {exc}") from None
    with torch.random.fork_rng(devices=[]):
        model = PhonemeLipModel(config)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"weights in {str(path)!r} do not fit its config: {exc}") from None
    return model.eval()


__all__ = ["CONFIG_NAME", "WEIGHTS_NAME", "load_phoneme_model", "save_phoneme_model"]
