"""Train the phoneme-timed lip model on real clips at their real timing: data, model, optimiser,
schedule, loop, in that order. Losses: L1 on the displacement, L1 on its frame-to-frame change
(velocity) and a std-matching term, so that holding still is never the cheapest answer."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np
import torch

from text2lips import Text2LipsError
from text2lips.data import lips as L
from text2lips.data.dataset import Clip
from text2lips.data.timing import clip_timeline, placement_named
from text2lips.phoneme.features import FrameInputs, frame_inputs
from text2lips.phoneme.model import PRESETS, PhonemeLipModel, ensemble, speaker_index
from text2lips.text.timeline import PhonemeTimeline, Placement, TimedWord


@dataclass(frozen=True)
class TrainSettings:
    """Training choices (every one overridable from `text2lips phoneme train`)."""

    preset: str = "small"
    """Model size, a key of PRESETS."""
    steps: int = 1500
    """Optimiser steps."""
    batch_size: int = 16
    """Crops per step."""
    crop_frames: int = 240
    """Frames per training crop (3 s)."""
    lr: float = 2e-3
    """Peak learning rate of the one-cycle schedule (the paper's Adam 2e-3)."""
    weight_decay: float = 1e-4
    """AdamW weight decay."""
    velocity_weight: float = 2.0
    """Weight of the L1 loss on frame-to-frame change."""
    std_weight: float = 1.0
    """Weight of the per-crop std-matching loss (|std_pred - std_true| per value)."""
    opening_weight: float = 0.5
    """Extra L1 on the inner-lip opening, the quantity a viewer reads."""
    align: bool = True
    """Re-align each training clip's phonemes (and its lips-ahead lead) to its lips
    (text2lips.data.align); the model then reads timelines `lead_s` = the median lead early."""
    placement: str = "espeak"
    """Where phonemes sit inside each LRS3 word before re-alignment (and when the ensemble's
    gain is fitted): text2lips.data.timing.PLACEMENTS."""
    seed: int = 1234
    """Seed of the initialisation and of the crop draw (member i of an ensemble: seed + i)."""
    members: int = 1
    """Networks trained alike and averaged (model.ensemble); averaging cuts the variance one
    network picks up from 11 minutes of data. With more than one, the output gain that gives
    back the motion averaging removes is fitted on the training clips (restore_gain)."""
    threads: int = 1
    """torch CPU threads."""
    speakers: bool = False
    """Condition on the training clips' speakers (PhonemeModelConfig.speakers): a learned
    embedding per speaker, and a learned unknown one that serving uses."""
    speaker_dropout: float = 0.3
    """With `speakers`, the share of training crops that see the unknown speaker instead."""


def prepare(
    clips: Sequence[Clip], align: bool = True, span_cap_s: float = 0.0,
    placement: str = "espeak",
) -> tuple[list[tuple[FrameInputs, np.ndarray]], float]:
    """(inputs, (T, 60) target) per clip, and the lead the model must apply at inference:
    with `align`, the median of the clips' re-aligned leads; else 0. `span_cap_s`:
    PhonemeModelConfig.span_cap_s of the model being trained; `placement`: PLACEMENTS."""
    if not align:
        pl = placement_named(placement)
        return [(frame_inputs(clip_timeline(c, placement=pl), c.n_frames,
                              span_cap_s=span_cap_s), c.target) for c in clips], 0.0
    out, leads = [], []
    for c, (tl, lead) in zip(clips, aligned_timelines(clips, placement), strict=True):
        out.append((frame_inputs(tl, c.n_frames, span_cap_s=span_cap_s), c.target))
        leads.append(lead)
    return out, float(np.median(leads))


ALIGN_VERSION = 1
"""Bump when text2lips.data.align changes, so cached alignments are redone."""


def aligned_timelines(clips: Sequence[Clip], placement: str = "espeak"
                      ) -> list[tuple[PhonemeTimeline, float]]:
    """Each clip's timeline (phonemes placed by `placement`) re-aligned to its lips, and its
    lead; cached on disk by clip, alignment version, placement and viseme-model hash (the
    targets it aligns against)."""
    import hashlib
    import json

    from text2lips.data.align import refine_timeline
    from text2lips.data.dataset import cache_dir
    from text2lips.files import atomic_write_text
    from text2lips.text.phonemes import PhonemeTiming
    from text2lips.viseme.model import VisemeModel
    from text2lips.viseme.runtime import default_model_file

    viseme_file = default_model_file()
    key = hashlib.sha256(viseme_file.read_bytes()).hexdigest()[:12]
    pl = placement_named(placement)
    tag = "" if placement == "espeak" else f"-{placement}"
    if placement == "piper":  # what the voice's durations depend on
        from text2lips.voice.durations import NOISE_W, PLACEMENT_VERSION
        tag += f"-v{PLACEMENT_VERSION}-w{NOISE_W:g}"
    path = cache_dir() / f"aligned-v{ALIGN_VERSION}{tag}-{key}.json"
    try:
        cached = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        cached = {}
    viseme = None
    out = []
    for c in clips:
        ckey = f"{c.clip_id}|{c.n_frames}"
        if ckey not in cached:
            viseme = viseme or VisemeModel.load(viseme_file)
            tl, lead = refine_timeline(clip_timeline(c, placement=pl), c.target,
                                       viseme.target_of)
            cached[ckey] = {"lead": lead, "duration": tl.duration_s,
                            "phonemes": [[p.phoneme, p.start_s, p.end_s, p.word_index, p.stress]
                                         for p in tl.phonemes],
                            "words": [[w.word, w.start_s, w.end_s] for w in tl.words]}
        d = cached[ckey]
        tl = PhonemeTimeline(tuple(PhonemeTiming(*p) for p in d["phonemes"]),
                             tuple(TimedWord(*w) for w in d["words"]), d["duration"])
        out.append((tl, float(d["lead"])))
    if viseme is not None:  # something new was aligned
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(cached))
    return out


