"""GPU backends: CUDA-graph fp16 torch and TensorRT. GPU tests carry the `cuda` marker and skip
cleanly without one; the errors a CPU-only install gives are checked everywhere."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import decode_with_joins

from text2lips import Text2LipsError
from text2lips.model import load_model, read_metadata
from text2lips.runtime import ModelInfo, SynthesisOptions, Synthesizer
from text2lips.testing import tiny_test_model

HAS_CUDA = torch.cuda.is_available()
HAS_TRT = importlib.util.find_spec("tensorrt") is not None

FP16_TOL_MM = 0.02
"""fp16 CUDA vs fp32 CPU over 200 free-running steps (fp16 onnxruntime drifts ~2e-4 mm)."""
REPLAY_TOL_MM = 1e-3
"""Graph replay vs eager on the same padded shapes: the same kernels, so ~0 expected."""
TEXTS = ["Hello there.", "Put the book back on the map, then walk north.", "Mom paid Bob."]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return tiny_test_model(tmp_path_factory.mktemp("tiny"), gate_bias=-10.0)


def _synth(backend, model_dir: Path) -> Synthesizer:
    # As Synthesizer.load builds it, with the backend under test.
    net = load_model(model_dir)
    c = net.config
    info = ModelInfo.from_metadata(read_metadata(model_dir), fallback_name=model_dir.name)
    return Synthesizer(backend, info, gate_threshold=c.gate_threshold,
                       max_frames_per_symbol=c.max_frames_per_symbol, min_frames=c.min_frames)


def _stream(synth: Synthesizer, text: str, n: int = 200) -> np.ndarray:
    opts = SynthesisOptions(max_frames=n, stop=False)
    return np.stack([f.displacement for f in synth.stream(text, opts)])


def _batched(synth: Synthesizer) -> dict[str, np.ndarray]:
    # Joins at different steps and early leaves: batch 2 -> 3 -> 2 -> 1 crosses buckets.
    return decode_with_joins(synth, {0: TEXTS[:2], 7: [TEXTS[2]]},
                             {TEXTS[0]: 40, TEXTS[1]: 120, TEXTS[2]: 60})


# --- everywhere: the errors a machine without the GPU stack gives ---------------------------

@pytest.mark.skipif(HAS_CUDA, reason="checks the CPU-only error")
def test_cuda_backend_without_a_gpu_says_why(model_dir):
    from text2lips.runtime.cuda_backend import CudaGraphBackend

    with pytest.raises(Text2LipsError, match="no CUDA GPU for device 'cuda'"):
        CudaGraphBackend(load_model(model_dir))


@pytest.mark.skipif(HAS_TRT, reason="checks the error without TensorRT")
def test_tensorrt_backend_without_tensorrt_says_what_to_install(model_dir):
    with pytest.raises(Text2LipsError, match=r"pip install 'text2lips\[tensorrt\]'"):
        Synthesizer.load(model_dir, "tensorrt")


# --- GPU -----------------------------------------------------------------------------------

def _graph_backend(model_dir: Path, **kwargs):
    from text2lips.runtime.cuda_backend import CudaGraphBackend

    return CudaGraphBackend(load_model(model_dir), "cuda", **kwargs)


@pytest.mark.cuda
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU")
def test_fp16_cuda_graphs_match_fp32_cpu(model_dir):
    cpu = Synthesizer.load(model_dir, "torch-cpu")
    gpu = _synth(_graph_backend(model_dir), model_dir)
    a, b = _stream(cpu, TEXTS[1]), _stream(gpu, TEXTS[1])
    assert a.shape == b.shape == (200, 60)
    assert np.abs(a - b).max() <= FP16_TOL_MM
    batched_cpu, batched_gpu = _batched(cpu), _batched(gpu)
    for t in TEXTS:
        assert np.abs(batched_cpu[t] - batched_gpu[t]).max() <= FP16_TOL_MM, t


@pytest.mark.cuda
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU")
def test_graph_replay_equals_eager(model_dir):
    graphs = _synth(_graph_backend(model_dir), model_dir)
    eager = _synth(_graph_backend(model_dir, graphs=False), model_dir)
    a, b = _batched(graphs), _batched(eager)
    for t in TEXTS:
        assert np.abs(a[t] - b[t]).max() <= REPLAY_TOL_MM, t
    assert graphs.backend.captured() == eager.backend.captured()  # same buckets, hence shapes
    assert all(bk.graph is not None for bk in graphs.backend.buckets.values())
    assert all(bk.graph is None for bk in eager.backend.buckets.values())


@pytest.mark.cuda
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU")
def test_batch_buckets_1_64_512(model_dir):
    backend = _graph_backend(model_dir)
    rng = np.random.default_rng(0)
    solo = None
    for batch in (1, 64, 512):
        texts = [rng.integers(1, 100, size=n).tolist() for n in rng.integers(5, 70, size=batch)]
        texts[0] = list(range(1, 41))  # the same first row in every batch
        rows = backend.start(texts)
        for _ in range(5):
            rows, res = backend.step(rows)
        assert res.frames.shape == (batch, 60) and np.isfinite(res.frames).all()
        assert res.stop_prob.shape == (batch,) and res.at_end.dtype == bool
        if solo is None:
            solo = res.frames[0]
        # Row 0 must not feel the other rows or the padding of the bigger bucket.
        assert np.abs(res.frames[0] - solo).max() <= FP16_TOL_MM
    assert {b for b, _ in backend.captured()} == {1, 64, 512}
    with pytest.raises(Text2LipsError, match="exceeds max_batch=512"):
        backend.step(backend.start([[1, 2, 3]] * 513))


@pytest.mark.cuda
@pytest.mark.skipif(not (HAS_CUDA and HAS_TRT), reason="needs a CUDA GPU and TensorRT")
def test_tensorrt_engines_match_torch(model_dir, tmp_path):
    import shutil

    from engine_build.export import export_onnx
    from engine_build.tensorrt import build_engines

    work = tmp_path / "model"
    shutil.copytree(model_dir, work)
    export_onnx(work, work / "onnx")
    doc = build_engines(work / "onnx", work / "engines", max_batch=8, max_text=128)
    assert doc["engines"]["decoder_step"]["profiles"]["memory"]["max"] == [8, 128, 32]
    trt = Synthesizer.load(work, "tensorrt")
    cpu = Synthesizer.load(work, "torch-cpu")
    assert np.abs(_stream(cpu, TEXTS[1]) - _stream(trt, TEXTS[1])).max() <= 1e-3
    a, b = _batched(cpu), _batched(trt)
    for t in TEXTS:
        assert np.abs(a[t] - b[t]).max() <= 1e-3, t
