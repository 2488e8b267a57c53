"""The network: embeddings of each frame's phoneme, expanded by the timeline, through a stack
of dilated 1-D convolutions that see ~0.45 s back and a bounded lookahead (default 150 ms)
ahead, to a 60-value lip displacement per frame. An ensemble of such networks (seeds trained
alike) runs as one graph: every layer is grouped by member, and the members' outputs are
averaged, so K members cost one network's calls and K times its (small) arithmetic."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from text2lips import FRAME_DIM, FRAME_RATE, Text2LipsError
from text2lips.phoneme.features import N_CONTINUOUS, PHONEMES, WORD_POSITIONS, FrameInputs
from text2lips.runtime.kinds import PHONEME
from text2lips.viseme.model import CLASS_NAMES

LOOKAHEAD_S_MAX = 0.150
"""The design bound on how far ahead of a frame the model may look."""
LOOKAHEAD_MAX = round(LOOKAHEAD_S_MAX * FRAME_RATE)
"""The same in frames (12)."""

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
    (kernel_size - 2) * dilation behind (unless `aheads` says otherwise)."""
    aheads: tuple[int, ...] = ()
    """Frames each block sees ahead, one per dilation (its taps then reach
    (kernel_size - 1) * dilation - ahead behind); empty: each block's dilation. Lets the
    history widen (larger dilations) at the same compute while the lookahead stays bounded."""
    dropout: float = 0.1
    """Dropout inside each block while training."""
    lead_s: float = 0.0
    """How far the lips run ahead of the timeline they are given, seconds (learned from the
    training clips when their timing is re-aligned to the lips)."""
    span_cap_s: float = 0.0
    """Cap on the durations the continuous inputs see (features.frame_inputs); 0: none (the
    first shipped model was trained without)."""
    members: int = 1
    """Networks in the ensemble, averaged (train.py trains each alike from its own seed)."""
    gain: float = 1.0
    """Scale of the averaged displacement about the neutral shape: averaging members that
    disagree shrinks the motion, and this gives it back (fitted on the training clips)."""
    phonemes: tuple[str, ...] = field(default=PHONEMES)
    """The phoneme vocabulary the embedding was trained with."""
    speakers: tuple[str, ...] = ()
    """Training speakers with a learned embedding added to the frame features (row 0 is the
    learned "unknown" speaker, trained by speaker dropout, which serving uses for any voice);
    empty: no speaker conditioning."""

    def block_aheads(self) -> tuple[int, ...]:
        """Frames each block sees ahead."""
        if not self.aheads:
            return tuple(self.dilations)
        if len(self.aheads) != len(self.dilations):
            raise Text2LipsError(f"aheads {self.aheads}: need one per dilation {self.dilations}")
        for a, d in zip(self.aheads, self.dilations, strict=True):
            if not 0 <= a <= (self.kernel_size - 1) * d:
                raise Text2LipsError(f"ahead {a} outside the reach of dilation {d}")
        return tuple(self.aheads)

    @property
    def lookahead(self) -> int:
        """Frames of the timeline past a frame that the frame depends on."""
        return int(sum(self.block_aheads()))

    @property
    def history(self) -> int:
        """Frames before a frame that it depends on."""
        return int(sum((self.kernel_size - 1) * d - a
                       for d, a in zip(self.dilations, self.block_aheads(), strict=True)))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PhonemeModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise Text2LipsError(f"unknown phoneme model config keys: {', '.join(sorted(unknown))}")
        d = dict(d)
        for k in ("dilations", "aheads", "phonemes", "speakers"):
            if k in d:
                d[k] = tuple(d[k])
        return cls(**d)


PRESETS: dict[str, PhonemeModelConfig] = {
    "small": PhonemeModelConfig(span_cap_s=0.4),
    "compact": PhonemeModelConfig(channels=64, phoneme_dim=32, span_cap_s=0.4),
    "compact-wide": PhonemeModelConfig(channels=64, phoneme_dim=32, span_cap_s=0.4,
                                       dilations=(1, 2, 4, 8, 4, 2), aheads=(1, 2, 4, 2, 2, 1)),
    "tiny": PhonemeModelConfig(channels=16, phoneme_dim=8, class_dim=4, dilations=(1, 2),
                               span_cap_s=0.4),
}
"""Named sizes: `small` and `compact` (a quarter of its convolution cost) for serving;
`compact-wide`: compact's compute and lookahead with twice its history (0.9 s; it lost on
fold 0, docs/quality.md); `tiny` for tests that must not need trained weights."""


