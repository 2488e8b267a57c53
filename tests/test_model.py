"""Lip decoder: stepping equals forward, exact batching, checkpoint round trips, NVIDIA transfer."""

from __future__ import annotations

import json

import pytest
import torch

from text2lips import Text2LipsError
from text2lips.model import (
    CheckpointError,
    ConfigError,
    LipDecoder,
    ModelConfig,
    get_config,
    load_model,
    load_state_from,
    read_metadata,
    save_model,
)

TINY = get_config("tiny")
VARIANTS = {
    "plain": TINY,
    "prenet+postnet": TINY.replace(prenet=True, postnet=True),
}



def make_model(config: ModelConfig = TINY, seed: int = 0) -> LipDecoder:
    torch.manual_seed(seed)
    model = LipDecoder(config)
    # Non-trivial batch-norm statistics, so eval() differs from train() and they get saved.
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    return model.eval()


def batch(lengths: list[int], seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    text = torch.zeros(len(lengths), max(lengths), dtype=torch.int64)
    for i, n in enumerate(lengths):
        text[i, :n] = torch.randint(1, TINY.n_symbols, (n,), generator=g)
    return text, torch.tensor(lengths)


@pytest.mark.parametrize("variant", VARIANTS)
def test_stepping_reproduces_forward(variant: str) -> None:
    model = make_model(VARIANTS[variant])
    text, lengths = batch([7, 4])
    targets = torch.randn(2, 9, 60)
    out = model(text, lengths, targets)
    assert out.frames.shape == (2, 9, 60) and out.alignments.shape == (2, 9, 7)
    assert out.lengths.tolist() == [9, 9]

    enc = model.encode(text, lengths)
    state, prev = model.initial_state(enc), model.initial_frame(2)
    for t in range(9):
        frame, gate, state = model.step(prev, state, enc.memory, enc.processed_memory, enc.mask)
        torch.testing.assert_close(frame, out.frames[:, t], atol=1e-5, rtol=0)
        torch.testing.assert_close(gate, out.gate_logits[:, t], atol=1e-5, rtol=0)
        torch.testing.assert_close(state.attention_weights, out.alignments[:, t], atol=1e-5, rtol=0)
        prev = targets[:, t]
    if VARIANTS[variant].postnet:
        assert not torch.allclose(out.frames_post, out.frames)
    else:
        assert torch.equal(out.frames_post, out.frames)


def test_batched_equals_one_by_one() -> None:
    model = make_model()
    lens = [9, 3, 6]
    text, lengths = batch(lens)
    enc = model.encode(text, lengths)
    # Attention never looks at padding.
    state, prev = model.initial_state(enc), model.initial_frame(3)
    frames = []
    for _ in range(6):
        prev, _, state = model.step(prev, state, *enc)
        frames.append(prev)
        assert torch.all(state.attention_weights[enc.mask] == 0)
    for i, n in enumerate(lens):
        enc1 = model.encode(text[i : i + 1, :n], lengths[i : i + 1], pack=False)
        torch.testing.assert_close(enc1.memory[0], enc.memory[i, :n], atol=1e-4, rtol=0)
        state1, prev1 = model.initial_state(enc1), model.initial_frame(1)
        for t in range(6):
            prev1, _, state1 = model.step(prev1, state1, *enc1)
            torch.testing.assert_close(prev1[0], frames[t][i], atol=1e-4, rtol=0)
    # Free-running decoding agrees too, lengths included.
    both = model.infer(text, lengths, max_frames=12, stop=False)
    for i, n in enumerate(lens):
        one = model.infer(text[i : i + 1, :n], lengths[i : i + 1], max_frames=12, stop=False)
        torch.testing.assert_close(one.frames[0], both.frames[i], atol=1e-4, rtol=0)


def test_infer_stop_false_decodes_exact_length() -> None:
    model = make_model(VARIANTS["prenet+postnet"])
    text, lengths = batch([5, 2])
    out = model.infer(text, lengths, max_frames=23, stop=False)
    assert out.frames.shape == (2, 23, 60) and out.frames_post.shape == (2, 23, 60)
    assert out.lengths.tolist() == [23, 23]


def test_infer_respects_hard_bound_when_gate_never_fires() -> None:
    model = make_model()
    with torch.no_grad():
        model.decoder.gate_layer.linear_layer.bias.fill_(-100.0)
    text, lengths = batch([5, 2])
    out = model.infer(text, lengths)
    bounds = [model.max_frames_for(5), model.max_frames_for(2)]
    assert bounds == [15 + TINY.min_frames, 6 + TINY.min_frames]  # 3 frames a symbol + min
    assert out.lengths.tolist() == bounds
    assert out.frames.shape == (2, bounds[0], 60)
    # Frames past an item's length are padding.
    assert torch.all(out.frames[1, bounds[1] :] == 0)
    assert torch.any(out.frames[1, : bounds[1]] != 0)
    assert model.infer(text, lengths, max_frames=7).lengths.tolist() == [7, 7]


def steer_attention_forward(model: LipDecoder) -> None:
    """Make attention walk forward one symbol per frame, driven by its location features only."""
    att = model.decoder.attention_layer
    with torch.no_grad():
        att.query_layer.linear_layer.weight.zero_()
        att.memory_layer.linear_layer.weight.zero_()
        conv = att.location_layer.location_conv.conv.weight  # (filters, 2, kernel)
        conv.zero_()
        centre = conv.shape[-1] // 2
        conv[0, 0, centre - 1] = 1.0  # previous weights, one symbol back
        conv[1, 1, centre] = 1.0  # cumulative weights, here
        dense = att.location_layer.location_dense.linear_layer.weight
        dense.zero_()
        dense[0, 0], dense[0, 1] = 5.0, -2.0
        att.v.linear_layer.weight.zero_()
        att.v.linear_layer.weight[0, 0] = 3.0


def test_infer_never_stops_before_attention_reaches_last_symbol() -> None:
    model = make_model()
    steer_attention_forward(model)
    with torch.no_grad():
        model.decoder.gate_layer.linear_layer.bias.fill_(100.0)  # the gate always says stop
    lens = [6, 3, 1]
    text, lengths = batch(lens)
    out = model.infer(text, lengths, min_frames=1)
    assert out.lengths.tolist() == [9, 3, 1]
    for i, n in enumerate(lens):
        argmax = out.alignments[i, : out.lengths[i], :n].argmax(dim=1)
        assert argmax[-1] == n - 1 and torch.all(argmax[:-1] < n - 1)
    # min_frames holds items back; having reached the last symbol once is remembered.
    assert model.infer(text, lengths).lengths.tolist() == [9, TINY.min_frames, TINY.min_frames]

    # An untrained model whose attention never gets there runs to the hard bound.
    model = make_model()
    with torch.no_grad():
        model.decoder.gate_layer.linear_layer.bias.fill_(100.0)
    out = model.infer(text, lengths)
    for i, n in enumerate(lens):
        reached = (out.alignments[i, :, :n].argmax(dim=1) >= n - 1).nonzero().flatten()
        expected = (
            model.max_frames_for(n) if len(reached) == 0 else max(reached[0] + 1, TINY.min_frames)
        )
        assert out.lengths[i] == expected


def test_infer_is_deterministic_in_eval_and_ignores_dropout() -> None:
    model = make_model(VARIANTS["prenet+postnet"])
    text, lengths = batch([4])
    a = model.infer(text, lengths, max_frames=10, stop=False)
    b = model.infer(text, lengths, max_frames=10, stop=False)
    assert torch.equal(a.frames_post, b.frames_post)


@pytest.mark.parametrize("half", [False, True])
def test_save_load_round_trip(tmp_path, half: bool) -> None:
    model = make_model(VARIANTS["prenet+postnet"])
    save_model(model, tmp_path / "ckpt", metadata={"epoch": 3}, half=half)
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == [
        "config.json",
        "model.safetensors",
    ]
    loaded = load_model(tmp_path / "ckpt")
    assert loaded.config == model.config and not loaded.training
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    assert read_metadata(tmp_path / "ckpt") == {"epoch": 3}
    doc = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    assert doc["model"] == model.config.to_dict()

    text, lengths = batch([6, 3])
    if half:
        # The half checkpoint holds exactly the fp16-rounded weights.
        expected = make_model(VARIANTS["prenet+postnet"])
        with torch.no_grad():
            for t in expected.state_dict().values():
                if t.is_floating_point():
                    t.copy_(t.half().float())
    else:
        expected = model
    want = expected.infer(text, lengths, max_frames=8, stop=False)
    got = loaded.infer(text, lengths, max_frames=8, stop=False)
    assert torch.equal(want.frames_post, got.frames_post)
    if half:
        torch.testing.assert_close(
            got.frames_post,
            model.infer(text, lengths, max_frames=8, stop=False).frames_post,
            atol=2e-2,
            rtol=0,
        )


def test_load_errors(tmp_path) -> None:
    with pytest.raises(CheckpointError, match="no model checkpoint"):
        load_model(tmp_path / "missing")
    save_model(make_model(), tmp_path / "ok")
    (tmp_path / "ok" / "model.safetensors").write_bytes(b"\x00garbage")
    with pytest.raises(CheckpointError, match="corrupt model weights"):
        load_model(tmp_path / "ok")
    save_model(make_model(), tmp_path / "ok2")
    (tmp_path / "ok2" / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="corrupt model config"):
        load_model(tmp_path / "ok2")
    save_model(make_model(), tmp_path / "ok3")
    (tmp_path / "ok3" / "config.json").unlink()
    with pytest.raises(CheckpointError, match="has no config.json"):
        load_model(tmp_path / "ok3")
    assert issubclass(CheckpointError, Text2LipsError)


def test_load_state_from(tmp_path) -> None:
    pretrained = make_model(seed=1)
    save_model(pretrained, tmp_path / "pre")
    model = make_model(TINY.replace(postnet=True), seed=2)
    loaded = load_state_from(model, tmp_path / "pre")
    assert set(loaded) == set(pretrained.state_dict())
    assert torch.equal(
        model.decoder.decoder_rnn.weight_hh, pretrained.decoder.decoder_rnn.weight_hh
    )
    assert all(p.requires_grad for p in model.parameters())


def test_config_dict_round_trip_and_errors() -> None:
    for name in ("paper", "edge", "tiny"):
        config = get_config(name)
        assert ModelConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert get_config("edge").attention_rnn_dim < get_config("paper").attention_rnn_dim
    with pytest.raises(ConfigError, match="'decoder_dim'"):
        ModelConfig.from_dict({"decoder_dim": 3})
    with pytest.raises(ConfigError, match="encoder_embedding_dim=15"):
        ModelConfig(encoder_embedding_dim=15)
    with pytest.raises(ConfigError, match="'huge'.*paper, edge"):
        get_config("huge")


def test_scheduled_sampling_all_own_inputs_equals_free_running() -> None:
    # Fed its own predictions at every step, teacher forcing becomes free-running inference.
    torch.manual_seed(0)
    model = LipDecoder(TINY).eval()
    text = torch.randint(1, 148, (2, 9))
    lengths = torch.tensor([9, 6])
    targets = torch.randn(2, 30, 60)
    own = torch.ones(2, 30, dtype=torch.bool)
    forced = model(text, lengths, targets, own_input=own)
    free = model.infer(text, lengths, max_frames=30, stop=False)
    torch.testing.assert_close(forced.frames, free.frames, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(model(text, lengths, targets).frames, free.frames, atol=1e-3)
