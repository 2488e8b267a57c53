"""The engine under voice joe's waveform decoder (text2lips.voice.backend): OpenVINO bf16 where
the CPU has it, onnxruntime f32 otherwise or when asked. Real voice, real sentences: the
faster decoder's audio is measured against the f32 onnxruntime audio, and the timelines (the
lips' timing) must not change at all."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from benchmarks.voice_fidelity import distances, snr_db
from text2lips import Text2LipsError
from text2lips.voice import join, load_voice
from text2lips.voice.backend import (
    BUCKETS,
    ENV_BACKEND,
    ENV_PRECISION,
    DecoderOptions,
    padded,
    plan,
)
from text2lips.voice.piper import (
    CONTEXT_FRAMES,
    FIRST_WINDOW,
    GROWTH,
    MIN_FILL,
    encode,
    piper_available,
    schedule,
    windows,
)

ROOT = Path(__file__).resolve().parents[1]
# Unseen bench lines; 10 and 12 are the two furthest from f32 of the first 20 (measured).
SENTENCES = (ROOT / "benchmarks" / "sentences.txt").read_text().splitlines()[9:15]
# The default engine runs the flow and the decoder in bf16. Measured on the 50 bench lines
# against f32 (python -m benchmarks.voice_fidelity; benchmarks/results/
# voice-fidelity-20261203.json):
# log-mel spectral distance median 0.46 dB, max 0.56; mel-cepstral distortion median 0.17,
# max 0.21 dB (the decoder alone in bf16: 0.39 / 0.50 and 0.14 / 0.18). The voice against
# itself with the prior's noise drawn anew (seed 18 for 17, the same durations; stock Piper
# draws new noise every call): LSD 2.90-3.33 dB, MCD 1.02-1.21 dB.
LSD_CEILING_DB = 0.8
LSD_MEDIAN_CEILING_DB = 0.6
MCD_CEILING_DB = 0.3
# SNR and the largest sample error follow the waveform's phase, which the bf16 flow moves
# (the same draw of the voice against itself: SNR -3.7 to -0.3 dB, error 16,898-38,830 steps):
# they catch a broken engine, not an audible change. bf16 flow + decoder, 50 lines: SNR min
# 16.5 dB, median 24.0; largest error median 2,841, max 14,939 steps. (Before the flow moved
# to bf16, with only the decoder bf16, these were 32 dB, 38 dB and 2,500 steps: measured
# min 34.8, median 40.2, max 1,647.)
SNR_FLOOR_DB = 14.0
SNR_MEDIAN_FLOOR_DB = 20.0
LSD_FRAME_P99_CEILING_DB = 3.5
"""The 99th percentile of the per-frame log-mel distance, where a local glitch (a click, a
seam) shows even when the line's mean does not: bf16 flow + decoder max 2.58 dB on the 50 lines
(median 1.51); the voice's own new noise draw min 4.84 dB."""

needs_openvino = pytest.mark.skipif(
    not piper_available() or importlib.util.find_spec("openvino") is None,
    reason="voice 'joe' with openvino not installed (pip install 'text2lips[voice]')")


@pytest.fixture(scope="module")
def fast():
    """joe on the default decoder engine."""
    return load_voice("joe", threads=1)


def _ids(voice, text: str) -> list[int]:
    ids, _, _ = voice._ids(voice._piper.phonemize(text)[0])
    return ids


def _latent(voice, text: str) -> np.ndarray:
    """(1, 192, T) latent frames of the sentence `text` (one encoder and flow pass)."""
    return voice._encode(_ids(voice, text))[0]


def _prior(voice, text: str) -> tuple[np.ndarray, np.ndarray]:
    """The flow's inputs for the sentence `text`: (1, 192, T) prior, (1, 1, T) mask."""
    ids = _ids(voice, text)
    prior, mask, _ = encode(voice._encoder, ids, voice._scales)
    return prior, mask


