"""`text2lips bake LINES.csv -o DIR`: render dialogue lines once into self-contained clips that
engines play with no sidecar (the Unity package reads the `.t2lb` layout in Text2Lips.Core).

Layout of a `.t2lb` file (little-endian; `str` = u32 byte count + UTF-8):

    magic "T2LB", u32 version (1)
    str id, str text, str voice, str model
    f64 frame_rate, u32 T frames, u32 L floats per frame (60), u32 K weights
    K x str weight name (ModelInfo.blendshape_names order)
    T x f64 time_s
    T*L x f32 landmarks (frame-major: x48 y48 z48 ... z67, head space, mm)
    T*K x f32 blend-shape weights in [0, 1]
    u32 P, P x (str phoneme, f64 start_s, f64 end_s, i32 word_index, i32 stress)
    u32 W, W x (str word, f64 start_s, f64 end_s)
    f64 timeline duration_s
    u32 sample_rate (0: no audio), u32 N, N x i16 mono PCM
    magic "T2LE"

Beside each `ID.t2lb` the WAV of a voiced line is written as `ID.wav`, and `lines.json`
lists every line (id, text, voice, files, frames, seconds).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import struct
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from text2lips import FRAME_DIM, Text2LipsError
from text2lips.files import atomic_path

MAGIC, END_MAGIC, VERSION = b"T2LB", b"T2LE", 1
SUFFIX = ".t2lb"
NO_VOICE = "none"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


@dataclass(frozen=True)
class BakeLine:
    """One row of the lines CSV."""

    id: str
    """File-safe identifier; the engine looks the clip up by it."""
    text: str
    """What is said."""
    voice: str = NO_VOICE
    """A voice name (`none`: lips only, no audio)."""


@dataclass
class BakedClip:
    """Everything an engine needs to play one line without a server."""

    id: str
    """The line id."""
    text: str
    """What is said."""
    voice: str
    """Voice used (`none`: silent)."""
    model: str
    """Model name that made the lips."""
    frame_rate: float
    """Frames per second."""
    times: np.ndarray
    """(T,) float64 seconds of each frame."""
    landmarks: np.ndarray
    """(T, 60) float32 lip landmarks, head space, mm."""
    weights: np.ndarray
    """(T, K) float32 blend-shape weights in [0, 1]."""
    weight_names: tuple[str, ...]
    """The K weight names."""
    phonemes: list[tuple[str, float, float, int, int]] = field(default_factory=list)
    """(phoneme, start_s, end_s, word_index, stress) of the timeline."""
    words: list[tuple[str, float, float]] = field(default_factory=list)
    """(word, start_s, end_s) of the timeline."""
    duration_s: float = 0.0
    """Timeline duration (s)."""
    sample_rate: int = 0
    """Audio sample rate; 0 without audio."""
    audio: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int16))
    """(N,) int16 mono PCM; empty for voice `none`."""


def read_lines(path: Path) -> list[BakeLine]:
    """The CSV's rows (header `id,text[,voice]`), checked: ids unique and file-safe, text set."""
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise Text2LipsError(f"{path}: cannot read lines ({exc.strerror})") from exc
    reader = csv.DictReader(io.StringIO(raw))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if "id" not in header or "text" not in header:
        raise Text2LipsError(f"{path}: the header must name columns id,text[,voice]; got {header}")
    lines: list[BakeLine] = []
    seen: set[str] = set()
    for row_no, row in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        line_id, text, voice = row.get("id", ""), row.get("text", ""), row.get("voice") or NO_VOICE
        if not _ID.match(line_id):
            raise Text2LipsError(
                f"{path}:{row_no}: id {line_id!r} must be 1-100 of A-Z a-z 0-9 _ . -"
            )
        if line_id in seen:
            raise Text2LipsError(f"{path}:{row_no}: id {line_id!r} appears twice")
        if not text:
            raise Text2LipsError(f"{path}:{row_no}: line {line_id!r} has no text")
        seen.add(line_id)
        lines.append(BakeLine(line_id, text, voice))
    if not lines:
        raise Text2LipsError(f"{path}: no lines")
    return lines


def _voice_module() -> Any | None:
    """text2lips.voice when this build has it (it renders spoken lines); None otherwise."""
    try:
        import text2lips.voice as voice
    except ModuleNotFoundError as exc:
        if exc.name not in ("text2lips.voice",):
            raise
        return None
    return voice if hasattr(voice, "render_line") else None


