"""Read OpenFace 2.0 landmark CSVs and bring them into head space.

Two layouts exist in the wild: FeatureExtraction's own CSV (`frame, face_id, timestamp,
confidence, success, ...`, separator ", ") and FaceLandmarkImg output re-saved by pandas
(an unnamed index column, `face, confidence, pose_*, X_*, Y_*, Z_*`), as in ../shared/data.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from text2lips import Text2LipsError

N_POINTS = 68
POSE_T = ("pose_Tx", "pose_Ty", "pose_Tz")
POSE_R = ("pose_Rx", "pose_Ry", "pose_Rz")
LANDMARK_COLUMNS = tuple(f"{axis}_{i}" for axis in "XYZ" for i in range(N_POINTS))
REQUIRED_COLUMNS = ("confidence", *POSE_T, *POSE_R, *LANDMARK_COLUMNS)

DEFAULT_MIN_CONFIDENCE = 0.7
"""The paper keeps frames OpenFace is at least this confident about."""


class OpenFaceError(Text2LipsError):
    """A landmark CSV that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class DropReport:
    """What filtering removed from one track, and why."""

    total: int
    low_confidence: int = 0
    not_success: int = 0

    @property
    def dropped(self) -> int:
        return self.low_confidence + self.not_success

    def __str__(self) -> str:
        return (
            f"{self.dropped}/{self.total} frames dropped "
            f"(confidence below threshold: {self.low_confidence}, "
            f"tracking failed: {self.not_success})"
        )


@dataclass(frozen=True)
class OpenFaceTrack:
    """One face's landmarks over a video, in camera space, as OpenFace wrote them."""

    path: Path
    """The CSV this came from."""
    frames: np.ndarray
    """(N,) int, source video frame number of each row (0-based)."""
    landmarks: np.ndarray
    """(N, 68, 3) float64, camera space, mm."""
    translation: np.ndarray
    """(N, 3) head position pose_T (mm, camera space)."""
    rotation: np.ndarray
    """(N, 3) head rotation pose_Rx, pose_Ry, pose_Rz (radians, R = Rx·Ry·Rz)."""
    confidence: np.ndarray
    """(N,) OpenFace's tracking confidence in [0, 1]."""
    success: np.ndarray
    """(N,) bool, OpenFace's success flag (all True for FaceLandmarkImg output)."""
    drops: DropReport = field(default_factory=lambda: DropReport(0))
    """What `filter_frames` removed before this track was made (empty for a raw read)."""

    def __len__(self) -> int:
        return len(self.frames)

    def head_space(self, order: str = "xyz") -> np.ndarray:
        """(N, 68, 3) landmarks in head space: Rᵀ(X − T)."""
        return to_head_space(self.landmarks, self.translation, self.rotation, order=order)


def read_openface_csv(path: str | Path) -> OpenFaceTrack:
    """Read either OpenFace CSV layout; raise OpenFaceError naming the file and the problem."""
    path = Path(path)
    try:
        raw = path.read_text()
    except OSError as exc:
        raise OpenFaceError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if not raw.strip():
        raise OpenFaceError(f"{path}: the file is empty")
    try:
        # skipinitialspace handles FeatureExtraction's ", " separator; both layouts are CSV.
        df = pd.read_csv(io.StringIO(raw), skipinitialspace=True, on_bad_lines="error")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise OpenFaceError(f"{path}: not a readable CSV: {exc}") from exc
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        shown = ", ".join(missing[:6]) + (
            f" and {len(missing) - 6} more" if len(missing) > 6 else ""
        )
        raise OpenFaceError(f"{path}: missing columns {shown}")
    if len(df) == 0:
        raise OpenFaceError(f"{path}: the file has a header but no frames")

    numeric = df[list(REQUIRED_COLUMNS)].apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna().any(axis=1).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        cols = [c for c in REQUIRED_COLUMNS if pd.isna(numeric.iloc[row][c])]
        what = "a truncated row" if len(cols) > 1 and cols[-1] == REQUIRED_COLUMNS[-1] else "NaN"
        raise OpenFaceError(
            f"{path}: {what} at data row {row + 1} (empty or non-numeric {', '.join(cols[:4])}"
            f"{'...' if len(cols) > 4 else ''})"
        )
    values = numeric.to_numpy(dtype=np.float64)

    if "frame" in df.columns:  # FeatureExtraction: 1-based frame numbers
        frames = pd.to_numeric(df["frame"], errors="coerce").to_numpy()
        if np.isnan(frames).any():
            raise OpenFaceError(f"{path}: non-numeric value in column 'frame'")
        frames = frames.astype(np.int64) - 1
    else:  # FaceLandmarkImg re-saved by pandas: one row per video frame, in frame order
        frames = np.arange(len(df), dtype=np.int64)
    if np.any(np.diff(frames) <= 0):
        raise OpenFaceError(f"{path}: frame numbers are not strictly increasing")

    success = np.ones(len(df), dtype=bool)
    if "success" in df.columns:
        success = pd.to_numeric(df["success"], errors="coerce").fillna(0).to_numpy() > 0

    n_pose = 1 + len(POSE_T) + len(POSE_R)
    xyz = values[:, n_pose:].reshape(len(df), 3, N_POINTS).transpose(0, 2, 1)  # (N, 68, 3)
    return OpenFaceTrack(
        path=path,
        frames=frames,
        landmarks=np.ascontiguousarray(xyz),
        translation=values[:, 1:4],
        rotation=values[:, 4:7],
        confidence=values[:, 0],
        success=success,
        drops=DropReport(total=len(df)),
    )


