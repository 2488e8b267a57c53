"""Train the lip decoder on the real LRS3 clips (the paper's recipe: teacher forcing,
smooth L1 on frames + BCE on the stop gate, Adam with a one-cycle schedule)."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import math
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from text2lips import Text2LipsError
from text2lips.data.dataset import Clip, default_data_dir, load_clips
from text2lips.model import (
    PRESETS,
    DecoderOutput,
    LipDecoder,
    ModelConfig,
    get_config,
    load_model,
    load_nvidia_tacotron2,
    load_state_from,
    read_metadata,
    save_model,
)
from text2lips.runtime.voice import ModelInfo, speakers_from_data
from text2lips.text import text_to_sequence

LICENCE_NOTE = "trained on LRS3 landmark tracks (CC BY-NC-ND 4.0): non-commercial use only"
STATE_NAME = "training_state.pt"
METRICS_COLUMNS = (
    "epoch",
    "step",
    "lr",
    "train_loss",
    "train_frame_loss",
    "train_gate_loss",
    "train_attention_loss",
    "val_loss",
    "val_free_l1_mm",
    "best_free_l1_mm",
    "seconds",
)


@dataclass(frozen=True)
class TrainSettings:
    """What defines a training run; saved with it, so `--resume` continues the same run."""

    config: str = "paper"
    """Model preset name (paper, edge) or a JSON file holding a ModelConfig."""
    prenet: bool | None = None
    """Override the config's pre-net switch (ablation)."""
    postnet: bool | None = None
    """Override the config's post-net switch (ablation)."""
    epochs: int = 500
    """Passes over the training clips (the reference code's hparams use 500)."""
    batch_size: int = 8
    """Clips per optimisation step (paper: 8)."""
    lr: float = 2e-3
    """Peak learning rate of the one-cycle schedule."""
    weight_decay: float = 1e-6
    """Adam weight decay."""
    grad_clip: float = 1.0
    """Gradient norm clipping threshold."""
    gate_pos_weight: float = 10.0
    """BCE weight on "stop" frames: one per clip against hundreds of "go on" frames."""
    seed: int = 1234
    """Seeds weights, dropout and batch order."""
    max_clips: int | None = None
    """Keep only the N shortest clips of each split (quick runs and tests)."""
    init: str | None = None
    """Our own checkpoint directory to start from (e.g. pretrained on the synthetic corpus)."""
    init_nvidia: str | None = None
    """NVIDIA/tacotron2 checkpoint whose embedding and encoder to start from."""
    freeze: tuple[str, ...] = ()
    """Parts of the model left untrained (e.g. embedding, encoder)."""
    eval_every: int = 1
    """Epochs between validations (the last epoch is always validated)."""
    data: str | None = None
    """Shared data folder (default: $TEXT2LIPS_DATA or ../shared/data)."""
    segment_s: float | None = None
    """Cut training clips at word boundaries into pieces of at most this many seconds
    (clips with word timings only); short pieces batch with little padding and give the
    gate many more ends to learn. None: whole clips, as the paper."""
    teacher_noise: float = 0.0
    """Std (mm) of Gaussian noise added to the teacher-forced previous frames, so the model
    learns to recover from its own errors instead of copying the last frame. 0: off (paper)."""
    teacher_dropout: float = 0.0
    """Probability of replacing a teacher-forced previous frame by the neutral (zero) frame,
    which pushes the decoder to read the text through attention. 0: off (paper)."""
    free_running: float = 0.0
    """Scheduled sampling: the largest share of steps fed the model's own previous
    prediction instead of the truth, reached linearly over the first half of training.
    Closes the gap between teacher-forced training and free-running use. 0: off (paper)."""
    guided_attention: float = 0.0
    """Weight of the guided-attention loss (Tachibana et al. 2017): penalises attention far
    from the text/time diagonal, so alignment forms in a few epochs on little data. 0: off."""
    guide: str = "diagonal"
    """What the guided-attention loss pulls attention to: `diagonal` (a constant speaking
    rate, Tachibana et al.) or `words` (the clip's own word timings: each word's letters
    spread over the time it is said, the space between words over pauses; clips without
    word timings, such as synthetic ones, keep the diagonal)."""
    force_attention: bool = False
    """Attention forcing (needs --guide words): clips with word timings are read through
    attention centred on the symbol said at each frame, not the model's own, so what a
    frame looks like is learnt on time, and the attention learns when to move from the
    guided-attention loss alone. Free-running use is unchanged. False: off."""
    motion_loss: float = 0.0
    """Weight of a global-variance loss (as in HMM speech synthesis, Toda & Tokuda 2007): the
    L1 distance between each sequence's per-value std over time, predicted vs true. Frame
    losses alone pull free-running output to the mean wherever timing is uncertain; this
    asks the lips to move as much as real lips do. 0: off."""
    rehearse: str | None = None
    """A synthetic corpus (`text2lips corpus`) rehearsed while fine-tuning: every epoch adds
    a fresh seeded draw of its clips to the real ones, so what pretraining taught (lips
    that follow the text and close on p/b/m) is not washed out by 80 real clips. None: off."""
    rehearse_share: float = 1.0
    """Synthetic clips drawn per epoch with --rehearse, as a multiple of the real ones
    (with --segment-s, only corpus clips no longer than the real pieces are drawn)."""


