"""The voice options every command that speaks shares: --voice, --marks, --marks-format."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np

from text2lips import Text2LipsError
from text2lips.voice import VOICES, Voice, load_voice
from text2lips.voice.backend import BACKENDS, ENV_BACKEND, ENV_PRECISION, PRECISIONS
from text2lips.voice.marks import MARK_FORMATS


def add_voice_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--voice", default=None, choices=VOICES,
                        help="speak aloud with this voice: joe (Piper), espeak, or none")
    parser.add_argument("--voice-backend", default="", choices=("", *BACKENDS),
                        help="engine of joe's flow and waveform decoder (default: openvino where "
                        f"installed; env {ENV_BACKEND})")
    parser.add_argument("--voice-precision", default="", choices=("", *PRECISIONS),
                        help="joe's flow and decoder precision, openvino only (default: bf16 "
                        f"where the CPU has it; env {ENV_PRECISION})")
    parser.add_argument("--marks", type=Path, default=None, metavar="FILE",
                        help="time the lips by a TTS's own marks instead of a voice")
    parser.add_argument("--marks-format", default=None, choices=MARK_FORMATS,
                        help="format of --marks")


def voice_from_args(args: argparse.Namespace) -> Voice | None:
    """The voice or marks the options ask for; None when neither is given."""
    if args.marks is not None:
        if args.voice:
            raise Text2LipsError("--marks and --voice both time the lips: pick one")
        if not args.marks_format:
            raise Text2LipsError(f"--marks needs --marks-format ({', '.join(MARK_FORMATS)})")
        from text2lips.voice.marks import MarksVoice, read_marks

        return MarksVoice(read_marks(args.marks, args.marks_format))
    if args.marks_format:
        raise Text2LipsError("--marks-format needs --marks FILE")
    if not args.voice:
        return None
    return load_voice(args.voice, backend=args.voice_backend, precision=args.voice_precision)


def write_wav(path: Path, audio: np.ndarray, rate: int) -> None:
    """PCM16 mono WAV, written beside and renamed (never half a file)."""
    from text2lips.files import atomic_path

    if rate <= 0:
        raise Text2LipsError(f"{path}: this voice makes no sound; choose --voice joe or espeak")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(audio, np.int16).tobytes())


def ffmpeg() -> str:
    """Debian's ffmpeg, else the one imageio-ffmpeg ships."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg
    except ImportError as e:
        raise Text2LipsError("muxing audio needs ffmpeg (apt-get install ffmpeg)") from e
    return imageio_ffmpeg.get_ffmpeg_exe()


def mux(video: Path, audio: Path, out: Path) -> None:
    """The video with the audio added as AAC (the video stream is copied as it is)."""
    from text2lips.files import atomic_path

    with atomic_path(out) as tmp:
        cmd = [ffmpeg(), "-loglevel", "error", "-y", "-i", str(video), "-i", str(audio),
               "-c:v", "copy", "-c:a", "aac", "-b:a", "96k", "-f", "mp4", str(tmp)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode:
            raise Text2LipsError(f"ffmpeg could not mux {out}: {done.stderr.strip()[-200:]}")
