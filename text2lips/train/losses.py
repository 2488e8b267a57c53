"""Training losses and validation metrics: frames + stop gate (+ attention guide and
motion terms), the held-out training loss and the free-running L1 that eval reports."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from text2lips.data.dataset import Clip
from text2lips.model import (
    DecoderOutput,
    LipDecoder,
)
from text2lips.train.batches import (
    Batch,
    Example,
    collate,
)

WORD_GUIDE_WIDTH = 2.0
"""Std, in symbols, of the band around the word-timed position (the diagonal's is 0.2 of
the text): inside a word the letters are spread evenly, which is only roughly right."""


def guided_attention_loss(
    alignments: torch.Tensor,
    text_lengths: torch.Tensor,
    frame_lengths: torch.Tensor,
    g: float = 0.2,
    positions: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean attention mass weighted by 1 - exp(-(l/L - t/T)^2 / 2g^2): 0 on the diagonal.

    With `positions` (B, T), rows that have them (no NaN) are weighted by
    1 - exp(-(l - p_t)^2 / 2 WORD_GUIDE_WIDTH^2) instead: 0 on the symbol said at frame t.
    """
    B, T, L = alignments.shape
    t = torch.arange(T, device=alignments.device)[None, :, None] / frame_lengths[:, None, None]
    n = torch.arange(L, device=alignments.device)[None, None, :] / text_lengths[:, None, None]
    w = 1.0 - torch.exp(-((n - t) ** 2) / (2 * g * g))  # (B, T, L)
    if positions is not None:
        p = positions[:, :T].to(alignments.device)
        known = ~torch.isnan(p).any(dim=1)  # (B,)
        if known.any():
            sym = torch.arange(L, device=alignments.device, dtype=torch.float32)
            d = sym[None, None, :] - torch.nan_to_num(p)[:, :, None]
            w_words = 1.0 - torch.exp(-(d**2) / (2 * WORD_GUIDE_WIDTH**2))
            w = torch.where(known[:, None, None], w_words, w)
    valid = (t < 1.0) & (n < 1.0)
    return (alignments.float() * w * valid).sum() / valid.any(-1).sum()


# --- loss and metrics ----------------------------------------------------------------------


def compute_loss(
    out: DecoderOutput, batch: Batch, pos_weight: torch.Tensor
) -> tuple[torch.Tensor, dict]:
    """Smooth L1 (beta 1) on valid frames (and post-net frames) + weighted gate BCE."""
    T = batch.targets.shape[1]
    valid = (
        torch.arange(T, device=batch.targets.device) < batch.frame_lengths.unsqueeze(1)
    ).unsqueeze(-1)
    n_values = valid.sum() * batch.targets.shape[-1]

    def frame_loss(pred: torch.Tensor) -> torch.Tensor:
        err = F.smooth_l1_loss(pred.float(), batch.targets, beta=1.0, reduction="none")
        return (err * valid).sum() / n_values

    frames = frame_loss(out.frames)
    if out.frames_post is not out.frames:
        frames = frames + frame_loss(out.frames_post)
    # Padding frames keep target 1, as in Tacotron 2: "stopped" is an absorbing state.
    gate = F.binary_cross_entropy_with_logits(
        out.gate_logits.float(), batch.gate_targets, pos_weight=pos_weight
    )
    loss = frames + gate
    return loss, {"frame_loss": frames.item(), "gate_loss": gate.item()}


def motion_loss(frames: torch.Tensor, batch: Batch) -> torch.Tensor:
    """Mean |std_t(pred) - std_t(true)| over sequences and the 60 values (valid frames only)."""
    T = batch.targets.shape[1]
    valid = (
        torch.arange(T, device=batch.targets.device) < batch.frame_lengths.unsqueeze(1)
    ).unsqueeze(-1)  # (B, T, 1)
    n = batch.frame_lengths.clamp(min=2).to(torch.float32).view(-1, 1)  # (B, 1)

    def std(x: torch.Tensor) -> torch.Tensor:  # (B, T, 60) -> (B, 60)
        x = x.float() * valid
        mean = x.sum(1) / n
        var = (((x - mean.unsqueeze(1)) * valid) ** 2).sum(1) / (n - 1)
        return torch.sqrt(var + 1e-6)

    return (std(frames) - std(batch.targets)).abs().mean()


def free_running_l1(
    model: LipDecoder, clips: Sequence[Clip], device: str | torch.device, batch_size: int = 16
) -> float:
    """Free-running L1 per landmark (mm) against the clips, as `text2lips eval` reports it
    for the saved weights: each clip decoded from its text alone to its true length through
    the serving BatchDecoder (`evaluate.free_running_rows`, no closure rule), |dx|+|dy|+|dz|
    averaged over the 20 points and the frames of a clip, then over clips."""
    from text2lips.decode import network_synthesizer
    from text2lips.evaluate import free_running_rows

    was_training = model.training
    try:
        synth = network_synthesizer(model, str(torch.device(device)))
        rows = free_running_rows(synth, list(clips), rule=False, max_batch=batch_size)
    finally:
        model.train(was_training)
    return float(np.mean([r["l1_mm"] for r in rows]))


@torch.no_grad()
def validation_loss(
    model: LipDecoder,
    examples: Sequence[Example],
    batch_size: int,
    device: torch.device,
    pos_weight: torch.Tensor,
) -> float:
    """The training loss (frames, gate, attention guide) on held-out examples, teacher-forced
    in eval mode (no dropout), clip-weighted. Not the paper's number, which has no gate term:
    that is `evaluate.teacher_forced_smooth_l1`."""
    was_training = model.training
    model.eval()
    order = sorted(range(len(examples)), key=lambda i: len(examples[i].target))
    total = 0.0
    for start in range(0, len(order), batch_size):
        batch = collate([examples[i] for i in order[start : start + batch_size]]).to(device)
        loss, _ = compute_loss(
            model(batch.text, batch.text_lengths, batch.targets), batch, pos_weight
        )
        total += loss.item() * len(batch.text)
    model.train(was_training)
    return total / len(examples)
