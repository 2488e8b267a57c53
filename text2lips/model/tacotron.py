"""Tacotron-2-style lip decoder: symbols -> encoder -> attention decoder -> 60-value lip frames.

Submodule names follow NVIDIA/tacotron2 so its checkpoints' encoder keys load 1:1.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from text2lips import Text2LipsError
from text2lips.model.config import ModelConfig


class DecoderState(NamedTuple):
    """Everything the decoder carries from one frame to the next (batch-first)."""

    attention_hidden: Tensor  # (B, attention_rnn_dim)
    attention_cell: Tensor  # (B, attention_rnn_dim)
    decoder_hidden: Tensor  # (B, decoder_rnn_dim)
    decoder_cell: Tensor  # (B, decoder_rnn_dim)
    attention_weights: Tensor  # (B, L)
    attention_weights_cum: Tensor  # (B, L)
    attention_context: Tensor  # (B, encoder_embedding_dim)


class Encoded(NamedTuple):
    """Encoder output, computed once per utterance and read by every decoder step."""

    memory: Tensor  # (B, L, E)
    processed_memory: Tensor  # (B, L, attention_dim): memory_layer applied once
    mask: Tensor  # (B, L) bool, True on padding


class DecoderOutput(NamedTuple):
    """A decoded (or teacher-forced) batch; time steps past `lengths` are zero."""

    frames: Tensor  # (B, T, 60) before the post-net
    frames_post: Tensor  # (B, T, 60) after the post-net (== frames when there is none)
    gate_logits: Tensor  # (B, T)
    alignments: Tensor  # (B, T, L)
    lengths: Tensor  # (B,) int64 valid frames per item


class LinearNorm(nn.Module):
    """nn.Linear with Xavier init; the wrapper exists for NVIDIA's `.linear_layer` key names."""

    def __init__(self, in_dim: int, out_dim: int, bias: bool = True, w_init_gain: str = "linear"):
        super().__init__()
        self.linear_layer = nn.Linear(in_dim, out_dim, bias=bias)
        nn.init.xavier_uniform_(self.linear_layer.weight, gain=nn.init.calculate_gain(w_init_gain))

    def forward(self, x: Tensor) -> Tensor:
        return self.linear_layer(x)


class ConvNorm(nn.Module):
    """Length-preserving nn.Conv1d with Xavier init (NVIDIA's `.conv` key names)."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel_size: int,
        bias: bool = True,
        w_init_gain: str = "linear",
    ):
        super().__init__()
        self.conv = nn.Conv1d(in_ch, out_ch, kernel_size, padding=(kernel_size - 1) // 2, bias=bias)
        nn.init.xavier_uniform_(self.conv.weight, gain=nn.init.calculate_gain(w_init_gain))

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


class Encoder(nn.Module):
    """Three conv+BN+ReLU layers then a BiLSTM over the symbol embeddings."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        dims = [config.symbols_embedding_dim] + [
            config.encoder_embedding_dim
        ] * config.encoder_n_convolutions
        self.convolutions = nn.ModuleList(
            nn.Sequential(
                ConvNorm(d_in, d_out, config.encoder_kernel_size, w_init_gain="relu"),
                nn.BatchNorm1d(d_out),
            )
            for d_in, d_out in zip(dims[:-1], dims[1:], strict=True)
        )
        self.lstm = nn.LSTM(
            config.encoder_embedding_dim,
            config.encoder_embedding_dim // 2,
            num_layers=1,
            batch_first=True,
            bidirectional=True,
        )

    def forward(self, x: Tensor, lengths: Tensor, valid: Tensor, pack: bool = True) -> Tensor:
        # x: (B, C, L) embedded symbols; valid: (B, L) bool.
        # Zero the padding before every conv so that a padded item sees exactly the zero
        # padding it would see alone (NVIDIA leaves it, which makes batching change outputs).
        keep = valid.unsqueeze(1).to(x.dtype)  # (B, 1, L)
        for conv in self.convolutions:
            x = F.dropout(F.relu(conv(x * keep)), 0.5, self.training)
        x = (x * keep).transpose(1, 2)  # (B, L, E)
        if not pack:
            # Only exact when nothing is padded (batch 1): used for tracing/ONNX export.
            return self.lstm(x)[0]
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        return out  # (B, L, E)