def _opening(disp: torch.Tensor) -> torch.Tensor:
    """(B, T) inner-lip opening change of (B, T, 60) displacements (the reference's opening
    cancels in every difference the loss takes)."""
    p = disp.reshape(*disp.shape[:-1], 20, 3)
    return p[..., L.INNER_LOWER, 1] - p[..., L.INNER_UPPER, 1]


def losses(
    pred: torch.Tensor, true: torch.Tensor, mask: torch.Tensor, s: TrainSettings
) -> dict[str, torch.Tensor]:
    """Masked loss terms of (B, T, 60) predictions; mask (B, T) 1 on real frames."""
    m = mask[..., None]
    n = m.sum().clamp(min=1)
    l1 = (pred - true).abs().mul(m).sum() / (n * pred.shape[-1])
    mv = (mask[:, 1:] * mask[:, :-1])[..., None]
    vel = ((pred[:, 1:] - pred[:, :-1]) - (true[:, 1:] - true[:, :-1])).abs().mul(mv).sum()
    vel = vel / (mv.sum().clamp(min=1) * pred.shape[-1])
    cnt = m.sum(1).clamp(min=2)  # (B, 1)

    def std(x: torch.Tensor) -> torch.Tensor:
        mean = (x * m).sum(1) / cnt
        return (((x - mean[:, None]) ** 2 * m).sum(1) / cnt).clamp(min=1e-8).sqrt()

    std_term = (std(pred) - std(true)).abs().mean()
    op_p, op_t = _opening(pred), _opening(true)
    opening = ((op_p - op_t).abs() * mask).sum() / n
    total = l1 + s.velocity_weight * vel + s.std_weight * std_term + s.opening_weight * opening
    return {"loss": total, "l1": l1, "velocity": vel, "std": std_term, "opening": opening}


