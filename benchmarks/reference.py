"""The reference: the paper's inference style, re-typed from NVIDIA tacotron2's `inference`.

An eager per-step Python loop with the decoder state kept on the object and rebuilt every step,
nothing returned until the utterance is done, and, as the authors did, a second decoder of the
same size (a mel decoder whose gate decides when to stop) stepped alongside the lip decoder.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from benchmarks.measure import Decode
from text2lips.model import LipDecoder, load_model
from text2lips.model.tacotron import Decoder
from text2lips.text import text_to_sequence

N_MEL_CHANNELS = 80
"""The stop decoder predicts mel frames, as Tacotron 2 does."""


class NvidiaStyleDecoder:
    """NVIDIA's `Decoder.inference` over our decoder's modules: state lives on `self`, and each
    step re-creates it with new tensors (torch.cat, LSTMCell outputs), as the original does."""

    def __init__(self, decoder: Decoder, *, prenet_dropout: bool) -> None:
        self.d = decoder
        self.c = decoder.config
        # Tacotron 2 keeps pre-net dropout on at inference; it is part of the original cost.
        self.prenet_dropout = prenet_dropout

    def prenet(self, x: Tensor) -> Tensor:
        if self.d.prenet is None:
            return x
        for linear in self.d.prenet.layers:
            x = F.dropout(F.relu(linear(x)), p=0.5, training=self.prenet_dropout)
        return x

    def get_go_frame(self, memory: Tensor) -> Tensor:
        return memory.data.new(memory.size(0), self.c.frame_dim).zero_()

    def initialize_decoder_states(self, memory: Tensor) -> None:
        B, L, E = memory.shape
        new = memory.data.new
        self.attention_hidden = new(B, self.c.attention_rnn_dim).zero_()
        self.attention_cell = new(B, self.c.attention_rnn_dim).zero_()
        self.decoder_hidden = new(B, self.c.decoder_rnn_dim).zero_()
        self.decoder_cell = new(B, self.c.decoder_rnn_dim).zero_()
        self.attention_weights = new(B, L).zero_()
        self.attention_weights_cum = new(B, L).zero_()
        self.attention_context = new(B, E).zero_()
        self.memory = memory
        self.processed_memory = self.d.attention_layer.memory_layer(memory)
        # NVIDIA passes mask=None at inference (batch 1); our attention wants a tensor.
        self.mask = torch.zeros(B, L, dtype=torch.bool, device=memory.device)

    def decode(self, decoder_input: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        d = self.d
        cell_input = torch.cat((decoder_input, self.attention_context), -1)
        self.attention_hidden, self.attention_cell = d.attention_rnn(
            cell_input, (self.attention_hidden, self.attention_cell)
        )
        self.attention_hidden = F.dropout(
            self.attention_hidden, self.c.p_attention_dropout, d.training
        )
        attention_weights_cat = torch.cat(
            (self.attention_weights.unsqueeze(1), self.attention_weights_cum.unsqueeze(1)), dim=1
        )
        self.attention_context, self.attention_weights = d.attention_layer(
            self.attention_hidden,
            self.memory,
            self.processed_memory,
            attention_weights_cat,
            self.mask,
        )
        self.attention_weights_cum += self.attention_weights
        decoder_input = torch.cat((self.attention_hidden, self.attention_context), -1)
        self.decoder_hidden, self.decoder_cell = d.decoder_rnn(
            decoder_input, (self.decoder_hidden, self.decoder_cell)
        )
        self.decoder_hidden = F.dropout(self.decoder_hidden, self.c.p_decoder_dropout, d.training)
        decoder_hidden_attention_context = torch.cat(
            (self.decoder_hidden, self.attention_context), dim=1
        )
        decoder_output = d.linear_projection(decoder_hidden_attention_context)
        gate_prediction = d.gate_layer(decoder_hidden_attention_context)
        return decoder_output, gate_prediction, self.attention_weights


class PaperReference:
    """Lip decoder + same-size mel/stop decoder, decoded the paper's way (no streaming)."""

    def __init__(
        self, lip: LipDecoder, *, device: str = "cpu", half: bool = False, seed: int = 0
    ) -> None:
        torch.manual_seed(seed)
        # The stop model: a Tacotron 2 of the lip model's size (80 mel channels, pre-net on).
        # Its weights are random: only its cost matters, and the length is fixed here.
        stop = LipDecoder(lip.config.replace(frame_dim=N_MEL_CHANNELS, prenet=True))
        self.device = torch.device(device)
        dtype = torch.float16 if half else torch.float32
        self.lip = lip.eval().to(self.device, dtype)
        self.stop = stop.eval().to(self.device, dtype)
        self.gate_threshold = lip.config.gate_threshold
        self.config = lip.config

    @classmethod
    def from_model_dir(cls, path: Path, **kw) -> PaperReference:
        """A fresh fp32 copy of the lip model (never the quantised one a backend may hold)."""
        return cls(load_model(path), **kw)

    def _encode(self, model: LipDecoder, ids: Tensor) -> Tensor:
        # NVIDIA's Encoder.inference: no packing at batch 1.
        lengths = torch.tensor([ids.shape[1]], device=self.device)
        return model.encode(ids, lengths, pack=False).memory

    @torch.no_grad()
    def synthesize(
        self, text: str, n_frames: int, *, obey_gate: bool = False
    ) -> tuple[np.ndarray, Decode]:
        """Lip frames (T, 60) returned only once all are decoded: `n_frames` of them, or fewer
        when `obey_gate` and the stop decoder's gate fires.

        The gate is evaluated every step either way, as in the original (a device sync on GPU);
        the benchmark ignores it so that the reference decodes as many frames as ours.
        """
        t0 = time.perf_counter()
        sequence = torch.tensor([text_to_sequence(text)], dtype=torch.long, device=self.device)
        lip_mem = self._encode(self.lip, sequence)
        stop_mem = self._encode(self.stop, sequence)
        lip_dec = NvidiaStyleDecoder(self.lip.decoder, prenet_dropout=True)
        stop_dec = NvidiaStyleDecoder(self.stop.decoder, prenet_dropout=True)
        lip_input = lip_dec.get_go_frame(lip_mem)
        mel_input = stop_dec.get_go_frame(stop_mem)
        lip_dec.initialize_decoder_states(lip_mem)
        stop_dec.initialize_decoder_states(stop_mem)

        t_loop = time.perf_counter()
        lip_outputs, gate_outputs, alignments = [], [], []
        stamps = [t_loop]  # the step timer is ours, not NVIDIA's: two clock reads per frame
        while True:
            lip_output, _, _ = lip_dec.decode(lip_dec.prenet(lip_input))
            mel_output, gate_output, alignment = stop_dec.decode(stop_dec.prenet(mel_input))
            lip_outputs += [lip_output.squeeze(1)]
            gate_outputs += [gate_output]
            alignments += [alignment]
            gate_fired = bool(torch.sigmoid(gate_output.data) > self.gate_threshold)
            stamps.append(time.perf_counter())
            if (gate_fired and obey_gate) or len(lip_outputs) == n_frames:
                break
            lip_input, mel_input = lip_output, mel_output
        loop_s = time.perf_counter() - t_loop

        # parse_decoder_outputs: (T, B, 60) -> (B, T, 60), then to the caller.
        frames = torch.stack(lip_outputs).transpose(0, 1).contiguous()
        torch.stack(gate_outputs).transpose(0, 1).contiguous()
        torch.stack(alignments).transpose(0, 1)
        out = frames[0].float().cpu().numpy()
        total = time.perf_counter() - t0
        steps = [b - a for a, b in zip(stamps[:-1], stamps[1:], strict=True)]
        return out, Decode(len(out), total, total, loop_s, len(out), statistics.median(steps) * 1e3)