# Settings that may differ when a run is resumed: they do not change what was learnt so far.
RESUMABLE_CHANGES = ("epochs", "eval_every", "data")


# --- data ----------------------------------------------------------------------------------


class ClipLike(Protocol):
    clip_id: str
    text: str

    @property
    def target(self) -> np.ndarray: ...


class Example(NamedTuple):
    """One training pair: symbol ids and the (T, 60) displacement frames to predict."""

    clip_id: str
    ids: torch.Tensor  # (L,) int64
    target: torch.Tensor  # (T, 60) float32
    positions: torch.Tensor | None = None
    """(T,) float32: the symbol being said at each frame, from word timings (None: unknown)."""


class Batch(NamedTuple):
    """Padded examples, ready for `LipDecoder.forward`."""

    text: torch.Tensor  # (B, L) int64, 0 (the pad symbol) past each text
    text_lengths: torch.Tensor  # (B,) int64
    targets: torch.Tensor  # (B, T, 60), zero past each clip
    frame_lengths: torch.Tensor  # (B,) int64
    gate_targets: torch.Tensor  # (B, T): 0 before each clip's last frame, 1 at and after it
    positions: torch.Tensor  # (B, T) float32 symbol said at each frame; NaN rows: unknown

    def to(self, device: torch.device) -> Batch:
        return Batch(*(t.to(device, non_blocking=True) for t in self))


LIP_LEAD_S = 0.0375
"""How far the lips run ahead of the word timings (s): the viseme fit's median lead."""


def symbol_positions(
    ids: Sequence[int], words: Sequence[Any], n_frames: int, lead_s: float = LIP_LEAD_S
) -> np.ndarray | None:
    """(n_frames,) the symbol being said at each frame, from word timings.

    Each word's symbols are found in `ids` in order (punctuation between words is skipped)
    and spread evenly over the word's time; before the first word attention rests on the
    first symbol, between words on the symbol after the earlier word (the space), after the
    last word on its last symbol. Frame t shows the lips at t/80 s, which already shape the
    sound due `lead_s` later. None when a word's symbols are not found in order (the caller
    falls back to the diagonal).
    """
    from text2lips import FRAME_RATE

    if not words or n_frames < 1:
        return None
    ids = list(ids)
    spans: list[tuple[int, int]] = []
    cursor = 0
    for w in words:
        part = text_to_sequence(w.word)
        if not part:
            return None
        k = next(
            (k for k in range(cursor, len(ids) - len(part) + 1) if ids[k : k + len(part)] == part),
            None,
        )
        if k is None:
            return None
        spans.append((k, k + len(part)))
        cursor = k + len(part)
    starts = np.array([w.start_s for w in words])
    ends = np.maximum(np.array([w.end_s for w in words]), starts)
    t = np.arange(n_frames) / FRAME_RATE + lead_s
    pos = np.zeros(n_frames)
    for i, ((a, b), s0, e0) in enumerate(zip(spans, starts, ends, strict=True)):
        inside = (t >= s0) & (t < e0)
        pos[inside] = a + (t[inside] - s0) / max(e0 - s0, 1e-6) * (b - a - 1)
        last = i + 1 == len(words)
        after = (t >= e0) & (t < (np.inf if last else starts[i + 1]))
        pos[after] = b - 1 if last else min(b, len(ids) - 1)
    return pos.astype(np.float32)