class LocationLayer(nn.Module):
    """Features of the previous and cumulative attention weights, for location-sensitivity."""

    def __init__(self, n_filters: int, kernel_size: int, attention_dim: int):
        super().__init__()
        self.location_conv = ConvNorm(2, n_filters, kernel_size, bias=False)
        self.location_dense = LinearNorm(n_filters, attention_dim, bias=False, w_init_gain="tanh")

    def forward(self, weights_cat: Tensor) -> Tensor:
        # (B, 2, L) -> (B, n_filters, L) -> (B, L, attention_dim)
        return self.location_dense(self.location_conv(weights_cat).transpose(1, 2))


class Attention(nn.Module):
    """Location-sensitive additive attention (Chorowski et al. 2015), masked on padding."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        dim = config.attention_dim
        self.query_layer = LinearNorm(config.attention_rnn_dim, dim, bias=False, w_init_gain="tanh")
        self.memory_layer = LinearNorm(
            config.encoder_embedding_dim, dim, bias=False, w_init_gain="tanh"
        )
        self.v = LinearNorm(dim, 1, bias=False)
        self.location_layer = LocationLayer(
            config.attention_location_n_filters, config.attention_location_kernel_size, dim
        )

    def forward(
        self,
        query: Tensor,
        memory: Tensor,
        processed_memory: Tensor,
        weights_cat: Tensor,
        mask: Tensor,
    ) -> tuple[Tensor, Tensor]:
        processed_query = self.query_layer(query).unsqueeze(1)  # (B, 1, A)
        processed_location = self.location_layer(weights_cat)  # (B, L, A)
        energies = self.v(torch.tanh(processed_query + processed_location + processed_memory))
        energies = energies.squeeze(-1)  # (B, L)
        # The dtype's lowest finite value rather than -inf: exp() still gives exactly 0,
        # and an all-padding row cannot turn into NaN.
        energies = energies.masked_fill(mask, torch.finfo(energies.dtype).min)
        weights = F.softmax(energies, dim=1)  # (B, L)
        context = torch.bmm(weights.unsqueeze(1).to(memory.dtype), memory).squeeze(1)  # (B, E)
        return context, weights


class Prenet(nn.Module):
    """Tacotron 2's pre-net on the previous frame: two bias-free ReLU layers with dropout."""

    def __init__(self, in_dim: int, sizes: list[int]):
        super().__init__()
        self.layers = nn.ModuleList(
            LinearNorm(d_in, d_out, bias=False)
            for d_in, d_out in zip([in_dim] + sizes[:-1], sizes, strict=True)
        )

    def forward(self, x: Tensor) -> Tensor:
        for linear in self.layers:
            # Tacotron 2 keeps this dropout on at inference; we drop it in eval() so that
            # `step` is deterministic and exportable (one more reason the paper leaves it off).
            x = F.dropout(F.relu(linear(x)), 0.5, self.training)
        return x


