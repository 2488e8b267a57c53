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
from text2lips.data.timing import PLACEMENTS, placement_named
from text2lips.decode import decode_clips, decode_jobs
from text2lips.runtime import SynthesisOptions, Synthesizer
from text2lips.text.timeline import Placement


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


def teacher_forced_smooth_l1(synth: Synthesizer, clips: list[Clip]) -> float | None:
    """The paper's headline number: smooth L1 (beta 1) of the frames with ground truth fed
    back, per clip then averaged; no gate term (the training loss with it is
    `text2lips.train.validation_loss`). None for models with no teacher-forced pass."""
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


def free_running_rows(
    synth: Synthesizer, clips: list[Clip], *, rule: bool = True, max_batch: int = 16
) -> list[dict]:
    """Per-clip metrics (`clip_metrics`) of free-running decoding to each clip's true length,
    through the serving BatchDecoder: the one decode path of `eval`, training validation and
    the closure fit, so they report the same figure for the same weights."""
    preds = decode_clips(synth, clips, to_true_length=True, rule=rule, max_batch=max_batch)
    return [clip_metrics(p, c) | {"clip": c.clip_id} for p, c in zip(preds, clips, strict=True)]


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
    rows = free_running_rows(synth, clips, rule=rule)
    if with_duration:
        natural = decode_clips(synth, clips, to_true_length=False)
        for r, n, c in zip(rows, natural, clips, strict=True):
            r["duration_ratio"] = len(n) / c.n_frames
    return {
        "model": synth.info.name,
        "frames": int(sum(c.n_frames for c in clips)),
        "seconds": round(sum(c.n_frames for c in clips) / FRAME_RATE, 3),
        **_summary(rows, _mean(rows, "duration_ratio") if with_duration else math.nan),
        "teacher_forced_loss": teacher_forced_smooth_l1(synth, clips),
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
    parser.add_argument(
        "--corpus", default="lrs3", choices=["lrs3", "ravdess"],
        help="ravdess: the 96 RAVDESS clips at the model's own timing (articulation only)",
    )
    parser.add_argument(
        "--timing", default="own", choices=TIMINGS,
        help="own: the model times the text itself; true: timed models render on each clip's "
        "real word timings (the pretrain split has them)",
    )
    parser.add_argument(
        "--placement", default="espeak", choices=PLACEMENTS,
        help="--timing true: phonemes placed inside each real word by espeak-ng's durations or "
        "by the Piper voice joe's (needs the voice extra); see docs/quality.md",
    )
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
    from text2lips.viseme.runtime import default_model_file

    untimed = [c.clip_id for c in clips if not c.words]
    if untimed:
        raise Text2LipsError(
            f"--word-timings: {len(untimed)} clips have no word timings (e.g. {untimed[0]}); "
            "only the pretrain split has them"
        )
    model = VisemeModel.load(default_model_file())
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
    from text2lips.runtime.kinds import VISEME, kind_of

    if args.word_timings and kind_of(args.model) != VISEME:
        raise Text2LipsError("--word-timings is for --model viseme; render any timed model at "
                             "the clips' word timings with --timing true --split pretrain")
    if args.max_clips is not None and args.max_clips < 1:
        raise Text2LipsError(f"--max-clips {args.max_clips}: must be at least 1")
    if args.timing == "true" and args.split != "pretrain" and args.corpus == "lrs3":
        raise Text2LipsError("--timing true needs word timings: use --split pretrain")
    if args.corpus == "ravdess" and args.timing == "true":
        raise Text2LipsError("RAVDESS has no word timings: use --timing own")
    if args.placement != "espeak" and args.timing != "true":
        raise Text2LipsError(f"--placement {args.placement} places phonemes inside real word "
                             "timings: use it with --timing true")
    if args.placement != "espeak" and args.word_timings:
        raise Text2LipsError(f"--placement {args.placement} does not apply to --word-timings "
                             "(the viseme baseline places phonemes itself): drop one")
    if args.corpus == "ravdess":
        clips = load_clips(args.data, "ravdess")[: args.max_clips]
    else:
        clips = load_clips(args.data, "lrs3", args.split)[: args.max_clips]
    if args.word_timings:
        result = evaluate_timed_viseme(clips)
    elif args.corpus == "ravdess" or args.timing == "true":
        synth = Synthesizer.load(args.model, backend=args.backend)
        placement = placement_named(args.placement)
        rows = articulation_rows(synth, clips, timing=args.timing, rule=not args.no_rule,
                                 placement=placement)
        result = {
            "model": synth.info.name,
            "timing": args.timing,
            "corpus": args.corpus,
            "placement": args.placement if args.timing == "true" else None,
            "articulation": articulation_summary(rows),
            "still": articulation_summary(still_rows(clips, timing=args.timing,
                                                     placement=placement)),
            "per_clip": rows,
        }
        return _print_articulation(result, args)
    else:
        synth = Synthesizer.load(args.model, backend=args.backend)
        result = evaluate(synth, clips, rule=not args.no_rule)
        rows = articulation_rows(synth, clips, timing="own", rule=not args.no_rule)
        result["articulation"] = articulation_summary(rows)
        result["still"] = articulation_summary(still_rows(clips))
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
    if "articulation" in result:
        art = result["articulation"]
        print("at its own timing: " + ", ".join(
            f"{k} {art[k]:.3f}" for k in ("opening_r_dtw", "motion_ratio", "velocity_ratio",
                                          "band_ratio", "duration_ratio") if k in art))
    return 0


# ---- articulation: true timing and own timing, LRS3 and RAVDESS ---------------------------

TIMINGS = ("own", "true")
"""`true`: timed models render on each clip's real timing (LRS3 pretrain word timings);
`own`: every model times the text itself (espeak-ng for timed models, the gate for Tacotron)."""


def _opening_of(disp: np.ndarray, reference: np.ndarray) -> np.ndarray:
    return L.inner_opening(L.shape_from_target(disp, reference))


def _closure_rates(rows: list[dict], prefix: str = "") -> dict[str, float]:
    bil = sum(r.get(prefix + "bilabials", 0) for r in rows)
    ov = sum(r.get(prefix + "open_vowels", 0) for r in rows)
    return {
        prefix + "closure_recall": sum(r.get(prefix + "closed", 0) for r in rows) / bil
        if bil else math.nan,
        prefix + "false_closure_rate": sum(r.get(prefix + "false_closures", 0) for r in rows) / ov
        if ov else math.nan,
    }


ARTICULATION_KEYS = (
    "l1_mm", "l1_centred_mm", "opening_r", "opening_r_dtw", "motion_ratio", "velocity_ratio",
    "band_ratio", "duration_ratio",
)  # fmt: skip


def articulation_summary(rows: list[dict]) -> dict[str, float]:
    """Means over clips of the per-clip metrics present, plus pooled closure rates."""
    out: dict[str, float] = {"clips": len(rows)}
    for k in ARTICULATION_KEYS:
        vals = [r[k] for r in rows if k in r and not math.isnan(r[k])]
        if vals:
            out[k] = float(np.mean(vals))
    if any("bilabials" in r for r in rows):
        out |= _closure_rates(rows) | _closure_rates(rows, "true_")
    return out


def articulation_rows(
    synth: Synthesizer, clips: list[Clip], *, timing: str = "own", rule: bool = True,
    placement: Placement | None = None,
) -> list[dict]:
    """Per-clip articulation metrics of a model (see TIMINGS). RAVDESS clips are judged on
    their speech span (found from the landmarks) with each actor's still face as reference.
    `placement`: where phonemes sit inside the words at true timing (clip_timeline)."""
    from text2lips import articulation as A
    from text2lips.data.timing import clip_timeline, neutral_shapes, speech_span

    if timing not in TIMINGS:
        raise Text2LipsError(f"unknown timing {timing!r}; choose one of {', '.join(TIMINGS)}")
    zero = np.zeros(FRAME_DIM, np.float32)
    ravdess = any(c.corpus == "ravdess" for c in clips)
    neutral = neutral_shapes(clips) if ravdess else {}
    rows: list[dict] = []
    if timing == "true":
        tls = [clip_timeline(c, placement=placement) for c in clips]
        jobs = [
            (c.text, SynthesisOptions(reference=zero, max_frames=c.n_frames, stop=False,
                                      closure=rule, timeline=tl if synth.timed else None))
            for c, tl in zip(clips, tls, strict=True)
        ]  # fmt: skip
        for c, tl, pred in zip(clips, tls, decode_jobs(synth, jobs), strict=True):
            pred = _fit_length(pred, c.n_frames)
            op_p, op_t = _opening_of(pred, c.reference), _opening_of(c.target, c.reference)
            r = clip_metrics(pred, c) | A.opening_metrics(op_p, op_t, same_timing=True)
            r |= A.closures(op_p, tl.phonemes)
            r |= {"true_" + k: v for k, v in A.closures(op_t, tl.phonemes).items()}
            rows.append(r | {"clip": c.clip_id})
        return rows

    from text2lips.text.timeline import espeak_timeline

    natural = decode_jobs(
        synth, [(c.text, SynthesisOptions(reference=zero, closure=rule)) for c in clips]
    )
    if not ravdess:  # the same model stretched to the true length, for L1 and plain r
        jobs = []
        for c in clips:
            tl = espeak_timeline(c.text).scaled(c.duration_s) if synth.timed else None
            jobs.append((c.text, SynthesisOptions(reference=zero, max_frames=c.n_frames,
                                                  stop=False, closure=rule, timeline=tl)))
        at_length = decode_jobs(synth, jobs)
    for i, (c, nat) in enumerate(zip(clips, natural, strict=True)):
        if c.corpus == "ravdess":
            a, b = speech_span(c)
            ref = neutral[c.speaker]
            op_t = L.inner_opening(c.lips[a:b])
            r: dict = {}
        else:
            a, b = 0, c.n_frames
            ref = c.reference
            op_t = _opening_of(c.target, ref)
            pred = _fit_length(at_length[i], c.n_frames)
            r = clip_metrics(pred, c)
        if synth.timed:  # judge the spoken part of the model's own timeline too
            s0, s1 = espeak_timeline(c.text).speech_span()
            pa = max(int(s0 * FRAME_RATE) - 8, 0)
            pb = min(int(math.ceil(s1 * FRAME_RATE)) + 8, len(nat))
            nat = nat[pa:pb] if pb > pa else nat
        op_p = _opening_of(nat, ref)
        r |= {k: v for k, v in A.opening_metrics(op_p, op_t, same_timing=False).items()}
        r["duration_ratio"] = len(nat) / max(b - a, 1)
        rows.append(r | {"clip": c.clip_id})
    return rows


def _fit_length(pred: np.ndarray, n: int) -> np.ndarray:
    """Cut or hold the last frame so that pred has n frames (a gate may stop a frame early)."""
    if len(pred) >= n:
        return pred[:n]
    return np.concatenate([pred, np.repeat(pred[-1:], n - len(pred), axis=0)])


def still_rows(clips: list[Clip], *, timing: str = "own", placement: Placement | None = None
               ) -> list[dict]:
    """The still mouth (the speaker's reference held) through the same metrics."""
    from text2lips import articulation as A
    from text2lips.data.timing import clip_timeline

    rows = []
    for c in clips:
        if c.corpus == "ravdess":
            rows.append({"motion_ratio": 0.0, "velocity_ratio": 0.0, "band_ratio": 0.0,
                         "opening_r_dtw": 0.0, "duration_ratio": 1.0, "clip": c.clip_id})
            continue
        pred = np.zeros_like(c.target)
        op_p, op_t = _opening_of(pred, c.reference), _opening_of(c.target, c.reference)
        r = clip_metrics(pred, c) | A.opening_metrics(op_p, op_t, same_timing=True)
        if timing == "true":
            tl = clip_timeline(c, placement=placement)
            r |= A.closures(op_p, tl.phonemes)
            r |= {"true_" + k: v for k, v in A.closures(op_t, tl.phonemes).items()}
        rows.append(r | {"duration_ratio": 1.0, "clip": c.clip_id})
    return rows


def _print_articulation(result: dict, args: argparse.Namespace) -> int:
    if not args.per_clip:
        result.pop("per_clip")
    result["split"] = "all" if args.corpus == "ravdess" else args.split
    if args.json:
        json.dump(result, sys.stdout, default=float)
        print()
        return 0
    keys = [k for k in ARTICULATION_KEYS + ("closure_recall", "false_closure_rate")
            if k in result["articulation"]]
    print(f"{'':22s}" + "".join(f"{k[:11]:>12s}" for k in keys))
    for name, m in ((result["model"], result["articulation"]), ("still mouth", result["still"])):
        print(f"{name[:22]:22s}" + "".join(f"{m.get(k, math.nan):12.3f}" for k in keys))
    return 0


HOLDS_STILL_BELOW = 0.5
"""A velocity ratio under this means the mouth barely moves: the failure this project exists
to avoid."""


def articulation_failures(summary: dict, min_velocity: float = HOLDS_STILL_BELOW) -> list[str]:
    """Reasons a model's articulation summary says it holds still (empty when it moves)."""
    out = []
    for key in ("velocity_ratio", "band_ratio"):
        value = summary.get(key, 0.0)
        limit = min_velocity if key == "velocity_ratio" else min_velocity**2
        if not value >= limit:  # NaN fails too
            out.append(f"{key} {value:.3f} < {limit:.3f}: the lips barely move")
    return out
