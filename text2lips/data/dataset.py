"""Real clips as training examples: text, word timings and 80 fps lip tracks, cached on disk.

LRS3 clips keep the paper's split (`pretrain` = 80 training clips, `trainval` = 13 validation
clips); speaker references come from the training split only, so validation never leaks
into the target space.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from text2lips import FRAME_RATE, Text2LipsError
from text2lips.data import lips as L
from text2lips.data.openface import (
    DEFAULT_MIN_CONFIDENCE,
    DropReport,
    filter_frames,
    read_openface_csv,
)
from text2lips.data.transcripts import (
    RAVDESS_FPS,
    WordTiming,
    ravdess_statement,
    read_lrs3_transcript,
)
from text2lips.files import atomic_path

__all__ = ["Clip", "WordTiming", "load_clips", "speaker_references", "default_data_dir"]

CORPORA = ("lrs3", "ravdess")
LRS3_SPLITS = ("pretrain", "trainval")
TRAIN_SPLIT = "pretrain"
CACHE_VERSION = 1
"""Bump when preprocessing changes so stale caches are rebuilt."""


@dataclass(frozen=True)
class Clip:
    """One real clip, preprocessed into the training target space."""

    clip_id: str
    """`lrs3/<split>/<video>/<clip>` or `ravdess/<actor>/<name>`."""
    corpus: str
    split: str
    """LRS3: `pretrain` or `trainval`; RAVDESS: `all`."""
    speaker: str
    """LRS3: the TED video id (one speaker each); RAVDESS: the actor folder."""
    text: str
    """Transcript as in the source (upper case)."""
    words: tuple[WordTiming, ...]
    """Word timings from the clip start, when the source has them."""
    lips: np.ndarray
    """(T, 20, 3) float32 lip landmarks in head space (mm) at 80 fps."""
    reference: np.ndarray
    """(20, 3) float32 speaker neutral shape, centred on its own lip centroid."""
    drops: DropReport
    """What confidence filtering removed from the source track."""

    @property
    def target(self) -> np.ndarray:
        """(T, 60) float32 displacement from the reference: the model's output space."""
        return L.target_from_lips(self.lips, self.reference)

    @property
    def n_frames(self) -> int:
        return len(self.lips)

    @property
    def duration_s(self) -> float:
        return self.n_frames / FRAME_RATE