def filter_frames(
    track: OpenFaceTrack, min_confidence: float = DEFAULT_MIN_CONFIDENCE
) -> OpenFaceTrack:
    """Keep frames that OpenFace tracked with confidence >= min_confidence; report the rest."""
    failed = ~track.success
    low = (track.confidence < min_confidence) & ~failed
    keep = ~(failed | low)
    if not keep.any():
        raise OpenFaceError(
            f"{track.path}: no usable frames: all {len(track)} are below confidence "
            f"{min_confidence} or failed tracking"
        )
    return OpenFaceTrack(
        path=track.path,
        frames=track.frames[keep],
        landmarks=track.landmarks[keep],
        translation=track.translation[keep],
        rotation=track.rotation[keep],
        confidence=track.confidence[keep],
        success=track.success[keep],
        drops=DropReport(
            total=len(track), low_confidence=int(low.sum()), not_success=int(failed.sum())
        ),
    )


def rotation_matrices(euler: np.ndarray, order: str = "xyz") -> np.ndarray:
    """(N, 3) Euler angles (radians) -> (N, 3, 3) rotation matrices.

    OpenFace composes R = Rx·Ry·Rz ("xyz"). "zyx" gives Rz·Ry·Rx, the composition the
    paper's code used by mistake; it exists so tests can show the difference.
    """
    euler = np.asarray(euler, dtype=np.float64)
    cx, cy, cz = np.cos(euler).T
    sx, sy, sz = np.sin(euler).T
    one, zero = np.ones_like(cx), np.zeros_like(cx)
    rx = np.stack([one, zero, zero, zero, cx, -sx, zero, sx, cx], -1).reshape(-1, 3, 3)
    ry = np.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], -1).reshape(-1, 3, 3)
    rz = np.stack([cz, -sz, zero, sz, cz, zero, zero, zero, one], -1).reshape(-1, 3, 3)
    if order == "xyz":
        return rx @ ry @ rz
    if order == "zyx":
        return rz @ ry @ rx
    raise ValueError(f"unknown rotation order {order!r}; expected 'xyz' or 'zyx'")


def to_head_space(
    landmarks: np.ndarray, translation: np.ndarray, rotation: np.ndarray, order: str = "xyz"
) -> np.ndarray:
    """Camera-space (N, P, 3) landmarks -> head space Rᵀ(X − T), per frame."""
    r = rotation_matrices(rotation, order)  # (N, 3, 3)
    centred = landmarks - translation[:, None, :]  # (N, P, 3)
    # Row vectors: (Rᵀ v)ᵀ = vᵀ R.
    return np.einsum("npi,nij->npj", centred, r)


def summarize_drops(reports: list[DropReport]) -> dict[str, int]:
    """Add drop reports up into JSON-able counts."""
    total: Counter[str] = Counter()
    for r in reports:
        total.update(
            frames=r.total,
            dropped=r.dropped,
            low_confidence=r.low_confidence,
            not_success=r.not_success,
        )
    return {k: int(total[k]) for k in ("frames", "dropped", "low_confidence", "not_success")}