def test_the_spectral_measure_tells_a_changed_sound_from_the_same():
    rate = 22050
    t = np.arange(rate) / rate
    envelope = 8000 * np.hanning(rate) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))  # no clicks
    tone = (envelope * np.sin(2 * np.pi * 220 * t)).astype(np.int16)
    shifted = (envelope * np.cos(2 * np.pi * 220 * t)).astype(np.int16)  # out of phase
    assert distances(tone, tone, rate) == {"lsd_db": 0.0, "lsd_p99_frame_db": 0.0,
                                           "mcd_db": 0.0}
    assert distances(shifted, tone, rate)["lsd_db"] < 0.5 and snr_db(shifted, tone) < 3
    brighter = (tone + 0.3 * envelope * np.sin(2 * np.pi * 1760 * t)).astype(np.int16)
    assert distances(brighter, tone, rate)["lsd_db"] > 3.0
    assert distances(brighter, tone, rate)["mcd_db"] > 1.0


@needs_openvino
def test_default_decoder_sounds_like_f32_and_keeps_the_timeline():
    # Fresh voices, saying the same lines in the same order: the graph's noise is seeded
    # per session, so each line's durations depend on what the session said before.
    fast = load_voice("joe", threads=1)
    reference = load_voice("joe", threads=1, backend="onnxruntime")
    assert fast.engine.startswith("openvino")
    assert reference.engine == "onnxruntime f32"
    snrs, lsds = [], []
    for text in SENTENCES:
        audio, rate, timeline = join(fast.synthesize(text))
        ref_audio, ref_rate, ref_timeline = join(reference.synthesize(text))
        assert timeline == ref_timeline, text  # the encoder runs f32 on onnxruntime either way
        assert rate == ref_rate and len(audio) == len(ref_audio)
        error = np.abs(audio.astype(int) - ref_audio.astype(int)).max()
        if fast.engine == "openvino f32":  # a CPU without bf16: the same numbers
            assert error <= 2, text
            continue
        snrs.append(snr_db(audio, ref_audio))
        assert snrs[-1] >= SNR_FLOOR_DB, (text, snrs[-1])
        spectral = distances(audio, ref_audio, rate)
        lsds.append(spectral["lsd_db"])
        assert spectral["lsd_db"] <= LSD_CEILING_DB, (text, spectral)
        assert spectral["mcd_db"] <= MCD_CEILING_DB, (text, spectral)
        assert spectral["lsd_p99_frame_db"] <= LSD_FRAME_P99_CEILING_DB, (text, spectral)
    if snrs:
        assert np.median(snrs) >= SNR_MEDIAN_FLOOR_DB, snrs
        assert np.median(lsds) <= LSD_MEDIAN_CEILING_DB, lsds


@needs_openvino
def test_openvino_f32_is_the_onnxruntime_audio():
    reference = load_voice("joe", threads=1, backend="onnxruntime")
    f32 = load_voice("joe", threads=1, backend="openvino", precision="f32")
    assert f32.engine == "openvino f32"
    latent = _latent(reference, SENTENCES[1])
    for before in (0, 300):  # each engine's own windows (buckets or none), as it says a line
        audio = np.concatenate(list(f32._windows(latent, before))).astype(int)
        ref = np.concatenate(list(reference._windows(latent, before))).astype(int)
        assert len(audio) == len(ref) == latent.shape[2] * 256
        assert np.abs(audio - ref).max() <= 2


@needs_openvino
def test_flow_padded_to_a_bucket_is_exact(fast):
    """The flow masks every layer, so a sentence's prior zero-padded to a bucket, with its
    mask, gives the same latent frames as unpadded (measured: identical on both engines)."""
    reference = load_voice("joe", threads=1, backend="onnxruntime")
    prior, mask = _prior(reference, SENTENCES[0])
    total = prior.shape[2]
    assert padded(total, BUCKETS) > total  # this line is not a bucket long
    for voice in (fast, reference):
        unpadded = voice._flow(prior, mask)
        for size in (padded(total, BUCKETS), total + 300):
            pad = ((0, 0), (0, 0), (0, size - total))
            out = voice._flow(np.pad(prior, pad), np.pad(mask, pad))
            assert np.array_equal(out[:, :, :total], unpadded), (voice.engine, size)
    assert np.array_equal(fast._latent(prior, mask), fast._flow(prior, mask))
    assert padded(5000, BUCKETS) == 5120 and padded(70, ()) == 70


