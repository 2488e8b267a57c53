"""The engine under voice joe's waveform decoder (text2lips.voice.backend): OpenVINO bf16 where
the CPU has it, onnxruntime f32 otherwise or when asked. Real voice, real sentences: the
faster decoder's audio is measured against the f32 onnxruntime audio, and the timelines (the
lips' timing) must not change at all."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from text2lips import Text2LipsError
from text2lips.voice import join, load_voice
from text2lips.voice.backend import BUCKETS, ENV_BACKEND, ENV_PRECISION, DecoderOptions, plan
from text2lips.voice.piper import CONTEXT_FRAMES, piper_available, windows

ROOT = Path(__file__).resolve().parents[1]
# Unseen bench lines; 10 and 12 are the two furthest from f32 of the first 20 (measured).
SENTENCES = (ROOT / "benchmarks" / "sentences.txt").read_text().splitlines()[9:15]
SNR_FLOOR_DB = 32.0
"""bf16 against f32, per line. Measured on the 50 bench lines: min 34.8 dB, p5 38.5, median
40.4 (docs/voice.md)."""
SNR_MEDIAN_FLOOR_DB = 38.0
MAX_PCM_ERROR = 2500
"""Largest bf16 sample error, PCM16 steps (measured max 1,647 on the 50 lines, median 272)."""

needs_openvino = pytest.mark.skipif(
    not piper_available() or importlib.util.find_spec("openvino") is None,
    reason="voice 'joe' with openvino not installed (pip install 'text2lips[voice]')")


@pytest.fixture(scope="module")
def fast():
    """joe on the default decoder engine."""
    return load_voice("joe", threads=1)


def _latent(voice, text: str) -> np.ndarray:
    """(1, 192, T) latent frames of the sentence `text` (one encoder pass)."""
    ids, _, _ = voice._ids(voice._piper.phonemize(text)[0])
    latent, _ = voice._encoder.run(None, {"input": np.array([ids], np.int64),
                                          "input_lengths": np.array([len(ids)], np.int64),
                                          "scales": voice._scales})
    return latent


def _snr_db(audio: np.ndarray, reference: np.ndarray) -> float:
    ref = reference.astype(np.float64)
    noise = np.sum((audio.astype(np.float64) - ref) ** 2)
    return float(10 * np.log10(np.sum(ref**2) / max(noise, 1e-9)))


@needs_openvino
def test_default_decoder_sounds_like_f32_and_keeps_the_timeline():
    # Fresh voices, saying the same lines in the same order: the graph's noise is seeded
    # per session, so each line's durations depend on what the session said before.
    fast = load_voice("joe", threads=1)
    reference = load_voice("joe", threads=1, backend="onnxruntime")
    assert fast.engine.startswith("openvino")
    assert reference.engine == "onnxruntime f32"
    snrs = []
    for text in SENTENCES:
        audio, rate, timeline = join(fast.synthesize(text))
        ref_audio, ref_rate, ref_timeline = join(reference.synthesize(text))
        assert timeline == ref_timeline, text  # the encoder runs f32 on onnxruntime either way
        assert rate == ref_rate and len(audio) == len(ref_audio)
        error = np.abs(audio.astype(int) - ref_audio.astype(int)).max()
        if fast.engine == "openvino f32":  # a CPU without bf16: the same numbers
            assert error <= 2, text
            continue
        snrs.append(_snr_db(audio, ref_audio))
        assert snrs[-1] >= SNR_FLOOR_DB, (text, snrs[-1])
        assert error <= MAX_PCM_ERROR, (text, error)
    if snrs:
        assert np.median(snrs) >= SNR_MEDIAN_FLOOR_DB, snrs


@needs_openvino
def test_openvino_f32_is_the_onnxruntime_audio():
    reference = load_voice("joe", threads=1, backend="onnxruntime")
    f32 = load_voice("joe", threads=1, backend="openvino", precision="f32")
    assert f32.engine == "openvino f32"
    latent = _latent(reference, SENTENCES[1])
    for a, b in windows(latent.shape[2], 0):
        audio, ref = f32._decode(latent, a, b), reference._decode(latent, a, b)
        assert np.abs(audio.astype(int) - ref.astype(int)).max() <= 2


@needs_openvino
def test_bf16_windows_join_without_an_audible_seam(fast):
    """Windows with their context, widened to bucket lengths, against one pass over the
    sentence, both bf16: the difference is bf16 rounding (a few steps), not a seam."""
    if fast.engine != "openvino bf16":
        pytest.skip("this CPU has no bf16")
    latent = _latent(fast, "Take the lantern and stay on the marked path; the marsh is deep.")
    total = latent.shape[2]
    whole = fast._decode(latent, 0, total).astype(int)
    parts = np.concatenate([fast._decode(latent, a, b) for a, b in windows(total, 0)])
    assert len(parts) == len(whole) == total * 256
    assert np.abs(parts.astype(int) - whole).max() <= 64  # measured 15


def test_windows_are_decoded_in_bucket_lengths_inside_the_sentence():
    for total in (20, 40, 60, 90, 150, 290, 700, 3000):
        for before in (0, 500):
            for start, stop in windows(total, before):
                pieces = plan(start, stop, total, CONTEXT_FRAMES, BUCKETS)
                assert pieces[0][0] == start and pieces[-1][1] == stop
                for (a, b, lo, hi), nxt in zip(pieces, [*pieces[1:], None], strict=True):
                    assert nxt is None or nxt[0] == b  # contiguous
                    assert 0 <= lo <= max(a - CONTEXT_FRAMES, 0)  # context kept
                    assert min(b + CONTEXT_FRAMES, total) <= hi <= total  # never padded
                    assert hi - lo in BUCKETS or (total < BUCKETS[0] and (lo, hi) == (0, total))
    assert plan(0, 24, 500, CONTEXT_FRAMES, BUCKETS) == [(0, 24, 0, 34)]  # a first window
    assert plan(24, 72, 500, CONTEXT_FRAMES, BUCKETS) == [(24, 72, 14, 86)]  # 68 -> 72
    assert plan(0, 90, 90, CONTEXT_FRAMES, BUCKETS) == [(0, 62, 0, 72), (62, 90, 46, 90)]
    assert plan(0, 24, 500, CONTEXT_FRAMES, ()) == [(0, 24, 0, 34)]  # onnxruntime: exact


def test_engine_choices_are_checked(monkeypatch):
    with pytest.raises(Text2LipsError, match="voice backend 'tpu'.*openvino, onnxruntime"):
        DecoderOptions("tpu").resolved()
    with pytest.raises(Text2LipsError, match="needs the openvino backend"):
        DecoderOptions("onnxruntime", "bf16").resolved()
    monkeypatch.setenv(ENV_BACKEND, "onnxruntime")
    assert DecoderOptions().resolved().backend == "onnxruntime"
    assert DecoderOptions().resolved().precision == "f32"
    monkeypatch.setenv(ENV_PRECISION, "fp8")
    with pytest.raises(Text2LipsError, match="voice precision 'fp8'"):
        DecoderOptions().resolved()


@needs_openvino
def test_many_threads_share_one_decoder(fast):
    """The sidecar's streams call one voice from their own threads: each gets its own infer
    request, and the audio is what one thread alone makes."""
    from concurrent.futures import ThreadPoolExecutor

    latent = _latent(fast, SENTENCES[2])
    spans = list(windows(latent.shape[2], 0))
    alone = [fast._decode(latent, a, b) for a, b in spans]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda ab: fast._decode(latent, *ab), spans * 4))
    for i, audio in enumerate(together):
        assert np.abs(audio.astype(int) - alone[i % len(spans)].astype(int)).max() <= 2


@needs_openvino
def test_openvino_is_imported_with_its_telemetry_off():
    # `import openvino` alone would send an "import" event to Google Analytics from a forked
    # process (openvino-telemetry, no opt-out file): the sidecar must send nothing anywhere.
    import subprocess
    import sys

    probe = ("from text2lips.voice.backend import openvino_runtime\n"
             "openvino_runtime()\n"
             "from openvino.tools.ovc import telemetry_utils\n"
             "print(telemetry_utils.tm.__name__)\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         cwd=ROOT, timeout=120, check=True).stdout.split()
    assert out[-1] == "openvino.tools.ovc.telemetry_stub"
