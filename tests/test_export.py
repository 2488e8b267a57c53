"""ONNX export and the onnxruntime backend: checked graphs, free-running parity with torch, CLI."""

from __future__ import annotations

import contextlib
import io
import json
import shutil

import numpy as np
import onnx
import pytest
import torch
from helpers import decode_with_joins

from text2lips import Text2LipsError
from text2lips.cli import main
from text2lips.model import DecoderState, load_model
from text2lips.runtime import SynthesisOptions, Synthesizer
from text2lips.runtime.backend import TorchBackend
from text2lips.runtime.graphs import (
    ENCODER_INPUTS,
    ENCODER_OUTPUTS,
    STATE_NAMES,
    STEP_INPUTS,
    STEP_OUTPUTS,
    cached_export_dir,
)
from text2lips.runtime.onnx_backend import OnnxBackend
from text2lips.testing import tiny_test_model

TOL_MM = 1e-3
TEXTS = ["Hello there.", "Put the book back on the map, then walk north.", "Mom paid Bob."]



@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny gate-off model exported through the CLI into MODEL/onnx: (model dir, rc, stdout)."""
    model_dir = tiny_test_model(tmp_path_factory.mktemp("tiny"), gate_bias=-10.0)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(["export", "--model", str(model_dir), "-o", str(model_dir / "onnx")])
    return model_dir, rc, out.getvalue()


@pytest.fixture(scope="module")
def synths(exported):
    model_dir = exported[0]
    return (Synthesizer.load(model_dir, "torch-cpu", threads=1),
            Synthesizer.load(model_dir, "onnxruntime", threads=1))


def test_cli_export_writes_checked_graphs_and_record(exported):
    model_dir, rc, stdout = exported
    onnx_dir = model_dir / "onnx"
    assert rc == 0
    assert len(stdout.strip().splitlines()) == 1 and "max frame difference" in stdout
    for name in ("encoder.onnx", "decoder_step.onnx"):
        onnx.checker.check_model(str(onnx_dir / name))
    doc = json.loads((onnx_dir / "export.json").read_text())
    assert doc["opset"] == 17 and doc["precision"] == "fp32"
    assert doc["torch_version"] == torch.__version__ and doc["onnx_version"] == onnx.__version__
    assert doc["model_config"]["attention_rnn_dim"] == 32
    enc, step = doc["graphs"]["encoder"], doc["graphs"]["decoder_step"]
    assert tuple(enc["inputs"]) == ENCODER_INPUTS and tuple(enc["outputs"]) == ENCODER_OUTPUTS
    assert tuple(step["inputs"]) == STEP_INPUTS and tuple(step["outputs"]) == STEP_OUTPUTS
    assert enc["inputs"]["text"] == {"dtype": "int64", "shape": ["batch", "text_len"]}
    assert step["inputs"]["memory"]["shape"] == ["batch", "text_len", 32]
    assert step["inputs"]["mask"]["dtype"] == "bool"
    assert doc["parity"]["steps"] == 200 and doc["parity"]["frames_max_abs_mm"] <= TOL_MM


def test_state_names_are_the_decoders():
    assert STATE_NAMES == DecoderState._fields


def test_onnxruntime_free_runs_like_torch_for_200_steps(synths):
    torch_synth, ort_synth = synths
    assert ort_synth.backend.name == "onnxruntime"
    opts = SynthesisOptions(max_frames=200, stop=False)
    a = np.stack([f.displacement for f in torch_synth.stream(TEXTS[1], opts)])
    b = np.stack([f.displacement for f in ort_synth.stream(TEXTS[1], opts)])
    assert a.shape == b.shape == (200, 60)
    assert np.abs(a).max() > 1e-2  # frames are not trivially zero
    assert np.abs(a - b).max() <= TOL_MM


def test_batched_with_joins_and_leaves_matches_torch(synths):
    # Rows join at different steps (memory padded to the longest text) and leave early.
    joins = {0: TEXTS[:2], 7: [TEXTS[2]]}
    max_frames = {TEXTS[0]: 40, TEXTS[1]: 120, TEXTS[2]: 60}
    a, b = (decode_with_joins(s, joins, max_frames) for s in synths)
    for t in TEXTS:
        assert a[t].shape == b[t].shape == (max_frames[t], 60)
        assert np.abs(a[t] - b[t]).max() <= TOL_MM, t


def test_dynamic_batch_and_text_length(exported):
    model_dir = exported[0]
    model = load_model(model_dir)
    ort, ref = OnnxBackend(model_dir / "onnx", threads=1), TorchBackend(model)
    texts = [list(range(1, 6)), list(range(3, 20)), list(range(7, 18))]  # lengths 5, 17, 11
    rows_o, rows_t = ort.start(texts), ref.start(texts)
    assert rows_o.memory.shape == (3, 17, 32) and rows_o.mask.sum() == 12 + 6
    np.testing.assert_allclose(rows_o.memory, rows_t.memory.numpy(), atol=1e-5)
    for _ in range(30):
        rows_o, a = ort.step(rows_o)
        rows_t, b = ref.step(rows_t)
    assert np.abs(a.frames - b.frames).max() <= TOL_MM
    np.testing.assert_array_equal(a.at_end, b.at_end)
    # The encoder graph itself takes any batch; unpadded items are exact.
    ids = torch.randint(1, 100, (3, 9))
    memory = ort.encoder.run(None, {"text": ids.numpy(), "lengths": np.full(3, 9)})[0]
    with torch.inference_mode():
        want = model.encode(ids, torch.full((3,), 9)).memory.numpy()
    np.testing.assert_allclose(memory, want, atol=1e-5)
    # keep() trims text padding no remaining row needs
    kept = ort.keep(rows_o, [0, 2])
    assert kept.memory.shape == (2, 11, 32) and kept.state[4].shape == (2, 11)


def test_model_without_onnx_names_the_export_command(exported, tmp_path, monkeypatch):
    # The runtime never exports (that is engine_build's job): a missing export is an error
    # naming the command, and an export written where the runtime looks is then served.
    monkeypatch.setenv("TEXT2LIPS_CACHE", str(tmp_path / "cache"))
    bare = tmp_path / "bare"
    shutil.copytree(exported[0], bare, ignore=shutil.ignore_patterns("onnx"))
    with pytest.raises(Text2LipsError) as err:
        OnnxBackend.from_model_dir(bare, threads=1)
    msg = str(err.value)
    assert "\n" not in msg and f"`text2lips export --model {bare} -o {bare / 'onnx'}`" in msg
    assert not (tmp_path / "cache").exists()  # nothing was written
    cached = cached_export_dir(bare)
    assert cached.parent == tmp_path / "cache" / "onnx"
    assert main(["export", "--model", str(bare), "-o", str(cached)]) == 0
    assert OnnxBackend.from_model_dir(bare, threads=1).onnx_dir == cached


def test_graphs_of_other_weights_are_refused(exported, tmp_path):
    other = tiny_test_model(tmp_path / "other", seed=1)
    shutil.copytree(exported[0] / "onnx", other / "onnx")
    with pytest.raises(Text2LipsError, match="exported from other weights"):
        OnnxBackend.from_model_dir(other)


def test_bad_inputs_exit_2_with_one_line(exported, tmp_path, capsys):
    assert main(["export", "--model", str(tmp_path / "nope"), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nope" in err
    model_dir = str(exported[0])
    assert main(["export", "--model", model_dir, "-o", str(tmp_path / "o"), "--opset", "30"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "opset 30" in err
    with pytest.raises(Text2LipsError, match="threads=0"):
        OnnxBackend(exported[0] / "onnx", threads=0)
    with pytest.raises(Text2LipsError, match="no encoder.onnx in"):
        OnnxBackend(tmp_path)


def test_build_engine_without_tensorrt_says_what_to_install(exported, tmp_path, capsys):
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("TensorRT is installed here")
    onnx_dir, engines = str(exported[0] / "onnx"), str(tmp_path / "engines")
    rc = main(["build-engine", "--onnx", onnx_dir, "-o", engines])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "TensorRT is not installed: pip install 'text2lips[tensorrt]'" in err


def test_fp16_export_runs_on_onnxruntime(exported, tmp_path):
    from engine_build.export import export_onnx

    doc = export_onnx(exported[0], tmp_path / "fp16", fp16=True)
    assert doc["precision"] == "fp16"
    assert doc["graphs"]["decoder_step"]["inputs"]["memory"]["dtype"] == "float16"
    # fp16 drifts over a free run; on the tiny model it stays well under 0.01 mm.
    assert doc["parity"]["frames_max_abs_mm"] < 1e-2
    backend = OnnxBackend(tmp_path / "fp16", threads=1)
    rows, res = backend.step(backend.start([[1, 2, 3]]))
    assert res.frames.dtype == np.float32 and rows.prev.dtype == np.float16
