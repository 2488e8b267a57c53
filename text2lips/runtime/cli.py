"""`text2lips speak`: synthesise lip frames for a text, print them or save them."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from text2lips import Text2LipsError
from text2lips.files import atomic_path
from text2lips.runtime import BACKENDS, SynthesisOptions, Synthesizer

FORMATS = (".npy", ".csv", ".json")


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
    parser.add_argument(
        "-o",
        "--out",
        type=Path,
        default=None,
        help="write frames to .npy (T, 60), .csv or .json instead of stdout",
    )


def _write(path: Path, frames: np.ndarray, times: np.ndarray) -> None:
    if path.suffix not in FORMATS:
        raise Text2LipsError(f"{path}: unknown output format; use one of {', '.join(FORMATS)}")
    # An interrupted run never leaves half a file.
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        if path.suffix == ".npy":
            np.save(f, frames)
        elif path.suffix == ".csv":
            header = "time_s," + ",".join(f"{a}_{i}" for i in range(48, 68) for a in "xyz")
            np.savetxt(
                f,
                np.column_stack([times, frames]),
                delimiter=",",
                header=header,
                comments="",
                fmt="%.4f",
            )
        else:
            f.write(
                json.dumps(
                    {
                        "frame_rate": 80.0,
                        "times": times.round(4).tolist(),
                        "landmarks": frames.round(4).tolist(),
                    }
                ).encode()
            )


def run(args: argparse.Namespace) -> int:
    synth = Synthesizer.load(args.model, backend=args.backend, threads=args.threads)
    t0 = time.perf_counter()
    first = None
    frames, times = [], []
    for frame in synth.stream(args.text, SynthesisOptions(speaker=args.speaker)):
        first = first if first is not None else time.perf_counter() - t0
        frames.append(frame.landmarks)
        times.append(frame.time_s)
    wall = time.perf_counter() - t0
    arr, t = np.stack(frames), np.asarray(times)
    audio = len(arr) / synth.info.frame_rate
    summary = (
        f"{len(arr)} frames ({audio:.2f} s) in {wall * 1000:.0f} ms, first frame after "
        f"{first * 1000:.1f} ms, RTF {wall / audio:.3f} [{synth.info.name}, {args.backend}]"
    )
    if args.out:
        _write(args.out, arr, t)
        print(f"{args.out}: {summary}")
    else:
        for ti, row in zip(t, arr, strict=True):
            print(f"{ti:.4f} " + " ".join(f"{v:.3f}" for v in row))
        print(summary, file=sys.stderr)
    return 0