def to_example(clip: ClipLike, *, timings: bool = True) -> Example:
    """Clip -> symbol ids (NVIDIA tacotron2 table, english cleaners) and target frames, with
    the symbol said at each frame when the clip has word timings. With `timings`, a
    synthetic clip (no `words`, a `word_timings()` method) is timed by espeak-ng again."""
    ids = text_to_sequence(clip.text)
    if not ids:
        raise Text2LipsError(f"clip {clip.clip_id}: transcript {clip.text!r} has no symbols")
    target = clip.target
    words = getattr(clip, "words", ())
    if not words and timings and hasattr(clip, "word_timings"):
        words = clip.word_timings()
    pos = symbol_positions(ids, words, len(target))
    return Example(
        clip.clip_id,
        torch.tensor(ids, dtype=torch.int64),
        torch.from_numpy(target),
        None if pos is None else torch.from_numpy(pos),
    )


@dataclass(frozen=True)
class Segment:
    """A word-aligned piece of a real clip, used like a clip in training."""

    clip_id: str
    text: str
    target: np.ndarray  # (T, 60)
    words: tuple = ()
    """The piece's word timings, from the piece's first frame."""


def segment_clips(clips: Sequence[Any], max_seconds: float, margin_s: float = 0.1) -> list[Any]:
    """Cut clips with word timings at word boundaries into pieces of <= max_seconds.

    Each piece spans its words plus `margin_s` either side (lips move before the sound);
    clips without word timings, or already short enough, are kept whole.
    """
    from text2lips import FRAME_RATE

    out: list[Any] = []
    for clip in clips:
        words = getattr(clip, "words", ())
        if not words or clip.duration_s <= max_seconds:
            out.append(clip)
            continue
        target = clip.target
        group: list[Any] = []
        for w in [*words, None]:
            if w is not None and (not group or w.end_s - group[0].start_s <= max_seconds):
                group.append(w)
                continue
            start = max(0.0, group[0].start_s - margin_s)
            end = min(clip.duration_s, group[-1].end_s + margin_s)
            a, b = int(round(start * FRAME_RATE)), int(round(end * FRAME_RATE))
            if b - a >= 8:
                shift = a / FRAME_RATE
                timed = tuple(
                    dataclasses.replace(g, start_s=g.start_s - shift, end_s=g.end_s - shift)
                    for g in group
                )
                out.append(
                    Segment(
                        f"{clip.clip_id}@{a}", " ".join(g.word for g in group), target[a:b], timed
                    )
                )
            group = [w] if w is not None else []
    return out


WORD_GUIDE_WIDTH = 2.0
"""Std, in symbols, of the band around the word-timed position (the diagonal's is 0.2 of
the text): inside a word the letters are spread evenly, which is only roughly right."""


FORCED_WIDTH = 1.0
"""Std, in symbols, of the attention fed to the decoder under --force-attention."""


def forced_attention(positions: torch.Tensor, text_lengths: torch.Tensor) -> torch.Tensor:
    """(B, T, L) attention weights centred on the word-timed symbol of each frame: a
    Gaussian over the row's symbols, normalised; rows without positions are NaN."""
    L = int(text_lengths.max())
    sym = torch.arange(L, device=positions.device, dtype=torch.float32)
    d = sym[None, None, :] - positions[:, :, None]
    w = torch.exp(-(d**2) / (2 * FORCED_WIDTH**2))
    w = w * (sym[None, :] < text_lengths[:, None].to(positions.device))[:, None, :]
    return w / w.sum(-1, keepdim=True)  # NaN positions stay NaN


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


