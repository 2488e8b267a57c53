"""What a servable model says about itself: identity, licence, speakers and their neutral lips.

It lives in the `metadata` of the model directory's config.json (beside the weights), so a
model directory is self-contained, as a piper voice is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from text2lips import FRAME_DIM, FRAME_RATE, Text2LipsError
from text2lips.runtime.closure_rule import ClosureRule

DEFAULT_LICENCE = (
    "Weights: CC BY-NC-SA 4.0 (non-commercial; trained on LRS3 TED clips, CC BY-NC-ND 4.0, "
    "and RAVDESS, CC BY-NC-SA 4.0)"
)
DEFAULT_MAX_TEXT_CHARS = 2000


@dataclass(frozen=True)
class ModelInfo:
    """Identity and speakers of a servable model."""

    name: str
    """Short model name, e.g. `default`, `edge`, `viseme`."""
    version: str = "0"
    """Model version (training run or date)."""
    licence: str = DEFAULT_LICENCE
    """Licence of the weights (inherited from the training data)."""
    frame_rate: float = FRAME_RATE
    """Native frames per second."""
    speakers: dict[str, np.ndarray] = field(default_factory=dict)
    """Speaker name -> (60,) absolute neutral lip shape in head space (mm)."""
    default_speaker: str = ""
    """Speaker used when a request names none."""
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS
    """Longest text a server should accept."""
    kind: str = "neural"
    """`neural` (LipDecoder weights) or `viseme` (the phoneme-driven baseline)."""
    closure: ClosureRule | None = None
    """The bilabial closure rule fitted for this model (`text2lips closure --fit`), if any."""

    def reference_for(self, speaker: str | None, reference: np.ndarray | None = None) -> np.ndarray:
        """The (60,) neutral shape to add displacements to; a client reference wins."""
        if reference is not None:
            ref = np.asarray(reference, dtype=np.float32).reshape(-1)
            if ref.shape != (FRAME_DIM,) or not np.isfinite(ref).all():
                raise Text2LipsError(
                    f"reference must be {FRAME_DIM} finite floats (20 lip points x, y, z in mm), "
                    f"got {ref.size} value(s)"
                )
            return ref
        name = speaker or self.default_speaker
        if name not in self.speakers:
            known = ", ".join(sorted(self.speakers)) or "none"
            raise Text2LipsError(f"unknown speaker {name!r}; known speakers: {known}")
        return self.speakers[name]

    def to_metadata(self) -> dict[str, Any]:
        """JSON-able form stored in config.json's metadata."""
        return {
            "name": self.name, "version": self.version, "licence": self.licence,
            "frame_rate": self.frame_rate, "default_speaker": self.default_speaker,
            "max_text_chars": self.max_text_chars, "kind": self.kind,
            "speakers": {k: [round(float(x), 4) for x in v] for k, v in self.speakers.items()},
        } | ({"closure": self.closure.to_metadata()} if self.closure else {})

    @classmethod
    def from_metadata(cls, meta: dict[str, Any], fallback_name: str) -> ModelInfo:
        speakers = {
            k: np.asarray(v, dtype=np.float32).reshape(FRAME_DIM)
            for k, v in (meta.get("speakers") or {}).items()
        }
        default = meta.get("default_speaker") or (sorted(speakers)[0] if speakers else "")
        return cls(
            name=meta.get("name", fallback_name), version=str(meta.get("version", "0")),
            licence=meta.get("licence", DEFAULT_LICENCE),
            frame_rate=float(meta.get("frame_rate", FRAME_RATE)), speakers=speakers,
            default_speaker=default,
            max_text_chars=int(meta.get("max_text_chars", DEFAULT_MAX_TEXT_CHARS)),
            kind=meta.get("kind", "neural"),
            closure=ClosureRule.from_metadata(meta.get("closure")),
        )


def speakers_from_data(data_dir: str | Path | None = None) -> dict[str, np.ndarray]:
    """Absolute (60,) neutral lips for every LRS3 training speaker, from the real clips.

    The centred reference is put back at the speaker's mean lip position in head space, so
    the frames a client receives sit where that speaker's mouth is.
    """
    from text2lips.data.dataset import load_clips

    out: dict[str, np.ndarray] = {}
    clips = load_clips(data_dir, "lrs3", "pretrain")
    for spk in sorted({c.speaker for c in clips}):
        own = [c for c in clips if c.speaker == spk]
        centroid = np.concatenate([c.lips for c in own]).reshape(-1, 3).mean(axis=0)
        out[spk] = (own[0].reference + centroid).reshape(FRAME_DIM).astype(np.float32)
    return out
