"""Phoneme-driven lip baseline: a mean lip displacement per espeak phoneme (backing off to its
viseme class), blended by dominance functions whose time constants are fitted on real clips."""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from text2lips import FRAME_DIM, FRAME_RATE, Text2LipsError
from text2lips.data import lips as L
from text2lips.text.phonemes import (
    PAUSE,
    PhonemeTiming,
    Utterance,
    phoneme_timings,
)

if TYPE_CHECKING:
    from text2lips.data.dataset import Clip

FORMAT = "text2lips.viseme"
VERSION = 1
LICENCE = "Fitted on LRS3 (TED, CC BY-NC-ND 4.0) landmark tracks: non-commercial use only."

# espeak-ng en-us mnemonics grouped by the lip shape they need. The class is the backoff for
# phonemes too rare to estimate alone, and carries the dominance (how hard the lips must
# reach the target: closures and lip-teeth contacts cannot be skipped).
VISEME_CLASSES: dict[str, tuple[str, ...]] = {
    "sil": (PAUSE,),
    "bilabial": ("p", "b", "m"),
    "labiodental": ("f", "v"),
    "dental": ("T", "D"),
    "alveolar": ("t", "d", "n", "t#", "t2", "d#", "n-", "?"),
    "lateral": ("l", "@L", "L"),
    "sibilant": ("s", "z"),
    "postalveolar": ("S", "Z", "tS", "dZ"),
    "velar": ("k", "g", "N", "h", "x"),
    "rhotic": ("r", "r-", "3", "3:"),
    "w": ("w",),
    "close_front": ("i", "i:", "I", "I2", "I#", "j", ";", "i@", "i@3"),
    "mid_front": ("E", "e@", "eI"),
    "central": ("@", "@2", "@-", "a#"),
    "open": ("a", "aa", "A:", "A@", "aI", "aI@", "aI3", "aU", "V", "0"),
    "rounded": ("u:", "U", "U@", "oU", "O:", "O@", "o@", "O2", "OI"),
}
"""Viseme class -> espeak-ng phoneme mnemonics."""

_CLASS_OF = {ph: name for name, phs in VISEME_CLASSES.items() for ph in phs}
_FALLBACK_CLASS = "central"  # an unknown vowel-ish symbol does least harm as a schwa
CLASS_NAMES = tuple(VISEME_CLASSES)


def phoneme_class(phoneme: str) -> str:
    """Viseme class of an espeak mnemonic; variants ('t#', 'n-') fall back to their base."""
    if phoneme in _CLASS_OF:
        return _CLASS_OF[phoneme]
    base = phoneme.rstrip("#-:;2379")
    if base.startswith("_"):
        return "sil"
    return _CLASS_OF.get(base) or _CLASS_OF.get(base[:1], _FALLBACK_CLASS)


@dataclass(frozen=True)
class Coarticulation:
    """How neighbouring phonemes blend: each phoneme's weight is its class dominance inside
    its own span, decaying as exp(-distance / tau_s) outside it."""

    tau_s: float = 0.04
    """Decay time constant of a phoneme's influence beyond its span, seconds."""
    lead_s: float = 0.05
    """How far the lips run ahead of the phoneme times (anticipation), seconds."""
    dominance: dict[str, float] = field(default_factory=dict)
    """Class -> weight relative to 1 (classes not listed weigh 1)."""

    def weight(self, cls: str) -> float:
        return float(self.dominance.get(cls, 1.0))


@dataclass(frozen=True)
class FitGrid:
    """Candidate constants, searched by leave-one-speaker-out error on the training clips."""

    tau_s: tuple[float, ...] = (0.02, 0.035, 0.05, 0.07, 0.1)
    """Decay constants to try, seconds."""
    lead_s: tuple[float, ...] = (0.0, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.175, 0.2)
    """Lip-ahead-of-audio offsets to try, seconds; chosen per training speaker, because each
    recording's audio-video sync differs, and the median is kept for synthesis."""
    labial_dominance: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0)
    """Dominance of bilabial and labiodental classes to try."""
    shrinkage_frames: float = 40.0
    """Ridge weight pulling a phoneme's target to its class's, in frames of evidence."""


