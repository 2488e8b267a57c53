"""Lip landmarks -> ARKit mouth blend shapes and OVR visemes, in [0, 1], for avatars.

The mapping (measures, normalisation, formulas) is documented in docs/blendshapes.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from text2lips import Text2LipsError
from text2lips.data.lips import INNER_LOWER, INNER_UPPER, as_points, inner_opening
from text2lips.files import atomic_write_text

__all__ = [
    "ARKIT_NAMES",
    "VISEME_NAMES",
    "BLENDSHAPE_NAMES",
    "MEASURE_NAMES",
    "BlendshapeCalibration",
    "BlendshapeSmoother",
    "measures",
    "calibrate",
    "solve",
    "default_calibration",
    "fit_default_calibration",
]

ARKIT_NAMES: tuple[str, ...] = (
    "jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight",
    "mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthPressLeft", "mouthPressRight",
    "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight",
)
"""ARKit mouth set; Left/Right are the subject's own sides, as in ARKit."""

VISEME_NAMES: tuple[str, ...] = tuple(
    f"viseme_{v}"
    for v in (
        "sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "ih", "oh", "ou"
    )
)
"""The 15 Oculus/OVR visemes under Ready Player Me's blend-shape names."""

BLENDSHAPE_NAMES: tuple[str, ...] = ARKIT_NAMES + VISEME_NAMES
"""Column order of `solve`'s output and of LipFrame.blendshapes (ModelInfo.blendshape_names)."""

# Rows of the (20, 3) lip array (iBUG point - 48). The subject's right corner (48) is on the
# image's left (smaller x), so the subject's left is +x.
_R_CORNER, _L_CORNER = 0, 6  # 48, 54
_UP_R, _UP_C, _UP_L = 2, 3, 4  # 50, 51, 52: outer upper lip
_LO_L, _LO_C, _LO_R = 8, 9, 10  # 56, 57, 58: outer lower lip
_IN_UP_R, _IN_UP_L = 13, 15  # 61, 63
_IN_LO_L, _IN_LO_R = 17, 19  # 65, 67
_MIDLINE = (_UP_C, _LO_C, INNER_UPPER, INNER_LOWER)  # 51, 57, 62, 66

MEASURE_NAMES: tuple[str, ...] = (
    "inner_open", "outer_open", "width", "half_width_left", "half_width_right", "protrusion",
    "corner_lift_left", "corner_lift_right", "upper_thickness", "lower_thickness",
    "thickness_left", "thickness_right", "shift", "upper_raise_left", "upper_raise_right",
    "lower_drop_left", "lower_drop_right",
)
"""Geometric measures (mm) taken from each lip frame; all are translation-invariant."""

_ONE_SIDED = frozenset({"inner_open"})
"""Measures whose neutral is their closed end (a low percentile), not their median. The
others are corrected for the opening first, which leaves them centred on their median."""

_PCT_TWO_SIDED = (5.0, 95.0)
"""Percentiles that map to -1 and +1: the speaker's own range, robust to tracking spikes."""
_PCT_ONE_SIDED = (2.0, 98.0)
"""The opening saturates later, so jawOpen stays proportional to it over more frames."""

_MIN_SPAN_MM = {
    "inner_open": 4.0, "outer_open": 4.0, "width": 5.0, "half_width_left": 3.0,
    "half_width_right": 3.0, "protrusion": 3.0, "corner_lift_left": 2.5,
    "corner_lift_right": 2.5, "upper_thickness": 1.5, "lower_thickness": 1.5,
    "thickness_left": 2.5, "thickness_right": 2.5, "shift": 2.5, "upper_raise_left": 2.5,
    "upper_raise_right": 2.5, "lower_drop_left": 3.0, "lower_drop_right": 3.0,
}
"""Smallest distance (mm) from neutral to ±1, so a speaker who barely moves a measure gets
tracking noise damped instead of amplified to full-scale weights."""

_M = {n: i for i, n in enumerate(MEASURE_NAMES)}

