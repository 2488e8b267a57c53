"""Sizes and switches of the lip decoder: one frozen dataclass, saved beside the weights."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from text2lips import FRAME_DIM, Text2LipsError


class ConfigError(Text2LipsError):
    """A model configuration that cannot be built (unknown key, bad value, unknown preset)."""


@dataclass(frozen=True)
class ModelConfig:
    """Hyper-parameters of `LipDecoder`; defaults are NVIDIA Tacotron 2's, as in the paper."""

    n_symbols: int = 148
    """Size of the symbol table (NVIDIA tacotron2: pad, '-', punctuation, letters, ARPAbet)."""
    symbols_embedding_dim: int = 512
    """Width of the symbol embedding fed to the encoder convolutions."""
    encoder_embedding_dim: int = 512
    """Width of the encoder output (the BiLSTM uses half of it per direction)."""
    encoder_n_convolutions: int = 3
    """Number of conv + batch-norm layers before the encoder BiLSTM."""
    encoder_kernel_size: int = 5
    """Kernel width of the encoder convolutions (odd, so padding keeps the length)."""
    attention_rnn_dim: int = 1024
    """Hidden size of the attention LSTM cell."""
    decoder_rnn_dim: int = 1024
    """Hidden size of the decoder LSTM cell."""
    attention_dim: int = 128
    """Width of the location-sensitive attention's query/memory/location projections."""
    attention_location_n_filters: int = 32
    """Filters of the convolution over previous and cumulative attention weights."""
    attention_location_kernel_size: int = 31
    """Kernel width of that location convolution (odd)."""
    frame_dim: int = FRAME_DIM
    """Values per output frame: 20 lip points x (x, y, z) displacements in mm."""
    prenet: bool = False
    """Feed the previous frame through Tacotron 2's two ReLU+dropout layers (paper: hurts)."""
    prenet_dim: int = 256
    """Width of both pre-net layers when the pre-net is on."""
    postnet: bool = False
    """Refine the whole decoded sequence with Tacotron 2's residual conv post-net (paper: hurts)."""
    postnet_embedding_dim: int = 512
    """Channels of the post-net's hidden convolutions."""
    postnet_kernel_size: int = 5
    """Kernel width of the post-net convolutions (odd)."""
    postnet_n_convolutions: int = 5
    """Number of post-net convolutions, the last one projecting back to frame_dim."""
    p_attention_dropout: float = 0.1
    """Dropout on the attention LSTM's hidden state, in training only."""
    p_decoder_dropout: float = 0.1
    """Dropout on the decoder LSTM's hidden state, in training only."""
    gate_threshold: float = 0.5
    """Stop probability above which free-running decoding may end an utterance."""
    max_frames_per_symbol: float = 12.0
    """Hard length bound per input symbol; LRS3 speech runs about 5-7 frames per character."""
    min_frames: int = 16
    """Frames always decoded (200 ms), also added to the hard bound as headroom."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            kinds = {"bool": (bool,), "int": (int,), "float": (int, float)}[f.type]
            # bool is an int in Python; a JSON `true` must not pass as a layer width.
            if not isinstance(value, kinds) or (f.type != "bool" and isinstance(value, bool)):
                raise ConfigError(f"model config {f.name}={value!r}: expected {f.type}")
            if f.type == "bool":
                continue
            lowest = 0 if f.name.startswith("p_") or f.name == "gate_threshold" else 1
            if value < lowest:
                raise ConfigError(f"model config {f.name}={value!r}: must be >= {lowest}")
        for name in ("p_attention_dropout", "p_decoder_dropout", "gate_threshold"):
            if not getattr(self, name) < 1:
                raise ConfigError(f"model config {name}={getattr(self, name)!r}: must be < 1")
        if self.encoder_embedding_dim % 2:
            # The encoder BiLSTM gives each direction half of the width.
            raise ConfigError(
                f"model config encoder_embedding_dim={self.encoder_embedding_dim}: must be even"
            )
        for name in (
            "encoder_kernel_size",
            "attention_location_kernel_size",
            "postnet_kernel_size",
        ):
            if getattr(self, name) % 2 == 0:
                raise ConfigError(f"model config {name}={getattr(self, name)}: must be odd")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict of every field."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        """Inverse of `to_dict`; missing keys take defaults, unknown keys are an error."""
        if not isinstance(d, dict):
            raise ConfigError(f"model config must be a JSON object, got {type(d).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(
                f"unknown model config key(s) {', '.join(map(repr, unknown))}; "
                f"known keys: {', '.join(sorted(known))}"
            )
        return cls(**d)

    def replace(self, **changes: Any) -> ModelConfig:
        """A copy with some fields changed (validated like `from_dict`)."""
        return ModelConfig.from_dict({**self.to_dict(), **changes})


PRESETS: dict[str, ModelConfig] = {
    "paper": ModelConfig(),
    # About a tenth of the paper model's decoder cost per frame, for CPUs and small GPUs.
    "edge": ModelConfig(
        symbols_embedding_dim=256,
        encoder_embedding_dim=256,
        attention_rnn_dim=256,
        decoder_rnn_dim=384,
        attention_dim=64,
        attention_location_n_filters=16,
    ),
    # Random-weight models for tests and wiring (text2lips.testing): milliseconds per step,
    # a short length bound, and prenet/postnet sizes to match when a test turns them on.
    "tiny": ModelConfig(
        symbols_embedding_dim=32,
        encoder_embedding_dim=32,
        attention_rnn_dim=32,
        decoder_rnn_dim=32,
        attention_dim=16,
        attention_location_n_filters=4,
        attention_location_kernel_size=7,
        prenet_dim=16,
        postnet_embedding_dim=8,
        postnet_n_convolutions=3,
        max_frames_per_symbol=3.0,
        min_frames=8,
    ),
}


def get_config(name: str) -> ModelConfig:
    """The named preset."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(
            f"unknown model preset {name!r}; choose one of: {', '.join(PRESETS)}"
        ) from None