def _blend_weights(
    segments: Sequence[PhonemeTiming], n_frames: int, co: Coarticulation
) -> np.ndarray:
    """(T, K) row-normalised weights of K phoneme segments on an 80 fps grid from t=0."""
    t = np.arange(n_frames)[:, None] / FRAME_RATE + co.lead_s  # (T, 1)
    start = np.array([s.start_s for s in segments])[None, :]  # (1, K)
    end = np.array([s.end_s for s in segments])[None, :]
    dist = np.maximum(start - t, 0.0) + np.maximum(t - end, 0.0)  # 0 inside a span
    alpha = np.array([co.weight(phoneme_class(s.phoneme)) for s in segments])[None, :]
    w = alpha * np.exp(-dist / co.tau_s)  # (T, K)
    total = w.sum(axis=1, keepdims=True)
    empty = total[:, 0] < 1e-12
    if empty.any():  # far beyond every span: take the nearest one alone
        w[empty] = 0.0
        w[empty, np.argmin(dist[empty], axis=1)] = 1.0
        total = w.sum(axis=1, keepdims=True)
    return w / total


def align_clip(clip: Clip) -> list[PhonemeTiming]:
    """The clip's phonemes at its real word timings (text2lips.data.timing.clip_timeline),
    covering 0 .. clip.duration_s; word_index points into clip.words."""
    from text2lips.data.timing import clip_timeline

    return list(clip_timeline(clip).phonemes)