CALIBRATION_PATH = Path(__file__).with_name("blendshapes_calibration.json")
_CALIBRATION_FORMAT = "text2lips.blendshapes_calibration/1"
_CALIBRATION_FIELDS = ("neutral", "low", "high", "open_slope")


def measures(lips: np.ndarray) -> np.ndarray:
    """(..., 20, 3) or (..., 60) lip shapes, absolute or centred -> (..., len(MEASURE_NAMES)) mm."""
    p = as_points(np.asarray(lips, dtype=np.float64))
    x, y, z = p[..., 0], p[..., 1], p[..., 2]

    def dist(a: int, b: int) -> np.ndarray:
        return np.linalg.norm(p[..., a, :] - p[..., b, :], axis=-1)

    mid_x = x[..., _MIDLINE].mean(axis=-1)
    # Corner height is taken against the aperture centre; the share of it that still follows
    # the opening is removed by the calibration (open_slope), leaving the smile/frown.
    aperture_y = 0.5 * (y[..., INNER_UPPER] + y[..., INNER_LOWER])
    corner_y = 0.5 * (y[..., _R_CORNER] + y[..., _L_CORNER])
    out = {
        "inner_open": inner_opening(p),
        "outer_open": dist(_UP_C, _LO_C),
        "width": dist(_R_CORNER, _L_CORNER),
        "half_width_left": x[..., _L_CORNER] - mid_x,
        "half_width_right": mid_x - x[..., _R_CORNER],
        # z points away from the camera, so lips pushed forward have smaller z than the corners.
        "protrusion": 0.5 * (z[..., _R_CORNER] + z[..., _L_CORNER])
        - z[..., _MIDLINE].mean(axis=-1),
        # y points down: a raised corner has a smaller y.
        "corner_lift_left": aperture_y - y[..., _L_CORNER],
        "corner_lift_right": aperture_y - y[..., _R_CORNER],
        "upper_thickness": dist(_UP_C, INNER_UPPER),
        "lower_thickness": dist(_LO_C, INNER_LOWER),
        "thickness_left": dist(_UP_L, _IN_UP_L) + dist(_LO_L, _IN_LO_L),
        "thickness_right": dist(_UP_R, _IN_UP_R) + dist(_LO_R, _IN_LO_R),
        "shift": mid_x - 0.5 * (x[..., _R_CORNER] + x[..., _L_CORNER]),
        "upper_raise_left": corner_y - y[..., _UP_L],
        "upper_raise_right": corner_y - y[..., _UP_R],
        "lower_drop_left": y[..., _LO_L] - corner_y,
        "lower_drop_right": y[..., _LO_R] - corner_y,
    }
    return np.stack([out[name] for name in MEASURE_NAMES], axis=-1)