@needs_openvino
def test_openvino_f32_flow_is_the_onnxruntime_flow():
    reference = load_voice("joe", threads=1, backend="onnxruntime")
    f32 = load_voice("joe", threads=1, backend="openvino", precision="f32")
    prior, mask = _prior(reference, SENTENCES[1])
    error = np.abs(f32._latent(prior, mask) - reference._latent(prior, mask)).max()
    assert error <= 1e-3  # measured 6e-5 (the latent frames are of order 1)


@needs_openvino
def test_bf16_windows_join_without_an_audible_seam(fast):
    """Windows with their context, widened to bucket lengths, against one pass over the
    sentence, both bf16: the difference is bf16 rounding (a few steps), not a seam."""
    if fast.engine != "openvino bf16":
        pytest.skip("this CPU has no bf16")
    latent = _latent(fast, "Take the lantern and stay on the marked path; the marsh is deep.")
    total = latent.shape[2]
    whole = fast._run_decoder(latent, 0, total, 0, total).astype(int)  # one pass
    for before in (0, 300):  # a line's first sentence, and a later one
        assert len(schedule(total, before, BUCKETS)) >= 2
        parts = np.concatenate(list(fast._windows(latent, before)))
        assert len(parts) == len(whole) == total * 256
        assert np.abs(parts.astype(int) - whole).max() <= 64  # measured 15


def test_schedule_decodes_fewer_frames_in_bucket_lengths():
    for total in (20, 40, 60, 90, 150, 290, 700, 3000):
        for before in (0, 100, 500):
            pieces = schedule(total, before, BUCKETS)
            old = [p for a, b in windows(total, before)
                   for p in plan(a, b, total, CONTEXT_FRAMES, BUCKETS)]
            assert pieces[0][0] == 0 and pieces[-1][1] == total
            done = before
            for (a, b, lo, hi), nxt in zip(pieces, [*pieces[1:], None], strict=True):
                assert nxt is None or nxt[0] == b  # contiguous
                assert 0 <= lo <= max(a - CONTEXT_FRAMES, 0)  # context kept
                assert min(b + CONTEXT_FRAMES, total) <= hi <= total  # never padded
                assert hi - lo in BUCKETS or (total < BUCKETS[0] and (lo, hi) == (0, total))
                # never longer than windows() allows (real time), but for a short tail,
                # nor much shorter (a short window grows the audio ahead of playback less)
                cap = max(FIRST_WINDOW, int(GROWTH * (min(before, total) + a)))
                assert b - a < cap + FIRST_WINDOW
                if 150 <= total <= BUCKETS[-1]:  # (else plan may cut a window in pieces)
                    assert b == total or b - a >= int(MIN_FILL * min(cap, total - a))
                done += b - a
            assert sum(hi - lo for *_, lo, hi in pieces) <= sum(hi - lo for *_, lo, hi in old)
    assert schedule(500, 0, BUCKETS)[:2] == ((0, 24, 0, 34), (24, 72, 14, 86))
    assert schedule(300, 300, BUCKETS) == ((0, 214, 0, 224), (214, 300, 204, 300))  # 300 before
    assert schedule(90, 0, ()) == ((0, 24, 0, 34), (24, 90, 14, 90))  # onnxruntime: windows


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

    reference = load_voice("joe", threads=1, backend="onnxruntime")
    priors = [_prior(reference, text) for text in SENTENCES[2:4]]  # two lengths
    latents = [fast._latent(*p) for p in priors]
    with ThreadPoolExecutor(4) as pool:  # the flow
        flowed = list(pool.map(lambda p: fast._latent(*p), priors * 4))
    for i, latent in enumerate(flowed):
        assert np.abs(latent - latents[i % 2]).max() <= 1e-5
    latent = latents[0]
    pieces = schedule(latent.shape[2], 0, fast._decoder.buckets)  # the decoder, as it is used
    alone = [fast._run_decoder(latent, *piece) for piece in pieces]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda piece: fast._run_decoder(latent, *piece), pieces * 4))
    for i, audio in enumerate(together):
        assert np.abs(audio.astype(int) - alone[i % len(pieces)].astype(int)).max() <= 2


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
