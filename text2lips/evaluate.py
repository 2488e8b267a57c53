"""Free-running evaluation against the real clips: what a user would see, not teacher forcing.

Every clip is decoded from text alone (no ground-truth frames fed back) to its true length,
then compared in the training target space (head space, lip centroid removed, speaker
reference subtracted). The paper's teacher-forced loss is reported beside it for comparison.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from text2lips import FRAME_DIM, FRAME_RATE, Text2LipsError
from text2lips.data import lips as L
from text2lips.data.dataset import Clip, load_clips
from text2lips.runtime import SynthesisOptions, Synthesizer


@dataclass(frozen=True)
class Metrics:
    """Free-running metrics, averaged over clips."""

    l1_mm: float
    """Mean over landmarks of |dx|+|dy|+|dz| (mm) in the target space."""
    l1_centred_mm: float
    """The same with each sequence's own mean removed from it: the error of the movement alone,
    free of the clip's constant offset (which no text tells)."""
    opening_r: float
    """Pearson r of inner-lip opening (points 62-66), predicted vs true, mean over clips."""
    motion_ratio: float
    """std of predicted opening / std of true opening, mean over clips."""
    duration_ratio: float
    """Gate-stopped length / true length, mean over clips (1.0 for fixed-length baselines)."""
    clips: int
    """Clips evaluated."""


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r; 0 when either side does not move (a flat prediction explains nothing)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.std() < 1e-6 or b.std() < 1e-6:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def clip_metrics(pred: np.ndarray, clip: Clip) -> dict[str, float]:
    """Metrics of one (T, 60) predicted displacement against a clip (same T)."""
    true = clip.target
    assert pred.shape == true.shape, (pred.shape, true.shape)
    l1 = np.abs(L.as_points(pred) - L.as_points(true)).sum(-1).mean()
    moved = (pred - pred.mean(0)) - (true - true.mean(0))
    l1_centred = np.abs(L.as_points(moved)).sum(-1).mean()
    op_pred = L.inner_opening(L.shape_from_target(pred, clip.reference))
    op_true = L.inner_opening(L.shape_from_target(true, clip.reference))
    return {
        "l1_mm": float(l1),
        "l1_centred_mm": float(l1_centred),
        "opening_r": pearson(op_pred, op_true),
        "motion_ratio": float(op_pred.std() / max(op_true.std(), 1e-9)),
    }


def decode_clips(
    synth: Synthesizer,
    clips: list[Clip],
    *,
    to_true_length: bool,
    max_batch: int = 16,
    rule: bool = True,
) -> list[np.ndarray]:
    """Free-running (T, 60) displacements for each clip, batched; gate-stopped if not to length."""
    out: dict[int, list[np.ndarray]] = {i: [] for i in range(len(clips))}
    todo = list(range(len(clips)))
    bd = synth.batch_decoder(max_batch)
    while todo or len(bd):
        while todo and len(bd) < max_batch:
            i = todo.pop(0)
            # Displacements are compared, so the reference added to them does not matter.
            bd.add(
                i,
                clips[i].text,
                SynthesisOptions(
                    reference=np.zeros(FRAME_DIM, np.float32),
                    max_frames=clips[i].n_frames if to_true_length else None,
                    stop=not to_true_length,
                    closure=rule,
                ),
            )
        for i, frame in bd.step():
            out[i].append(frame.displacement)
    return [np.stack(out[i]) for i in range(len(clips))]


def teacher_forced_loss(synth: Synthesizer, clips: list[Clip]) -> float | None:
    """The paper's headline number: smooth L1 (beta 1) with ground truth fed back."""
    model = getattr(synth.backend, "model", None)
    if model is None or not hasattr(model, "forward"):
        return None
    import torch
    import torch.nn.functional as F

    from text2lips.text import text_to_sequence

    losses = []
    with torch.no_grad():
        for c in clips:
            ids = torch.tensor([text_to_sequence(c.text)])
            target = torch.from_numpy(c.target)[None]
            out = model(ids, torch.tensor([ids.shape[1]]), target)
            losses.append(F.smooth_l1_loss(out.frames_post, target, beta=1.0).item())
    return float(np.mean(losses))


def _mean(rows: list[dict[str, float]], key: str) -> float:
    return float(np.mean([r[key] for r in rows]))


def _summary(rows: list[dict[str, float]], duration_ratio: float) -> dict:
    return asdict(
        Metrics(
            l1_mm=_mean(rows, "l1_mm"),
            l1_centred_mm=_mean(rows, "l1_centred_mm"),
            opening_r=_mean(rows, "opening_r"),
            motion_ratio=_mean(rows, "motion_ratio"),
            duration_ratio=duration_ratio,
            clips=len(rows),
        )
    )


