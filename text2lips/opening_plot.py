"""`text2lips openings`: inner-lip opening over time, the truth against each model, for a few
real clips, so that a person can judge articulation by eye."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from text2lips import FRAME_DIM, FRAME_RATE, Text2LipsError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", default="models/default,viseme",
                        help="comma-separated model directories (or 'viseme')")
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--split", default="pretrain", choices=["pretrain", "trainval"])
    parser.add_argument("--timing", default="true", choices=["own", "true"],
                        help="true: timed models render on the clips' real word timings")
    parser.add_argument("--clips", type=int, default=4, help="how many clips (the first N)")
    parser.add_argument("--first", type=int, default=0, help="index of the first clip")
    parser.add_argument("--clip", action="append", default=None, metavar="ID",
                        help="plot this clip (e.g. lrs3/pretrain/0FkuRwU8HFc/00004; repeatable) "
                        "instead of --first/--clips, e.g. a cross-validation fold's held-out clips")
    parser.add_argument("-o", "--out", type=Path, required=True, help="PNG to write")


def run(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from text2lips.data import lips as L
    from text2lips.data.dataset import load_clips
    from text2lips.data.timing import clip_timeline
    from text2lips.decode import decode_jobs
    from text2lips.runtime import SynthesisOptions, Synthesizer
    from text2lips.text.timeline import espeak_timeline

    if args.timing == "true" and args.split != "pretrain":
        raise Text2LipsError("--timing true needs word timings: use --split pretrain")
    clips = load_clips(args.data, "lrs3", args.split)
    if args.clip:
        by_id = {c.clip_id: c for c in clips}
        missing = [i for i in args.clip if i not in by_id]
        if missing:
            raise Text2LipsError(f"--clip {missing[0]}: not a clip of the {args.split} split "
                                 f"(e.g. {clips[0].clip_id})")
        clips = [by_id[i] for i in args.clip]
    else:
        clips = clips[args.first : args.first + args.clips]
    if not clips:
        raise Text2LipsError("no clips to plot")
    zero = np.zeros(FRAME_DIM, np.float32)
    fig, axes = plt.subplots(len(clips), 1, figsize=(11, 2.3 * len(clips)), squeeze=False)
    for ax, c in zip(axes[:, 0], clips, strict=True):
        t = np.arange(c.n_frames) / FRAME_RATE
        ax.plot(t, L.inner_opening(L.shape_from_target(c.target, c.reference)), "k", lw=2,
                label="truth")
        ax.set_title(f"{c.clip_id}: {c.text[:70]}", fontsize=8)
        ax.set_ylabel("opening mm")
    for name in args.models.split(","):
        synth = Synthesizer.load(name)
        jobs = []
        for c in clips:
            tl = None
            if synth.timed:
                tl = (clip_timeline(c) if args.timing == "true"
                      else espeak_timeline(c.text).scaled(c.duration_s))
            jobs.append((c.text, SynthesisOptions(reference=zero, max_frames=c.n_frames,
                                                  stop=False, timeline=tl)))
        for ax, c, pred in zip(axes[:, 0], clips, decode_jobs(synth, jobs), strict=True):
            op = L.inner_opening(L.shape_from_target(pred[: c.n_frames], c.reference))
            ax.plot(np.arange(len(op)) / FRAME_RATE, op, lw=1.2, label=synth.info.name)
    axes[0, 0].legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("seconds")
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=90)
    print(f"wrote {args.out}")
    return 0
