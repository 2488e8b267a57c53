"""The network: embeddings of each frame's phoneme, expanded by the timeline, through a stack
of dilated 1-D convolutions that see ~0.45 s back and a bounded lookahead (default 150 ms)
ahead, to a 60-value lip displacement per frame."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
import torch
from torch import nn

from text2lips import FRAME_DIM, FRAME_RATE, Text2LipsError
from text2lips.phoneme.features import N_CONTINUOUS, PHONEMES, WORD_POSITIONS, FrameInputs
from text2lips.runtime.kinds import PHONEME
from text2lips.viseme.model import CLASS_NAMES

KIND = PHONEME
"""config.json metadata kind of this model."""


@dataclass(frozen=True)
class PhonemeModelConfig:
    """Sizes of the phoneme-timed model; saved in config.json beside the weights."""

    channels: int = 128
    """Width of the convolution stack."""
    phoneme_dim: int = 64
    """Phoneme embedding size."""
    class_dim: int = 16
    """Viseme-class embedding size (shared by phonemes of one class: the backoff)."""
    kernel_size: int = 5
    """Taps of each dilated convolution."""
    dilations: tuple[int, ...] = (1, 2, 4, 1, 2, 2)
    """One residual block per entry; each sees `dilation` frames ahead and
    (kernel_size - 2) * dilation behind."""
    dropout: float = 0.1
    """Dropout inside each block while training."""
    lead_s: float = 0.0
    """How far the lips run ahead of the timeline they are given, seconds (learned from the
    training clips when their timing is re-aligned to the lips)."""
    span_cap_s: float = 0.0
    """Cap on the durations the continuous inputs see (features.frame_inputs); 0: none (the
    first shipped model was trained without)."""
    phonemes: tuple[str, ...] = field(default=PHONEMES)
    """The phoneme vocabulary the embedding was trained with."""

    @property
    def lookahead(self) -> int:
        """Frames of the timeline past a frame that the frame depends on."""
        return int(sum(self.dilations))

    @property
    def history(self) -> int:
        """Frames before a frame that it depends on."""
        return int(sum((self.kernel_size - 2) * d for d in self.dilations))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PhonemeModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise Text2LipsError(f"unknown phoneme model config keys: {', '.join(sorted(unknown))}")
        d = dict(d)
        for k in ("dilations", "phonemes"):
            if k in d:
                d[k] = tuple(d[k])
        return cls(**d)


PRESETS: dict[str, PhonemeModelConfig] = {
    "small": PhonemeModelConfig(span_cap_s=0.4),
    "compact": PhonemeModelConfig(channels=64, phoneme_dim=32, span_cap_s=0.4),
    "tiny": PhonemeModelConfig(channels=16, phoneme_dim=8, class_dim=4, dilations=(1, 2),
                               span_cap_s=0.4),
}
"""Named sizes: `small` and `compact` (a quarter of its convolution cost) for serving; `tiny`
for tests that must not need trained weights."""


class Block(nn.Module):
    """Pre-norm residual block: LayerNorm, dilated conv with `dilation` frames of lookahead,
    GELU, 1x1 conv, dropout."""

    def __init__(self, channels: int, kernel_size: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)
        self.conv = nn.Conv1d(channels, channels, kernel_size, dilation=dilation)
        self.proj = nn.Conv1d(channels, channels, 1)
        self.drop = nn.Dropout(dropout)
        self.pad = ((kernel_size - 2) * dilation, dilation)  # (behind, ahead)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, C, T)
        h = self.norm(x.transpose(1, 2)).transpose(1, 2)
        h = nn.functional.pad(h, self.pad)  # zeros outside the sequence, as in a window
        h = self.proj(nn.functional.gelu(self.conv(h)))
        return x + self.drop(h)


class PhonemeLipModel(nn.Module):
    """Frame inputs (B, T) -> displacements (B, T, 60)."""

    def __init__(self, config: PhonemeModelConfig) -> None:
        super().__init__()
        self.config = config
        c = config.channels
        self.phoneme = nn.Embedding(len(config.phonemes), config.phoneme_dim)
        self.viseme = nn.Embedding(len(CLASS_NAMES), config.class_dim)
        self.stress = nn.Embedding(3, 4)
        self.word_position = nn.Embedding(len(WORD_POSITIONS), 4)
        n_in = config.phoneme_dim + config.class_dim + 4 + 4 + N_CONTINUOUS
        self.inp = nn.Linear(n_in, c)
        self.blocks = nn.ModuleList(
            Block(c, config.kernel_size, d, config.dropout) for d in config.dilations
        )
        self.norm = nn.LayerNorm(c)
        self.out = nn.Linear(c, FRAME_DIM)

    def forward(self, ids: torch.Tensor, continuous: torch.Tensor) -> torch.Tensor:
        """ids (B, T, 4) int64 [phoneme, viseme, stress, word position]; continuous
        (B, T, N_CONTINUOUS) -> (B, T, 60)."""
        x = torch.cat(
            [
                self.phoneme(ids[..., 0]),
                self.viseme(ids[..., 1]),
                self.stress(ids[..., 2]),
                self.word_position(ids[..., 3]),
                continuous,
            ],
            dim=-1,
        )  # (B, T, n_in)
        h = self.inp(x).transpose(1, 2)  # (B, C, T)
        for block in self.blocks:
            h = block(h)
        return self.out(self.norm(h.transpose(1, 2)))  # (B, T, 60)

    @torch.no_grad()
    def render(self, inputs: FrameInputs) -> np.ndarray:
        """(T, 60) float32 for one utterance, all at once (eval mode)."""
        ids, cont = to_tensors(inputs)
        return self(ids, cont)[0].numpy()

    @torch.no_grad()
    def render_window(self, inputs: FrameInputs, start: int, stop: int) -> np.ndarray:
        """(stop - start, 60) frames [start, stop), computed from only the inputs they depend
        on; equal to rows start..stop of `render` (the streaming path)."""
        lo = max(start - self.config.history, 0)
        hi = min(stop + self.config.lookahead, len(inputs))
        ids, cont = to_tensors(inputs.slice(lo, hi))
        return self(ids, cont)[0, start - lo : stop - lo].numpy()


def to_tensors(inputs: FrameInputs) -> tuple[torch.Tensor, torch.Tensor]:
    """One utterance's inputs as a batch of one."""
    ids = torch.from_numpy(inputs.stacked_ids())[None]  # (1, T, 4)
    cont = torch.from_numpy(inputs.continuous)[None]  # (1, T, 3)
    return ids, cont


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


LOOKAHEAD_S_MAX = 0.150
"""The design bound on how far ahead of a frame the model may look."""
assert PRESETS["small"].lookahead / FRAME_RATE <= LOOKAHEAD_S_MAX + 1e-9
