"""The lip decoder: a Tacotron-2-style text -> lip-frame model, its config and its checkpoints."""

from text2lips.model.checkpoint import (
    CheckpointError,
    load_model,
    load_nvidia_tacotron2,
    load_state_from,
    read_config,
    read_metadata,
    save_model,
)
from text2lips.model.config import PRESETS, ConfigError, ModelConfig, get_config
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
    "load_nvidia_tacotron2",
    "load_state_from",
    "read_config",
    "read_metadata",
    "save_model",
]
