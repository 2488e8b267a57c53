"""Text in, lip frames out, as they are decoded: the object a user loads.

`Synthesizer.load(dir)` owns the model, its backend and its speakers; `stream(text)` yields
`Frame`s one decoder step at a time (encoder once, then the step function), and
`batch_decoder()` steps many utterances together for the sidecar's scheduler.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from text2lips import FRAME_DIM, FRAME_RATE, Text2LipsError
from text2lips.runtime.voice import ModelInfo

if TYPE_CHECKING:
    from text2lips.runtime.kinds import LoadOptions
    from text2lips.text.timeline import PhonemeTimeline

BACKENDS = ("torch-cpu", "torch-cpu-int8", "torch-cuda", "onnxruntime", "tensorrt")


@dataclass(frozen=True)
class SynthesisOptions:
    """Per-utterance choices."""

    speaker: str | None = None
    """A speaker of ModelInfo.speakers; None: the default speaker."""
    reference: np.ndarray | None = None
    """(60,) neutral lips (head space, mm) to add displacements to; overrides `speaker`."""
    max_frames: int | None = None
    """Override the hard length bound (frames)."""
    stop: bool = True
    """Stop on the trained gate; False decodes exactly the bound (evaluation to a known length)."""
    closure: bool = True
    """Apply the model's bilabial closure rule (when it has one); False: the network alone."""
    timeline: PhonemeTimeline | None = None
    """When each phoneme is said (a voice's alignment, a game's marks, a clip's real timing).
    Models that follow a timeline (`Synthesizer.timed`) render on it, one frame per 12.5 ms of
    it; None: they time the text with espeak-ng. Models that time themselves ignore it."""
    alignment: bool = False
    """Also give each frame the decoder's attention over the text (`Frame.attention`): where
    the closure check and fit find when a letter is said. Engines without it refuse."""


@dataclass(frozen=True)
class Frame:
    """One 12.5 ms lip frame."""

    index: int
    """0, 1, 2, ... within the utterance."""
    time_s: float
    """index / frame rate."""
    landmarks: np.ndarray
    """(60,) float32: points 48-67, x, y, z each, head space, mm (reference + displacement)."""
    last: bool
    """True on the utterance's final frame."""
    displacement: np.ndarray | None = None
    """(60,) float32 model output before the reference is added (training target space)."""
    attention: np.ndarray | None = None
    """(L,) float32 attention over the utterance's L symbols at this step, when
    `SynthesisOptions.alignment` asked for it."""


@dataclass
class _Utterance:
    key: Hashable
    reference: np.ndarray
    bound: int
    min_frames: int
    stop: bool
    closure: bool
    symbols: int
    alignment: bool = False
    produced: int = 0


