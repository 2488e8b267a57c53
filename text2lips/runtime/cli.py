"""`text2lips speak`: synthesise lip frames for a text, print them or save them."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from text2lips import Text2LipsError
from text2lips.blendshapes import BLENDSHAPE_NAMES, default_calibration
from text2lips.files import atomic_path
from text2lips.runtime import BACKENDS, SynthesisOptions, Synthesizer
from text2lips.runtime.output import OUTPUT_RATES, OutputOptions, output_frames

FORMATS = (".npy", ".csv", ".json")
AUDIO_FORMATS = (".wav",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("text", help="what to say")
    parser.add_argument(
        "--model",
        default="models/default",
        help="model directory, or 'viseme' for the viseme baseline",
    )
    parser.add_argument("--backend", default="torch-cpu", choices=BACKENDS)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads")
    parser.add_argument("--speaker", default=None, help="speaker name (see the model card)")
    parser.add_argument("--fps", type=float, default=0.0,
                        help="output frame rate: 80 (native), 60 or 30 (as on the wire)")
    parser.add_argument("--duration", type=float, default=0.0, metavar="S",
                        help="time-warp the utterance to last S seconds (to match a TTS clip)")
    parser.add_argument("--blendshapes", action="store_true",
                        help="add smoothed ARKit + viseme blend-shape weights to every frame")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per frame (JSON Lines, the wire's fields)")
    parser.add_argument(
        "-o",
        "--out",
        type=Path,
        default=None,
        help="write frames to .npy (T, 60), .csv or .json instead of stdout; with --voice, "
        "line.wav writes the audio and, beside it, line.json (frames and blend shapes)",
    )
    from text2lips.voice.cli import add_voice_arguments

    add_voice_arguments(parser)


def _write(path: Path, frames: np.ndarray, times: np.ndarray, rate: float,
           weights: np.ndarray | None) -> None:
    if path.suffix not in FORMATS:
        raise Text2LipsError(f"{path}: unknown output format; use one of {', '.join(FORMATS)}")
    # An interrupted run never leaves half a file.
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        if path.suffix == ".npy":
            np.save(f, frames)
        elif path.suffix == ".csv":
            header = "time_s," + ",".join(f"{a}_{i}" for i in range(48, 68) for a in "xyz")
            columns = [times, frames]
            if weights is not None:
                header += "," + ",".join(BLENDSHAPE_NAMES)
                columns.append(weights)
            np.savetxt(
                f,
                np.column_stack(columns),
                delimiter=",",
                header=header,
                comments="",
                fmt="%.4f",
            )
        else:
            doc: dict[str, object] = {
                "frame_rate": rate,
                "times": times.round(4).tolist(),
                "landmarks": frames.round(4).tolist(),
            }
            if weights is not None:
                doc["blendshape_names"] = list(BLENDSHAPE_NAMES)
                doc["blendshapes"] = weights.round(4).tolist()
            f.write(json.dumps(doc).encode())


def run(args: argparse.Namespace) -> int:
    if not (args.fps == 0 or args.fps in OUTPUT_RATES):
        raise Text2LipsError(f"--fps {args.fps:g}: use 80, 60 or 30")
    options = OutputOptions(frame_rate=args.fps, target_duration_s=args.duration,
                            blendshapes=args.blendshapes).check()
    if args.json and args.out:
        raise Text2LipsError("--json prints to stdout; -o FILE.json writes a file: pick one")
    from text2lips.voice.cli import voice_from_args

    voice = voice_from_args(args)
    wav = args.out if args.out is not None and args.out.suffix in AUDIO_FORMATS else None
    if wav is not None:
        if voice is None or not voice.sample_rate:
            raise Text2LipsError(f"{args.out}: a .wav needs a voice that makes sound "
                                 "(--voice joe or espeak)")
        args.out = wav.with_suffix(".json")
        options = OutputOptions(frame_rate=args.fps, blendshapes=True).check()
    if voice is not None and args.duration:
        raise Text2LipsError("--duration warps time; a voice or marks already give the timing")
    synth = Synthesizer.load(args.model, backend=args.backend, threads=args.threads)
    audio_chunks: list = []
    t0 = time.perf_counter()
    first = None
    frames, times, weights = [], [], []
    native = 0
    calibration = default_calibration(args.speaker)

    def counted():  # noqa: ANN202 -- native frames, counted for the RTF
        from text2lips.voice import VoiceChunk

        nonlocal native
        opts = SynthesisOptions(speaker=args.speaker)
        if voice is None:
            frames = synth.stream(args.text, opts)
        else:
            from text2lips.voice.lips import voiced

            frames = voiced(synth, voice, args.text, opts)
        for f in frames:
            if isinstance(f, VoiceChunk):
                audio_chunks.append(f)
                continue
            native += 1
            yield f

    for out in output_frames(counted(), options, synth.info.frame_rate, calibration):
        first = first if first is not None else time.perf_counter() - t0
        if args.json:
            row = {"index": out.index, "time_s": round(out.time_s, 6),
                   "landmarks": out.landmarks.round(4).tolist(), "last": out.last}
            if out.blendshapes is not None:
                row["blendshapes"] = out.blendshapes.round(4).tolist()
            print(json.dumps(row), flush=out.last)
            continue
        frames.append(out.landmarks)
        times.append(out.time_s)
        if out.blendshapes is not None:
            weights.append(out.blendshapes)
    wall = time.perf_counter() - t0
    audio = native / synth.info.frame_rate
    n_out = out.index + 1
    summary = (
        f"{n_out} frames at {options.rate:g} fps ({audio:.2f} s native) in {wall * 1000:.0f} ms,"
        f" first frame after {first * 1000:.1f} ms, RTF {wall / audio:.3f} "
        f"[{synth.info.name}, {args.backend}]"
    )
    if args.json:
        print(summary, file=sys.stderr)
        return 0
    arr, t = np.stack(frames), np.asarray(times)
    w = np.stack(weights) if weights else None
    if wav is not None:
        from text2lips.voice import join
        from text2lips.voice.cli import write_wav

        audio, rate, _ = join(audio_chunks)
        write_wav(wav, audio, rate)
        print(f"{wav}: {len(audio) / rate:.2f} s of audio at {rate} Hz ({voice.name})")
    if args.out:
        _write(args.out, arr, t, options.rate, w)
        print(f"{args.out}: {summary}")
    else:
        for i, (ti, row) in enumerate(zip(t, arr, strict=True)):
            extra = "" if w is None else " | " + " ".join(f"{v:.3f}" for v in w[i])
            print(f"{ti:.4f} " + " ".join(f"{v:.3f}" for v in row) + extra)
        print(summary, file=sys.stderr)
    return 0
