"""The `voice` profile of `make bench`: Piper's `joe` speaking the bench sentences with the
lips rendered on its timeline (text2lips.voice.lips.voiced), one thread each for the voice and
the lip model. Time to the first audio chunk and to the first lip frame, the real-time factor
of voice + lips, the lips-only path (espeak-ng timing) beside it, and STREAMS concurrent
SpeakVoiced streams on a loopback sidecar, measured."""

from __future__ import annotations

import os
import time
from pathlib import Path

from benchmarks import measure
from benchmarks.voice_streams import run_streams
from text2lips import FRAME_RATE

STREAMS = 12
"""Concurrent voiced streams the target asks for (benchmarks/voice_streams.py says how each
is judged real time)."""


def _time_lines(synth, voice, texts: list[str]
                ) -> tuple[list[float], list[float], float, float]:
    """Say each text through `voiced`: the first audio chunk's and first lip frame's delay per
    line (s), and in total the wall time and the audio time (s). A silent voice sends no sound:
    its audio time is its frames' duration."""
    from text2lips.voice import VoiceChunk
    from text2lips.voice.lips import voiced

    first_audio: list[float] = []
    first_frame: list[float] = []
    wall = audio_s = 0.0
    for text in texts:
        t0 = time.perf_counter()
        frames = chunks = 0
        sound_s = 0.0
        for item in voiced(synth, voice, text):
            now = time.perf_counter() - t0
            if isinstance(item, VoiceChunk):
                if not len(item.audio):  # a silent voice's chunk carries only timing
                    continue
                if chunks == 0:
                    first_audio.append(now)
                chunks += 1
                sound_s += len(item.audio) / item.sample_rate
            else:
                if frames == 0:
                    first_frame.append(now)
                frames += 1
        wall += time.perf_counter() - t0
        audio_s += sound_s if chunks else frames / FRAME_RATE
    return first_audio, first_frame, wall, audio_s


def run_voice(profile, ctx) -> dict:
    """One variant of the voice profile, in the shape the report reads."""

    from benchmarks.common import judge, torch_threads
    from benchmarks.phoneme import phoneme_model_dir
    from text2lips.runtime import Synthesizer
    from text2lips.voice import load_voice

    path, random_weights = phoneme_model_dir(ctx)
    with torch_threads(1):
        measure.reset_peak_rss()
        t0 = time.perf_counter()
        synth = Synthesizer.load(path, threads=1)
        voice = load_voice("joe", threads=1)
        silent = load_voice("none")
        load_s = time.perf_counter() - t0
        texts = ctx.plan.ttff_sentences
        first_audio, first_frame, wall, audio_s = _time_lines(synth, voice, texts)
        _, lips_first, lips_wall, lips_audio = _time_lines(synth, silent, texts)
        # One NPC on the otherwise idle machine may have all its cores for its voice.
        cores = len(os.sched_getaffinity(0))
        voice2 = load_voice("joe", threads=cores)
        first2, _, wall2, audio2 = _time_lines(synth, voice2, texts)
        # The decoder on onnxruntime f32 (what ran before OpenVINO), for comparison.
        voice_ort = load_voice("joe", threads=1, backend="onnxruntime")
        first_ort, frame_ort, wall_ort, audio_ort = _time_lines(synth, voice_ort, texts)
    rtf = wall / audio_s
    measure.log(f"  {STREAMS} concurrent SpeakVoiced streams on a loopback sidecar")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        streams = run_streams(path, list(texts), STREAMS, Path(tmp) / "serve.log")
    first_audio_ms = measure.summary_ms(first_audio)
    figures = {
        "first_audio_ms": first_audio_ms,
        "first_audio_p50_ms": first_audio_ms.get("p50"),
        "first_frame_ms": measure.summary_ms(first_frame),
        "ttff_ms": measure.summary_ms(first_frame),  # the report's column: first lip frame
        "rtf": round(rtf, 4),
        # the target's figure: one NPC's line on this machine, its voice on all the cores
        "rtf_all_cores": round(wall2 / audio2, 4),
        "first_frame_p50_ms": measure.summary_ms(first_frame).get("p50"),
        # an estimate: each stream keeps one thread busy rtf of the time
        "max_streams_estimate": int(cores / rtf),
        # measured: STREAMS at once, each line checked against its playback clock
        "concurrent": streams,
        "streams_not_realtime": (STREAMS - streams["streams_realtime"]
                                 if streams.get("status") == "ok" else None),
        "voice_all_cores": {"threads": cores, "first_audio_ms": measure.summary_ms(first2),
                            "rtf": round(wall2 / audio2, 4)},
        "decoder_engine": voice.engine,
        "onnxruntime_f32": {"first_audio_ms": measure.summary_ms(first_ort),
                            "first_frame_ms": measure.summary_ms(frame_ort),
                            "rtf": round(wall_ort / audio_ort, 4)},
        "lips_only": {"first_frame_ms": measure.summary_ms(lips_first),
                      "rtf": round(lips_wall / lips_audio, 4)},
        "cores": cores,
        "peak_rss_mb": measure.peak_rss_mb(),
        "load_s": round(load_s, 3),
        "sentences": len(texts),
    }
    result = {
        "variant": {"label": "joe + phoneme, 1 thread", "backend": f"{voice.engine}+torch-cpu",
                    "threads": 1},
        "label": "joe + phoneme, 1 thread",
        "status": "ok",
        "model": {"size": "phoneme", "path": str(path), "random_weights": random_weights},
        "engine": f"piper (encoder onnxruntime f32, flow and decoder {voice.engine}) + torch-cpu",
        "threads_used": 1,
        "figures": figures,
        "pairs": [],
        "ratios": {},
    }
    result["verdict"] = judge(figures, profile.criteria)
    measure.log(f"  {result['verdict']['verdict']}: decoder {voice.engine}, first audio p50 "
                f"{first_audio_ms.get('p50')} ms, RTF {figures['rtf_all_cores']} with the voice on "
                f"{cores} threads ({figures['rtf']} on 1), onnxruntime f32 "
                f"{figures['onnxruntime_f32']['rtf']}), {streams.get('streams_realtime')} of "
                f"{STREAMS} concurrent streams real time")
    return result


__all__ = ["run_voice"]
