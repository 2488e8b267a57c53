"""`make bench PROFILE=phoneme`: the phoneme-timed model on one CPU thread over the 50 bench
sentences: time to first frame, real-time factor, concurrent streams, and the cost of the
timing source (espeak-ng) beside it."""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from text2lips import FRAME_RATE

HERE = Path(__file__).resolve().parent
SENTENCES = HERE / "sentences.txt"
TTFF_LIMIT_MS = 10.0
RTF_LIMIT = 0.01


def _pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q))


def run(model: str, threads: int = 1, repeats: int = 3, streams: int = 64) -> dict:
    import torch

    from text2lips.runtime import SynthesisOptions, Synthesizer
    from text2lips.text.timeline import espeak_timeline

    torch.set_num_threads(threads)
    synth = Synthesizer.load(model, threads=threads)
    texts = [t.strip() for t in SENTENCES.read_text().splitlines() if t.strip()]
    timing_ms, ttff_ms, ttff_text_ms, rtfs = [], [], [], []
    audio_s = decode_s = 0.0
    for _ in range(repeats):
        for text in texts:
            t0 = time.perf_counter()
            tl = espeak_timeline(text)
            t1 = time.perf_counter()
            timing_ms.append((t1 - t0) * 1e3)
            start = time.perf_counter()
            n = 0
            for _frame in synth.stream(text, SynthesisOptions(timeline=tl)):
                if n == 0:
                    first = time.perf_counter()
                    ttff_ms.append((first - start) * 1e3)
                    ttff_text_ms.append((first - t0) * 1e3)
                n += 1
            took = time.perf_counter() - start
            rtfs.append(took / (n / FRAME_RATE))
            audio_s += n / FRAME_RATE
            decode_s += took
    # many utterances stepped together, as the sidecar's scheduler does
    tls = [espeak_timeline(t) for t in texts]
    bd = synth.batch_decoder(streams)
    t0 = time.perf_counter()
    frames = 0
    for i in range(streams):
        bd.add(i, texts[i % len(texts)], SynthesisOptions(timeline=tls[i % len(texts)]))
    while len(bd):
        frames += len(bd.step())
    batch_s = time.perf_counter() - t0
    return {
        "model": model,
        "threads": threads,
        "sentences": len(texts),
        "repeats": repeats,
        "ttff_ms": {"p50": _pct(ttff_ms, 50), "p95": _pct(ttff_ms, 95)},
        "ttff_from_text_ms": {"p50": _pct(ttff_text_ms, 50), "p95": _pct(ttff_text_ms, 95)},
        "timing_source_espeak_ms": {"p50": _pct(timing_ms, 50), "p95": _pct(timing_ms, 95)},
        "rtf": decode_s / audio_s,
        "rtf_p95": _pct(rtfs, 95),
        "rtf_median_sentence": statistics.median(rtfs),
        "batch": {"streams": streams, "rtf": batch_s / (frames / FRAME_RATE / streams),
                  "realtime_streams": round(streams / (batch_s / (frames / FRAME_RATE / streams)))},
        "criteria": {"ttff_p50_ms<=10": _pct(ttff_ms, 50) <= TTFF_LIMIT_MS,
                     "rtf<=0.01": decode_s / audio_s <= RTF_LIMIT},
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.phoneme", description=__doc__)
    p.add_argument("--model", default="models/phoneme")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", type=Path, default=HERE / "results")
    args = p.parse_args(argv)
    doc = run(args.model, args.threads, args.repeats)
    doc["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    doc["machine"] = {"cpu": platform.processor() or platform.machine(), "host": platform.node()}
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"phoneme-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps(doc, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