class Postnet(nn.Module):
    """Tacotron 2's residual conv post-net over the whole sequence (never per step)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        n, emb = config.postnet_n_convolutions, config.postnet_embedding_dim
        dims = [config.frame_dim] + [emb] * (n - 1) + [config.frame_dim]
        self.convolutions = nn.ModuleList(
            nn.Sequential(
                ConvNorm(
                    d_in,
                    d_out,
                    config.postnet_kernel_size,
                    w_init_gain="tanh" if i < n - 1 else "linear",
                ),
                nn.BatchNorm1d(d_out),
            )
            for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:], strict=True))
        )

    def forward(self, frames: Tensor) -> Tensor:
        x = frames.transpose(1, 2)  # (B, 60, T)
        for i, conv in enumerate(self.convolutions):
            x = conv(x)
            if i < len(self.convolutions) - 1:
                x = torch.tanh(x)
            x = F.dropout(x, 0.5, self.training)
        return x.transpose(1, 2)  # (B, T, 60) residual


class Decoder(nn.Module):
    """Attention LSTM -> attention -> decoder LSTM -> frame and stop gate, one frame a step."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        in_dim = config.frame_dim
        if config.prenet:
            self.prenet = Prenet(config.frame_dim, [config.prenet_dim, config.prenet_dim])
            in_dim = config.prenet_dim
        else:
            self.prenet = None
        enc = config.encoder_embedding_dim
        self.attention_rnn = nn.LSTMCell(in_dim + enc, config.attention_rnn_dim)
        self.attention_layer = Attention(config)
        self.decoder_rnn = nn.LSTMCell(config.attention_rnn_dim + enc, config.decoder_rnn_dim)
        self.linear_projection = LinearNorm(config.decoder_rnn_dim + enc, config.frame_dim)
        self.gate_layer = LinearNorm(config.decoder_rnn_dim + enc, 1, w_init_gain="sigmoid")

    def prepare_input(self, prev_frame: Tensor) -> Tensor:
        """Previous frame(s) (..., 60) -> attention-LSTM input (pre-net applied if any)."""
        return prev_frame if self.prenet is None else self.prenet(prev_frame)

    def step(
        self, x: Tensor, state: DecoderState, memory: Tensor, processed_memory: Tensor, mask: Tensor
    ) -> tuple[Tensor, Tensor, DecoderState]:
        """One frame from prepared input `x`; pure (no Python state, no data-dependent branches)."""
        c = self.config
        attention_hidden, attention_cell = self.attention_rnn(
            torch.cat((x, state.attention_context), dim=-1),
            (state.attention_hidden, state.attention_cell),
        )
        attention_hidden = F.dropout(attention_hidden, c.p_attention_dropout, self.training)

        weights_cat = torch.stack(
            (state.attention_weights, state.attention_weights_cum), dim=1
        )  # (B, 2, L)
        context, weights = self.attention_layer(
            attention_hidden, memory, processed_memory, weights_cat.to(memory.dtype), mask
        )
        weights_cum = state.attention_weights_cum + weights

        decoder_hidden, decoder_cell = self.decoder_rnn(
            torch.cat((attention_hidden, context), dim=-1),
            (state.decoder_hidden, state.decoder_cell),
        )
        decoder_hidden = F.dropout(decoder_hidden, c.p_decoder_dropout, self.training)

        hidden_context = torch.cat((decoder_hidden, context), dim=-1)  # (B, D + E)
        frame = self.linear_projection(hidden_context)  # (B, 60)
        gate_logit = self.gate_layer(hidden_context).squeeze(-1)  # (B,)
        new_state = DecoderState(
            attention_hidden,
            attention_cell,
            decoder_hidden,
            decoder_cell,
            weights,
            weights_cum,
            context,
        )
        return frame, gate_logit, new_state


