"""Lip decoder: stepping equals forward, exact batching, checkpoint round trips, NVIDIA transfer."""

from __future__ import annotations

import json

import numpy as np
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
from text2lips.text import text_to_sequence

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
    both = model.infer(text, lengths, 12)
    for i, n in enumerate(lens):
        one = model.infer(text[i : i + 1, :n], lengths[i : i + 1], 12)
        torch.testing.assert_close(one.frames[0], both.frames[i], atol=1e-4, rtol=0)


def test_infer_decodes_exact_length() -> None:
    model = make_model(VARIANTS["prenet+postnet"])
    text, lengths = batch([5, 2])
    out = model.infer(text, lengths, 23)
    assert out.frames.shape == (2, 23, 60) and out.frames_post.shape == (2, 23, 60)
    assert out.alignments.shape == (2, 23, 5)
    assert out.lengths.tolist() == [23, 23]
    with pytest.raises(Text2LipsError, match="n_frames=0"):
        model.infer(text, lengths, 0)


# When an utterance ends (the gate's stop rule and the hard length bound) is the serving
# loop's alone (runtime.synthesizer.BatchDecoder): these decode an in-memory network through it.


def served_lengths(model: LipDecoder, texts: list[str], min_frames: int | None = None,
                   max_frames: int | None = None) -> list[int]:
    """Frames the serving loop gives each text, decoded together."""
    from text2lips.decode import network_synthesizer
    from text2lips.runtime import SynthesisOptions

    synth = network_synthesizer(model)
    if min_frames is not None:
        synth.min_frames = min_frames
    bd = synth.batch_decoder(len(texts))
    for i, t in enumerate(texts):
        bd.add(i, t, SynthesisOptions(reference=np.zeros(60, np.float32), max_frames=max_frames))
    got = [0] * len(texts)
    while len(bd):
        for i, frame in bd.step():
            got[i] += 1
            assert frame.last == (i not in bd)
    return got


def test_serving_loop_respects_hard_bound_when_gate_never_fires() -> None:
    from text2lips.decode import network_synthesizer

    model = make_model()
    with torch.no_grad():
        model.decoder.gate_layer.linear_layer.bias.fill_(-100.0)
    synth = network_synthesizer(model)
    bounds = [synth.max_frames_for(5), synth.max_frames_for(2)]
    assert bounds == [15 + TINY.min_frames, 6 + TINY.min_frames]  # 3 frames a symbol + min
    assert served_lengths(model, ["hello", "hi"]) == bounds
    assert served_lengths(model, ["hello", "hi"], max_frames=7) == [7, 7]


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


def test_serving_loop_never_stops_before_attention_reaches_last_symbol() -> None:
    model = make_model()
    steer_attention_forward(model)
    with torch.no_grad():
        model.decoder.gate_layer.linear_layer.bias.fill_(100.0)  # the gate always says stop
    texts = ["abcdef", "abc", "a"]  # 6, 3 and 1 symbols
    assert served_lengths(model, texts, min_frames=1) == [9, 3, 1]
    text, lengths = batch([6, 3, 1])
    out = model.infer(text, lengths, 9)  # attention walks the same way whatever the symbols
    for i, (n, k) in enumerate(zip([6, 3, 1], [9, 3, 1], strict=True)):
        argmax = out.alignments[i, :k, :n].argmax(dim=1)
        assert argmax[-1] == n - 1 and torch.all(argmax[:-1] < n - 1)
    # Past min_frames an item stops at the first frame whose attention is on its last
    # symbol (now, not once before), or runs to the hard bound when it never gets there:
    # for the steered model and for an untrained one.
    assert served_lengths(model, texts) == served_rule(model, texts)
    model = make_model()
    with torch.no_grad():
        model.decoder.gate_layer.linear_layer.bias.fill_(100.0)
    assert served_lengths(model, texts) == served_rule(model, texts)


def served_rule(model: LipDecoder, texts: list[str]) -> list[int]:
    """The serving loop's stop rule, written out from each text's own rollout, for a gate
    that always fires: the first frame t + 1 >= min_frames with the attention argmax on the
    last symbol, else the hard bound."""
    out = []
    for text in texts:
        ids = text_to_sequence(text)
        n = len(ids)
        bound = TINY.min_frames + int(np.ceil(TINY.max_frames_per_symbol * n))
        align = model.infer(torch.tensor([ids]), torch.tensor([n]), bound).alignments[0]
        at_end = (align.argmax(dim=1) >= n - 1).tolist()
        out.append(next((t + 1 for t in range(bound) if at_end[t] and t + 1 >= TINY.min_frames),
                        bound))
    return out


def test_infer_is_deterministic_in_eval_and_ignores_dropout() -> None:
    model = make_model(VARIANTS["prenet+postnet"])
    text, lengths = batch([4])
    a = model.infer(text, lengths, 10)
    b = model.infer(text, lengths, 10)
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
    want = expected.infer(text, lengths, 8)
    got = loaded.infer(text, lengths, 8)
    assert torch.equal(want.frames_post, got.frames_post)
    if half:
        torch.testing.assert_close(
            got.frames_post,
            model.infer(text, lengths, 8).frames_post,
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
    free = model.infer(text, lengths, 30)
    torch.testing.assert_close(forced.frames, free.frames, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(model(text, lengths, targets).frames, free.frames, atol=1e-3)