class GroupLinear(nn.Module):
    """One linear map per member: (..., K, n_in) -> (..., K, n_out). Parameters are laid out
    as nn.Linear's with the members stacked along the output (a 1-member one loads an
    nn.Linear's state)."""

    def __init__(self, members: int, n_in: int, n_out: int) -> None:
        super().__init__()
        self.members, self.n_out = members, n_out
        lin = [nn.Linear(n_in, n_out) for _ in range(members)]  # nn.Linear's initialisation
        self.weight = nn.Parameter(torch.cat([m.weight.data for m in lin]))  # (K * n_out, n_in)
        self.bias = nn.Parameter(torch.cat([m.bias.data for m in lin]))  # (K * n_out,)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.members == 1:
            return nn.functional.linear(x, self.weight, self.bias)
        w = self.weight.view(self.members, self.n_out, -1)  # (K, n_out, n_in)
        return torch.einsum("...ki,koi->...ko", x, w) + self.bias.view(self.members, self.n_out)


class GroupLayerNorm(nn.Module):
    """LayerNorm over each member's channels of (B, K * C, T); parameters as nn.LayerNorm's
    with the members stacked."""

    def __init__(self, members: int, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.members, self.channels, self.eps = members, channels, eps
        self.weight = nn.Parameter(torch.ones(members * channels))
        self.bias = nn.Parameter(torch.zeros(members * channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, K * C, T)
        b, kc, t = x.shape
        c = (self.channels,)  # a constant, so that the graph exports
        h = x.transpose(1, 2)  # (B, T, K * C)
        if self.members == 1:  # nn.LayerNorm's own kernel
            return nn.functional.layer_norm(h, c, self.weight, self.bias, self.eps
                                            ).transpose(1, 2)
        h = h.reshape(b, t, self.members, self.channels)  # (B, T, K, C)
        h = nn.functional.layer_norm(h, c, eps=self.eps).reshape(b, t, kc)
        return torch.addcmul(self.bias, h, self.weight).transpose(1, 2)


class Block(nn.Module):
    """Pre-norm residual block: LayerNorm, dilated conv with `dilation` frames of lookahead,
    GELU, 1x1 conv, dropout; each member's channels apart (grouped). `ahead`: frames of
    lookahead (default `dilation`)."""

    def __init__(self, channels: int, kernel_size: int, dilation: int, dropout: float,
                 members: int = 1, ahead: int | None = None) -> None:
        super().__init__()
        kc = members * channels
        self.norm = GroupLayerNorm(members, channels)
        self.conv = nn.Conv1d(kc, kc, kernel_size, dilation=dilation, groups=members)
        self.proj = nn.Conv1d(kc, kc, 1, groups=members)
        self.drop = nn.Dropout(dropout)
        ahead = dilation if ahead is None else ahead
        self.pad = ((kernel_size - 1) * dilation - ahead, ahead)  # (behind, ahead)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, K * C, T)
        h = nn.functional.pad(self.norm(x), self.pad)  # zeros outside the sequence, as a window
        h = self.proj(nn.functional.gelu(self.conv(h)))
        return x + self.drop(h)


class PhonemeLipModel(nn.Module):
    """Frame inputs (B, T) -> displacements (B, T, 60), the mean of `config.members`
    networks times `config.gain`."""

    def __init__(self, config: PhonemeModelConfig) -> None:
        super().__init__()
        self.config = config
        k, c = config.members, config.channels
        if k < 1:
            raise Text2LipsError(f"members {k}: must be at least 1")
        if config.lookahead > LOOKAHEAD_MAX:
            raise Text2LipsError(f"lookahead {config.lookahead} frames: at most {LOOKAHEAD_MAX} "
                                 f"({LOOKAHEAD_S_MAX * 1000:.0f} ms) ahead of a frame")
        # each table holds the members' embeddings side by side: (vocabulary, K * dim)
        self.phoneme = nn.Embedding(len(config.phonemes), k * config.phoneme_dim)
        self.viseme = nn.Embedding(len(CLASS_NAMES), k * config.class_dim)
        self.stress = nn.Embedding(3, k * 4)
        self.word_position = nn.Embedding(len(WORD_POSITIONS), k * 4)
        n_in = config.phoneme_dim + config.class_dim + 4 + 4 + N_CONTINUOUS
        self.inp = GroupLinear(k, n_in, c)
        self.blocks = nn.ModuleList(
            Block(c, config.kernel_size, d, config.dropout, k, a)
            for d, a in zip(config.dilations, config.block_aheads(), strict=True)
        )
        if config.speakers:  # row 0: unknown; starts at zero, so every speaker starts alike
            self.speaker = nn.Embedding(len(config.speakers) + 1, k * c)
            nn.init.zeros_(self.speaker.weight)
        self.norm = GroupLayerNorm(k, c)
        self.out = GroupLinear(k, c, FRAME_DIM)

    def forward(self, ids: torch.Tensor, continuous: torch.Tensor,
                speaker: torch.Tensor | None = None) -> torch.Tensor:
        """ids (B, T, 4) int64 [phoneme, viseme, stress, word position]; continuous
        (B, T, N_CONTINUOUS) -> (B, T, 60). `speaker` (B,) int64: speaker_index rows (None:
        the unknown speaker, which is what serving uses); ignored without speakers."""
        k = self.config.members
        b, t = ids.shape[:2]
        x = torch.cat(
            [
                self.phoneme(ids[..., 0]).view(b, t, k, -1),
                self.viseme(ids[..., 1]).view(b, t, k, -1),
                self.stress(ids[..., 2]).view(b, t, k, -1),
                self.word_position(ids[..., 3]).view(b, t, k, -1),
                continuous[:, :, None].expand(b, t, k, continuous.shape[-1]),
            ],
            dim=-1,
        )  # (B, T, K, n_in)
        h = self.inp(x).reshape(b, t, -1).transpose(1, 2)  # (B, K * C, T)
        if self.config.speakers:
            if speaker is None:
                h = h + self.speaker.weight[0][None, :, None]
            else:
                h = h + self.speaker(speaker)[:, :, None]
        for block in self.blocks:
            h = block(h)
        h = self.norm(h).transpose(1, 2).reshape(b, t, k, -1)  # (B, T, K, C)
        y = self.out(h)  # (B, T, K, 60)
        y = y.mean(2) if k > 1 else y[:, :, 0]
        return y * self.config.gain if self.config.gain != 1.0 else y  # (B, T, 60)

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


_EMBEDDINGS = ("phoneme", "viseme", "stress", "word_position", "speaker")


def ensemble(models: list[PhonemeLipModel], gain: float = 1.0) -> PhonemeLipModel:
    """One model running one-member `models` (same config but for their lead) side by side,
    averaged and scaled by `gain`; its lead is the members' median."""
    configs = [m.config for m in models]
    if not models or any(c.members != 1 for c in configs):
        raise Text2LipsError("an ensemble is made of one-member models")
    base = replace(configs[0], lead_s=0.0)
    if any(replace(c, lead_s=0.0) != base for c in configs):
        raise Text2LipsError("ensemble members differ in config")
    lead = float(np.median([c.lead_s for c in configs]))
    with torch.random.fork_rng(devices=[]):
        out = PhonemeLipModel(replace(base, lead_s=lead, members=len(models), gain=gain))
    states = [m.state_dict() for m in models]
    fused = {}
    for name in out.state_dict():
        parts = [s[name] for s in states]
        # embedding tables hold the members side by side; every other tensor stacks them
        fused[name] = torch.cat(parts, dim=1 if name.split(".")[0] in _EMBEDDINGS else 0)
    out.load_state_dict(fused, strict=True)
    return out.eval()


def speaker_index(config: PhonemeModelConfig, speaker: str | None) -> int:
    """The embedding row of `speaker`: 0 (unknown) for None or a speaker not trained on."""
    try:
        return config.speakers.index(speaker) + 1 if speaker is not None else 0
    except ValueError:
        return 0


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


assert all(p.lookahead <= LOOKAHEAD_MAX for p in PRESETS.values())