class LipDecoder(nn.Module):
    """Text symbols in, lip-landmark displacement frames (80 fps) out."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.n_symbols, config.symbols_embedding_dim)
        # NVIDIA's init: uniform with the Xavier standard deviation.
        bound = math.sqrt(3.0) * math.sqrt(2.0 / (config.n_symbols + config.symbols_embedding_dim))
        nn.init.uniform_(self.embedding.weight, -bound, bound)
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)
        self.postnet = Postnet(config) if config.postnet else None

    # --- encoder -------------------------------------------------------------------------

    def encode(self, text: Tensor, lengths: Tensor, pack: bool = True) -> Encoded:
        """Encode symbol ids `text` (B, L) int64 with valid `lengths` (B,).

        `pack=False` skips pack_padded_sequence: exact only when no item is padded (batch 1),
        for tracing to ONNX.
        """
        L = text.shape[1]
        valid = torch.arange(L, device=text.device).unsqueeze(0) < lengths.to(
            text.device
        ).unsqueeze(1)
        x = self.embedding(text).transpose(1, 2)  # (B, C, L)
        memory = self.encoder(x, lengths, valid, pack=pack)  # (B, L, E)
        processed_memory = self.decoder.attention_layer.memory_layer(memory)  # (B, L, A)
        return Encoded(memory, processed_memory, ~valid)

    # --- decoder -------------------------------------------------------------------------

    def initial_state(self, enc: Encoded) -> DecoderState:
        """All-zero decoder state for a batch encoded as `enc`."""
        B, L, E = enc.memory.shape
        c = self.config
        zeros = enc.memory.new_zeros
        return DecoderState(
            zeros(B, c.attention_rnn_dim),
            zeros(B, c.attention_rnn_dim),
            zeros(B, c.decoder_rnn_dim),
            zeros(B, c.decoder_rnn_dim),
            zeros(B, L),
            zeros(B, L),
            zeros(B, E),
        )

    def initial_frame(self, batch: int) -> Tensor:
        """The "go" frame (B, 60): zero displacement, i.e. the speaker's neutral reference."""
        weight = self.embedding.weight
        return weight.new_zeros(batch, self.config.frame_dim)

    def step(
        self,
        prev_frame: Tensor,
        state: DecoderState,
        memory: Tensor,
        processed_memory: Tensor,
        mask: Tensor,
    ) -> tuple[Tensor, Tensor, DecoderState]:
        """One decoder step: previous frame (B, 60) -> (frame (B, 60), gate logit (B,), new state).

        The frame is before the post-net. Pure: exported to ONNX and captured in CUDA graphs.
        """
        return self.decoder.step(
            self.decoder.prepare_input(prev_frame), state, memory, processed_memory, mask
        )

    def forward(
        self,
        text: Tensor,
        lengths: Tensor,
        targets: Tensor,
        teacher: Tensor | None = None,
        own_input: Tensor | None = None,
    ) -> DecoderOutput:
        """Teacher forcing: frame t is predicted from frame t-1 of `teacher` (B, T, 60),
        by default the ground truth `targets` (training may pass a corrupted copy).

        `own_input` (B, T) bool, scheduled sampling: where True, step t is fed the model's
        own (detached) prediction of frame t-1 instead, as in free-running inference.
        """
        enc = self.encode(text, lengths)
        B, T, _ = targets.shape
        teacher = targets if teacher is None else teacher
        prev = torch.cat(
            (self.initial_frame(B).unsqueeze(1).to(teacher.dtype), teacher[:, :-1]), dim=1
        )
        inputs = self.decoder.prepare_input(prev)  # whole sequence at once: (B, T, in_dim)
        state = self.initial_state(enc)
        frames, gates, alignments = [], [], []
        for t in range(T):
            x = inputs[:, t]
            if own_input is not None and t > 0:
                own = self.decoder.prepare_input(frames[-1].detach())
                x = torch.where(own_input[:, t, None], own, x)
            frame, gate, state = self.decoder.step(x, state, *enc)
            alignments.append(state.attention_weights)
            frames.append(frame)
            gates.append(gate)
        frames_t = torch.stack(frames, dim=1)  # (B, T, 60)
        lengths_out = torch.full((B,), T, dtype=torch.int64, device=targets.device)
        return DecoderOutput(
            frames_t,
            self.apply_postnet(frames_t),
            torch.stack(gates, dim=1),  # (B, T)
            torch.stack(alignments, dim=1),  # (B, T, L)
            lengths_out,
        )

    @torch.no_grad()
    def infer(self, text: Tensor, lengths: Tensor, n_frames: int) -> DecoderOutput:
        """Free-running rollout of exactly `n_frames` from the go frame, every item fed its
        own previous frame. It never stops early: when an utterance ends (the gate's stop rule,
        the length bound) is decided in one place, the serving loop
        (text2lips.runtime.synthesizer.BatchDecoder), which evaluation decodes through too.
        """
        if n_frames < 1:
            raise Text2LipsError(f"n_frames={n_frames}: must be >= 1")
        lengths = lengths.to(device=text.device, dtype=torch.int64)
        B = text.shape[0]
        enc = self.encode(text, lengths)
        state = self.initial_state(enc)
        frame = self.initial_frame(B).to(enc.memory.dtype)
        frames, gates, alignments = [], [], []
        for _ in range(n_frames):
            frame, gate, state = self.step(frame, state, *enc)
            frames.append(frame)
            gates.append(gate)
            alignments.append(state.attention_weights)
        frames_t = torch.stack(frames, dim=1)  # (B, T, 60)
        return DecoderOutput(
            frames_t,
            self.apply_postnet(frames_t),
            torch.stack(gates, dim=1),  # (B, T)
            torch.stack(alignments, dim=1),  # (B, T, L)
            torch.full((B,), n_frames, dtype=torch.int64, device=text.device),
        )

    def apply_postnet(self, frames: Tensor) -> Tensor:
        """Post-net refinement of a whole (B, T, 60) sequence; identity when there is none."""
        return frames if self.postnet is None else frames + self.postnet(frames)
