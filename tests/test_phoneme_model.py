"""The phoneme-timed lip model: streaming equals whole-utterance rendering, the model directory
loads by its kind on torch and onnxruntime, and a model that holds still is caught."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
import torch

from text2lips import Text2LipsError
from text2lips.data.timing import clip_timeline
from text2lips.phoneme.checkpoint import load_phoneme_model, save_phoneme_model
from text2lips.phoneme.features import PHONEMES, frame_inputs
from text2lips.phoneme.model import PRESETS, PhonemeLipModel, PhonemeModelConfig
from text2lips.phoneme.runtime import CHUNK, FIRST_CHUNK
from text2lips.runtime import SynthesisOptions, Synthesizer
from text2lips.text.timeline import espeak_timeline

TEXT = "Put the book back on the map, and mind the bump, my friend."


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    torch.manual_seed(0)
    model = PhonemeLipModel(PRESETS["tiny"]).eval()
    out = tmp_path_factory.mktemp("phoneme")
    save_phoneme_model(model, out, {"name": "tiny-phoneme", "speakers": {"a": [0.0] * 60}})
    return out


def test_config_round_trips_and_bounds_the_lookahead():
    cfg = PRESETS["small"]
    assert PhonemeModelConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.lookahead / 80.0 <= 0.150
    assert sum(p.numel() for p in PhonemeLipModel(cfg).parameters()) <= 1_000_000
    assert cfg.phonemes == PHONEMES
    for name, preset in PRESETS.items():  # every preset within the design's 150 ms
        assert preset.lookahead / 80.0 <= 0.150, name
    # a config that would look further ahead (e.g. edited on disk) is refused, not served
    wide = replace(PRESETS["tiny"], dilations=(8, 8), kernel_size=3)
    assert wide.lookahead == 16
    with pytest.raises(Text2LipsError, match="lookahead 16 frames: at most 12"):
        PhonemeLipModel(wide)


def test_streaming_windows_equal_the_whole_render():
    torch.manual_seed(1)
    model = PhonemeLipModel(PRESETS["small"]).eval()
    x = frame_inputs(espeak_timeline(TEXT))
    whole = model.render(x)
    parts = [model.render_window(x, s, min(s + 7, len(x))) for s in range(0, len(x), 7)]
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-5)


def test_model_dir_loads_by_kind_and_follows_the_timeline(tiny_dir):
    synth = Synthesizer.load(tiny_dir)
    assert synth.timed and synth.info.kind == "phoneme"
    tl = espeak_timeline(TEXT).shifted(0.3)
    frames = list(synth.stream(TEXT, SynthesisOptions(timeline=tl)))
    assert len(frames) == tl.n_frames > FIRST_CHUNK + CHUNK
    assert frames[-1].last and not any(f.last for f in frames[:-1])
    # streamed chunk by chunk, yet equal to rendering the whole timeline at once
    want = load_phoneme_model(tiny_dir).render(frame_inputs(tl))
    got = np.stack([f.displacement for f in frames])
    np.testing.assert_allclose(got, want, atol=1e-5)
    # without a timeline, espeak-ng times the text (its timing moves by ~10 ms per call)
    assert abs(len(list(synth.stream(TEXT))) - espeak_timeline(TEXT).n_frames) <= 2


def test_onnx_graph_serves_the_same_frames_without_torch_weights(tiny_dir, tmp_path):
    from text2lips.phoneme.onnx import export_onnx

    export_onnx(tiny_dir)
    torch_synth = Synthesizer.load(tiny_dir)
    ort_synth = Synthesizer.load(tiny_dir, backend="onnxruntime")
    opts = SynthesisOptions(timeline=espeak_timeline(TEXT))  # espeak's timing jitters per call
    a = torch_synth.synthesize(TEXT, opts)
    b = ort_synth.synthesize(TEXT, opts)
    np.testing.assert_allclose(a, b, atol=1e-3)  # a micrometre: fp32 kernels differ


def test_missing_graph_names_the_export_command(tmp_path, tiny_dir):
    import shutil

    from text2lips import Text2LipsError

    bare = tmp_path / "bare"
    shutil.copytree(tiny_dir, bare, ignore=shutil.ignore_patterns("onnx"))
    with pytest.raises(Text2LipsError, match="text2lips export --model") as err:
        Synthesizer.load(bare, backend="onnxruntime")
    # the command it names works: run it, then the same load serves
    command = str(err.value).split("`")[1].split()
    assert command[:2] == ["text2lips", "export"]
    done = subprocess.run([sys.executable, "-m", "text2lips", *command[1:]],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (bare / "onnx" / "phoneme.onnx").is_file()
    assert len(Synthesizer.load(bare, backend="onnxruntime").synthesize(TEXT)) > 0


def test_a_model_that_holds_still_is_caught_and_a_trained_one_is_not(data_dir):
    """The articulation check on real clips at their real timing: a still model fails it; a
    tiny model trained for a few seconds on the same clips passes (no shipped weights)."""
    from text2lips.data.dataset import load_clips
    from text2lips.evaluate import articulation_failures, articulation_rows, articulation_summary
    from text2lips.phoneme.cli import in_memory_synthesizer
    from text2lips.phoneme.train import TrainSettings, train

    clips = load_clips(data_dir, "lrs3", "pretrain")[:3]
    assert clip_timeline(clips[0]).n_frames == clips[0].n_frames
    still = PhonemeLipModel(PRESETS["tiny"]).eval()
    with torch.no_grad():
        still.out.weight.zero_()
        still.out.bias.zero_()
    rows = articulation_rows(in_memory_synthesizer(still), clips, timing="true")
    assert any("velocity_ratio" in f for f in articulation_failures(articulation_summary(rows)))

    settings = TrainSettings(preset="tiny", steps=150, batch_size=8, crop_frames=160, lr=5e-3)
    threads = torch.get_num_threads()
    model = train(clips, settings)
    # Training's process-wide settings do not outlive it: denormals are numbers again (a test
    # later in the same process draws subnormal floats) and the thread count is restored.
    assert np.float64(5e-324) * np.float64(1.0) > 0
    assert torch.get_num_threads() == threads
    summary = articulation_summary(articulation_rows(in_memory_synthesizer(model), clips,
                                                     timing="true"))
    assert articulation_failures(summary) == [], summary


def _tiny(seed: int) -> PhonemeLipModel:
    torch.manual_seed(seed)
    return PhonemeLipModel(PRESETS["tiny"]).eval()


def test_an_ensemble_is_its_members_averaged_in_one_servable_graph(tmp_path):
    """K members fused into one model (grouped layers) give the mean of their outputs times the
    gain, stream window by window like one network, and load from one directory on torch and
    onnxruntime."""
    from text2lips.phoneme.model import ensemble
    from text2lips.phoneme.onnx import export_onnx

    members = [_tiny(seed) for seed in (0, 1, 2)]
    fused = ensemble(members, gain=1.3)
    assert fused.config.members == 3 and fused.config.gain == 1.3
    tl = espeak_timeline(TEXT)
    x = frame_inputs(tl)
    want = np.mean([m.render(x) for m in members], axis=0) * 1.3
    np.testing.assert_allclose(fused.render(x), want, atol=1e-5)
    parts = [fused.render_window(x, s, min(s + 7, len(x))) for s in range(0, len(x), 7)]
    np.testing.assert_allclose(np.concatenate(parts), want, atol=1e-5)

    save_phoneme_model(fused, tmp_path, {"name": "tiny-ensemble", "speakers": {"a": [0.0] * 60}})
    assert load_phoneme_model(tmp_path).config == fused.config
    export_onnx(tmp_path)
    opts = SynthesisOptions(timeline=tl)
    a = np.stack([f.displacement for f in Synthesizer.load(tmp_path).stream(TEXT, opts)])
    b = np.stack([f.displacement for f in
                  Synthesizer.load(tmp_path, backend="onnxruntime").stream(TEXT, opts)])
    np.testing.assert_allclose(a, want, atol=1e-5)
    np.testing.assert_allclose(b, want, atol=1e-3)  # a micrometre: fp32 kernels differ


def test_the_ensemble_gain_gives_back_the_motion_averaging_removes(data_dir):
    from text2lips.data.dataset import load_clips
    from text2lips.phoneme.train import restore_gain

    clips = load_clips(data_dir, "lrs3", "pretrain")[:2]
    same = _tiny(0)
    assert restore_gain([same, same], clips) == pytest.approx(1.0, abs=0.01)  # fp32 sums
    # two unrelated networks cancel in part when averaged: the gain makes up for it
    assert restore_gain([_tiny(0), _tiny(1)], clips) > 1.1


def test_speaker_conditioning_and_decoupled_lookahead_stream_and_serve_the_unknown_speaker(
        tmp_path):
    """A model with per-speaker embeddings and a wider history than its lookahead (larger
    dilations, `aheads` bounding what each block sees ahead) round-trips, streams window by
    window like the whole render, serves the learned unknown speaker (row 0) from its model
    directory on torch and onnxruntime, fuses into an ensemble, and its speakers differ."""
    from dataclasses import replace

    from text2lips import Text2LipsError
    from text2lips.phoneme.model import ensemble, speaker_index
    from text2lips.phoneme.onnx import export_onnx

    cfg = replace(PRESETS["tiny"], dilations=(1, 4), aheads=(1, 2), speakers=("a", "b"))
    assert PhonemeModelConfig.from_dict(cfg.to_dict()) == cfg
    assert (cfg.lookahead, cfg.history) == (3, (4 * 1 - 1) + (4 * 4 - 2))
    assert PRESETS["compact-wide"].lookahead / 80.0 <= 0.150
    assert PRESETS["compact-wide"].history == 2 * PRESETS["compact"].history
    with pytest.raises(Text2LipsError, match="one per dilation"):
        PhonemeLipModel(replace(cfg, aheads=(1,)))
    with pytest.raises(Text2LipsError, match="outside the reach"):
        PhonemeLipModel(replace(cfg, aheads=(1, 17)))
    assert [speaker_index(cfg, s) for s in ("a", "b", "zz", None)] == [1, 2, 0, 0]

    def member(seed: int) -> PhonemeLipModel:
        torch.manual_seed(seed)
        m = PhonemeLipModel(cfg).eval()
        with torch.no_grad():
            m.speaker.weight.normal_()  # as if trained: the speakers differ from each other
        return m

    model = member(0)
    x = frame_inputs(espeak_timeline(TEXT))
    whole = model.render(x)
    parts = [model.render_window(x, s, min(s + 7, len(x))) for s in range(0, len(x), 7)]
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-5)
    ids, cont = torch.from_numpy(x.stacked_ids())[None], torch.from_numpy(x.continuous)[None]
    with torch.no_grad():
        unknown = model(ids, cont, torch.tensor([0]))[0].numpy()
        known = model(ids, cont, torch.tensor([1]))[0].numpy()
    np.testing.assert_allclose(whole, unknown, atol=1e-6)
    assert np.abs(known - unknown).max() > 1e-3

    members = [member(s) for s in (0, 1)]
    fused = ensemble(members, gain=1.1)
    with torch.no_grad():
        want = np.mean([m(ids, cont, torch.tensor([2]))[0].numpy() for m in members], 0) * 1.1
        np.testing.assert_allclose(fused(ids, cont, torch.tensor([2]))[0].numpy(), want,
                                   atol=1e-5)
    save_phoneme_model(fused, tmp_path, {"name": "tiny-speakers", "speakers": {"a": [0.0] * 60}})
    assert load_phoneme_model(tmp_path).config == fused.config
    export_onnx(tmp_path)
    tl = espeak_timeline(TEXT)
    opts = SynthesisOptions(timeline=tl)
    a = np.stack([f.displacement for f in Synthesizer.load(tmp_path).stream(TEXT, opts)])
    b = np.stack([f.displacement for f in
                  Synthesizer.load(tmp_path, backend="onnxruntime").stream(TEXT, opts)])
    np.testing.assert_allclose(a, fused.render(frame_inputs(tl)), atol=1e-5)
    np.testing.assert_allclose(b, a, atol=1e-3)


def test_crossval_with_speakers_reports_the_served_and_the_known_speaker(data_dir):
    """`--speakers 1`: each fold's model learns its training speakers' rows; the report's
    `phoneme` figures are the served (unknown-speaker) ones, and `phoneme_known_speaker` those
    of each held-out clip at its own speaker's row."""
    import argparse

    from text2lips.data.dataset import load_clips
    from text2lips.phoneme.cli import _settings, add_arguments, crossval

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["crossval", "--speakers", "1", "--align", "0", "--preset", "tiny",
                              "--steps", "20", "--batch-size", "4", "--crop-frames", "120"])
    settings = _settings(args)
    assert settings.speakers and not settings.align
    with pytest.raises(SystemExit):  # bool("0") would be True; a typo is refused
        parser.parse_args(["crossval", "--speakers", "maybe"])

    clips = load_clips(data_dir, "lrs3", "pretrain")
    by_speaker: dict[str, list] = {}
    for c in clips:
        by_speaker.setdefault(c.speaker, []).append(c)
    few = [c for group in list(by_speaker.values())[:2] for c in group[:2]]  # 2 speakers, 2 each
    report = crossval(few, settings, 2)
    assert report["phoneme"]["clips"] == report["phoneme_known_speaker"]["clips"] == 4
    assert report["phoneme"] != report["phoneme_known_speaker"]