@dataclass(frozen=True)
class BlendshapeCalibration:
    """Per-measure neutral value and range (mm) of one speaker, or an average of speakers.

    Every measure but the inner opening is first corrected for the opening
    (`m - open_slope * (inner_open - neutral_inner_open)`): opening the jaw drags the corners
    and the lower lip down and thins the lips, and that must not read as a frown or a roll.
    """

    neutral: tuple[float, ...]
    """Value that maps to 0: the median, or the closed end (2nd percentile) of the opening."""
    low: tuple[float, ...]
    """Value that maps to -1 (5th percentile); for the opening it equals `neutral`."""
    high: tuple[float, ...]
    """Value that maps to +1 (95th percentile; 98th for the opening)."""
    open_slope: tuple[float, ...]
    """mm of each measure per mm of inner opening, removed before normalising (0 for it)."""
    frames: int = 0
    """How many frames the calibration was fitted on (0: hand-made)."""

    def __post_init__(self) -> None:
        n = len(MEASURE_NAMES)
        for field in _CALIBRATION_FIELDS:
            got = len(getattr(self, field))
            if got != n:
                raise Text2LipsError(f"calibration {field} has {got} values, expected {n}")
        lo, mid, hi = (np.asarray(v) for v in (self.low, self.neutral, self.high))
        if not (np.all(lo <= mid) and np.all(mid < hi)):
            raise Text2LipsError("calibration needs low <= neutral < high for every measure")

    def corrected(self, m: np.ndarray) -> np.ndarray:
        """(..., n_measures) raw measures -> the same with the opening's share removed (mm)."""
        i = _M["inner_open"]
        # Clamped to the fitted range: the linear model is not trusted beyond what it saw.
        o = np.clip(m[..., i:i + 1], self.neutral[i], self.high[i])
        return m - np.asarray(self.open_slope) * (o - self.neutral[i])

    def normalise(self, m: np.ndarray) -> np.ndarray:
        """(..., n_measures) raw measures (mm) -> signed values in [-1, 1], 0 at neutral."""
        m = self.corrected(m)
        mid, lo, hi = (np.asarray(v) for v in (self.neutral, self.low, self.high))
        up = (m - mid) / (hi - mid)
        # One-sided measures have low == neutral: nothing lies below their closed end.
        down = (m - mid) / np.maximum(mid - lo, 1e-6) * (mid > lo)
        return np.clip(np.where(m >= mid, up, down), -1.0, 1.0)

    def to_dict(self, digits: int | None = None) -> dict:
        """{"frames": n, "measures": {name: {"neutral", "low", "high", "open_slope"}}}.

        digits rounds the values (the packaged file uses 4: 0.1 µm, diffs stay readable).
        """
        def r(x: float) -> float:
            return x if digits is None else round(x, digits)

        return {"frames": self.frames, "measures": {
            name: {f: r(getattr(self, f)[i]) for f in _CALIBRATION_FIELDS}
            for i, name in enumerate(MEASURE_NAMES)
        }}

    @classmethod
    def from_dict(cls, d: Mapping) -> BlendshapeCalibration:
        try:
            per = d["measures"]
            if set(per) != set(MEASURE_NAMES):
                raise Text2LipsError(
                    f"calibration measures {sorted(per)} do not match this version's "
                    f"{sorted(MEASURE_NAMES)}; refit it with text2lips.blendshapes.calibrate"
                )
            values = {
                f: tuple(float(per[n][f]) for n in MEASURE_NAMES) for f in _CALIBRATION_FIELDS
            }
            return cls(**values, frames=int(d.get("frames", 0)))
        except (KeyError, TypeError, ValueError) as exc:
            raise Text2LipsError(f"malformed blend-shape calibration: {exc!r}") from exc

    def to_json(self) -> str:
        return _dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> BlendshapeCalibration:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise Text2LipsError(f"blend-shape calibration is not JSON: {exc}") from exc
        return cls.from_dict(doc)



def _dumps(doc: dict) -> str:
    """JSON with each measure's four numbers on one line, so people can read and diff it."""
    innermost = re.compile(r"\{\s*([^{}\[\]]*?)\s*\}")  # a {...} holding no object or list

    def one_line(m: re.Match) -> str:
        return "{" + re.sub(r"\s*\n\s*", " ", m[1]) + "}"

    return innermost.sub(one_line, json.dumps(doc, indent=1))


