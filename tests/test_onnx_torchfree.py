"""The onnxruntime backend serves a model directory without torch: shipped graphs load and
decode with torch blocked from import; missing graphs fail with one line saying how to fix it.

Each check runs in a fresh interpreter whose import system refuses `torch`, as on a machine
where it is not installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from text2lips.runtime import SynthesisOptions, Synthesizer
from text2lips.runtime.graphs import EXPORT_JSON, model_fingerprint
from text2lips.testing import tiny_test_model

ROOT = Path(__file__).resolve().parents[1]
TEXT = "Put the book back on the map."
TOL_MM = 1e-3

# argv: output .npy (the first model's landmarks), text, model dirs. Prints one JSON line;
# a Text2LipsError goes to stderr and exits 3.
SCRIPT = r"""
import json
import sys


class NoTorch:
    # A meta path finder that makes torch look uninstalled.
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
        return None


sys.meta_path.insert(0, NoTorch())

import numpy as np

from text2lips import Text2LipsError
from text2lips.runtime import SynthesisOptions, Synthesizer

out, text, dirs = sys.argv[1], sys.argv[2], sys.argv[3:]
frames = []
try:
    for d in dirs:
        synth = Synthesizer.load(d, backend="onnxruntime", threads=1)
        lips = synth.synthesize(text, SynthesisOptions(speaker="neutral"))
        frames.append(int(lips.shape[0]))
        if len(frames) == 1:
            np.save(out, lips)
except Text2LipsError as exc:
    print(json.dumps({"torch": sorted(m for m in sys.modules if m.split(".")[0] == "torch")}))
    print(exc, file=sys.stderr)
    sys.exit(3)
torch_modules = sorted(m for m in sys.modules if m.split(".")[0] == "torch")
print(json.dumps({"frames": frames, "backend": synth.backend.name, "torch": torch_modules}))
"""


def _run_torchless(out: Path, *dirs: Path, cache: Path) -> subprocess.CompletedProcess:
    """Run SCRIPT in a fresh interpreter with torch blocked and an isolated ONNX cache."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TEXT2LIPS_CACHE": str(cache)}
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, str(out), TEXT, *map(str, dirs)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def shipped(tmp_path_factory) -> Path:
    """A tiny gate-off model directory with its graphs exported into MODEL/onnx."""
    from engine_build.export import export_onnx

    model_dir = tiny_test_model(tmp_path_factory.mktemp("tiny"), gate_bias=-10.0)
    export_onnx(model_dir, model_dir / "onnx", check=False)
    return model_dir


def test_shipped_graphs_serve_without_torch(shipped, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(shipped, copy)
    # Graphs and config.json are all the onnxruntime backend needs: weights may be left out.
    graphs_only = tmp_path / "graphs-only"
    shutil.copytree(shipped, graphs_only, ignore=shutil.ignore_patterns("model.safetensors"))
    out = tmp_path / "lips.npy"
    proc = _run_torchless(out, copy, graphs_only, cache=tmp_path / "empty-cache")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout.strip().splitlines()[-1])
    assert doc["torch"] == [] and doc["backend"] == "onnxruntime"
    assert not (tmp_path / "empty-cache").exists()  # nothing was exported
    # Gate off: every utterance runs to the hard bound the config sets (3 frames/symbol + 8).
    ref = Synthesizer.load(shipped, "torch-cpu", threads=1)
    want = ref.synthesize(TEXT, SynthesisOptions(speaker="neutral"))
    assert doc["frames"] == [len(want), len(want)]
    assert len(want) == ref.max_frames_for(len(ref.encode_text(TEXT)))
    assert np.abs(np.load(out) - want).max() <= TOL_MM  # the same frames as torch


def test_missing_graphs_without_torch_say_how_to_export(shipped, tmp_path):
    bare = tmp_path / "bare"
    shutil.copytree(shipped, bare, ignore=shutil.ignore_patterns("onnx"))
    proc = _run_torchless(tmp_path / "x.npy", bare, cache=tmp_path / "cache")
    assert proc.returncode == 3, proc.stderr
    assert json.loads(proc.stdout.strip())["torch"] == []
    err = proc.stderr.strip()
    assert len(err.splitlines()) == 1, err
    assert f"`text2lips export --model {bare} -o {bare / 'onnx'}`" in err
    assert "where torch is installed" in err


def test_cached_export_serves_without_torch(shipped, tmp_path):
    # An export made earlier (with torch) into the cache is found without torch.
    bare = tmp_path / "bare"
    shutil.copytree(shipped, bare, ignore=shutil.ignore_patterns("onnx"))
    cache = tmp_path / "cache"
    shutil.copytree(shipped / "onnx", cache / "onnx" / model_fingerprint(bare)[:16])
    assert (cache / "onnx" / model_fingerprint(bare)[:16] / EXPORT_JSON).is_file()
    proc = _run_torchless(tmp_path / "lips.npy", bare, cache=cache)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout.strip().splitlines()[-1])
    assert doc["torch"] == [] and len(doc["frames"]) == 1 and doc["frames"][0] > 0
