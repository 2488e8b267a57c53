"""Do the lips close on p, b and m? A check on unseen text that needs no ground truth.

A bilabial stop or nasal cannot be said with the lips apart, so a lip model that moves with the
text has to bring its inner lips together near every p/b/m. For each bilabial in the text we
find when the model says it, take the smallest inner-lip opening within +-`WINDOW_S` of that
time, and express it as a share of the utterance's own opening range (0 = the most closed
frame of the utterance, 1 = the most open). A share below `CLOSED_SHARE` counts as closed.

When a bilabial is said comes from the model itself: the neural decoder's attention (frames
whose attention peak sits on the letter) and the viseme baseline's espeak-ng phoneme times.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from text2lips import FRAME_RATE, Text2LipsError
from text2lips.data import lips as L

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


def neural_closures(model_dir: str | Path, text: str, speaker: str | None = None) -> ClosureReport:
    """Decode `text` with a neural model directory and check every p/b/m letter."""
    import torch

    from text2lips.model.checkpoint import load_model, read_metadata
    from text2lips.runtime.voice import ModelInfo
    from text2lips.text import sequence_to_text, text_to_sequence

    path = Path(model_dir)
    net = load_model(path).eval()
    info = ModelInfo.from_metadata(read_metadata(path), fallback_name=path.name)
    reference = info.reference_for(speaker)
    ids = text_to_sequence(text)
    with torch.no_grad():
        out = net.infer(torch.tensor([ids]), torch.tensor([len(ids)]))
    n = int(out.lengths[0])
    frames = out.frames_post[0, :n].numpy()
    align = out.alignments[0, :n].numpy()  # (T, L)
    opening = L.inner_opening(L.shape_from_target(frames, reference))

    # Which symbol ids are bilabial letters: the front end's own table, so case never matters.
    bilabial_ids = {text_to_sequence(ch)[0] for ch in "pbmPBM"}
    p_id, h_id = text_to_sequence("p")[0], text_to_sequence("h")[0]
    peak = align.argmax(axis=1)
    centres = []
    for j, sid in enumerate(ids):
        if sid not in bilabial_ids:
            continue
        if sid == p_id and j + 1 < len(ids) and ids[j + 1] == h_id:
            continue  # "ph" is said /f/, lips to teeth
        on = np.flatnonzero(peak == j)
        frame = float(on.mean()) if len(on) else float(align[:, j].argmax())
        centres.append((f"{sequence_to_text([sid])}@{j}", frame))
    return ClosureReport(text, info.name, n, _shares(opening, centres))


def viseme_closures(text: str, speaker: str | None = None) -> ClosureReport:
    """Render `text` with the viseme baseline and check every p/b/m phoneme."""
    from text2lips.text.phonemes import phoneme_timings
    from text2lips.viseme.runtime import load_viseme_synthesizer

    synth = load_viseme_synthesizer()
    model = synth.model  # type: ignore[attr-defined]
    track = model.synthesize(text, rate_wpm=synth.rate_wpm, strength=synth.strength)
    reference = synth.info.reference_for(speaker)
    opening = L.inner_opening(L.shape_from_target(track, reference))
    lead = float(model.coarticulation.lead_s)
    centres = []
    for k, p in enumerate(phoneme_timings(text, rate_wpm=synth.rate_wpm).phonemes):
        if p.phoneme.rstrip("#-:;2379'") in BILABIAL_PHONEMES:
            centres.append((f"{p.phoneme}@{k}", ((p.start_s + p.end_s) / 2 - lead) * FRAME_RATE))
    return ClosureReport(text, "viseme", len(track), _shares(opening, centres))


def closures(model: str | Path, text: str, speaker: str | None = None) -> ClosureReport:
    if str(model) == "viseme":
        return viseme_closures(text, speaker)
    return neural_closures(model, text, speaker)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("texts", nargs="+", metavar="TEXT", help="sentences to check")
    parser.add_argument("--model", default="models/default", help="model directory or `viseme`")
    parser.add_argument("--speaker", default=None, help="speaker whose neutral lips to use")


def run(args: argparse.Namespace) -> int:
    """Print one JSON object per text; exit 1 when any bilabial stays open."""
    try:
        reports = [closures(args.model, t, args.speaker) for t in args.texts]
    except Text2LipsError as e:
        print(f"text2lips closure: {e}", file=sys.stderr)
        return 2
    for r in reports:
        print(json.dumps(r.as_dict()))
    return 0 if all(r.all_closed for r in reports) else 1
