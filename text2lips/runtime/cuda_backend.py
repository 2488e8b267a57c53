"""fp16 torch on CUDA, the decoder step captured in a CUDA graph per (batch, text length) bucket.

A step is one graph replay and one device-to-host copy: the launch overhead of some forty small
kernels, which dominates eager decoding at small batch, is paid once at capture.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from text2lips import Text2LipsError
from text2lips.model.tacotron import DecoderState, LipDecoder
from text2lips.runtime.backend import StepResult, TorchBackend, TorchRows
from text2lips.runtime.protocol import attention_readout

BATCH_BUCKETS = tuple(2**i for i in range(10))  # 1, 2, 4, ..., 512
TEXT_BUCKET = 64
"""Text lengths are padded up to a multiple of this (padding is masked, so exact)."""


def require_cuda(device: str | torch.device = "cuda") -> torch.device:
    """`device` as a CUDA device, or a Text2LipsError saying why there is none."""
    device = torch.device(device)
    if device.type != "cuda":
        raise Text2LipsError(f"device {str(device)!r} is not a CUDA device; use cuda or cuda:N")
    if not torch.cuda.is_available():
        raise Text2LipsError(
            f"no CUDA GPU for device {str(device)!r}: torch {torch.__version__} sees none "
            "(CPU build of torch, no NVIDIA driver, or CUDA_VISIBLE_DEVICES is empty)"
        )
    return device


@dataclass
class _Bucket:
    """Static buffers of one captured step: inputs are updated in place by every replay."""

    batch: int
    text_len: int
    prev: torch.Tensor  # (Bb, 60)
    state: DecoderState  # (Bb, ...) and (Bb, Lb) for the attention weights
    memory: torch.Tensor  # (Bb, Lb, E)
    processed: torch.Tensor  # (Bb, Lb, A)
    mask: torch.Tensor  # (Bb, Lb) bool
    last: torch.Tensor  # (Bb,) int64
    closers: torch.Tensor  # (Bb, Lb) float32, 1.0 on bilabial letters
    out: torch.Tensor  # (Bb, 63) float32: frame, stop probability, at_end, closure mass
    host: torch.Tensor  # (Bb, 63) pinned host copy of `out`
    graph: torch.cuda.CUDAGraph | None = None


class CudaGraphBackend(TorchBackend):
    """TorchBackend's rows on CUDA in fp16, stepped by CUDA-graph replay.

    Rows that `step` returns are views into the bucket's static buffers: the previous rows are
    invalid after a step (BatchDecoder only ever uses the latest). `start`, `join` and `keep`
    are TorchBackend's and return fresh tensors, which the next `step` copies into a bucket.
    `graphs=False` runs the same padded step eagerly (for testing the capture).
    """

    attention = None  # type: ignore[assignment]
    """The captured graphs keep their state in bucket buffers: alignments (the closure check
    and fit) come from torch-cpu."""

    def __init__(
        self, model: LipDecoder, device: str | torch.device = "cuda", *, half: bool = True,
        graphs: bool = True, max_batch: int = BATCH_BUCKETS[-1], text_bucket: int = TEXT_BUCKET,
    ) -> None:
        device = require_cuda(device)
        if not 1 <= max_batch <= BATCH_BUCKETS[-1]:
            raise Text2LipsError(f"max_batch={max_batch}: must be 1..{BATCH_BUCKETS[-1]}")
        if text_bucket < 1:
            raise Text2LipsError(f"text_bucket={text_bucket}: must be >= 1")
        # A copy: converting the caller's fp32 model in place would surprise it.
        dtype = torch.float16 if half else torch.float32
        model = copy.deepcopy(model).to(device=device, dtype=dtype)
        super().__init__(model, device)
        self.half = half
        self.graphs = graphs
        self.max_batch = max_batch
        self.text_bucket = text_bucket
        self.buckets: dict[tuple[int, int], _Bucket] = {}
        self._loaded: TorchRows | None = None  # the rows whose tensors are a bucket's buffers
        self._bucket: _Bucket | None = None
        self.name = "torch-cuda" + ("-fp16" if half else "") + ("-graphs" if graphs else "")

    # --- buckets -------------------------------------------------------------------------

    def _new_bucket(self, batch: int, text_len: int) -> _Bucket:
        c = self.model.config
        dt, dev = self.model.embedding.weight.dtype, self.device
        z = lambda *shape: torch.zeros(*shape, dtype=dt, device=dev)  # noqa: E731
        b = _Bucket(
            batch, text_len, z(batch, c.frame_dim),
            DecoderState(
                z(batch, c.attention_rnn_dim), z(batch, c.attention_rnn_dim),
                z(batch, c.decoder_rnn_dim), z(batch, c.decoder_rnn_dim),
                z(batch, text_len), z(batch, text_len), z(batch, c.encoder_embedding_dim),
            ),
            z(batch, text_len, c.encoder_embedding_dim), z(batch, text_len, c.attention_dim),
            torch.ones(batch, text_len, dtype=torch.bool, device=dev),
            torch.zeros(batch, dtype=torch.int64, device=dev),
            torch.zeros(batch, text_len, dtype=torch.float32, device=dev),
            torch.zeros(batch, c.frame_dim + 3, dtype=torch.float32, device=dev),
            torch.zeros(batch, c.frame_dim + 3, dtype=torch.float32, pin_memory=True),
        )
        if self.graphs:
            # Warm up on a side stream first: cuBLAS/cuDNN set-up must not happen under capture.
            side = torch.cuda.Stream(dev)
            side.wait_stream(torch.cuda.current_stream(dev))
            with torch.cuda.stream(side):
                for _ in range(3):
                    self._run(b)
            torch.cuda.current_stream(dev).wait_stream(side)
            b.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(b.graph):
                self._run(b)
        return b

    def _run(self, b: _Bucket) -> None:
        """The step on a bucket's buffers, writing its results back into them (what is captured)."""
        frame, gate, new = self.model.step(b.prev, b.state, b.memory, b.processed, b.mask)
        at_end, closure = attention_readout(new.attention_weights, b.last, b.closers)
        b.out.copy_(torch.cat((frame.float(), torch.sigmoid(gate.float()).unsqueeze(1),
                               at_end.float().unsqueeze(1), closure.unsqueeze(1)), dim=1))
        # Written after every read of the old values (stream order), so in place is safe.
        b.prev.copy_(frame)
        for dst, src in zip(b.state, new, strict=True):
            dst.copy_(src)

    def _load(self, rows: TorchRows) -> TorchRows:
        """Copy `rows` into the bucket that fits them; returns views of its buffers."""
        B, L = rows.memory.shape[:2]
        if B > self.max_batch:
            raise Text2LipsError(f"batch of {B} utterances exceeds max_batch={self.max_batch}")
        Bb = next(s for s in BATCH_BUCKETS if s >= B)
        Lb = -(-L // self.text_bucket) * self.text_bucket
        b = self.buckets.get((Bb, Lb))
        if b is None:
            b = self.buckets[(Bb, Lb)] = self._new_bucket(Bb, Lb)
        # Rows past B hold stale but finite values: rows never mix, and their outputs are
        # never read. Text padding of live rows must be exact: zero weights and memory, masked.
        for dst, src in ((b.memory, rows.memory), (b.processed, rows.processed)):
            dst[:B, :L].copy_(src)
            dst[:B, L:].zero_()
        b.mask[:B, :L].copy_(rows.mask)
        b.mask[:B, L:] = True
        for name, dst, src in zip(DecoderState._fields, b.state, rows.state, strict=True):
            if name.startswith("attention_weights"):
                dst[:B, :L].copy_(src)
                dst[:B, L:].zero_()
            else:
                dst[:B].copy_(src)
        b.prev[:B].copy_(rows.prev)
        b.last[:B].copy_(rows.last)
        b.closers[:B, :L].copy_(rows.closers)
        b.closers[:B, L:].zero_()
        self._bucket = b
        self._loaded = TorchRows(
            b.memory[:B, :L], b.processed[:B, :L], b.mask[:B, :L], b.last[:B],
            b.closers[:B, :L],
            DecoderState(*(x[:B, :L] if n.startswith("attention_weights") else x[:B]
                           for n, x in zip(DecoderState._fields, b.state, strict=True))),
            b.prev[:B],
        )
        return self._loaded

    # --- step ----------------------------------------------------------------------------

    @torch.inference_mode()
    def step(self, rows: TorchRows) -> tuple[TorchRows, StepResult]:
        if rows is not self._loaded:
            rows = self._load(rows)
        b = self._bucket
        assert b is not None
        if b.graph is not None:
            b.graph.replay()
        else:
            self._run(b)
        B = len(rows)
        b.host[:B].copy_(b.out[:B], non_blocking=True)
        torch.cuda.current_stream(self.device).synchronize()
        # A copy: the pinned buffer is overwritten next step, frames handed out must not be.
        res = b.host[:B].numpy().copy()
        fd = self.model.config.frame_dim
        return rows, StepResult(
            frames=res[:, :fd], stop_prob=res[:, fd], at_end=res[:, fd + 1] > 0.5,
            closure=res[:, fd + 2],
        )

    def captured(self) -> list[tuple[int, int]]:
        """(batch, text_len) buckets built so far."""
        return sorted(self.buckets)


def step_result_to_numpy(frame: torch.Tensor, gate: torch.Tensor, at_end: torch.Tensor,
                         closure: torch.Tensor) -> StepResult:
    """One device-to-host copy for a step: frame (B, 60), gate logit (B,), at_end (B,),
    closure mass (B,)."""
    fd = frame.shape[1]
    packed = torch.cat((frame.float(), torch.sigmoid(gate.float()).unsqueeze(1),
                        at_end.float().unsqueeze(1), closure.float().unsqueeze(1)),
                       dim=1).cpu().numpy()
    return StepResult(frames=packed[:, :fd], stop_prob=packed[:, fd],
                      at_end=packed[:, fd + 1] > 0.5, closure=packed[:, fd + 2])

