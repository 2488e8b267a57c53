"""The command line as a user meets it: files written whole, bad input as one line and exit 2."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from text2lips.testing import tiny_test_model


def t2l(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "text2lips.cli", *args], capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return str(tiny_test_model(tmp_path_factory.mktemp("m")))


def test_speak_writes_frames(model, tmp_path):
    out = tmp_path / "hello.npy"
    r = t2l("speak", "Hello there!", "--model", model, "-o", str(out))
    assert r.returncode == 0, r.stderr
    frames = np.load(out)
    assert frames.ndim == 2 and frames.shape[1] == 60 and len(frames) >= 8
    assert "first frame after" in r.stdout


def test_render_png_and_gif(model, tmp_path, data_dir):
    png, gif = tmp_path / "s.png", tmp_path / "a.gif"
    r = t2l(
        "render",
        "--clip",
        "trainval/0FkuRwU8HFc/00002",
        "--model",
        model,
        "-o",
        str(png),
        "--data",
        str(data_dir),
    )
    assert r.returncode == 0, r.stderr
    assert png.read_bytes()[:4] == b"\x89PNG"
    r = t2l("render", "Hi.", "--model", model, "-o", str(gif))
    assert r.returncode == 0, r.stderr
    assert gif.read_bytes()[:3] == b"GIF"


@pytest.mark.parametrize(
    "args, message",
    [
        (["speak", "hello", "--model", "/nonexistent/model"],
         "no model directory at /nonexistent/model;"),
        (["speak", "hello", "--model", "{model}", "-o", "{tmp}/x.txt"], "unknown output format"),
        (["speak", "🙂🙂", "--model", "{model}"], "nothing speakable"),
        (["render", "hi", "--model", "{model}", "-o", "{tmp}/x.bmp"], "use a .png, .gif or .mp4"),
        pytest.param(  # looks the clip up in the real data folder
            ["render", "--model", "{model}", "-o", "{tmp}/x.png", "--clip", "nope/123"],
            "matches 0 clips",
            marks=pytest.mark.data,
        ),
        (["eval", "--model", "{model}", "--data", "{tmp}"], "no lrs3_ted93/ folder"),
    ],
)
def test_bad_input_is_one_line_exit_2(model, tmp_path, args, message):
    r = t2l(*[a.format(model=model, tmp=tmp_path) for a in args])
    assert r.returncode == 2
    assert message in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert not list(tmp_path.glob("x.*"))  # nothing half-written