class BatchDecoder:
    """Continuous batching: utterances join and leave between steps; one step advances all.

    Not thread-safe: one thread (the scheduler's decode loop) drives it.
    """

    def __init__(self, synth: Synthesizer, max_batch: int = 64) -> None:
        if max_batch < 1:
            raise Text2LipsError(f"max_batch={max_batch}: must be >= 1")
        self.synth = synth
        self.max_batch = max_batch
        self._rows: Any = None
        self._live: list[_Utterance] = []  # row i of the backend state is _live[i]
        self._pending: list[tuple[_Utterance, list[int]]] = []
        self.steps = 0
        """Decoder steps run so far (observable order in tests)."""

    def __len__(self) -> int:
        return len(self._live) + len(self._pending)

    def __contains__(self, key: Hashable) -> bool:
        return any(u.key == key for u in self._live) or any(u.key == key for u, _ in self._pending)

    def add(self, key: Hashable, text: str, options: SynthesisOptions | None = None) -> None:
        """Queue an utterance; it joins the batch at the next step."""
        if key in self:
            raise Text2LipsError(f"utterance {key!r} is already being decoded")
        if len(self) >= self.max_batch:
            raise Text2LipsError(f"batch is full ({self.max_batch} utterances)")
        opts = options or SynthesisOptions()
        ids = self.synth.encode(text, opts)
        ref = self.synth.info.reference_for(opts.speaker, opts.reference)
        bound = opts.max_frames or self.synth.max_frames_for(len(ids))
        if bound < 1:
            raise Text2LipsError(f"max_frames={bound}: must be >= 1")
        min_frames = min(self.synth.min_frames, bound)
        if opts.alignment and getattr(self.synth.backend, "attention", None) is None:
            raise Text2LipsError(
                f"backend {getattr(self.synth.backend, 'name', '?')} does not report attention "
                "(SynthesisOptions.alignment): use torch-cpu or onnxruntime"
            )
        symbols = len(ids) if opts.alignment else 0
        self._pending.append(
            (_Utterance(key, ref, bound, min_frames, opts.stop, opts.closure, symbols,
                        opts.alignment), ids)
        )

    def remove(self, key: Hashable) -> None:
        """Leave now (cancellation). A key that is not live is ignored."""
        self._pending = [(u, ids) for u, ids in self._pending if u.key != key]
        keep = [i for i, u in enumerate(self._live) if u.key != key]
        if len(keep) != len(self._live):
            self._keep(keep)

    def _keep(self, index: list[int]) -> None:
        self._live = [self._live[i] for i in index]
        self._rows = self.synth.backend.keep(self._rows, index) if index else None

    def step(self) -> list[tuple[Hashable, Frame]]:
        """Advance every live utterance by one frame; finished ones leave the batch."""
        backend = self.synth.backend
        if self._pending:
            new = backend.start([ids for _, ids in self._pending])
            self._rows = backend.join(self._rows, new)
            self._live += [u for u, _ in self._pending]
            self._pending = []
        if not self._live:
            return []
        self._rows, res = backend.step(self._rows)
        self.steps += 1
        # (B, L) attention, read only when some row asked for it (a device copy per step).
        attention = backend.attention(self._rows) if any(u.alignment for u in self._live) else None
        frames = res.frames
        rule = self.synth.info.closure
        if rule is not None and res.closure is not None:
            # One vectorised update for the whole batch; rows that opted out get mass 0.
            mass = res.closure
            if not all(u.closure for u in self._live):
                mass = np.where([u.closure for u in self._live], mass, 0.0)
            frames = rule.apply(frames, mass)
        out: list[tuple[Hashable, Frame]] = []
        keep: list[int] = []
        for i, u in enumerate(self._live):
            n = u.produced
            u.produced += 1
            gate_stop = (
                u.stop
                and u.produced >= u.min_frames
                and bool(res.stop_prob[i] > self.synth.gate_threshold and res.at_end[i])
            )
            last = gate_stop or u.produced >= u.bound
            disp = frames[i]
            out.append(
                (
                    u.key,
                    Frame(
                        index=n,
                        time_s=n / FRAME_RATE,
                        landmarks=(u.reference + disp).astype(np.float32),
                        last=last,
                        displacement=disp,
                        attention=attention[i, : u.symbols].copy() if u.alignment else None,
                    ),
                )
            )
            if not last:
                keep.append(i)
        if len(keep) != len(self._live):
            self._keep(keep)
        return out