def corrupt_teacher(targets: torch.Tensor, settings: TrainSettings) -> torch.Tensor | None:
    """The frames fed back in teacher forcing, with noise and frame dropout (or None)."""
    if settings.teacher_noise <= 0 and settings.teacher_dropout <= 0:
        return None
    teacher = targets + settings.teacher_noise * torch.randn_like(targets)
    keep = torch.rand(targets.shape[:2], device=targets.device) >= settings.teacher_dropout
    return teacher * keep.unsqueeze(-1)


def own_input_mask(
    targets: torch.Tensor, settings: TrainSettings, epoch: int
) -> torch.Tensor | None:
    """(B, T) steps fed the model's own prediction (scheduled sampling), or None."""
    if settings.free_running <= 0:
        return None
    ramp = min(1.0, epoch / max(1.0, settings.epochs / 2))
    return torch.rand(targets.shape[:2], device=targets.device) < settings.free_running * ramp


def gate_targets(frame_lengths: torch.Tensor, n_frames: int) -> torch.Tensor:
    """(B, T) stop targets: 1 from each item's last valid frame on, as in Tacotron 2."""
    t = torch.arange(n_frames).unsqueeze(0)
    return (t >= frame_lengths.unsqueeze(1) - 1).float()


def collate(examples: Sequence[Example]) -> Batch:
    """Pad a list of examples into one batch."""
    text_lengths = torch.tensor([len(e.ids) for e in examples])
    frame_lengths = torch.tensor([len(e.target) for e in examples])
    text = torch.zeros(len(examples), int(text_lengths.max()), dtype=torch.int64)
    targets = torch.zeros(len(examples), int(frame_lengths.max()), examples[0].target.shape[1])
    positions = torch.full(targets.shape[:2], math.nan)
    for i, e in enumerate(examples):
        text[i, : len(e.ids)] = e.ids
        targets[i, : len(e.target)] = e.target
        if e.positions is not None:
            positions[i, : len(e.target)] = e.positions
            positions[i, len(e.target) :] = e.positions[-1]  # past the end: not NaN
    return Batch(
        text,
        text_lengths,
        targets,
        frame_lengths,
        gate_targets(frame_lengths, targets.shape[1]),
        positions,
    )


def rehearsal_draw(
    corpus: Sequence[Any], n: int, seed: int, epoch: int, *, timings: bool = False
) -> list[Example]:
    """The `n` synthetic clips rehearsed in `epoch`: a draw without replacement, seeded by
    (seed, epoch) so a resumed run sees the same clips, and fresh each epoch. `timings`:
    give them word positions (see `to_example`)."""
    if n <= 0:
        return []
    g = torch.Generator().manual_seed(seed * 100_003 + epoch)
    draw = torch.randperm(len(corpus), generator=g)[:n].tolist()
    return [to_example(corpus[i], timings=timings) for i in draw]


def make_batches(
    lengths: Sequence[int], batch_size: int, generator: torch.Generator
) -> list[list[int]]:
    """Shuffled batches of indices grouping clips of similar length (little padding).

    Clips are shuffled, sorted by length within pools of 4 batches (so batches still vary
    from epoch to epoch), cut into batches, and the batches shuffled.
    """
    order = torch.randperm(len(lengths), generator=generator).tolist()
    pool = 4 * batch_size
    batches = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: lengths[i])
        batches += [chunk[j : j + batch_size] for j in range(0, len(chunk), batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


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
    from text2lips.evaluate import free_running_rows, network_synthesizer

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


# --- run bookkeeping -----------------------------------------------------------------------


def resolve_config(settings: TrainSettings) -> tuple[str, ModelConfig]:
    """(run name, model config) from a preset name or JSON file, with ablation toggles."""
    if settings.config in PRESETS:
        name, config = settings.config, get_config(settings.config)
    else:
        path = Path(settings.config)
        if not path.is_file():
            raise Text2LipsError(
                f"--config {settings.config!r}: neither a preset "
                f"({', '.join(PRESETS)}) nor a JSON file"
            )
        try:
            doc = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise Text2LipsError(f"--config {settings.config!r}: cannot read JSON: {exc}") from None
        # A checkpoint's config.json nests the model config under "model".
        name, config = (
            path.stem,
            ModelConfig.from_dict(doc.get("model", doc) if isinstance(doc, dict) else doc),
        )
    for toggle in ("prenet", "postnet"):
        value = getattr(settings, toggle)
        if value is not None and value != getattr(config, toggle):
            config = config.replace(**{toggle: value})
            name += f"-{toggle}" if value else f"-no{toggle}"
    return name, config


def _atomic_torch_save(obj: Any, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _append_metrics(out_dir: Path, row: dict) -> None:
    path = out_dir / "metrics.csv"
    new = not path.exists()
    with path.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=METRICS_COLUMNS)
        if new:
            writer.writeheader()
        writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in METRICS_COLUMNS})


