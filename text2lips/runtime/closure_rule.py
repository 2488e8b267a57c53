"""The bilabial closure rule: the inner lips meet while the decoder reads a p, b or m.

A p, b or m cannot be said with the lips apart, and a viewer sees at once when an avatar says
"Bob" with its mouth open. The neural decoder learns this only loosely from 80 clips, so the
runtime adds what every lip-sync system enforces: while the decoder's attention sits on a
bilabial letter, the inner lips (points 60-67) are pulled toward the closed shape,

    w = clip(gain * attention mass on the row's bilabial letters, 0, 1)
    inner lips <- inner lips + w * (closed inner lips - inner lips)

and nothing else of the frame changes. The frame fed back to the decoder stays its own, so
the rule only shapes what is shown. `gain` and the closed shape are fitted per model on the
training split (`text2lips closure --fit`) and stored in the model's config.json metadata;
a model without them is served unchanged. numpy only: the torch-free backends use it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from text2lips import FRAME_DIM, Text2LipsError

INNER = slice(36, 60)
"""Points 60-67 (x, y, z each) in the (60,) frame layout of points 48-67: the inner lips."""


def bilabial_mask(ids: Sequence[int]) -> np.ndarray:
    """(L,) float32: 1 on the p, b and m letters of symbol ids, 0 elsewhere.

    The p of "ph" is an f (lips to teeth) and gets no closure.
    """
    from text2lips.text import text_to_sequence

    bilabial = {text_to_sequence(ch)[0] for ch in "pbmPBM"}
    p_ids = {text_to_sequence(ch)[0] for ch in "pP"}
    h_ids = {text_to_sequence(ch)[0] for ch in "hH"}
    ids = list(ids)
    out = np.zeros(len(ids), np.float32)
    for j, s in enumerate(ids):
        if s in bilabial and not (s in p_ids and j + 1 < len(ids) and ids[j + 1] in h_ids):
            out[j] = 1.0
    return out


@dataclass(frozen=True)
class ClosureRule:
    """Gain and closed shape of one model's closure rule."""

    gain: float
    """Weight per unit of attention mass on bilabial letters (1 / typical peak mass)."""
    target: np.ndarray
    """(60,) displacement of closed lips in the model's target space; the inner lips are used."""
    _inner: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        target = np.asarray(self.target, np.float32).reshape(-1)
        if target.shape != (FRAME_DIM,) or not np.isfinite(target).all():
            raise Text2LipsError(f"closure target must be {FRAME_DIM} finite floats")
        if not (np.isfinite(self.gain) and self.gain >= 0):
            raise Text2LipsError(f"closure gain {self.gain!r}: must be a finite number >= 0")
        object.__setattr__(self, "target", target)
        object.__setattr__(self, "_inner", target[INNER].copy())

    def apply(self, frames: np.ndarray, mass: np.ndarray | float) -> np.ndarray:
        """Frames (..., 60) with attention mass (...) on bilabials -> frames with the rule."""
        # minimum/maximum rather than clip: this runs once per decoder step (~10 us at batch 1).
        w = np.maximum(np.minimum(np.asarray(mass, np.float32) * np.float32(self.gain), 1.0), 0.0)
        out = np.array(frames, dtype=np.float32, copy=True)
        inner = out[..., INNER]
        inner += w[..., None] * (self._inner - inner)
        return out

    def to_metadata(self) -> dict[str, Any]:
        target = [round(float(x), 4) for x in self.target]
        return {"gain": round(float(self.gain), 4), "target": target}

    @classmethod
    def from_metadata(cls, meta: dict[str, Any] | None) -> ClosureRule | None:
        if not meta:
            return None
        try:
            return cls(float(meta["gain"]), np.asarray(meta["target"], np.float32))
        except (KeyError, TypeError, ValueError) as e:
            raise Text2LipsError(f"bad closure rule in model metadata: {e}") from None