def render(synth: Any, line: BakeLine) -> BakedClip:
    """Lips (and the voice's audio) for one line, as the sidecar would stream them."""
    from text2lips.blendshapes import (
        BLENDSHAPE_NAMES,
        BlendshapeSmoother,
        default_calibration,
        solve,
    )

    voice = _voice_module()
    rate = float(synth.info.frame_rate)
    phonemes: list[tuple[str, float, float, int, int]] = []
    words: list[tuple[str, float, float]] = []
    audio, sample_rate = np.zeros(0, np.int16), 0
    if voice is not None:
        # The one call that makes a spoken line: audio, frames on its timing, weights.
        spoken = voice.render_line(synth, line.text, line.voice)
        frames, rate = np.asarray(spoken.frames, np.float32), float(spoken.frame_rate)
        timeline = spoken.timeline
        weights = spoken.weights
        if spoken.audio is not None and len(spoken.audio):
            audio, sample_rate = np.asarray(spoken.audio, np.int16), int(spoken.sample_rate)
    elif line.voice != NO_VOICE:
        raise Text2LipsError(
            f"line {line.id!r}: voice {line.voice!r} needs text2lips.voice (not in this build); "
            f"use voice '{NO_VOICE}' (lips only)"
        )
    else:
        from text2lips.runtime import SynthesisOptions
        from text2lips.text.timeline import espeak_timeline

        timeline = espeak_timeline(line.text) if synth.timed else None
        frames = synth.synthesize(line.text, SynthesisOptions(timeline=timeline))  # (T, 60)
        weights = None
    if weights is None:
        # As the sidecar does: solve each frame, then smooth at the frame rate.
        weights = BlendshapeSmoother(frame_rate=rate)(solve(frames, default_calibration()))
    if timeline is not None:
        phonemes = [
            (p.phoneme, p.start_s, p.end_s, p.word_index, p.stress) for p in timeline.phonemes
        ]
        words = [(w.word, w.start_s, w.end_s) for w in timeline.words]
    n = len(frames)
    return BakedClip(
        id=line.id, text=line.text, voice=line.voice, model=synth.info.name, frame_rate=rate,
        times=np.arange(n, dtype=np.float64) / rate,
        landmarks=np.ascontiguousarray(frames, np.float32).reshape(n, FRAME_DIM),
        weights=np.ascontiguousarray(weights, np.float32).reshape(n, len(BLENDSHAPE_NAMES)),
        weight_names=tuple(BLENDSHAPE_NAMES), phonemes=phonemes, words=words,
        duration_s=float(timeline.duration_s) if timeline is not None else n / rate,
        sample_rate=sample_rate, audio=audio,
    )


def _str(s: str) -> bytes:
    b = s.encode("utf-8")
    return struct.pack("<I", len(b)) + b


def encode(clip: BakedClip) -> bytes:
    """The `.t2lb` bytes of a clip (layout in the module docstring)."""
    t, k = clip.weights.shape
    out = [MAGIC, struct.pack("<I", VERSION)]
    out += [_str(clip.id), _str(clip.text), _str(clip.voice), _str(clip.model)]
    out.append(struct.pack("<dIII", clip.frame_rate, t, FRAME_DIM, k))
    out += [_str(name) for name in clip.weight_names]
    out.append(clip.times.astype("<f8").tobytes())
    out.append(clip.landmarks.astype("<f4").tobytes())
    out.append(clip.weights.astype("<f4").tobytes())
    out.append(struct.pack("<I", len(clip.phonemes)))
    for ph, start, end, word, stress in clip.phonemes:
        out += [_str(ph), struct.pack("<ddii", start, end, word, stress)]
    out.append(struct.pack("<I", len(clip.words)))
    for word, start, end in clip.words:
        out += [_str(word), struct.pack("<dd", start, end)]
    out.append(struct.pack("<d", clip.duration_s))
    out.append(struct.pack("<II", clip.sample_rate, len(clip.audio)))
    out.append(clip.audio.astype("<i2").tobytes())
    out.append(END_MAGIC)
    return b"".join(out)


class _Reader:
    def __init__(self, data: bytes, name: str) -> None:
        self.data, self.pos, self.name = data, 0, name

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise Text2LipsError(f"{self.name}: truncated .t2lb (needs {n} bytes at {self.pos})")
        b = self.data[self.pos : self.pos + n]
        self.pos += n
        return b

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))

    def str(self) -> str:
        return self.take(self.unpack("<I")[0]).decode("utf-8")

    def array(self, dtype: str, count: int) -> np.ndarray:
        return np.frombuffer(self.take(count * np.dtype(dtype).itemsize), dtype).copy()