def _tensorboard(out_dir: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional: metrics.csv has everything
        return None
    return SummaryWriter(str(out_dir / "tb"))


def _settings_from_args(args: argparse.Namespace) -> tuple[TrainSettings, set[str]]:
    """Settings from the command line, and which of them the user gave explicitly."""
    given = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(TrainSettings)
        if getattr(args, f.name, None) is not None
    }
    if "freeze" in given:
        given["freeze"] = tuple(p.strip() for p in given["freeze"].split(",") if p.strip())
    elif "init_nvidia" in given:
        given["freeze"] = ("embedding", "encoder")  # the paper's transfer: keep the text encoder
    settings = TrainSettings(**given)
    for name in ("epochs", "batch_size", "eval_every"):
        if getattr(settings, name) < 1:
            raise Text2LipsError(f"{_flag(name)} {getattr(settings, name)}: must be >= 1")
    if settings.max_clips is not None and settings.max_clips < 1:
        raise Text2LipsError(f"--max-clips {settings.max_clips}: must be >= 1")
    if settings.rehearse_share <= 0:
        raise Text2LipsError(f"--rehearse-share {settings.rehearse_share}: must be > 0")
    if settings.force_attention and not (
        settings.guide == "words" and settings.guided_attention > 0
    ):
        raise Text2LipsError(
            "--force-attention needs --guide words and --guided-attention > 0: "
            "the attention then learns from the word timings alone"
        )
    if settings.init and settings.init_nvidia:
        raise Text2LipsError("--init and --init-nvidia are exclusive: start from one checkpoint")
    return settings, set(given)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _resume_settings(saved: dict, settings: TrainSettings, given: set[str]) -> TrainSettings:
    saved_settings = TrainSettings(**{**saved, "freeze": tuple(saved["freeze"])})
    changes = {}
    for name in given:
        new, old = getattr(settings, name), getattr(saved_settings, name)
        if new == old:
            continue
        if name not in RESUMABLE_CHANGES:
            raise Text2LipsError(
                f"{_flag(name)} {new!r} differs from the resumed run's {old!r}; "
                f"only {', '.join(_flag(n) for n in RESUMABLE_CHANGES)} may change"
            )
        changes[name] = new
    return dataclasses.replace(saved_settings, **changes)


# --- the training run ----------------------------------------------------------------------