def _fit_one(frames: Sequence[np.ndarray]) -> BlendshapeCalibration:
    m = np.concatenate([measures(f).reshape(-1, len(MEASURE_NAMES)) for f in frames])
    if len(m) < 10:
        raise Text2LipsError(f"calibration needs at least 10 frames, got {len(m)}")
    one_sided = np.array([n in _ONE_SIDED for n in MEASURE_NAMES])
    span = np.array([_MIN_SPAN_MM[n] for n in MEASURE_NAMES])
    i = _M["inner_open"]
    closed, wide = np.percentile(m[:, i], _PCT_ONE_SIDED)
    wide = max(wide, closed + span[i])
    # Least-squares slope of each measure against the opening, clamped to its range exactly
    # as BlendshapeCalibration.corrected does, so fit and use see the same residuals.
    o = np.clip(m[:, i], closed, wide)
    oc = o - o.mean()
    slope = (oc @ (m - m.mean(axis=0))) / max(float(oc @ oc), 1e-9)
    slope[i] = 0.0
    r = m - slope * (o[:, None] - closed)  # (N, n_measures)
    lo2, hi2 = np.percentile(r, _PCT_TWO_SIDED, axis=0)
    lo1, hi1 = np.percentile(r, _PCT_ONE_SIDED, axis=0)
    med = np.median(r, axis=0)
    neutral = np.where(one_sided, lo1, med)
    high = np.maximum(np.where(one_sided, hi1, hi2), neutral + span)
    low = np.where(one_sided, neutral, np.minimum(lo2, neutral - span))
    return BlendshapeCalibration(
        neutral=tuple(neutral.tolist()), low=tuple(low.tolist()), high=tuple(high.tolist()),
        open_slope=tuple(slope.tolist()), frames=len(m),
    )


def calibrate(
    frames: Mapping[str, Sequence[np.ndarray]] | Sequence[np.ndarray],
) -> BlendshapeCalibration:
    """Fit a calibration from real lip tracks ((T, 20, 3) or (T, 60) arrays, any placement).

    A list of arrays is treated as one speaker. A mapping speaker -> arrays is fitted per
    speaker and the per-speaker values averaged, so every speaker counts equally however much
    of them was recorded.
    """
    if isinstance(frames, Mapping):
        if not frames:
            raise Text2LipsError("calibration needs at least one speaker")
        per = [_fit_one(list(v)) for v in frames.values()]
        mean = {f: tuple(np.mean([getattr(c, f) for c in per], axis=0).tolist())
                for f in _CALIBRATION_FIELDS}
        return BlendshapeCalibration(**mean, frames=sum(c.frames for c in per))
    if len(frames) == 0:
        raise Text2LipsError("calibration needs at least one lip track")
    return _fit_one(list(frames))


# --- solver -------------------------------------------------------------------------------

# Viseme prototypes in the space of normalised features (see _viseme_features): inner opening
# [0, 1], width, protrusion, upper and lower lip thickness, upper-lip raise, each in [-1, 1].
# Hand-set from the articulation of each viseme's phonemes; documented in docs/blendshapes.md.
_VISEME_PROTOTYPES = np.array([
    # open  width  protr  thickU thickL raise
    [0.20,  0.0,   0.0,   0.0,   0.0,   0.0],   # sil: lips at rest, slightly parted
    [0.00,  0.0,   0.0,  -0.15, -0.15,  0.0],   # PP: lips sealed, a little pressed (p, b, m)
    [0.10,  0.0,   0.0,   0.0,  -0.8,   0.3],   # FF: lower lip tucked under the teeth (f, v)
    [0.30,  0.1,  -0.1,   0.0,   0.0,   0.0],   # TH: tongue between the teeth
    [0.35,  0.2,   0.0,   0.0,   0.0,   0.0],   # DD: t, d
    [0.45,  0.1,   0.0,   0.0,   0.0,   0.0],   # kk: k, g
    [0.30, -0.3,   0.4,   0.2,   0.2,   0.3],   # CH: sh, ch, j with rounded, pushed lips
    [0.15,  0.5,  -0.2,   0.0,   0.0,   0.2],   # SS: teeth together, lips spread
    [0.25,  0.2,   0.0,   0.0,   0.0,   0.0],   # nn: n, l
    [0.30, -0.3,   0.3,   0.1,   0.1,   0.0],   # RR: r, rounded
    [1.00,  0.0,   0.0,   0.0,   0.0,   0.0],   # aa: wide open
    [0.55,  0.5,  -0.2,   0.0,   0.0,   0.2],   # E: open, spread
    [0.35,  0.7,  -0.3,   0.0,   0.0,   0.1],   # ih: spread, half closed
    [0.55, -0.4,   0.4,   0.0,   0.0,   0.0],   # oh: open and rounded
    [0.15, -0.6,   0.6,   0.0,   0.0,   0.0],   # ou: pursed
])
_VISEME_FEATURE_WEIGHTS = np.array([3.0, 1.5, 1.5, 1.0, 1.0, 1.0])
"""Opening separates visemes best from lips alone, so it counts most in the distance."""
_VISEME_SHARPNESS = 6.0
"""Softmax sharpness over weighted squared distances: higher means one viseme dominates."""


