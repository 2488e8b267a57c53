"""Backends: the one interface between the decoding loop and an engine (torch, onnxruntime, ...).

A backend owns its batch state (encoder memory, decoder state, previous frame, one row per
live utterance) and knows three things: start rows for new texts, keep a subset of rows, and
advance every row by one frame. Stopping, timing and references live in the loop above it.
The protocol itself (`Backend`, `StepResult`) is torch-free, in text2lips.runtime.protocol;
it is re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from text2lips import Text2LipsError
from text2lips.model.tacotron import DecoderState, LipDecoder
from text2lips.runtime.closure_rule import bilabial_mask
from text2lips.runtime.protocol import Backend, Rows, StepResult, attention_readout

__all__ = ["Backend", "Rows", "StepResult", "TorchBackend", "TorchRows"]


@dataclass
class TorchRows:
    memory: torch.Tensor  # (B, L, E)
    processed: torch.Tensor  # (B, L, A)
    mask: torch.Tensor  # (B, L) True on padding
    last: torch.Tensor  # (B,) index of each row's last symbol
    closers: torch.Tensor  # (B, L) 1.0 on bilabial letters (closure_rule.bilabial_mask)
    state: DecoderState
    prev: torch.Tensor  # (B, 60) previous frame

    def __len__(self) -> int:
        return self.memory.shape[0]


def _pad_l(x: torch.Tensor, length: int, value: float | bool = 0) -> torch.Tensor:
    """Pad dim 1 (text length) of x up to `length`."""
    extra = length - x.shape[1]
    if extra == 0:
        return x
    pad = [0, 0] * (x.dim() - 2) + [0, extra]
    return F.pad(x, pad, value=value)


def closers_for(texts: list[list[int]], like: torch.Tensor) -> torch.Tensor:
    """(B, L) float32 on `like`'s device: 1.0 on each text's p, b and m letters, 0 on padding."""
    L = max(len(t) for t in texts)
    out = torch.zeros(len(texts), L, dtype=torch.float32)
    for i, t in enumerate(texts):
        out[i, : len(t)] = torch.from_numpy(bilabial_mask(t))
    return out.to(like.device)


class TorchBackend:
    """Eager PyTorch on CPU or CUDA; optional int8 dynamic quantisation of the decoder on CPU."""

    def __init__(
        self,
        model: LipDecoder,
        device: str | torch.device = "cpu",
        *,
        quantize: str | None = None,
        threads: int | None = None,
    ) -> None:
        if threads is not None:
            if threads < 1:
                raise Text2LipsError(f"threads={threads}: must be >= 1")
            torch.set_num_threads(threads)
        self.device = torch.device(device)
        model = model.eval().to(self.device)
        if quantize == "int8":
            if self.device.type != "cpu":
                raise Text2LipsError("int8 dynamic quantisation runs on the CPU backend only")
            # The decoder is memory-bound at batch 1: int8 weights move a quarter of the bytes.
            model.decoder = torch.ao.quantization.quantize_dynamic(
                model.decoder, {torch.nn.LSTMCell, torch.nn.Linear}, dtype=torch.qint8
            )
        elif quantize is not None:
            raise Text2LipsError(f"unknown quantisation {quantize!r}; expected int8 or none")
        self.model = model
        self.quantize = quantize
        self.name = f"torch-{self.device.type}" + (f"-{quantize}" if quantize else "")

    @torch.inference_mode()
    def start(self, texts: list[list[int]]) -> TorchRows:
        lengths = torch.tensor([len(t) for t in texts], dtype=torch.int64)
        L = int(lengths.max())
        ids = torch.zeros(len(texts), L, dtype=torch.int64)
        for i, t in enumerate(texts):
            ids[i, : len(t)] = torch.tensor(t, dtype=torch.int64)
        ids, lengths = ids.to(self.device), lengths.to(self.device)
        enc = self.model.encode(ids, lengths, pack=len(texts) > 1)
        return TorchRows(
            enc.memory,
            enc.processed_memory,
            enc.mask,
            lengths - 1,
            closers_for(texts, enc.memory),
            self.model.initial_state(enc),
            self.model.initial_frame(len(texts)).to(enc.memory.dtype),
        )

    @torch.inference_mode()
    def join(self, rows: TorchRows | None, new: TorchRows) -> TorchRows:
        if rows is None or len(rows) == 0:
            return new
        L = max(rows.memory.shape[1], new.memory.shape[1])

        def cat_l(a: torch.Tensor, b: torch.Tensor, value: float | bool = 0) -> torch.Tensor:
            # Tensors with a text-length axis are padded to the longer of the two batches.
            return torch.cat((_pad_l(a, L, value), _pad_l(b, L, value)))

        st = DecoderState(
            *(
                cat_l(a, b) if name.startswith("attention_weights") else torch.cat((a, b))
                for name, a, b in zip(DecoderState._fields, rows.state, new.state, strict=True)
            )
        )
        return TorchRows(
            cat_l(rows.memory, new.memory),
            cat_l(rows.processed, new.processed),
            cat_l(rows.mask, new.mask, True),
            torch.cat((rows.last, new.last)),
            cat_l(rows.closers, new.closers),
            st,
            torch.cat((rows.prev, new.prev)),
        )

    @torch.inference_mode()
    def keep(self, rows: TorchRows, index: list[int]) -> TorchRows:
        idx = torch.tensor(index, dtype=torch.int64, device=self.device)
        sel = lambda x: x.index_select(0, idx)  # noqa: E731
        mask = sel(rows.mask)
        # Trim text padding no remaining row needs, so short batches stop paying for long ones.
        L = int((~mask).sum(dim=1).max()) if len(index) else 0
        trim = lambda x: x[:, :L] if L else x  # noqa: E731
        st = DecoderState(
            *(
                trim(sel(x)) if name.startswith("attention_weights") else sel(x)
                for name, x in zip(DecoderState._fields, rows.state, strict=True)
            )
        )
        return TorchRows(
            trim(sel(rows.memory)),
            trim(sel(rows.processed)),
            trim(mask),
            sel(rows.last),
            trim(sel(rows.closers)),
            st,
            sel(rows.prev),
        )

    @torch.inference_mode()
    def step(self, rows: TorchRows) -> tuple[TorchRows, StepResult]:
        frame, gate, state = self.model.step(
            rows.prev, rows.state, rows.memory, rows.processed, rows.mask
        )
        at_end, closure = attention_readout(state.attention_weights, rows.last, rows.closers)
        rows = TorchRows(
            rows.memory, rows.processed, rows.mask, rows.last, rows.closers, state, frame
        )
        return rows, StepResult(
            frames=frame.float().cpu().numpy(),
            stop_prob=torch.sigmoid(gate.float()).cpu().numpy(),
            at_end=at_end.cpu().numpy(),
            closure=closure.cpu().numpy(),
        )

    def attention(self, rows: TorchRows) -> np.ndarray:
        """(B, L) float32: each row's attention over its text at the last step."""
        return rows.state.attention_weights.float().cpu().numpy()