class _Fitter:
    """Least squares of frames on blended phoneme targets, for any coarticulation constants.

    A frame is y(t) = sum_k w_k(t) v_k, so for fixed constants the targets v enter linearly:
    Y (T, 60) = G (T, types) V. Each type's target is its class's plus a deviation that a
    ridge pulls to zero, which is the backoff for rare phonemes. Normal equations are kept per
    speaker, so held-out-speaker error and a change of one speaker's lead are cheap.
    """

    def __init__(self, clips: list[Clip], shrinkage_frames: float) -> None:
        self.clips = clips
        self.segments = [align_clip(c) for c in clips]
        self.types = sorted({s.phoneme for segs in self.segments for s in segs})
        index = {ph: j for j, ph in enumerate(self.types)}
        n_cls, n_types = len(CLASS_NAMES), len(self.types)
        self.type_class = np.zeros((n_types, n_cls))  # (types, classes) one-hot
        self.type_class[
            np.arange(n_types), [CLASS_NAMES.index(phoneme_class(t)) for t in self.types]
        ] = 1
        self.onehots = []  # per clip (K, types)
        for segs in self.segments:
            onehot = np.zeros((len(segs), n_types))
            onehot[np.arange(len(segs)), [index[s.phoneme] for s in segs]] = 1
            self.onehots.append(onehot)
        self.targets = [c.target.astype(np.float64) for c in clips]  # (T, 60) each
        self.speakers = sorted({c.speaker for c in clips})
        self.frames = sum(len(y) for y in self.targets)
        self.yty = {s: 0.0 for s in self.speakers}
        for clip, y in zip(clips, self.targets, strict=True):
            self.yty[clip.speaker] += float((y * y).sum())
        # Class columns are almost free; deviations cost `shrinkage_frames` frames of evidence.
        self.ridge = np.diag(
            np.concatenate([np.full(n_cls, 1e-6), np.full(n_types, shrinkage_frames)])
        )
        self._cache: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    def design(self, i: int, co: Coarticulation) -> np.ndarray:
        """(T, classes + types) design matrix of clip i: [G @ type_class, G]."""
        g = _blend_weights(self.segments[i], self.clips[i].n_frames, co) @ self.onehots[i]
        return np.concatenate([g @ self.type_class, g], axis=1)

    def equations(self, speaker: str, co: Coarticulation) -> tuple[np.ndarray, np.ndarray]:
        """X^T X and X^T Y over one speaker's clips."""
        key = (speaker, co.tau_s, co.lead_s, tuple(sorted(co.dominance.items())))
        if key not in self._cache:
            n = sum(self.type_class.shape)
            xtx, xty = np.zeros((n, n)), np.zeros((n, FRAME_DIM))
            for i, clip in enumerate(self.clips):
                if clip.speaker == speaker:
                    x = self.design(i, co)
                    xtx += x.T @ x
                    xty += x.T @ self.targets[i]
            self._cache[key] = (xtx, xty)
        return self._cache[key]

    def solve(self, xtx: np.ndarray, xty: np.ndarray) -> np.ndarray:
        return np.linalg.solve(xtx + self.ridge, xty)

    def betas(self, cos: dict[str, Coarticulation]) -> dict[str | None, np.ndarray]:
        """Targets fitted on all speakers (key None) and on all but each speaker."""
        eqs = {s: self.equations(s, cos[s]) for s in self.speakers}
        all_xtx = sum(e[0] for e in eqs.values())
        all_xty = sum(e[1] for e in eqs.values())
        out: dict[str | None, np.ndarray] = {None: self.solve(all_xtx, all_xty)}
        for s, (xtx, xty) in eqs.items():
            # With one speaker there is nobody to hold out: its error is training error.
            out[s] = self.solve(all_xtx - xtx, all_xty - xty) if len(eqs) > 1 else out[None]
        return out

    def heldout_mse(self, cos: dict[str, Coarticulation]) -> float:
        """Mean squared error per value (mm^2) of each speaker's frames under the targets
        fitted on the other speakers."""
        betas = self.betas(cos)
        err = 0.0
        for s in self.speakers:
            xtx, xty = self.equations(s, cos[s])
            beta = betas[s]
            err += self.yty[s] - 2 * float((beta * xty).sum()) + float((beta * (xtx @ beta)).sum())
        return err / (self.frames * FRAME_DIM)

    def heldout_opening_corr(self, cos: dict[str, Coarticulation]) -> float:
        """Mean over speakers of the correlation of held-out predicted and real inner-lip
        opening (each clip's mean removed): how well the timing of mouth opening is caught."""
        betas = self.betas(cos)
        corrs = []
        for s in self.speakers:
            real, pred = [], []
            for i, clip in enumerate(self.clips):
                if clip.speaker != s:
                    continue
                ref = np.asarray(clip.reference, np.float64).reshape(-1)
                a = L.inner_opening(self.targets[i] + ref)
                b = L.inner_opening(self.design(i, cos[s]) @ betas[s] + ref)
                real.append(a - a.mean())
                pred.append(b - b.mean())
            corrs.append(float(np.corrcoef(np.concatenate(real), np.concatenate(pred))[0, 1]))
        return float(np.mean(corrs))

    def search(self, grid: FitGrid) -> tuple[dict[str, Coarticulation], float]:
        """Coordinate descent over the grid: tau, labial dominance and each speaker's lead in
        turn, the others fixed, until nothing improves. The error surface is smooth, and this
        evaluates a small fraction of the full product."""
        axes = [grid.tau_s, grid.labial_dominance] + [grid.lead_s] * len(self.speakers)
        point = [len(a) // 2 for a in axes]

        def constants(pt: list[int]) -> dict[str, Coarticulation]:
            lab = grid.labial_dominance[pt[1]]
            dominance = {"bilabial": lab, "labiodental": lab}
            return {
                s: Coarticulation(grid.tau_s[pt[0]], grid.lead_s[pt[2 + k]], dominance)
                for k, s in enumerate(self.speakers)
            }

        best = self.heldout_mse(constants(point))
        improved = True
        while improved:
            improved = False
            for axis, values in enumerate(axes):
                for value in range(len(values)):
                    trial = point[:axis] + [value] + point[axis + 1 :]
                    mse = self.heldout_mse(constants(trial))
                    if mse < best - 1e-12:
                        best, point, improved = mse, trial, True
        return constants(point), best


class VisemeModel:
    """Per-phoneme target displacements (60 values, the training target space) and the
    coarticulation that blends them into an 80 fps track."""

    def __init__(
        self,
        phoneme_targets: dict[str, np.ndarray],
        class_targets: dict[str, np.ndarray],
        coarticulation: Coarticulation,
        reference: np.ndarray,
        fit_report: dict | None = None,
    ) -> None:
        self.phoneme_targets = {k: np.asarray(v, np.float32) for k, v in phoneme_targets.items()}
        self.class_targets = {k: np.asarray(v, np.float32) for k, v in class_targets.items()}
        self.coarticulation = coarticulation
        self.reference = np.asarray(reference, np.float32).reshape(20, 3)
        """(20, 3) mean centred neutral shape of the training speakers, to draw outputs on."""
        self.fit_report = fit_report or {}

    # ---- fitting -------------------------------------------------------------------------

    @classmethod
    def fit(cls, clips: Iterable[Clip], *, grid: FitGrid | None = None) -> VisemeModel:
        """Fit targets by least squares on the clips' frames (clips need word timings: the
        LRS3 pretrain split), choosing the coarticulation constants from `grid` by
        leave-one-speaker-out error."""
        grid = grid or FitGrid()
        clips = [c for c in clips if c.words]
        if not clips:
            raise Text2LipsError("no clips with word timings to fit the viseme model on")
        fitter = _Fitter(clips, grid.shrinkage_frames)
        per_speaker, mse = fitter.search(grid)
        beta = fitter.betas(per_speaker)[None]  # (classes + types, 60)
        n_cls = len(CLASS_NAMES)
        class_targets = {c: beta[i] for i, c in enumerate(CLASS_NAMES)}
        phoneme_targets = {
            t: beta[CLASS_NAMES.index(phoneme_class(t))] + beta[n_cls + j]
            for j, t in enumerate(fitter.types)
        }
        leads = {s: co.lead_s for s, co in per_speaker.items()}
        first = next(iter(per_speaker.values()))
        co = Coarticulation(first.tau_s, float(np.median(list(leads.values()))), first.dominance)
        rest_mse = sum(fitter.yty.values()) / (fitter.frames * FRAME_DIM)
        refs = {c.speaker: np.asarray(c.reference, np.float64) for c in clips}
        report = {
            "clips": len(clips),
            "speakers": len(refs),
            "frames": fitter.frames,
            "speaker_lead_s": leads,
            "heldout_rmse_mm": round(math.sqrt(max(mse, 0.0)), 4),
            "rest_shape_rmse_mm": round(math.sqrt(rest_mse), 4),
            "heldout_opening_corr": round(fitter.heldout_opening_corr(per_speaker), 4),
            "grid": asdict(grid),
        }
        reference = np.mean(list(refs.values()), axis=0)
        return cls(phoneme_targets, class_targets, co, reference, report)

    # ---- synthesis -----------------------------------------------------------------------

    def target_of(self, phoneme: str) -> np.ndarray:
        """(60,) target displacement of a phoneme, its class's when it was not seen alone."""
        if phoneme in self.phoneme_targets:
            return self.phoneme_targets[phoneme]
        return self.class_targets.get(phoneme_class(phoneme), np.zeros(FRAME_DIM, np.float32))

    def render(self, segments: Sequence[PhonemeTiming], n_frames: int) -> np.ndarray:
        """(n_frames, 60) float32 track for timed phonemes on an 80 fps grid from t=0."""
        if n_frames <= 0 or not segments:
            return np.zeros((max(n_frames, 0), FRAME_DIM), np.float32)
        w = _blend_weights(segments, n_frames, self.coarticulation)  # (T, K)
        targets = np.stack([self.target_of(s.phoneme) for s in segments])  # (K, 60)
        return (w @ targets).astype(np.float32)

    def from_utterance(self, utterance: Utterance, *, strength: float = 1.0) -> np.ndarray:
        """(T, 60) float32 lip displacements at 80 fps for timed phonemes, T = round(duration
        * 80). `strength` scales the movement (1 = as fitted, 0 = the rest shape)."""
        if not math.isfinite(strength) or strength < 0:
            raise Text2LipsError(f"strength={strength} must be a finite number >= 0")
        n_frames = int(round(utterance.duration_s * FRAME_RATE))
        return self.render(utterance.phonemes, n_frames) * np.float32(strength)

    def synthesize(self, text: str, *, rate_wpm: int = 175, strength: float = 1.0) -> np.ndarray:
        """(T, 60) float32 lip displacements at 80 fps for `text` as espeak-ng times it at
        `rate_wpm`; see `from_utterance`."""
        return self.from_utterance(phoneme_timings(text, rate_wpm=rate_wpm), strength=strength)

    # ---- files ---------------------------------------------------------------------------

    def to_json(self) -> dict:
        def vec(v: np.ndarray) -> list[float]:
            return [round(float(x), 4) for x in np.asarray(v).reshape(-1)]

        return {
            "format": FORMAT,
            "version": VERSION,
            "licence": LICENCE,
            "frame_rate": FRAME_RATE,
            "coarticulation": asdict(self.coarticulation),
            "reference": vec(self.reference),
            "classes": {
                c: {"phonemes": list(VISEME_CLASSES[c]), "target": vec(v)}
                for c, v in self.class_targets.items()
            },
            "phonemes": {p: vec(v) for p, v in sorted(self.phoneme_targets.items())},
            "fit": self.fit_report,
        }

    def save(self, path: str | Path) -> None:
        """Write the model as human-readable JSON, and beside it the config.json that makes
        its folder a model directory (`kind: viseme`) when that folder has none yet."""
        from text2lips.files import atomic_write_text

        path = Path(path)
        atomic_write_text(path, json.dumps(self.to_json(), indent=1) + "\n")
        config = path.parent / "config.json"
        if not config.exists():
            from text2lips.runtime.kinds import VISEME

            doc = {"kind": VISEME, "model": {"file": path.name},
                   "metadata": {"name": "viseme", "kind": VISEME}}
            atomic_write_text(config, json.dumps(doc, indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> VisemeModel:
        """Read a model written by `save`."""
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise Text2LipsError(f"{path}: cannot read viseme model: {exc}") from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise Text2LipsError(f"{path}: not a viseme model (format is not {FORMAT!r})")
        if data.get("version") != VERSION:
            raise Text2LipsError(
                f"{path}: viseme model version {data.get('version')!r}, "
                f"this text2lips reads version {VERSION}"
            )
        try:
            co = Coarticulation(**data["coarticulation"])

            def vec(v: list[float], what: str, size: int = FRAME_DIM) -> np.ndarray:
                a = np.asarray(v, np.float32)
                if a.shape != (size,) or not np.isfinite(a).all():
                    raise ValueError(f"{what} must be {size} finite numbers")
                return a

            classes = {c: vec(v["target"], f"class {c}") for c, v in data["classes"].items()}
            phonemes = {p: vec(v, f"phoneme {p}") for p, v in data["phonemes"].items()}
            reference = vec(data["reference"], "reference")
        except (KeyError, TypeError, ValueError) as exc:
            raise Text2LipsError(f"{path}: malformed viseme model: {exc}") from exc
        return cls(phonemes, classes, co, reference, data.get("fit"))


# ---- command line: `python -m text2lips.viseme --out models/viseme/viseme.json` -----------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=None, help="shared data folder")
    parser.add_argument(
        "--out", type=Path, default=Path("models/viseme/viseme.json"), help="model JSON to write"
    )


def run(args: argparse.Namespace) -> int:
    """Fit on the LRS3 training split (pretrain) and write the JSON model."""
    from text2lips.data.dataset import TRAIN_SPLIT, load_clips

    model = VisemeModel.fit(load_clips(args.data, corpus="lrs3", split=TRAIN_SPLIT))
    model.save(args.out)
    print(json.dumps({"out": str(args.out), **model.fit_report}, default=list))
    return 0
