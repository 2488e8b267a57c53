"""`text2lips data`: summarise and preprocess the real data folder."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from text2lips import FRAME_RATE
from text2lips.data.dataset import default_data_dir, load_clips
from text2lips.data.openface import DEFAULT_MIN_CONFIDENCE, summarize_drops


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["summary"], help="what to do")
    parser.add_argument("--data", type=Path, default=None,
                        help="shared data folder (default: $TEXT2LIPS_DATA or ../shared/data)")
    parser.add_argument("--min-confidence", type=float, default=DEFAULT_MIN_CONFIDENCE,
                        help="drop OpenFace frames below this confidence (default 0.7)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def summary(data_dir: Path | None, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> dict:
    """Counts of clips, speakers, frames and drops per corpus (builds the cache on first use)."""
    out: dict = {"data": str(data_dir or default_data_dir()), "frame_rate": FRAME_RATE}
    all_clips = []
    for corpus in ("lrs3", "ravdess"):
        clips = load_clips(data_dir, corpus, min_confidence=min_confidence)
        all_clips += clips
        frames = sum(c.n_frames for c in clips)
        entry = {
            "clips": len(clips),
            "speakers": len({c.speaker for c in clips}),
            "frames": frames,
            "seconds": round(frames / FRAME_RATE, 3),
            "drops": summarize_drops([c.drops for c in clips]),
        }
        if corpus == "lrs3":
            entry["train"] = sum(c.split == "pretrain" for c in clips)
            entry["val"] = sum(c.split == "trainval" for c in clips)
            entry["with_word_timings"] = sum(bool(c.words) for c in clips)
        out[corpus] = entry
    out["total_frames"] = sum(c.n_frames for c in all_clips)
    out["total_seconds"] = round(out["total_frames"] / FRAME_RATE, 3)
    out["dropped_frames"] = sum(c.drops.dropped for c in all_clips)
    return out


def run(args: argparse.Namespace) -> int:
    s = summary(args.data, args.min_confidence)
    if args.json:
        print(json.dumps(s))
        return 0
    for corpus in ("lrs3", "ravdess"):
        c = s[corpus]
        print(f"{corpus:8s} {c['clips']:4d} clips  {c['speakers']:3d} speakers  "
              f"{c['seconds']:8.1f} s  {c['drops']['dropped']} frames dropped")
    print(f"total    {s['total_frames']} frames at {FRAME_RATE:g} fps = {s['total_seconds']:.1f} s")
    return 0