def decode(data: bytes, name: str = "clip") -> BakedClip:
    """Parse `.t2lb` bytes; a clear error on anything malformed."""
    r = _Reader(data, name)
    if r.take(4) != MAGIC:
        raise Text2LipsError(f"{name}: not a .t2lb file (bad magic)")
    (version,) = r.unpack("<I")
    if version != VERSION:
        raise Text2LipsError(f"{name}: .t2lb version {version}; this reader knows {VERSION}")
    line_id, text, voice, model = r.str(), r.str(), r.str(), r.str()
    rate, t, dim, k = r.unpack("<dIII")
    names = tuple(r.str() for _ in range(k))
    times = r.array("<f8", t)
    landmarks = r.array("<f4", t * dim).reshape(t, dim)
    weights = r.array("<f4", t * k).reshape(t, k)
    phonemes = []
    for _ in range(r.unpack("<I")[0]):
        ph = r.str()
        phonemes.append((ph, *r.unpack("<ddii")))
    words = []
    for _ in range(r.unpack("<I")[0]):
        w = r.str()
        words.append((w, *r.unpack("<dd")))
    (duration,) = r.unpack("<d")
    sample_rate, n = r.unpack("<II")
    audio = r.array("<i2", n)
    if r.take(4) != END_MAGIC or r.pos != len(data):
        raise Text2LipsError(f"{name}: .t2lb has trailing or missing bytes at {r.pos}")
    return BakedClip(line_id, text, voice, model, rate, times, landmarks, weights, names,
                     phonemes, words, duration, sample_rate, audio)


def _atomic_write(path: Path, data: bytes) -> None:
    # An interrupted bake never leaves half a clip.
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; clips are ordinary assets


def _wav_bytes(audio: np.ndarray, sample_rate: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(audio.astype("<i2").tobytes())
    return buf.getvalue()


def bake(synth: Any, lines: list[BakeLine], out_dir: Path) -> Iterator[dict[str, Any]]:
    """Render and write each line; yields its manifest entry once written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for line in lines:
        clip = render(synth, line)
        entry: dict[str, Any] = {
            "id": clip.id, "text": clip.text, "voice": clip.voice, "file": clip.id + SUFFIX,
            "frames": len(clip.times), "seconds": round(len(clip.times) / clip.frame_rate, 4),
        }
        _atomic_write(out_dir / entry["file"], encode(clip))
        if clip.sample_rate:
            entry["wav"] = clip.id + ".wav"
            entry["audio_seconds"] = round(len(clip.audio) / clip.sample_rate, 4)
            _atomic_write(out_dir / entry["wav"], _wav_bytes(clip.audio, clip.sample_rate))
        yield entry


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("lines", type=Path, help="CSV with a header id,text[,voice]")
    parser.add_argument("-o", "--out", type=Path, required=True, help="directory for the clips")
    parser.add_argument("--model", default="models/default", help="model directory, or 'viseme'")
    parser.add_argument("--backend", default="torch-cpu", help="synthesis backend")


def run(args: argparse.Namespace) -> int:
    from text2lips.runtime import Synthesizer

    lines = read_lines(args.lines)  # all checked before any model loads or file is written
    voice = _voice_module()
    unvoiced = [ln.id for ln in lines if ln.voice != NO_VOICE]
    if voice is None and unvoiced:
        raise Text2LipsError(
            f"lines {', '.join(unvoiced[:5])} name a voice, but this build has no text2lips.voice; "
            f"set their voice to '{NO_VOICE}'"
        )
    if voice is not None:
        # Before any rendering, so a typo in row 90 does not leave 89 clips behind.
        known = {*voice.available_voices(), NO_VOICE}
        unknown = sorted({ln.voice for ln in lines} - known)
        if unknown:
            raise Text2LipsError(
                f"unknown voice(s) {', '.join(unknown)}; available: {', '.join(sorted(known))}"
            )
    synth = Synthesizer.load(args.model, backend=args.backend)
    manifest = list(bake(synth, lines, args.out))
    doc = {"format": f"t2lb/{VERSION}", "model": synth.info.name, "lines": manifest}
    _atomic_write(args.out / "lines.json", (json.dumps(doc, indent=1) + "\n").encode())
    seconds = sum(e["seconds"] for e in manifest)
    print(f"{args.out}: {len(manifest)} lines, {seconds:.2f} s of speech [{synth.info.name}]")
    return 0