def _batch(
    data: list[tuple[FrameInputs, np.ndarray]], rng: np.random.Generator, s: TrainSettings,
    speakers: Sequence[int] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Crops of `data`, and with `speakers` (each clip's embedding row) the crops' rows, the
    unknown row 0 for a `speaker_dropout` share of them."""
    ids, cont, tgt, mask = [], [], [], []
    lengths = np.array([len(x) for x, _ in data], np.float64)
    picks = rng.choice(len(data), size=s.batch_size, p=lengths / lengths.sum())
    for i in picks:
        x, y = data[i]
        n = len(x)
        start = int(rng.integers(0, max(n - s.crop_frames, 0) + 1))
        stop = min(start + s.crop_frames, n)
        pad = s.crop_frames - (stop - start)
        part = x.slice(start, stop)
        ids.append(np.pad(part.stacked_ids(), ((0, pad), (0, 0))))
        cont.append(np.pad(part.continuous, ((0, pad), (0, 0))))
        tgt.append(np.pad(y[start:stop], ((0, pad), (0, 0))))
        mask.append(np.pad(np.ones(stop - start, np.float32), (0, pad)))
    spk = None
    if speakers is not None:
        rows = np.array([speakers[i] for i in picks], np.int64)
        rows[rng.random(len(rows)) < s.speaker_dropout] = 0
        spk = torch.from_numpy(rows)
    return (
        torch.from_numpy(np.stack(ids)),
        torch.from_numpy(np.stack(cont)),
        torch.from_numpy(np.stack(tgt)),
        torch.from_numpy(np.stack(mask)),
        spk,
    )


@contextmanager
def _process_settings(threads: int) -> Iterator[None]:
    """torch's process-wide CPU settings for the loop, restored afterwards: `threads`, and flushed
    denormals (tiny weights otherwise turn into slow denormal arithmetic). Left set, flushing
    would change float behaviour for everything else in the process."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)
        torch.set_num_threads(before)


def train(
    clips: Sequence[Clip],
    settings: TrainSettings = TrainSettings(),
    *,
    progress: Callable[[int, dict[str, float]], None] | None = None,
) -> PhonemeLipModel:
    """A model trained on `clips` (they need word timings): one network, or `members` of them
    (seeds seed, seed + 1, ...) averaged with the gain restore_gain fits on `clips`."""
    s = settings
    if s.preset not in PRESETS:
        raise Text2LipsError(f"unknown preset {s.preset!r}; choose one of {', '.join(PRESETS)}")
    if s.members < 1:
        raise Text2LipsError(f"--members {s.members}: must be at least 1")
    placement_named(s.placement)  # an unknown name or a missing voice extra: say so now
    if s.members == 1:
        return _train_one(clips, s, progress)
    models = [_train_one(clips, replace(s, seed=s.seed + i), progress) for i in range(s.members)]
    return ensemble(models, restore_gain(models, clips, placement_named(s.placement)))


def restore_gain(models: Sequence[PhonemeLipModel], clips: Sequence[Clip],
                 placement: Placement | None = None) -> float:
    """The output gain that gives an average of `models` back its members' motion: the
    members' mean over the ensemble's motion, measured on `clips` at their word timing (the
    timing served) as the geometric mean of the opening's std, velocity and sqrt(2-7 Hz power)
    ratios to the truth (each scales linearly with the gain)."""
    from text2lips.articulation import motion_ratios

    truth = [L.inner_opening(L.shape_from_target(c.target, c.reference)) for c in clips]

    def motion(model: PhonemeLipModel) -> float:
        logs = []
        for c, op_t in zip(clips, truth, strict=True):
            x = frame_inputs(clip_timeline(c, placement=placement), c.n_frames, model.config.lead_s,
                             model.config.span_cap_s)
            op_p = L.inner_opening(L.shape_from_target(model.render(x), c.reference))
            r = motion_ratios(op_p, op_t)
            logs += [np.log(r["motion_ratio"]), np.log(r["velocity_ratio"]),
                     0.5 * np.log(r["band_ratio"])]
        return float(np.exp(np.nanmean(logs)))

    members = float(np.mean([motion(m) for m in models]))
    return members / motion(ensemble(list(models)))


def _train_one(
    clips: Sequence[Clip],
    s: TrainSettings,
    progress: Callable[[int, dict[str, float]], None] | None,
) -> PhonemeLipModel:
    with _process_settings(s.threads):
        torch.manual_seed(s.seed)
        rng = np.random.default_rng(s.seed)
        data, lead = prepare(clips, s.align, PRESETS[s.preset].span_cap_s, s.placement)
        config = replace(PRESETS[s.preset], lead_s=lead)
        rows = None
        if s.speakers:
            config = replace(config, speakers=tuple(sorted({c.speaker for c in clips})))
            rows = [speaker_index(config, c.speaker) for c in clips]
        model = PhonemeLipModel(config)
        opt = torch.optim.AdamW(model.parameters(), lr=s.lr, weight_decay=s.weight_decay)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=s.lr, total_steps=s.steps)
        model.train()
        for step in range(s.steps):
            ids, cont, tgt, mask, spk = _batch(data, rng, s, rows)
            terms = losses(model(ids, cont, spk), tgt, mask, s)
            opt.zero_grad(set_to_none=True)
            terms["loss"].backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            if progress is not None and (step % 100 == 0 or step == s.steps - 1):
                progress(step, {k: float(v) for k, v in terms.items()})
    return model.eval()


def speaker_folds(clips: Sequence[Clip], k: int = 5) -> list[list[int]]:
    """k folds of clip indices, stratified by speaker: each speaker's clips (in order) are dealt
    round-robin across the folds, so every fold holds every speaker in proportion."""
    folds: list[list[int]] = [[] for _ in range(k)]
    by_speaker: dict[str, list[int]] = {}
    for i, c in enumerate(clips):
        by_speaker.setdefault(c.speaker, []).append(i)
    offset = 0
    for spk in sorted(by_speaker):
        for j, i in enumerate(by_speaker[spk]):
            folds[(j + offset) % k].append(i)
        offset += len(by_speaker[spk])
    return [sorted(f) for f in folds]
