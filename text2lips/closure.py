"""Do the lips close on p, b and m? A check on unseen text that needs no ground truth.

A bilabial stop or nasal cannot be said with the lips apart, so a lip model that moves with the
text has to bring its inner lips together near every p/b/m. For each bilabial in the text we
find when the model says it, take the smallest inner-lip opening within +-`WINDOW_S` of that
time, and express it as a share of the utterance's own opening range (0 = the most closed
frame of the utterance, 1 = the most open). A share below `CLOSED_SHARE` counts as closed.

When a bilabial is said comes from the model itself: the neural decoder's attention (frames
whose attention peak sits on the letter) and the viseme baseline's espeak-ng phoneme times.
A neural model is checked as it is served, with its bilabial closure rule
(text2lips.runtime.closure_rule) when it has one; `--no-rule` checks the network alone.

`--fit` fits that rule on the training split: the real clips cut into the word-aligned
pieces training uses, the truth's bilabials placed by the LRS3 word timings, the closed shape
averaged from the truth where it closes, and the gain the smallest that makes the model's
lips close as often as the speakers' do. `--write` stores it in the model's config.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from text2lips import FRAME_RATE, Text2LipsError
from text2lips.data import lips as L
from text2lips.files import atomic_write_text

WINDOW_S = 0.05
"""Half-width (s) of the window around a bilabial's time searched for the closure."""
CLOSED_SHARE = 0.25
"""Opening, as a share of the utterance's range, below which the lips count as closed."""
BILABIAL_LETTERS = frozenset("pbmPBM")
BILABIAL_PHONEMES = frozenset({"p", "b", "m"})
"""espeak-ng (en-us) mnemonics of the bilabials, before stress and length marks."""


@dataclass(frozen=True)
class Closure:
    """One bilabial of the text and how far the lips were apart around it."""

    label: str
    """The letter (neural) or phoneme (viseme) and its position, e.g. `m@0`."""
    time_s: float
    """When the model says it, seconds from the start."""
    share: float
    """Smallest opening within the window, as a share of the utterance's opening range."""

    @property
    def closed(self) -> bool:
        return self.share < CLOSED_SHARE


@dataclass(frozen=True)
class ClosureReport:
    text: str
    model: str
    frames: int
    closures: list[Closure]

    @property
    def all_closed(self) -> bool:
        return all(c.closed for c in self.closures)

    def as_dict(self) -> dict:
        return {
            "text": self.text,
            "model": self.model,
            "frames": self.frames,
            "all_closed": self.all_closed,
            "closures": [asdict(c) | {"closed": c.closed} for c in self.closures],
        }


def _shares(opening: np.ndarray, centres: list[tuple[str, float]]) -> list[Closure]:
    lo, hi = float(opening.min()), float(opening.max())
    span = max(hi - lo, 1e-6)
    half = int(round(WINDOW_S * FRAME_RATE))
    out = []
    for label, frame in centres:
        c = int(round(frame))
        a, b = max(c - half, 0), min(c + half + 1, len(opening))
        if a >= b:  # the letter falls past the decoded end
            a, b = len(opening) - 1, len(opening)
        share = (float(opening[a:b].min()) - lo) / span
        out.append(Closure(label, float(frame) / FRAME_RATE, share))
    return out


def attention_centres(align: np.ndarray, mask: np.ndarray) -> list[tuple[int, float]]:
    """(letter index, frame) for each masked letter: mean frame of the attention peak on it."""
    peak = align.argmax(axis=1)
    out = []
    for j in np.flatnonzero(mask):
        on = np.flatnonzero(peak == j)
        out.append((int(j), float(on.mean()) if len(on) else float(align[:, j].argmax())))
    return out