def solve(lips: np.ndarray, calibration: BlendshapeCalibration | None = None) -> np.ndarray:
    """Blend-shape weights in [0, 1] for lip shapes.

    lips: (T, 20, 3), (20, 3), (T, 60) or (60,), absolute head space or centred (mm).
    calibration: the speaker's (default: the packaged average of the training speakers).
    Returns (T, len(BLENDSHAPE_NAMES)) float32; T = 1 for a single frame.
    """
    cal = calibration if calibration is not None else default_calibration()
    try:
        p = as_points(np.asarray(lips, dtype=np.float64))
    except ValueError as exc:
        raise Text2LipsError(f"solve: {exc}") from exc
    if p.ndim == 2:
        p = p[None]
    if p.ndim != 3:
        raise Text2LipsError(
            f"solve expects (T, 20, 3) or (20, 3) lips, got shape {np.shape(lips)}"
        )
    v = cal.normalise(measures(p))  # (T, n_measures) in [-1, 1]

    def pos(name: str) -> np.ndarray:
        return np.clip(v[:, _M[name]], 0.0, 1.0)

    def neg(name: str) -> np.ndarray:
        return np.clip(-v[:, _M[name]], 0.0, 1.0)

    jaw = pos("inner_open")
    closed = 1.0 - jaw
    rounding = np.clip(0.5 * pos("protrusion") + 0.5 * neg("width"), 0.0, 1.0)
    smile_l, smile_r = pos("corner_lift_left"), pos("corner_lift_right")
    arkit = {
        "jawOpen": jaw,
        # ARKit's mouthClose holds the lips together against an open jaw. We see no jaw; the
        # outer outline taller than the aperture explains means lips pushed shut against it.
        "mouthClose": pos("outer_open") * closed,
        "mouthFunnel": rounding * np.clip(2.0 * jaw, 0.0, 1.0),
        "mouthPucker": rounding * closed,
        "mouthLeft": pos("shift"),
        "mouthRight": neg("shift"),
        "mouthSmileLeft": smile_l,
        "mouthSmileRight": smile_r,
        # Corners pulled sideways without rising: a stretch, not a smile.
        "mouthStretchLeft": pos("half_width_left") * (1.0 - smile_l),
        "mouthStretchRight": pos("half_width_right") * (1.0 - smile_r),
        "mouthRollLower": neg("lower_thickness"),
        "mouthRollUpper": neg("upper_thickness"),
        "mouthPressLeft": closed * neg("thickness_left"),
        "mouthPressRight": closed * neg("thickness_right"),
        "mouthLowerDownLeft": pos("lower_drop_left"),
        "mouthLowerDownRight": pos("lower_drop_right"),
        "mouthUpperUpLeft": pos("upper_raise_left"),
        "mouthUpperUpRight": pos("upper_raise_right"),
    }
    out = np.empty((len(p), len(BLENDSHAPE_NAMES)), dtype=np.float32)
    out[:, : len(ARKIT_NAMES)] = np.stack([arkit[n] for n in ARKIT_NAMES], axis=-1)
    out[:, len(ARKIT_NAMES):] = _visemes(v)
    return np.clip(out, 0.0, 1.0) + 0.0  # + 0.0 turns -0.0 into 0.0