def run(
    args: argparse.Namespace,
    train_clips: Sequence[ClipLike] | None = None,
    data_note: str = "lrs3_ted93 pretrain split (paper's 80 clips)",
) -> int:
    """Train on the real LRS3 training split, or on `train_clips` (pretraining on the
    synthetic corpus); validation is always free-running on the real trainval clips."""
    settings, given = _settings_from_args(args)
    name, config = resolve_config(settings)
    out_dir = Path(args.out) if args.out else Path("runs") / name
    state = None
    if args.resume:
        state_path = out_dir / "last" / STATE_NAME
        if not state_path.is_file():
            raise Text2LipsError(f"--resume: no run to resume in {out_dir} (no last/{STATE_NAME})")
        state = torch.load(state_path, map_location="cpu", weights_only=True)
        if read_metadata(out_dir / "last").get("epoch") != state["epoch"]:
            raise Text2LipsError(
                f"{out_dir}/last: model and {STATE_NAME} are from different epochs"
            )
        settings = _resume_settings(state["settings"], settings, given)
        name = read_metadata(out_dir / "last").get("run", name)  # the config lives in last/
    elif (out_dir / "last").exists():
        raise Text2LipsError(
            f"{out_dir} already holds a run: pass --resume to continue it or another --out"
        )
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    use_amp = device.type == "cuda"
    torch.manual_seed(settings.seed)

    # data
    data_dir = Path(settings.data) if settings.data else default_data_dir()
    voice = ModelInfo(name=name, speakers=speakers_from_data(data_dir)).to_metadata()
    voice.pop("licence")  # the run's own licence note below says what the data impose
    if train_clips is None:
        train_clips = load_clips(data_dir, "lrs3", "pretrain")
    val_clips = load_clips(data_dir, "lrs3", "trainval")
    if settings.max_clips:
        train_clips = sorted(train_clips, key=lambda c: c.n_frames)[: settings.max_clips]
        val_clips = sorted(val_clips, key=lambda c: c.n_frames)[: settings.max_clips]
    if settings.segment_s:
        train_clips = segment_clips(train_clips, settings.segment_s)
    words_guide = settings.guide == "words" and settings.guided_attention > 0
    train_set = [to_example(c, timings=words_guide) for c in train_clips]
    val_set = [to_example(c, timings=False) for c in val_clips]
    rehearsal: list[Any] = []
    if settings.rehearse:
        from text2lips.viseme.corpus import load_corpus

        rehearsal = load_corpus(settings.rehearse)
        if settings.segment_s:
            # Like the real pieces, so a batch's length (the decoder's step count) and the
            # cost of an epoch stay as they were.
            rehearsal = [c for c in rehearsal if c.duration_s <= settings.segment_s]
        if not rehearsal:
            raise Text2LipsError(
                f"--rehearse {settings.rehearse}: no clip is as short as --segment-s "
                f"{settings.segment_s}"
            )
    n_rehearse = min(len(rehearsal), round(settings.rehearse_share * len(train_set)))

    # model
    if state is not None:
        model = load_model(out_dir / "last")
    else:
        model = LipDecoder(config)
        if settings.init:
            loaded = load_state_from(model, Path(settings.init))
            tqdm.write(f"initialised {len(loaded)} tensors from {settings.init}")
        if settings.init_nvidia:
            loaded = load_nvidia_tacotron2(model, Path(settings.init_nvidia), freeze=())
            tqdm.write(
                f"initialised {len(loaded)} tensors from NVIDIA Tacotron 2 {settings.init_nvidia}"
            )
    model.freeze(settings.freeze)
    model.to(device).train()
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)

    # optimizer and schedule
    optimizer = torch.optim.Adam(
        [p for p in model.parameters() if p.requires_grad],
        lr=settings.lr,
        weight_decay=settings.weight_decay,
    )
    steps_per_epoch = math.ceil((len(train_set) + n_rehearse) / settings.batch_size)
    total_steps = settings.epochs * steps_per_epoch
    scaler = torch.amp.GradScaler(device.type, enabled=use_amp)
    start_epoch, step, best = 1, 0, math.inf
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng"])
        if use_amp and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        start_epoch, step, best = state["epoch"] + 1, state["step"], state["best"]
    if start_epoch > settings.epochs:
        tqdm.write(
            f"{out_dir}: already trained for {settings.epochs} epochs; "
            "pass a larger --epochs to go on"
        )
        return 0
    # One-cycle is a pure function of (step, total): rebuilding it at `step` resumes it, and
    # re-plans the cycle when --epochs was raised on resume.
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=settings.lr, total_steps=total_steps, last_epoch=step - 1
    )
    pos_weight = torch.tensor(settings.gate_pos_weight, device=device)

    out_dir.mkdir(parents=True, exist_ok=True)
    writer = _tensorboard(out_dir)
    tqdm.write(
        f"training {name} ({n_params / 1e6:.1f}M trainable parameters) on {device}: "
        f"{len(train_set)} train"
        + (f" + {n_rehearse} synthetic" if n_rehearse else "")
        + f" / {len(val_set)} val clips, "
        f"epochs {start_epoch}..{settings.epochs} -> {out_dir}"
    )

    for epoch in range(start_epoch, settings.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        epoch_set = train_set + rehearsal_draw(
            rehearsal, n_rehearse, settings.seed, epoch, timings=words_guide
        )
        batches = make_batches(
            [len(e.target) for e in epoch_set],
            settings.batch_size,
            torch.Generator().manual_seed(settings.seed + epoch),
        )
        sums = {"loss": 0.0, "frame_loss": 0.0, "gate_loss": 0.0, "attention_loss": 0.0}
        bar = tqdm(
            batches, desc=f"epoch {epoch}/{settings.epochs}", leave=False, dynamic_ncols=True
        )
        for indices in bar:
            batch = collate([epoch_set[i] for i in indices]).to(device)
            with torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
                out = model(
                    batch.text,
                    batch.text_lengths,
                    batch.targets,
                    teacher=corrupt_teacher(batch.targets, settings),
                    own_input=own_input_mask(batch.targets, settings, epoch),
                    forced_attention=(
                        forced_attention(batch.positions, batch.text_lengths)
                        if settings.force_attention
                        else None
                    ),
                )
            loss, parts = compute_loss(out, batch, pos_weight)
            if settings.guided_attention > 0:
                ga = guided_attention_loss(
                    out.alignments,
                    batch.text_lengths,
                    batch.frame_lengths,
                    positions=batch.positions if settings.guide == "words" else None,
                )
                loss = loss + settings.guided_attention * ga
                parts["attention_loss"] = ga.item()
            if settings.motion_loss > 0:
                loss = loss + settings.motion_loss * motion_loss(out.frames_post, batch)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            lr = scheduler.get_last_lr()[0]  # the rate this step used
            scheduler.step()
            step += 1
            sums["loss"] += loss.item()
            for k, v in parts.items():
                sums[k] += v
            bar.set_postfix(loss=f"{loss.item():.4f}")
        row: dict[str, Any] = {
            "epoch": epoch,
            "step": step,
            "lr": lr,
            "train_loss": sums["loss"] / len(batches),
            "train_frame_loss": sums["frame_loss"] / len(batches),
            "train_gate_loss": sums["gate_loss"] / len(batches),
            "train_attention_loss": sums["attention_loss"] / len(batches),
        }

        if epoch % settings.eval_every == 0 or epoch == settings.epochs:
            row["val_loss"] = validation_loss(
                model, val_set, settings.batch_size, device, pos_weight
            )
            row["val_free_l1_mm"] = free_running_l1(model, val_clips, device)
            if row["val_free_l1_mm"] < best:
                best = row["val_free_l1_mm"]
                save_model(
                    model,
                    out_dir / "best",
                    metadata=_metadata(name, settings, epoch, step, row, data_note, voice),
                )
        row["best_free_l1_mm"] = best if math.isfinite(best) else None
        row["seconds"] = round(time.perf_counter() - t0, 2)

        save_model(
            model,
            out_dir / "last",
            metadata=_metadata(name, settings, epoch, step, row, data_note, voice),
        )
        _atomic_torch_save(
            {
                "epoch": epoch,
                "step": step,
                "best": best,
                "settings": {**dataclasses.asdict(settings), "freeze": list(settings.freeze)},
                "optimizer": optimizer.state_dict(),
                "scaler": scaler.state_dict(),
                "rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if use_amp else None,
            },
            out_dir / "last" / STATE_NAME,
        )
        _append_metrics(out_dir, row)
        if writer is not None:
            for k, v in row.items():
                if k not in ("epoch", "step") and v is not None:
                    writer.add_scalar(k, v, epoch)
        tqdm.write(
            " ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                for k, v in row.items()
                if v is not None
            )
        )

    if writer is not None:
        writer.close()
    tqdm.write(f"best free-running val L1 {best:.3f} mm -> {out_dir / 'best'}")
    return 0