def default_data_dir() -> Path:
    """$TEXT2LIPS_DATA, else ../shared/data next to the repository."""
    env = os.environ.get("TEXT2LIPS_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "shared" / "data"


def cache_dir() -> Path:
    """$TEXT2LIPS_CACHE, else ~/.cache/text2lips."""
    env = os.environ.get("TEXT2LIPS_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "text2lips"


def _check_data_dir(data_dir: Path, corpus: str) -> Path:
    root = data_dir / ("lrs3_ted93" if corpus == "lrs3" else "ravdess_surprised")
    if not root.is_dir():
        raise Text2LipsError(
            f"{data_dir}: no {root.name}/ folder here; pass --data pointing at the shared "
            "data folder (the one with lrs3_ted93/ and ravdess_surprised/)"
        )
    return root


def _sources(data_dir: Path, corpus: str) -> list[dict]:
    """Every clip of a corpus as (id, split, speaker, csv, transcript info, fps)."""
    root = _check_data_dir(data_dir, corpus)
    out = []
    if corpus == "lrs3":
        fps_path = root / "fps.json"
        try:
            fps = json.loads(fps_path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise Text2LipsError(f"{fps_path}: cannot read frame rates: {exc}") from exc
        for split in LRS3_SPLITS:
            for csv in sorted((root / "landmarks" / split).glob("*/*.csv")):
                video = csv.parent.name
                if video not in fps:
                    raise Text2LipsError(f"{fps_path}: no frame rate for video {video}")
                out.append(
                    dict(
                        clip_id=f"lrs3/{split}/{video}/{csv.stem}",
                        split=split,
                        speaker=video,
                        csv=csv,
                        transcript=root / "transcripts" / split / video / f"{csv.stem}.txt",
                        fps=float(fps[video]),
                    )
                )
    else:
        for csv in sorted(root.glob("Actor_*/*.csv")):
            out.append(
                dict(
                    clip_id=f"ravdess/{csv.parent.name}/{csv.stem}",
                    split="all",
                    speaker=csv.parent.name,
                    csv=csv,
                    transcript=None,
                    fps=RAVDESS_FPS,
                )
            )
    if not out:
        raise Text2LipsError(f"{root}: no landmark CSVs found")
    return out


def _cache_key(sources: list[dict], min_confidence: float) -> str:
    h = hashlib.sha256(f"v{CACHE_VERSION}|{min_confidence}".encode())
    for s in sources:
        for p in (s["csv"], s["transcript"]):
            if p is not None:
                st = p.stat()
                h.update(f"{p}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def _preprocess(src: dict, min_confidence: float) -> tuple[np.ndarray, dict]:
    """One source clip -> (T, 20, 3) head-space lips at 80 fps + its metadata."""
    track = filter_frames(read_openface_csv(src["csv"]), min_confidence)
    head = track.head_space()[:, list(L.LIP_INDICES)]  # (N, 20, 3)
    times = track.frames / src["fps"]
    duration = (track.frames[-1] + 1) / src["fps"] - 1 / FRAME_RATE  # last frame's span too
    lips = L.resample(head, times, FRAME_RATE, duration=max(duration, float(times[-1])))
    if src["transcript"] is not None:
        tr = read_lrs3_transcript(src["transcript"])
        text, words = tr.text, [[w.word, w.start_s, w.end_s] for w in tr.words]
    else:
        text, words = ravdess_statement(src["csv"].name), []
    d = track.drops
    meta = dict(
        clip_id=src["clip_id"],
        split=src["split"],
        speaker=src["speaker"],
        text=text,
        words=words,
        drops=[d.total, d.low_confidence, d.not_success],
    )
    return lips.astype(np.float32), meta


def _load_corpus(
    data_dir: Path, corpus: str, min_confidence: float
) -> list[tuple[np.ndarray, dict]]:
    sources = _sources(data_dir, corpus)
    path = cache_dir() / f"{corpus}-{_cache_key(sources, min_confidence)}.npz"
    if path.exists():
        try:
            with np.load(path) as z:
                metas = json.loads(str(z["meta"]))
                lips, offsets = z["lips"], z["offsets"]
            return [(lips[offsets[i] : offsets[i + 1]], m) for i, m in enumerate(metas)]
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache is rebuilt below
    items = [_preprocess(s, min_confidence) for s in sources]
    offsets = np.cumsum([0] + [len(x) for x, _ in items])
    # A crash never leaves half a cache behind.
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(
            f,
            lips=np.concatenate([x for x, _ in items]),
            offsets=offsets,
            meta=np.array(json.dumps([m for _, m in items])),
        )
    return items


def _references(items: Iterable[tuple[np.ndarray, dict]], corpus: str) -> dict[str, np.ndarray]:
    """Per-speaker mean centred lip shape, from the training split when the corpus has one."""
    frames: dict[str, list[np.ndarray]] = {}
    for lips, meta in items:
        if corpus == "lrs3" and meta["split"] != TRAIN_SPLIT:
            continue
        frames.setdefault(meta["speaker"], []).append(L.centre(lips))
    return {
        spk: np.concatenate(v).mean(axis=0).astype(np.float32) for spk, v in sorted(frames.items())
    }


def speaker_references(
    data_dir: str | Path | None = None,
    corpus: str = "lrs3",
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> dict[str, np.ndarray]:
    """Speaker -> (20, 3) centred neutral shape (the mean over the speaker's training frames)."""
    _check_corpus(corpus)
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    return _references(_load_corpus(data_dir, corpus, min_confidence), corpus)


def _check_corpus(corpus: str) -> None:
    if corpus not in CORPORA:
        raise Text2LipsError(f"unknown corpus {corpus!r}; expected one of {', '.join(CORPORA)}")


def load_clips(
    data_dir: str | Path | None = None,
    corpus: str = "lrs3",
    split: str | None = None,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> list[Clip]:
    """The clips of a corpus (and split), preprocessed and cached; in a stable order."""
    _check_corpus(corpus)
    if corpus == "lrs3" and split not in (None, *LRS3_SPLITS):
        raise Text2LipsError(f"unknown LRS3 split {split!r}; expected pretrain or trainval")
    if corpus == "ravdess" and split not in (None, "all"):
        raise Text2LipsError(f"RAVDESS has no split {split!r}; leave it out")
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    items = _load_corpus(data_dir, corpus, min_confidence)
    refs = _references(items, corpus)
    clips = []
    for lips, m in items:
        if split is not None and corpus == "lrs3" and m["split"] != split:
            continue
        if m["speaker"] not in refs:
            raise Text2LipsError(f"{m['clip_id']}: speaker {m['speaker']} has no training clips")
        clips.append(
            Clip(
                clip_id=m["clip_id"],
                corpus=corpus,
                split=m["split"],
                speaker=m["speaker"],
                text=m["text"],
                words=tuple(WordTiming(w, float(s), float(e)) for w, s, e in m["words"]),
                lips=lips,
                reference=refs[m["speaker"]],
                drops=DropReport(*m["drops"]),
            )
        )
    return clips
