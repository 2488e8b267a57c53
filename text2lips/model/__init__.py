"""The lip decoder: a Tacotron-2-style text -> lip-frame model, its config and its checkpoints.

The config and config.json side (`ModelConfig`, `read_config`, `read_metadata`, ...) imports
without torch; the torch side (`LipDecoder`, `load_model`, `save_model`, ...) is imported on
first use, so a torch-free runtime (onnxruntime) can read a model directory.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from text2lips.model.config import PRESETS, ConfigError, ModelConfig, get_config
from text2lips.model.files import CheckpointError, read_config, read_metadata

if TYPE_CHECKING:
    from text2lips.model.checkpoint import (
        load_model,
        load_state_from,
        save_model,
    )
    from text2lips.model.tacotron import DecoderOutput, DecoderState, Encoded, LipDecoder

__all__ = [
    "PRESETS",
    "CheckpointError",
    "ConfigError",
    "DecoderOutput",
    "DecoderState",
    "Encoded",
    "LipDecoder",
    "ModelConfig",
    "get_config",
    "load_model",
    "load_state_from",
    "read_config",
    "read_metadata",
    "save_model",
]

# Torch-backed names -> the submodule that defines them.
_LAZY = {
    "load_model": "checkpoint",
    "load_state_from": "checkpoint",
    "save_model": "checkpoint",
    "DecoderOutput": "tacotron",
    "DecoderState": "tacotron",
    "Encoded": "tacotron",
    "LipDecoder": "tacotron",
}
_SUBMODULES = ("checkpoint", "config", "files", "tacotron")


def __getattr__(name: str) -> Any:
    """Import the torch-backed names (and submodules) on first access (PEP 562)."""
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