def _metadata(
    name: str,
    settings: TrainSettings,
    epoch: int,
    step: int,
    row: dict,
    data_note: str,
    voice: dict | None = None,
) -> dict:
    return {
        **(voice or {}),  # speakers etc.: every checkpoint can be served and evaluated as is
        "version": f"{name}-epoch{epoch}",
        "run": name,
        "epoch": epoch,
        "step": step,
        "val_free_l1_mm": row.get("val_free_l1_mm"),
        "train_loss": row["train_loss"],
        "data": data_note,
        "licence": LICENCE_NOTE,
        "settings": {**dataclasses.asdict(settings), "freeze": list(settings.freeze)},
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # Defaults are None here and live in TrainSettings, so --resume can tell what was given.
    d = TrainSettings()
    parser.add_argument(
        "--config", help=f"model preset ({', '.join(PRESETS)}) or config JSON (default {d.config})"
    )
    parser.add_argument(
        "--prenet", action=argparse.BooleanOptionalAction, help="turn the pre-net on/off (ablation)"
    )
    parser.add_argument(
        "--postnet",
        action=argparse.BooleanOptionalAction,
        help="turn the post-net on/off (ablation)",
    )
    parser.add_argument(
        "--epochs", type=int, help=f"passes over the training clips (default {d.epochs})"
    )
    parser.add_argument("--batch-size", type=int, help=f"clips per step (default {d.batch_size})")
    parser.add_argument("--lr", type=float, help=f"peak one-cycle learning rate (default {d.lr})")
    parser.add_argument(
        "--gate-pos-weight",
        type=float,
        help=f"BCE weight of stop frames (default {d.gate_pos_weight})",
    )
    parser.add_argument("--seed", type=int, help=f"random seed (default {d.seed})")
    parser.add_argument(
        "--data", help="shared data folder (default $TEXT2LIPS_DATA or ../shared/data)"
    )
    parser.add_argument("--max-clips", type=int, help="use only the N shortest clips of each split")
    parser.add_argument(
        "--init",
        metavar="CKPT_DIR",
        help="start from one of our checkpoints (copies matching tensors)",
    )
    parser.add_argument(
        "--init-nvidia", metavar="FILE", help="start from an NVIDIA/tacotron2 checkpoint's encoder"
    )
    parser.add_argument(
        "--freeze",
        metavar="PARTS",
        help="comma-separated parts left untrained, e.g. embedding,encoder "
        "(default: embedding,encoder with --init-nvidia, else none)",
    )
    parser.add_argument(
        "--eval-every", type=int, help=f"epochs between validations (default {d.eval_every})"
    )
    parser.add_argument(
        "--segment-s",
        type=float,
        help="cut training clips at word boundaries into pieces of at most N s",
    )
    parser.add_argument(
        "--teacher-noise",
        type=float,
        help="std (mm) of noise on teacher-forced previous frames (default 0)",
    )
    parser.add_argument(
        "--teacher-dropout",
        type=float,
        help="probability of zeroing a teacher-forced previous frame (default 0)",
    )
    parser.add_argument(
        "--free-running",
        type=float,
        help="scheduled sampling: top share of steps fed the model's own "
        "prediction, ramped over the first half (default 0: off)",
    )
    parser.add_argument(
        "--guided-attention",
        type=float,
        help="weight of the guided (diagonal) attention loss (default 0: off)",
    )
    parser.add_argument(
        "--force-attention",
        action="store_const",
        const=True,
        help="attention forcing: feed the decoder the word-timed attention while training "
        "(needs --guide words)",
    )
    parser.add_argument(
        "--guide",
        choices=("diagonal", "words"),
        help="where --guided-attention pulls attention: a constant rate (diagonal, default) "
        "or each clip's word timings (words; clips without them keep the diagonal)",
    )
    parser.add_argument(
        "--motion-loss",
        type=float,
        help="weight of the global-variance (motion) loss (default 0: off)",
    )
    parser.add_argument(
        "--rehearse",
        metavar="CORPUS",
        help="synthetic corpus .npz whose clips are mixed into every epoch (fresh draw each "
        "epoch) so fine-tuning keeps what pretraining taught (default: off)",
    )
    parser.add_argument(
        "--rehearse-share",
        type=float,
        help="synthetic clips per epoch with --rehearse, as a multiple of the real ones "
        f"(default {d.rehearse_share})",
    )
    parser.add_argument("--out", type=Path, help="run directory (default runs/<config name>)")
    parser.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its last epoch"
    )
    parser.add_argument("--device", help="torch device (default cuda when available, else cpu)")