def baselines(clips: list[Clip]) -> dict[str, dict]:
    """Still mouths to judge a model by: `zero_motion` holds the speaker's reference shape (what
    a text-only model that does not move would score); `clip_mean` holds each clip's own mean
    shape, an oracle no model has, since it knows the clip's constant offset from the speaker's
    reference (pose, expression, tracking), which no text tells."""
    zero = [clip_metrics(np.zeros_like(c.target), c) for c in clips]
    mean = [clip_metrics(np.broadcast_to(c.target.mean(0), c.target.shape), c) for c in clips]
    return {"zero_motion": _summary(zero, 1.0), "clip_mean": _summary(mean, 1.0)}


def evaluate(
    synth: Synthesizer, clips: list[Clip], *, with_duration: bool = True, rule: bool = True
) -> dict:
    """Metrics for a model and for the zero-motion baseline, plus per-clip rows; `rule`:
    with the model's bilabial closure rule, as it is served (when it has one)."""
    preds = decode_clips(synth, clips, to_true_length=True, rule=rule)
    rows = [clip_metrics(p, c) | {"clip": c.clip_id} for p, c in zip(preds, clips, strict=True)]
    if with_duration:
        natural = decode_clips(synth, clips, to_true_length=False)
        for r, n, c in zip(rows, natural, clips, strict=True):
            r["duration_ratio"] = len(n) / c.n_frames
    return {
        "model": synth.info.name,
        "frames": int(sum(c.n_frames for c in clips)),
        "seconds": round(sum(c.n_frames for c in clips) / FRAME_RATE, 3),
        **_summary(rows, _mean(rows, "duration_ratio") if with_duration else math.nan),
        "teacher_forced_loss": teacher_forced_loss(synth, clips),
        "closure_rule": (
            synth.info.closure.gain if rule and synth.info.closure is not None else None
        ),
        **baselines(clips),
        "per_clip": rows,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        default="models/default",
        help="model directory, or 'viseme' for the viseme baseline",
    )
    parser.add_argument("--data", type=Path, default=None, help="shared data folder")
    parser.add_argument("--split", default="trainval", choices=["pretrain", "trainval"])
    parser.add_argument("--backend", default="torch-cpu", help="runtime backend")
    parser.add_argument("--max-clips", type=int, default=None, help="only the first N clips")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--per-clip", action="store_true", help="include per-clip rows")
    parser.add_argument(
        "--word-timings",
        action="store_true",
        help="viseme only: render each clip at its speaker's own LRS3 word timings instead of "
        "espeak's (what perfect timing would give; the pretrain split has timings)",
    )
    parser.add_argument(
        "--no-rule",
        action="store_true",
        help="the network alone, without the model's bilabial closure rule",
    )


def evaluate_timed_viseme(clips: list[Clip]) -> dict:
    """The viseme baseline rendered at each clip's real word timings: free of timing error,
    so it bounds what predicting the timing from text could add to the shapes."""
    from text2lips.viseme.model import VisemeModel, align_clip
    from text2lips.viseme.runtime import DEFAULT_MODEL_PATH

    untimed = [c.clip_id for c in clips if not c.words]
    if untimed:
        raise Text2LipsError(
            f"--word-timings: {len(untimed)} clips have no word timings (e.g. {untimed[0]}); "
            "only the pretrain split has them"
        )
    model = VisemeModel.load(DEFAULT_MODEL_PATH)
    preds = [model.render(align_clip(c), c.n_frames) for c in clips]
    rows = [clip_metrics(p, c) | {"clip": c.clip_id} for p, c in zip(preds, clips, strict=True)]
    return {
        "model": "viseme (real word timings)",
        "frames": int(sum(c.n_frames for c in clips)),
        "seconds": round(sum(c.n_frames for c in clips) / FRAME_RATE, 3),
        **_summary(rows, 1.0),
        "teacher_forced_loss": None,
        **baselines(clips),
        "per_clip": rows,
    }


def run(args: argparse.Namespace) -> int:
    if args.word_timings and args.model != "viseme":
        raise Text2LipsError("--word-timings is for --model viseme (a neural model times itself)")
    clips = load_clips(args.data, "lrs3", args.split)[: args.max_clips]
    if args.word_timings:
        result = evaluate_timed_viseme(clips)
    else:
        result = evaluate(
            Synthesizer.load(args.model, backend=args.backend), clips, rule=not args.no_rule
        )
    if not args.per_clip:
        result.pop("per_clip")
    result["split"] = args.split
    if args.json:
        json.dump(result, sys.stdout)
        print()
        return 0
    head = ("l1_mm", "centred", "opening_r", "motion", "duration")
    print(f"{'':22s}" + "".join(f"{h:>10s}" for h in head))
    for name, m in (
        (result["model"], result),
        ("zero motion", result["zero_motion"]),
        ("clip mean (oracle)", result["clip_mean"]),
    ):
        keys = ("l1_mm", "l1_centred_mm", "opening_r", "motion_ratio", "duration_ratio")
        print(f"{name[:22]:22s}" + "".join(f"{m[k]:10.3f}" for k in keys))
    if result["teacher_forced_loss"] is not None:
        print(f"teacher-forced loss (paper's number): {result['teacher_forced_loss']:.4f}")
    return 0