def neural_closures(
    model_dir: str | Path, text: str, speaker: str | None = None, rule: bool = True
) -> ClosureReport:
    """Decode `text` with a neural model directory as it is served (torch-cpu, gate-stopped)
    and check every p/b/m letter ("ph" is an f), with the model's closure rule unless `rule`
    is False."""
    from text2lips.decode import clip_options, decode_aligned
    from text2lips.runtime import Synthesizer
    from text2lips.runtime.closure_rule import bilabial_mask
    from text2lips.text import sequence_to_text

    synth = Synthesizer.load(model_dir, backend="torch-cpu")
    ids = synth.encode_text(text)
    ((frames, align),) = decode_aligned(synth, [(text, clip_options(None, rule=rule))])
    reference = synth.info.reference_for(speaker)
    opening = L.inner_opening(L.shape_from_target(frames, reference))
    centres = [
        (f"{sequence_to_text([ids[j]])}@{j}", frame)
        for j, frame in attention_centres(align, bilabial_mask(ids))
    ]
    return ClosureReport(text, synth.info.name, len(frames), _shares(opening, centres))


def viseme_closures(
    text: str, speaker: str | None = None, model: str | Path = "viseme"
) -> ClosureReport:
    """Render `text` with the viseme baseline and check every p/b/m phoneme."""
    from text2lips.runtime.locate import resolve_model
    from text2lips.text.phonemes import phoneme_timings
    from text2lips.viseme.runtime import load_viseme_dir

    synth = load_viseme_dir(resolve_model(model))
    visemes = synth.model  # type: ignore[attr-defined]
    track = visemes.synthesize(text, rate_wpm=synth.rate_wpm, strength=synth.strength)
    reference = synth.info.reference_for(speaker)
    opening = L.inner_opening(L.shape_from_target(track, reference))
    lead = float(visemes.coarticulation.lead_s)
    centres = []
    for k, p in enumerate(phoneme_timings(text, rate_wpm=synth.rate_wpm).phonemes):
        if p.phoneme.rstrip("#-:;2379'") in BILABIAL_PHONEMES:
            centres.append((f"{p.phoneme}@{k}", ((p.start_s + p.end_s) / 2 - lead) * FRAME_RATE))
    return ClosureReport(text, "viseme", len(track), _shares(opening, centres))


def timeline_closures(
    model: str | Path, text: str, speaker: str | None = None, rule: bool = True
) -> ClosureReport:
    """Render `text` with a model that follows a phoneme timeline (the phoneme-timed kind) on
    espeak-ng's timing, as it is served, and check every p/b/m phoneme at its time."""
    from text2lips import FRAME_DIM
    from text2lips.articulation import BILABIALS
    from text2lips.decode import decode_jobs
    from text2lips.runtime import SynthesisOptions, Synthesizer
    from text2lips.text.timeline import espeak_timeline

    synth = Synthesizer.load(model, backend="torch-cpu")
    tl = espeak_timeline(text, rate_wpm=getattr(synth, "rate_wpm", 175))
    options = SynthesisOptions(reference=np.zeros(FRAME_DIM, np.float32), closure=rule,
                               timeline=tl)
    (frames,) = decode_jobs(synth, [(text, options)])
    opening = L.inner_opening(L.shape_from_target(frames, synth.info.reference_for(speaker)))
    centres = [(f"{p.phoneme}@{k}", (p.start_s + p.end_s) / 2 * FRAME_RATE)
               for k, p in enumerate(tl.phonemes) if p.phoneme in BILABIALS]
    return ClosureReport(text, synth.info.name, len(frames), _shares(opening, centres))


def closures(
    model: str | Path, text: str, speaker: str | None = None, rule: bool = True
) -> ClosureReport:
    from text2lips.runtime.kinds import PHONEME, VISEME, kind_of

    kind = kind_of(model)
    if kind == VISEME:
        return viseme_closures(text, speaker, model)
    if kind == PHONEME:
        return timeline_closures(model, text, speaker, rule)
    return neural_closures(model, text, speaker, rule)


# --- fitting the closure rule ----------------------------------------------------------------

FIT_GAINS = tuple(float(g) for g in np.arange(0.5, 10.01, 0.5))
"""Gains tried by `fit_rule`, smallest first."""


@dataclass(frozen=True)
class RuleFit:
    """What `fit_rule` measured on the training pieces, and the rule it chose."""

    pieces: int
    bilabials: int
    truth_closed: float
    """Share of the truth's bilabials that close by the check's criterion."""
    rows: list[dict]
    """Per gain (0 = no rule): closed share, and the means over pieces of eval's l1_mm,
    opening_r and motion_ratio (evaluate.clip_metrics)."""
    gain: float
    target: np.ndarray

    def as_dict(self) -> dict:
        return {
            "pieces": self.pieces,
            "bilabials": self.bilabials,
            "truth_closed": round(self.truth_closed, 4),
            "gain": self.gain,
            "rows": self.rows,
        }


