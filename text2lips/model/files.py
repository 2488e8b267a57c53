"""A model directory's config.json (ModelConfig + metadata), read without torch.

The weights and `LipDecoder` live in text2lips.model.checkpoint (torch); this module stays
importable where only numpy and onnxruntime are installed, so the onnxruntime backend can
serve a model directory that ships its ONNX graphs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from text2lips import Text2LipsError
from text2lips.model.config import ModelConfig

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"


class CheckpointError(Text2LipsError):
    """A checkpoint that is missing, corrupt or does not fit the model."""


def model_dir(path: str | Path, *, weights: bool = True) -> Path:
    """The model directory `path` (or the one holding the file `path`), checked to hold
    config.json and, when `weights`, model.safetensors."""
    path = Path(path)
    if path.is_file() and path.name in (WEIGHTS_NAME, CONFIG_NAME):
        path = path.parent
    if not path.is_dir():
        raise CheckpointError(f"no model checkpoint at {str(path)!r} (expected a directory)")
    for name in (CONFIG_NAME, WEIGHTS_NAME) if weights else (CONFIG_NAME,):
        if not (path / name).is_file():
            raise CheckpointError(f"model checkpoint {str(path)!r} has no {name}")
    return path


def read_config_doc(path: str | Path, *, weights: bool = True) -> dict[str, Any]:
    """config.json of a model directory as a dict: {"model": {...}, "metadata": {...}}."""
    file = model_dir(path, weights=weights) / CONFIG_NAME
    try:
        doc = json.loads(file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"corrupt model config {str(file)!r}: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("model"), dict):
        raise CheckpointError(f"corrupt model config {str(file)!r}: no 'model' object")
    return doc


def read_config(path: str | Path, *, weights: bool = True) -> ModelConfig:
    """The `ModelConfig` stored in a checkpoint directory.

    `weights=False` accepts a directory without model.safetensors (one that ships only its
    exported graphs).
    """
    return ModelConfig.from_dict(read_config_doc(path, weights=weights)["model"])


def read_metadata(path: str | Path, *, weights: bool = True) -> dict[str, Any]:
    """The free-form metadata stored with a checkpoint (training run, data, metrics...)."""
    return dict(read_config_doc(path, weights=weights).get("metadata") or {})