def _viseme_features(v: np.ndarray) -> np.ndarray:
    """(T, n_measures) normalised measures -> (T, 6) viseme features (see _VISEME_PROTOTYPES)."""
    raise_ = 0.5 * (v[:, _M["upper_raise_left"]] + v[:, _M["upper_raise_right"]])
    return np.stack([
        np.clip(v[:, _M["inner_open"]], 0.0, 1.0), v[:, _M["width"]], v[:, _M["protrusion"]],
        v[:, _M["upper_thickness"]], v[:, _M["lower_thickness"]], raise_,
    ], axis=-1)


def _visemes(v: np.ndarray) -> np.ndarray:
    """(T, n_measures) -> (T, 15) viseme weights summing to 1 (a soft nearest prototype)."""
    f = _viseme_features(v)  # (T, 6)
    d2 = (((f[:, None, :] - _VISEME_PROTOTYPES[None]) * _VISEME_FEATURE_WEIGHTS) ** 2).sum(-1)
    logits = -_VISEME_SHARPNESS * d2  # (T, 15)
    logits -= logits.max(axis=-1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=-1, keepdims=True)


# --- smoothing: text2lips/smoothing.py (re-exported here) ---------------------------------

from text2lips.smoothing import BlendshapeSmoother  # noqa: E402

# --- the packaged calibration -------------------------------------------------------------

_DEFAULT_CACHE: dict[str, BlendshapeCalibration] | None = None


def _load_calibrations(path: Path = CALIBRATION_PATH) -> dict[str, BlendshapeCalibration]:
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise Text2LipsError(
            f"{path}: cannot read the blend-shape calibration ({exc}); regenerate it with "
            "text2lips.blendshapes.fit_default_calibration()"
        ) from exc
    if doc.get("format") != _CALIBRATION_FORMAT:
        raise Text2LipsError(
            f"{path}: format {doc.get('format')!r}, expected {_CALIBRATION_FORMAT!r}"
        )
    out = {"": BlendshapeCalibration.from_dict(doc["default"])}
    out.update({s: BlendshapeCalibration.from_dict(c) for s, c in doc["speakers"].items()})
    return out


def default_calibration(speaker: str | None = None) -> BlendshapeCalibration:
    """The packaged calibration of a training speaker, or the average one.

    A speaker not in the file (a custom reference, a new voice) gets the average of the
    training speakers, fitted on the same data.
    """
    global _DEFAULT_CACHE
    if _DEFAULT_CACHE is None:
        _DEFAULT_CACHE = _load_calibrations()
    return _DEFAULT_CACHE.get(speaker or "", _DEFAULT_CACHE[""])


def fit_default_calibration(
    data_dir: str | Path | None = None, out_path: str | Path = CALIBRATION_PATH,
) -> Path:
    """Fit the packaged calibration on the real clips and write it as JSON.

    `default` averages the LRS3 training-split speakers (the paper's training set); each
    LRS3 speaker (training split) and RAVDESS actor also gets its own entry.
    """
    from text2lips.data.dataset import load_clips

    lrs3: dict[str, list[np.ndarray]] = {}
    for clip in load_clips(data_dir, corpus="lrs3", split="pretrain"):
        lrs3.setdefault(clip.speaker, []).append(clip.lips)
    ravdess: dict[str, list[np.ndarray]] = {}
    for clip in load_clips(data_dir, corpus="ravdess"):
        ravdess.setdefault(clip.speaker, []).append(clip.lips)
    doc = {
        "format": _CALIBRATION_FORMAT,
        "source": "calibrate() on text2lips.data load_clips: lrs3 pretrain (default, speakers), "
                  "ravdess (speakers); written by text2lips.blendshapes.fit_default_calibration",
        "default": calibrate(lrs3).to_dict(digits=4),
        "speakers": {
            s: calibrate(v).to_dict(digits=4) for s, v in sorted({**lrs3, **ravdess}.items())
        },
    }
    out_path = Path(out_path)
    atomic_write_text(out_path, _dumps(doc) + "\n")
    global _DEFAULT_CACHE
    _DEFAULT_CACHE = None
    return out_path
