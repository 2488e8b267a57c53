"""Pretrain the lip decoder on the synthetic viseme corpus (`text2lips corpus`): train.py's
loop on its clips, validated free-running on the real trainval clips, so `best/` is the
checkpoint that does best on real lips; fine-tune it with `text2lips train --init DIR/best`."""

from __future__ import annotations

import argparse
from pathlib import Path

from text2lips import FRAME_RATE, Text2LipsError
from text2lips.model import read_metadata
from text2lips.train import TrainSettings, resolve_config
from text2lips.train import add_arguments as add_train_arguments
from text2lips.train import run as train_run
from text2lips.viseme.corpus import load_corpus

PRETRAIN_DEFAULTS = {"epochs": 10, "batch_size": 32}
"""Where pretraining differs from train.py's defaults (500 epochs over 80 clips): the corpus
is ~250 times larger, so fewer passes and larger batches give as many updates, better spent."""


def data_note(corpus: Path, n_clips: int, seconds: float) -> str:
    """What a pretrained checkpoint was trained on, as stored in its metadata; resuming on
    another corpus (or another --limit of it) is refused by comparing it."""
    return (
        f"synthetic corpus {corpus.name}: {n_clips} clips, {seconds / 3600:.2f} h "
        "(Debian fortunes sentences rendered by the viseme model)"
    )


def run(args: argparse.Namespace) -> int:
    """Load the corpus and run train.py's loop on it."""
    if args.limit is not None and args.limit < 1:
        raise Text2LipsError(f"--limit {args.limit}: must be >= 1")
    clips = load_corpus(args.corpus)[: args.limit]
    note = data_note(args.corpus, len(clips), sum(c.n_frames for c in clips) / FRAME_RATE)
    if args.out is None:
        name, _ = resolve_config(TrainSettings(config=args.config or TrainSettings().config))
        args.out = Path("runs") / f"pretrain-{name}"
    if args.resume:
        last = Path(args.out) / "last"
        saved = read_metadata(last).get("data") if last.is_dir() else None
        if saved is not None and saved != note:
            raise Text2LipsError(
                f"--corpus {args.corpus} (limit {args.limit}) is not what {args.out} was "
                f"pretrained on: {saved}"
            )
    else:
        # Only a new run takes pretraining's defaults: a resumed one keeps what it saved.
        for name, value in PRETRAIN_DEFAULTS.items():
            if getattr(args, name) is None:
                setattr(args, name, value)
    return train_run(args, train_clips=clips, data_note=note)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus", type=Path, required=True,
                        help="synthetic corpus .npz written by `text2lips corpus`")
    parser.add_argument("--limit", type=int, default=None,
                        help="use only the corpus's first N clips (they are in seeded order)")
    add_train_arguments(parser)
    parser.description = (
        "Pretrain on the synthetic corpus with train's options (defaults differ: "
        + ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in PRETRAIN_DEFAULTS.items())
        + "); --max-clips also caps the real validation clips."
    )