@dataclass(frozen=True)
class FitPiece:
    """A word-aligned training piece with a bilabial, as the fit uses it (it decodes and is
    judged like a clip: `text`, `n_frames`, `target`, `reference`)."""

    clip_id: str
    """`<clip>@<first frame>`, as training names its pieces."""
    text: str
    target: np.ndarray
    """(T, 60) true displacements."""
    reference: np.ndarray
    """(60,) the speaker's neutral lips."""
    mask: np.ndarray
    """(L,) 1 on the text's bilabial letters (closure_rule.bilabial_mask)."""
    truth: list[tuple[int, float]]
    """(letter index, frame) of each bilabial, placed by the LRS3 word timings."""

    @property
    def n_frames(self) -> int:
        return len(self.target)


def _truth_centres(pos: np.ndarray, mask: np.ndarray) -> list[tuple[int, float]]:
    """(letter index, frame) for each masked letter from word-timed symbol positions."""
    out = []
    for j in np.flatnonzero(mask):
        near = np.flatnonzero(np.abs(pos - j) < 0.5)
        out.append((int(j), float(near.mean()) if len(near) else float(np.abs(pos - j).argmin())))
    return out


def fit_pieces(clips: list[Any], segment_s: float = 2.5) -> list[FitPiece]:
    """The clips cut into the word-aligned pieces training uses, keeping those with a p, b or
    m whose letters the word timings place."""
    from text2lips.runtime.closure_rule import bilabial_mask
    from text2lips.text import text_to_sequence
    from text2lips.train import segment_clips, symbol_positions

    reference = {c.clip_id: c.reference for c in clips}
    out = []
    for piece in segment_clips(clips, segment_s):
        ids = text_to_sequence(piece.text)
        mask = bilabial_mask(ids)
        target = piece.target
        pos = symbol_positions(ids, piece.words, len(target))
        if not mask.any() or pos is None:
            continue
        ref = reference[piece.clip_id.split("@")[0]]
        truth = _truth_centres(pos, mask)
        out.append(FitPiece(piece.clip_id, piece.text, target, ref, mask, truth))
    return out