class Synthesizer:
    """A loaded model: its backend, its speakers, and streaming synthesis."""

    def __init__(
        self,
        backend: Any,
        info: ModelInfo,
        *,
        gate_threshold: float = 0.5,
        max_frames_per_symbol: float = 12.0,
        min_frames: int = 16,
    ) -> None:
        self.backend = backend
        self.info = info
        self.gate_threshold = gate_threshold
        self.max_frames_per_symbol = max_frames_per_symbol
        self.min_frames = min_frames

    @classmethod
    def load(
        cls,
        model: str | Path,
        backend: str = "torch-cpu",
        *,
        threads: int | None = None,
        device: str | None = None,
    ) -> Synthesizer:
        """Load a model directory (or a model's name: see `resolve_model`) on a backend.

        config.json's `kind` picks the loader (text2lips.runtime.kinds). For the Tacotron
        kind only the torch backends load the weights; `onnxruntime` reads config.json and
        serves the graphs in MODEL/onnx/ without importing torch.
        """
        from text2lips.runtime.kinds import LoadOptions, loader_for, model_kind
        from text2lips.runtime.locate import resolve_model

        path = resolve_model(model)
        options = LoadOptions(backend=backend, threads=threads, device=device)
        return loader_for(model_kind(path))(path, options)

    def warmup(self) -> None:
        """Import the text front end and run a few steps, so the first request pays no set-up."""
        bd = self.batch_decoder(1)
        bd.add(
            "warmup",
            "Hello.",
            SynthesisOptions(reference=np.zeros(FRAME_DIM, np.float32), max_frames=4, stop=False),
        )
        while len(bd):
            bd.step()

    timed = False
    """True for models that render on a PhonemeTimeline (SynthesisOptions.timeline); False for
    models that predict their own timing (the paper's Tacotron)."""

    def encode(self, text: str, options: SynthesisOptions) -> Any:
        """What the backend starts a row from: symbol ids here; timed models render the
        timeline."""
        return self.encode_text(text)

    def encode_text(self, text: str) -> list[int]:
        """Text -> symbol ids; an error when nothing speakable is left."""
        from text2lips.text import has_speakable, text_to_sequence

        if not has_speakable(text):
            raise Text2LipsError(f"nothing speakable in text {text[:40]!r}")
        return text_to_sequence(text)

    def max_frames_for(self, n_symbols: int) -> int:
        """Hard bound on frames for a text of `n_symbols` symbols."""
        return math.ceil(self.max_frames_per_symbol * n_symbols) + self.min_frames

    def batch_decoder(self, max_batch: int = 64) -> BatchDecoder:
        return BatchDecoder(self, max_batch)

    def stream(self, text: str, options: SynthesisOptions | None = None) -> Iterator[Frame]:
        """Yield frames as they are decoded; the last one has `last=True`."""
        bd = self.batch_decoder(1)
        bd.add(0, text, options)
        while True:
            for _, frame in bd.step():
                yield frame
                if frame.last:
                    return

    def synthesize(self, text: str, options: SynthesisOptions | None = None) -> np.ndarray:
        """The whole utterance at once: (T, 60) landmarks."""
        return np.stack([f.landmarks for f in self.stream(text, options)])


def load_tacotron(path: Path, options: LoadOptions) -> Synthesizer:
    """The paper's Tacotron lip decoder on `options.backend` (one of BACKENDS)."""
    backend, threads, device = options.backend, options.threads, options.device
    if backend not in BACKENDS:
        raise Text2LipsError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    from text2lips.model.files import read_config, read_metadata

    net: Any = None
    if backend.startswith("torch"):
        from text2lips.model.checkpoint import load_model

        net = load_model(path)
        config = net.config
    else:
        # The exported graphs or engines hold the weights: a directory that ships them
        # needs no model.safetensors, and reading config.json needs no torch.
        config = read_config(path, weights=False)
    info = ModelInfo.from_metadata(read_metadata(path, weights=False), fallback_name=path.name)
    if backend == "torch-cuda":
        from text2lips.runtime.cuda_backend import CudaGraphBackend

        engine: Any = CudaGraphBackend(net, device or "cuda")  # fp16 + CUDA graphs
    elif backend.startswith("torch"):
        from text2lips.runtime.backend import TorchBackend

        engine = TorchBackend(
            net,
            device or "cpu",
            quantize="int8" if backend == "torch-cpu-int8" else None,
            threads=threads,
        )
    elif backend == "onnxruntime":
        from text2lips.runtime.onnx_backend import OnnxBackend

        engine = OnnxBackend.from_model_dir(path, threads=threads)
    else:
        from text2lips.runtime.tensorrt_backend import TensorRTBackend

        engine = TensorRTBackend.from_model_dir(path)
    synth = Synthesizer(
        engine,
        info,
        gate_threshold=config.gate_threshold,
        max_frames_per_symbol=config.max_frames_per_symbol,
        min_frames=config.min_frames,
    )
    synth.warmup()
    return synth
