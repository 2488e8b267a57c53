"""The `phoneme` profile of `make bench`: the phoneme-timed model on one CPU thread over the
bench sentences. Time to first frame from a ready timeline and from text (espeak-ng's timing
included), the timing source's own cost beside it, real-time factor, and how many utterances
one thread keeps real time when they are stepped together as the sidecar's scheduler does."""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks import measure
from text2lips import FRAME_RATE

REPO = Path(__file__).resolve().parent.parent
TTFF_LIMIT_MS = 10.0
RTF_LIMIT = 0.01


def phoneme_model_dir(ctx) -> tuple[Path, bool]:
    """(model directory, random_weights): the shipped phoneme model, else (or with --tiny) a
    random-weight stand-in of the same size built in the cache (the same speed)."""
    from text2lips.phoneme.checkpoint import save_phoneme_model
    from text2lips.phoneme.model import KIND, PRESETS, PhonemeLipModel
    from text2lips.runtime.kinds import model_kind

    preset = "tiny" if ctx.tiny else "compact"
    if not ctx.tiny:
        for d in (REPO / "models" / "default", REPO / "models" / "phoneme"):
            if (d / "config.json").is_file() and model_kind(d) == KIND:
                return d, False
    out = Path(ctx.cache_dir) / f"phoneme-{preset}"
    if not (out / "config.json").is_file():
        import torch

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = PhonemeLipModel(PRESETS[preset]).eval()
        meta = {"name": f"random {preset}", "random": True, "speakers": {"zero": [0.0] * 60}}
        save_phoneme_model(model, out, meta)
    return out, True


def run_phoneme(profile, ctx) -> dict:
    """One variant (one thread) of the phoneme profile, in the shape the report reads."""

    from benchmarks.common import judge, torch_threads
    from text2lips.runtime import SynthesisOptions, Synthesizer
    from text2lips.text.timeline import espeak_timeline

    path, random_weights = phoneme_model_dir(ctx)
    with torch_threads(1):
        measure.reset_peak_rss()
        t0 = time.perf_counter()
        synth = Synthesizer.load(path, threads=1)
        load_s = time.perf_counter() - t0
        texts = ctx.plan.ttff_sentences
        repeats = 1 if ctx.plan.quick else 3
        timing_s, ttff_s, ttff_text_s = [], [], []
        audio_s = decode_s = 0.0
        for _ in range(repeats):
            for text in texts:
                t0 = time.perf_counter()
                tl = espeak_timeline(text)
                t1 = time.perf_counter()
                n = 0
                for _frame in synth.stream(text, SynthesisOptions(timeline=tl)):
                    if n == 0:
                        first = time.perf_counter()
                        ttff_s.append(first - t1)
                        ttff_text_s.append(first - t0)
                    n += 1
                decode_s += time.perf_counter() - t1
                timing_s.append(t1 - t0)
                audio_s += n / FRAME_RATE
        # N utterances stepped together (one chunk of frames per step, as the scheduler does)
        streams = 8 if ctx.plan.quick else 64
        tls = [espeak_timeline(t) for t in texts]
        bd = synth.batch_decoder(streams)
        for i in range(streams):
            bd.add(i, texts[i % len(texts)], SynthesisOptions(timeline=tls[i % len(texts)]))
        frames = 0
        t0 = time.perf_counter()
        while len(bd):
            frames += len(bd.step())
        batch_s = time.perf_counter() - t0
    batch_rtf = batch_s / (frames / FRAME_RATE / streams)
    ttff = measure.summary_ms(ttff_s)
    figures = {
        "ttff_ms": ttff,
        "ttff_p50_ms": ttff.get("p50"),
        "ttff_from_text_ms": measure.summary_ms(ttff_text_s),
        "timing_source_espeak_ms": measure.summary_ms(timing_s),
        "rtf": round(decode_s / audio_s, 5),
        "fps": round(audio_s * FRAME_RATE / decode_s, 1),
        "batch": {"streams": streams, "rtf": round(batch_rtf, 4)},
        # one thread keeps this many utterances real time at the batch's per-stream cost
        "max_streams_realtime": int(streams / batch_rtf) if batch_rtf > streams / 1e6 else None,
        "max_streams_at_limit": int(streams * 0.5 / batch_rtf),
        "peak_rss_mb": measure.peak_rss_mb(),
        "load_s": round(load_s, 3),
        "sentences": len(texts),
        "repeats": repeats,
    }
    result = {
        "variant": {"label": "phoneme 1 thread", "backend": "torch-cpu", "threads": 1},
        "label": "phoneme 1 thread",
        "status": "ok",
        "model": {"size": "phoneme", "path": str(path), "random_weights": random_weights},
        "engine": "torch-cpu",
        "threads_used": 1,
        "figures": figures,
        "ttff_all_ms": [round(x * 1e3, 3) for x in ttff_s],
        "pairs": [],  # no reference decoder to pair with: the paper has no such model
        "ratios": {},
    }
    result["verdict"] = judge(figures, profile.criteria)
    measure.log(f"  {result['verdict']['verdict']}: TTFF p50 {ttff.get('p50')} ms, "
                f"RTF {figures['rtf']}, {figures['max_streams_realtime']} real-time streams")
    return result


__all__ = ["RTF_LIMIT", "TTFF_LIMIT_MS", "run_phoneme"]