def decode_pieces(
    synth: Any, pieces: list[FitPiece], max_batch: int = 16
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The network alone (no rule), free-running to each piece's true length, with its
    attention: `evaluate.decode_clips(..., to_true_length=True, rule=False)`'s frames."""
    from text2lips.decode import clip_options, decode_aligned

    jobs = [(p.text, clip_options(p.n_frames, rule=False)) for p in pieces]
    return decode_aligned(synth, jobs, max_batch=max_batch)


def fit_rule(
    model_dir: str | Path,
    data_dir: str | Path | None = None,
    segment_s: float = 2.5,
    batch_size: int = 16,
    max_pieces: int | None = None,
) -> RuleFit:
    """Fit the closure rule of a neural model on the training split (see the module doc);
    `max_pieces` keeps only the first pieces with a bilabial (quick checks)."""
    from text2lips.data.dataset import load_clips
    from text2lips.evaluate import clip_metrics
    from text2lips.runtime import Synthesizer
    from text2lips.runtime.closure_rule import ClosureRule

    items = fit_pieces(load_clips(data_dir, "lrs3", "pretrain"), segment_s)[:max_pieces]
    if not items:
        raise Text2LipsError("no training pieces with p, b or m to fit the closure rule on")
    synth = Synthesizer.load(model_dir, backend="torch-cpu")
    decoded = decode_pieces(synth, items, batch_size)

    # The truth: how often its lips close at its bilabials, and the shape they close to.
    truth_closed, closed_frames = 0, []
    half = int(round(WINDOW_S * FRAME_RATE))
    for it in items:
        opening = L.inner_opening(L.shape_from_target(it.target, it.reference))
        checked = _shares(opening, [(str(j), f) for j, f in it.truth])
        for (_, frame), c in zip(it.truth, checked, strict=True):
            if c.closed:
                truth_closed += 1
                a = max(int(round(frame)) - half, 0)
                b = max(min(int(round(frame)) + half + 1, len(opening)), a + 1)
                closed_frames.append(it.target[a + int(opening[a:b].argmin())])
    n_bilabials = sum(len(it.truth) for it in items)
    truth_share = truth_closed / n_bilabials
    if not closed_frames:
        raise Text2LipsError("the training truth never closes at a bilabial: nothing to fit")
    closed = np.mean(closed_frames, axis=0).astype(np.float32)

    rows, chosen = [], None
    for gain in (0.0, *FIT_GAINS):
        rule = ClosureRule(gain, closed)
        hit, metrics = 0, []
        for it, (frames, align) in zip(items, decoded, strict=True):
            shown = rule.apply(frames, align @ it.mask)
            opening = L.inner_opening(L.shape_from_target(shown, it.reference))
            centres = [(str(j), f) for j, f in attention_centres(align, it.mask)]
            hit += sum(c.closed for c in _shares(opening, centres))
            metrics.append(clip_metrics(shown, it))  # type: ignore[arg-type]
        share = hit / n_bilabials
        rows.append(
            {"gain": gain, "closed": round(share, 4)}
            | {k: round(float(np.mean([m[k] for m in metrics])), 4)
               for k in ("l1_mm", "opening_r", "motion_ratio")}
        )
        if chosen is None and gain > 0 and share >= truth_share:
            chosen = gain
    return RuleFit(
        len(items),
        n_bilabials,
        truth_share,
        rows,
        chosen if chosen is not None else FIT_GAINS[-1],
        closed,
    )


def write_rule(model_dir: str | Path, rule: Any) -> None:
    """Store a closure rule in the model directory's config.json metadata (atomic replace)."""
    from text2lips.model.files import CONFIG_NAME

    path = Path(model_dir) / CONFIG_NAME
    doc = json.loads(path.read_text())
    doc.setdefault("metadata", {})["closure"] = rule.to_metadata()
    atomic_write_text(path, json.dumps(doc, indent=2, sort_keys=True) + "\n")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("texts", nargs="*", metavar="TEXT", help="sentences to check")
    parser.add_argument("--model", default="models/default", help="model directory or `viseme`")
    parser.add_argument("--speaker", default=None, help="speaker whose neutral lips to use")
    parser.add_argument(
        "--no-rule", action="store_true", help="check the network alone, without its closure rule"
    )
    parser.add_argument(
        "--fit",
        action="store_true",
        help="fit the model's closure rule on the training split and print the fit as JSON",
    )
    parser.add_argument("--write", action="store_true", help="with --fit: store it in config.json")
    parser.add_argument("--data", default=None, help="data directory (default: ../shared/data)")


def _run_fit(args: argparse.Namespace) -> int:
    from text2lips.runtime.closure_rule import ClosureRule
    from text2lips.runtime.kinds import VISEME, kind_of

    if kind_of(args.model) == VISEME:
        raise Text2LipsError("--fit is for neural models: the viseme baseline closes by itself")
    fit = fit_rule(args.model, args.data)
    print(json.dumps(fit.as_dict()))
    if args.write:
        write_rule(args.model, ClosureRule(fit.gain, fit.target))
    return 0


def run(args: argparse.Namespace) -> int:
    """Print one JSON object per text; exit 1 when any bilabial stays open."""
    from text2lips.runtime.locate import resolve_model

    try:
        args.model = resolve_model(args.model)  # a directory, or a name as serve takes
        if args.write and not args.fit:
            raise Text2LipsError("--write stores a fitted rule: use it with --fit")
        if args.fit:
            if args.texts:
                raise Text2LipsError("--fit takes no texts")
            return _run_fit(args)
        if not args.texts:
            raise Text2LipsError("give at least one text to check (or --fit)")
        reports = [closures(args.model, t, args.speaker, not args.no_rule) for t in args.texts]
    except Text2LipsError as e:
        print(f"text2lips closure: {e}", file=sys.stderr)
        return 2
    for r in reports:
        print(json.dumps(r.as_dict()))
    return 0 if all(r.all_closed for r in reports) else 1
